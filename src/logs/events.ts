/**
 * Kubernetes events as log lines (--events): "Warning BackOff: Back-off restarting failed
 * container", under the pod (and container) they are about, at the time they last happened.
 */
import type {V1Event} from '../kube/types.js'
import type {LogBatch} from './lines.js'

export interface EventLine {
  /** Identifies one occurrence: an event seen again with a higher count is a new line. */
  key: string
  involved: {kind: string; name: string}
  container: string
  time: number
  /** The API server's order of writes (resourceVersion): the order within one second. */
  sequence: number
  batch: LogBatch
}

function timeOf(value: Date | string | undefined): number | undefined {
  if (value === undefined || value === null) return undefined
  const time = new Date(value).getTime()
  return Number.isFinite(time) ? time : undefined
}

/** `spec.containers{api}` → `api`. */
function containerOf(fieldPath: string | undefined): string {
  return /\{([^}]+)\}/.exec(fieldPath ?? '')?.[1] ?? ''
}

export function eventLine(event: V1Event): EventLine | undefined {
  const involved = event.involvedObject
  const time = timeOf(event.lastTimestamp) ?? timeOf(event.eventTime) ?? timeOf(event.firstTimestamp) ?? timeOf(event.metadata?.creationTimestamp)
  if (!involved?.name || !involved.kind || time === undefined) return undefined
  const container = containerOf(involved.fieldPath)
  const pod = involved.kind === 'Pod' ? involved.name : `${involved.kind.toLowerCase()}/${involved.name}`
  const message = `${event.type ?? 'Normal'} ${event.reason ?? ''}: ${event.message ?? ''}`.replace(/\s+$/, '')
  return {
    key: `${event.metadata?.uid ?? event.metadata?.name}/${event.count ?? 1}`,
    involved: {kind: involved.kind, name: involved.name},
    container,
    time,
    sequence: Number(event.metadata?.resourceVersion) || 0,
    batch: {source: {pod, container, stream: 'event'}, stamps: [new Date(time).toISOString()], times: [time], messages: [message]},
  }
}

/**
 * Events oldest first, by the time they show. Most event times have whole seconds only, so
 * many share one: among those the API server's order of writes decides ("Pulling" before
 * "Pulled"), not the order a list or watch happened to return them in.
 */
export function byTime(a: EventLine, b: EventLine): number {
  return a.time - b.time || a.sequence - b.sequence
}

/** Events as one source for the timeline merge, oldest first. */
export async function* eventsInTimeOrder(lines: EventLine[]): AsyncGenerator<LogBatch> {
  for (const line of [...lines].sort(byTime)) yield line.batch
}
