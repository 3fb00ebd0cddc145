/**
 * Container logs as the kubelet keeps them: one log per container instance (a restart starts a
 * new one, so `previous` works), every line stamped with the time it was printed. Lines are
 * stored compactly — generated runs (`generate: {lines: 50000}`) are a formula, not strings —
 * and streamed with backpressure; followers wait on a notification, never a per-line timer.
 */
import type {ServerResponse} from 'node:http'

import {badRequest} from './errors.js'
import type {Container, ContainerStatus, Pod} from './types.js'

interface LiteralSegment {
  kind: 'literal'
  texts: string[]
  times: number[]
}

interface GeneratedSegment {
  kind: 'generated'
  /** May be Infinity for a container that prints forever; cut when anything else is appended. */
  count: number
  start: number
  interval: number
  render: (index: number) => string
}

type Segment = LiteralSegment | GeneratedSegment

/** RFC3339Nano as Go prints it: trailing zeros of the fraction dropped. */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.replace(/\.?0+Z$/, 'Z')
}

export class InstanceLog {
  private readonly segments: Segment[] = []
  private readonly listeners = new Set<() => void>()
  private ended = false

  constructor(readonly containerID: string) {}

  get isEnded(): boolean {
    return this.ended
  }

  append(text: string, time = Date.now()): void {
    if (this.ended) return
    this.closeGenerated(time)
    const last = this.segments.at(-1)
    const segment = last?.kind === 'literal' ? last : this.pushLiteral()
    for (const line of text.split('\n')) {
      segment.texts.push(line)
      segment.times.push(time)
    }
    this.notify()
  }

  /** `count` lines, the first now and one every `interval` ms (all at once when 0). */
  appendGenerated(count: number, interval: number, render: (index: number) => string, start = Date.now()): void {
    if (this.ended || count <= 0) return
    this.closeGenerated(start)
    this.segments.push({kind: 'generated', count, start, interval, render})
    this.notify()
  }

  /** The instance stopped: no more lines; followers finish. */
  end(time = Date.now()): void {
    if (this.ended) return
    this.closeGenerated(time)
    this.ended = true
    this.notify()
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Number of lines printed by `now`. */
  available(now: number): number {
    let total = 0
    for (const segment of this.segments) total += this.segmentAvailable(segment, now)
    return total
  }

  /** When the next generated line appears, if one is due later. */
  nextLineTime(now: number): number | undefined {
    const last = this.segments.at(-1)
    if (last?.kind !== 'generated' || last.interval <= 0) return undefined
    const printed = this.segmentAvailable(last, now)
    return printed < last.count ? last.start + printed * last.interval : undefined
  }

  /** Index of the first line printed at or after `time`. */
  firstAtOrAfter(time: number, now: number): number {
    let offset = 0
    for (const segment of this.segments) {
      const count = this.segmentAvailable(segment, now)
      if (segment.kind === 'literal') {
        const index = segment.times.findIndex((t) => t >= time)
        if (index >= 0 && index < count) return offset + index
      } else {
        const index = segment.interval <= 0 ? (segment.start >= time ? 0 : count) : Math.max(0, Math.ceil((time - segment.start) / segment.interval))
        if (index < count) return offset + index
      }
      offset += count
    }
    return offset
  }

  /** Renders lines [from, to) as the kubelet sends them, optionally with timestamps. */
  render(from: number, to: number, timestamps: boolean, now: number): string {
    const parts: string[] = []
    let offset = 0
    let lastTime = NaN
    let lastStamp = ''
    const stamp = (time: number): string => {
      if (time !== lastTime) {
        lastTime = time
        lastStamp = `${rfc3339Nano(time)} `
      }
      return lastStamp
    }
    for (const segment of this.segments) {
      const count = this.segmentAvailable(segment, now)
      const start = Math.max(from - offset, 0)
      const end = Math.min(to - offset, count)
      for (let index = start; index < end; index++) {
        if (segment.kind === 'literal') {
          parts.push(timestamps ? `${stamp(segment.times[index] ?? 0)}${segment.texts[index] ?? ''}\n` : `${segment.texts[index] ?? ''}\n`)
        } else {
          const line = segment.render(index)
          parts.push(timestamps ? `${stamp(segment.start + index * segment.interval)}${line}\n` : `${line}\n`)
        }
      }
      offset += count
      if (offset >= to) break
    }
    return parts.join('')
  }

  private segmentAvailable(segment: Segment, now: number): number {
    if (segment.kind === 'literal') return segment.texts.length
    if (segment.interval <= 0) return segment.count
    if (now < segment.start) return 0
    return Math.min(segment.count, Math.floor((now - segment.start) / segment.interval) + 1)
  }

  private closeGenerated(now: number): void {
    const last = this.segments.at(-1)
    if (last?.kind === 'generated') last.count = this.segmentAvailable(last, now)
  }

  private pushLiteral(): LiteralSegment {
    const segment: LiteralSegment = {kind: 'literal', texts: [], times: []}
    this.segments.push(segment)
    return segment
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener()
  }
}

/** Every pod's container logs, by containerID (what container statuses point at). */
export class LogStore {
  private readonly byContainerID = new Map<string, InstanceLog>()
  private readonly byPod = new Map<string, string[]>()
  private readonly streams = new Set<ServerResponse>()

