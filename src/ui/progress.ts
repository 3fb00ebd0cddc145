/**
 * Three views of one workflow event stream: a live task list (listr2) in a terminal, plain
 * lines in CI and pipes, newline-delimited JSON with --json; plus --quiet (nothing but errors
 * and the summary). Commands pick one with `createProgressView` and never print progress
 * themselves.
 */
import type {ChalkInstance} from 'chalk'

import type {PodSummary} from '../diagnose/pod.js'
import {redact} from '../secrets/redact.js'
import type {WorkflowEvent} from '../workflows/events.js'
import {formatDuration} from '../workflows/pipeline.js'

export interface ProgressView {
  emit(event: WorkflowEvent): void
  /** Wait until everything the view shows is on screen (the task list settled). */
  close(): Promise<void>
}

export type ProgressMode = 'tasks' | 'plain' | 'json' | 'quiet'

export interface StepOutline {
  id: string
  title: string
  children?: StepOutline[]
}

/**
 * One mark per pod, the same in every view: ✔ done (ready, or a run-to-end pod completed), …
 * on its way (starting, or a Job's pod still running), ✖ failing, ↓ leaving.
 */
export function podMark(pod: PodSummary): '✔' | '…' | '✖' | '↓' {
  if (pod.status === 'Terminating') return '↓'
  if (pod.reason && pod.reason !== 'NotReady') return '✖'
  if (pod.status === 'Completed') return '✔'
  if (pod.completes) return '…'
  return pod.total > 0 && pod.ready === pod.total ? '✔' : '…'
}

export function podLine(pod: PodSummary): string {
  const restarts = pod.restarts ? `, ${pod.restarts} restart${pod.restarts === 1 ? '' : 's'}` : ''
  const reason = pod.reason && pod.reason !== pod.status ? ` (${pod.reason})` : ''
  return `${pod.name}  ${pod.status}${reason}  ${pod.ready}/${pod.total} ready${restarts}`
}

/** Only pod changes a person would notice: status, readiness, restarts, reason. */
export function podKey(pod: PodSummary): string {
  return `${pod.status}|${pod.ready}/${pod.total}|${pod.restarts}|${pod.reason ?? ''}`
}

/** One line per event, no cursor movement: for CI logs and pipes. */
export function plainView(write: (line: string) => void, t: ChalkInstance): ProgressView {
  const started = Date.now()
  const lastNote = new Map<string, string>()
  const lastPod = new Map<string, string>()
  const stamp = () => t.dim(`[${formatDuration(Date.now() - started).padStart(6)}]`)
  return {
    emit(event) {
      switch (event.type) {
        case 'step:start':
          write(`${stamp()} ${t.cyan('▸')} ${event.title}`)
          break
        case 'step:title':
          break
        case 'step:note':
          if (lastNote.get(event.step) !== event.message) {
            lastNote.set(event.step, event.message)
            write(`${stamp()}   ${t.dim(redact(event.message))}`)
          }
          break
        case 'step:log':
          write(`${stamp()}   ${t.dim('│')} ${t.dim(`${event.source}:`)} ${redact(event.line)}`)
          break
        case 'pod': {
          const key = podKey(event.pod)
          if (lastPod.get(event.pod.name) !== key) {
            lastPod.set(event.pod.name, key)
            write(`${stamp()}   ${t.dim('pod')} ${podMark(event.pod)} ${podLine(event.pod)}`)
          }
          break
        }
        case 'pod:gone':
          lastPod.delete(event.name)
          break
        case 'warning':
          write(`${stamp()} ${t.yellow('!')} ${redact(event.message)}`)
          break
        case 'step:end': {
          const mark = event.status === 'done' ? t.green('✔') : event.status === 'skipped' ? t.yellow('↓') : t.red('✖')
          const why = event.status === 'skipped' && event.message ? ` — skipped: ${event.message}` : ''
          write(`${stamp()} ${mark} ${event.title}${why} ${t.dim(`(${formatDuration(event.durationMs)})`)}`)
          break
        }
      }
    },
    async close() {},
  }
}

/** --json: one JSON object per line per event (the final result is printed by the command). */
export function jsonView(write: (line: string) => void): ProgressView {
  return {
    emit(event) {
      write(JSON.stringify({time: new Date().toISOString(), ...event}, (_key, value: unknown) => (typeof value === 'string' ? redact(value) : value)))
    },
    async close() {},
  }
}

export function quietView(): ProgressView {
  return {emit() {}, async close() {}}
}

export async function createProgressView(mode: ProgressMode, outline: StepOutline[], t: ChalkInstance): Promise<ProgressView> {
  const out = (line: string) => process.stdout.write(`${line}\n`)
  switch (mode) {
    case 'json':
      return jsonView(out)
    case 'quiet':
      return quietView()
    case 'plain':
      return plainView(out, t)
    case 'tasks': {
      // listr2 is only needed for a live terminal; load it then.
      const {taskListView} = await import('./task-list.js')
      return taskListView(outline, t, out)
    }
  }
}
