/**
 * Explaining a failed or stuck pod to a person: its reason and message, the exact missing
 * Secret or key, the last lines of the container that crashed (`previous`), the recent
 * events, and one line on what to do.
 */
import type {KubeClient} from '../kube/client.js'
import type {V1Event, V1Pod} from '../kube/types.js'
import {redact} from '../secrets/redact.js'
import {count} from '../text.js'
import {containerImage, crashedContainer, hintFor, summarizePod, type PodSummary} from './pod.js'

export const LOG_LINES_SHOWN = 20
const EVENTS_SHOWN = 5

/** A pull failure alternates between these two reasons; either one restates the other. */
const PULL_FAILURE = ['ErrImagePull', 'ImagePullBackOff']

export interface PodExplanation {
  pod: string
  summary: PodSummary
  hint?: string
  logs: string[]
  events: string[]
}

/** What is missing, in words, for CreateContainerConfigError ("secret "x" not found"). */
export function missingReference(message: string | undefined): string | undefined {
  if (!message) return undefined
  const key = /couldn't find key (\S+) in (Secret|ConfigMap) ([\w.-]+)\/([\w.-]+)/.exec(message)
  if (key) return `key "${key[1]}" is missing from ${key[2]} ${key[4]} (namespace ${key[3]})`
  const object = /(secret|configmap) "([\w.-]+)" not found/i.exec(message)
  if (object) return `${object[1]!.toLowerCase() === 'secret' ? 'Secret' : 'ConfigMap'} "${object[2]}" does not exist`
  return undefined
}

export interface ExplainOptions {
  /** Read the crashed container's last lines (false: the caller already has them, e.g. streamed). */
  logs?: boolean
  /** The k3d cluster the pod runs in, for the hints that name it. */
  k3dCluster?: string
}

export async function explainPod(kube: KubeClient, pod: V1Pod, options: ExplainOptions = {}): Promise<PodExplanation> {
  const summary = summarizePod(pod)
  const name = pod.metadata?.name ?? '?'
  const namespace = pod.metadata?.namespace ?? 'default'
  const hint = hintFor(summary.reason, {image: containerImage(pod, summary.container), k3dCluster: options.k3dCluster})
  const missing = summary.reason === 'CreateContainerConfigError' ? missingReference(summary.message) : undefined

  // The crashed instance's last words, or the current ones for a container that errored once.
  const crashed = crashedContainer(pod)
  const logContainer = crashed ?? (summary.reason && summary.container && ![...PULL_FAILURE, 'CreateContainerConfigError', 'Unschedulable'].includes(summary.reason) ? summary.container : undefined)
  let logs: string[] = []
  if (logContainer && options.logs !== false) {
    const text = await kube
      .readLog(namespace, name, {container: logContainer, previous: crashed !== undefined, tailLines: LOG_LINES_SHOWN})
      .catch(() => kube.readLog(namespace, name, {container: logContainer, tailLines: LOG_LINES_SHOWN}).catch(() => ''))
    logs = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-LOG_LINES_SHOWN)
      .map(redact)
  }

  const events = await kube
    .list('Event', namespace, {fieldSelector: `involvedObject.name=${name}`})
    .then((list) =>
      eventsWorthShowing(list, summary)
        .sort((a, b) => eventTime(a) - eventTime(b))
        .slice(-EVENTS_SHOWN)
        .map((e) => `${e.reason ?? ''}: ${redact(e.message ?? '')}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`),
    )
    .catch(() => [])

  const action = missing ? `${missing}; ${hint?.action ?? ''}` : hint?.action
  return {pod: name, summary, hint: action, logs, events}
}

/** A message's clauses ("a: b: c"), the long ones only: what a repetition would share. */
function clauses(message: string): string[] {
  return message
    .split(/:\s+/)
    .map((part) => part.trim())
    .filter((part) => part.length >= 30)
}

/**
 * The events that add to what the pod's state already says (each fact once): warnings only (the
 * normal ones narrate pulling, creating, starting), and not one that restates the state — its
 * reason ("Error: ErrImagePull"), its message (the registry's error, the scheduler's), or a
 * back-off the state already names.
 */
export function eventsWorthShowing(events: V1Event[], summary: PodSummary): V1Event[] {
  const said = `${summary.message ?? ''}`
  const saidClauses = new Set(clauses(said))
  const saidReasons = sameFact(summary.reason).concat(sameFact(summary.status))
  return events.filter((event) => {
    if (event.type !== 'Warning') return false
    const message = (event.message ?? '').replace(/^Error:\s*/, '')
    if (saidReasons.includes(message) || (message !== '' && said.includes(message))) return false
    if (clauses(message).some((clause) => saidClauses.has(clause))) return false
    return !(event.reason === 'BackOff' && summary.reason?.endsWith('BackOff'))
  })
}

function sameFact(reason: string | undefined): string[] {
  if (reason === undefined) return []
  return PULL_FAILURE.includes(reason) ? PULL_FAILURE : [reason]
}

function eventTime(event: V1Event): number {
  const time = event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata?.creationTimestamp
  return time ? new Date(time).getTime() : 0
}

/** The explanation as detail lines under an error message. */
export function formatExplanation(explanation: PodExplanation): string[] {
  const {summary} = explanation
  const lines = [
    `pod ${explanation.pod}: ${summary.status}${summary.container ? ` (container ${summary.container})` : ''}, ${summary.ready}/${summary.total} ready, ${count(summary.restarts, 'restart')}`,
  ]
  if (summary.message) lines.push(`  ${redact(summary.message)}`)
  const meaning = hintFor(summary.reason)?.meaning
  if (meaning) lines.push(`  what it means: ${meaning}`)
  if (explanation.hint) lines.push(`  what to do: ${explanation.hint}`)
  if (explanation.logs.length) {
    lines.push(`  last ${count(explanation.logs.length, 'log line')}:`)
    for (const line of explanation.logs) lines.push(`    | ${line}`)
  }
  if (explanation.events.length) {
    lines.push('  recent warnings:')
    for (const event of explanation.events) lines.push(`    ${event}`)
  }
  return lines
}

/** Explanations (as detail lines) of the unhealthy pods among `pods`, the first three. */
export async function explainUnhealthyPods(kube: KubeClient, pods: V1Pod[], options: ExplainOptions = {}): Promise<string[]> {
  const unhealthy = pods.filter((pod) => {
    const summary = summarizePod(pod)
    return summary.reason !== undefined || summary.ready < summary.total
  })
  const explanations = await Promise.all(unhealthy.slice(0, 3).map((pod) => explainPod(kube, pod, options)))
  return explanations.flatMap(formatExplanation)
}