  startInstance(podUID: string, containerID: string): InstanceLog {
    const log = new InstanceLog(containerID)
    this.byContainerID.set(containerID, log)
    this.byPod.set(podUID, [...(this.byPod.get(podUID) ?? []), containerID])
    return log
  }

  instance(containerID: string | undefined): InstanceLog | undefined {
    return containerID ? this.byContainerID.get(containerID) : undefined
  }

  /** The pod is gone: its logs go with it (as on a real node after deletion). */
  forgetPod(podUID: string): void {
    for (const id of this.byPod.get(podUID) ?? []) this.byContainerID.get(id)?.end()
    for (const id of this.byPod.get(podUID) ?? []) this.byContainerID.delete(id)
    this.byPod.delete(podUID)
  }

  /** Fault injection: cut every open log stream mid-flight. */
  dropStreams(): void {
    for (const response of [...this.streams]) response.destroy()
    this.streams.clear()
  }

  track(response: ServerResponse): void {
    this.streams.add(response)
    response.on('close', () => this.streams.delete(response))
  }
}

export interface LogQuery {
  container?: string
  follow: boolean
  previous: boolean
  timestamps: boolean
  tailLines?: number
  sinceSeconds?: number
  sinceTime?: string
  limitBytes?: number
}

/** Which container the request is about, with the apiserver's messages for a missing or wrong name. */
export function resolveContainer(pod: Pod, requested: string | undefined): string {
  const all: Container[] = [...(pod.spec.initContainers ?? []), ...pod.spec.containers]
  if (!requested) {
    const only = pod.spec.containers.length === 1 ? pod.spec.containers[0] : undefined
    if (only) return only.name
    if (pod.spec.containers.length === 0) throw badRequest(`a container name must be specified for pod ${pod.metadata.name}`)
    throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${all.map((c) => c.name).join(' ')}]`)
  }
  if (!all.some((container) => container.name === requested)) throw badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`)
  return requested
}

/** The kubelet's choice of container instance for a log request, and its errors. */
export function instanceFor(pod: Pod, container: string, previous: boolean): string {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
  const status: ContainerStatus | undefined = statuses.find((candidate) => candidate.name === container)
  const where = `container "${container}" in pod "${pod.metadata.name}"`
  if (!status) throw badRequest(`${where} is waiting to start: ContainerCreating`)
  const {running, terminated, waiting} = status.state
  const lastTerminated = status.lastState.terminated
  if (previous) {
    if (!lastTerminated?.containerID) throw badRequest(`previous terminated ${where} not found`)
    return lastTerminated.containerID
  }
  if (running) return status.containerID ?? ''
  if (terminated) {
    if (terminated.containerID) return terminated.containerID
    if (lastTerminated?.containerID) return lastTerminated.containerID
    throw badRequest(`${where} is terminated`)
  }
  if (lastTerminated) {
    if (!lastTerminated.containerID) throw badRequest(`${where} is terminated`)
    return lastTerminated.containerID
  }
  if (waiting) {
    if (waiting.reason === 'ErrImagePull') throw badRequest(`${where} is waiting to start: image can't be pulled`)
    if (waiting.reason === 'ImagePullBackOff') throw badRequest(`${where} is waiting to start: trying and failing to pull image`)
    throw badRequest(`${where} is waiting to start: ${waiting.reason ?? ''}`)
  }
  throw badRequest(`${where} is waiting to start - no logs yet`)
}

const chunkLines = 2000

function waitForDrain(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done)
      response.off('close', done)
      resolve()
    }
    response.on('drain', done)
    response.on('close', done)
  })
}

/** Streams one instance's log: tail/since/limit, then (when following) new lines until it ends. */
export async function streamLog(log: InstanceLog, query: LogQuery, response: ServerResponse): Promise<void> {
  response.writeHead(200, {'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked'})
  response.flushHeaders()
  let closed = false
  response.on('close', () => {
    closed = true
  })
  const now = Date.now()
  let index = 0
  const since = query.sinceTime !== undefined ? Date.parse(query.sinceTime) : query.sinceSeconds !== undefined ? now - query.sinceSeconds * 1000 : undefined
  if (since !== undefined && Number.isFinite(since)) index = log.firstAtOrAfter(since, now)
  if (query.tailLines !== undefined) index = Math.max(index, log.available(now) - query.tailLines)
  let budget = query.limitBytes ?? Infinity

  while (!closed) {
    const available = log.available(Date.now())
    while (index < available && !closed && budget > 0) {
      const to = Math.min(available, index + chunkLines)
      let chunk = log.render(index, to, query.timestamps, Date.now())
      index = to
      if (Buffer.byteLength(chunk) > budget) chunk = Buffer.from(chunk).subarray(0, budget).toString()
      budget -= Buffer.byteLength(chunk)
      if (!response.write(chunk)) await waitForDrain(response)
    }
    if (closed || budget <= 0 || !query.follow) break
    if (log.isEnded && index >= log.available(Date.now())) break
    await nextChange(log, response)
  }
  if (!closed) response.end()
}

/** Resolves when the log grows or ends, the next generated line is due, or the client leaves. */
function nextChange(log: InstanceLog, response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const due = log.nextLineTime(Date.now())
    const timer = due !== undefined ? setTimeout(finish, Math.max(0, due - Date.now())) : undefined
    const unsubscribe = log.onChange(finish)
    response.on('close', finish)
    function finish(): void {
      if (timer) clearTimeout(timer)
      unsubscribe()
      response.off('close', finish)
      resolve()
    }
  })
}
