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
import {formatDuration, type StepOutline} from '../workflows/pipeline.js'
import {escapeControls, escapeJsonControls, forDisplay} from './untrusted-text.js'
import {terminalWidth, wrapLine} from './wrap.js'

/** "[ 1.5s]" */
const STAMP_WIDTH = 8

export interface ProgressView {
  emit(event: WorkflowEvent): void
  /** A view that holds the terminal's output while it draws shows this notice (the first Ctrl-C's) itself. */
  notice?(message: string): void
  /**
   * Everything shown so far is final and the terminal is free, for a question: a live list
   * finishes drawing, and the steps announced next are drawn under what was asked.
   */
  pause(): Promise<void>
  /** Wait until everything the view shows is on screen (the task list settled). */
  close(): Promise<void>
}

export type ProgressMode = 'tasks' | 'plain' | 'json' | 'quiet'

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
  // A status or reason is whatever the kubelet (or a runtime) wrote.
  return escapeControls(`${pod.name}  ${pod.status}${reason}  ${pod.ready}/${pod.total} ready${restarts}`)
}

/**
 * Pods as aligned columns (name, status, readiness, restarts, then `extra` per pod), each row
 * prefixed by `indent`: the lines of a summary, where pods are listed together.
 */
export function podTable<P extends PodSummary>(pods: readonly P[], indent: string, extra: (pod: P) => string = () => ''): string[] {
  const cells = pods.map((pod) => [
    pod.name,
    pod.reason && pod.reason !== pod.status ? `${pod.status} (${pod.reason})` : pod.status,
    `${pod.ready}/${pod.total} ready`,
    pod.restarts ? `${pod.restarts} restart${pod.restarts === 1 ? '' : 's'}` : '',
    extra(pod),
  ])
  const widths = [0, 1, 2, 3].map((column) => Math.max(0, ...cells.map((row) => row[column]!.length)))
  return cells.map((row, i) => `${indent}${podMark(pods[i]!)} ${row.map((cell, column) => (column < 4 ? cell.padEnd(widths[column]!) : cell)).join('  ')}`.trimEnd())
}

/** Only pod changes a person would notice: status, readiness, restarts, reason. */
export function podKey(pod: PodSummary): string {
  return `${pod.status}|${pod.ready}/${pod.total}|${pod.restarts}|${pod.reason ?? ''}`
}

/**
 * One line per event, no cursor movement: for CI logs and pipes. In a terminal (`columns`
 * given), a long line continues under the text after its timestamp.
 */
export function plainView(print: (line: string) => void, t: ChalkInstance, columns?: number): ProgressView {
  const write = (line: string) => print(wrapLine(line, columns, STAMP_WIDTH + 3))
  const started = Date.now()
  const lastNote = new Map<string, string>()
  const lastPod = new Map<string, string>()
  const stamp = () => t.dim(`[${formatDuration(Date.now() - started).padStart(STAMP_WIDTH - 2)}]`)
  return {
    emit(event) {
      switch (event.type) {
        case 'step:start':
          write(`${stamp()} ${t.cyan('▸')} ${event.title}`)
          break
        case 'outline':
        case 'step:title':
          break
        case 'step:note':
          if (lastNote.get(event.step) !== event.message) {
            lastNote.set(event.step, event.message)
            write(`${stamp()}   ${t.dim(forDisplay(event.message))}`)
          }
          break
        case 'step:log':
          write(`${stamp()}   ${t.dim('│')} ${t.dim(`${event.source}:`)} ${forDisplay(event.line)}`)
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
          write(`${stamp()} ${t.yellow('!')} ${forDisplay(event.message)}`)
          break
        case 'step:end': {
          const mark = event.status === 'done' ? t.green('✔') : event.status === 'skipped' ? t.yellow('↓') : t.red('✖')
          const why = event.status === 'skipped' && event.message ? ` — skipped: ${forDisplay(event.message)}` : ''
          write(`${stamp()} ${mark} ${event.title}${why} ${t.dim(`(${formatDuration(event.durationMs)})`)}`)
          break
        }
      }
    },
    async pause() {},
    async close() {},
  }
}

/** An event as one --json line: timestamped, secrets masked, control characters escaped. */
export function eventJson(event: {type: string}): string {
  return escapeJsonControls(JSON.stringify({time: new Date().toISOString(), ...event}, (_key, value: unknown) => (typeof value === 'string' ? redact(value) : value)))
}

/** --json: one JSON object per line per event (the final result is printed by the command). */
export function jsonView(write: (line: string) => void): ProgressView {
  return {
    emit(event) {
      write(eventJson(event))
    },
    async pause() {},
    async close() {},
  }
}

export function quietView(): ProgressView {
  return {emit() {}, async pause() {}, async close() {}}
}

export async function createProgressView(mode: ProgressMode, outline: StepOutline[], t: ChalkInstance): Promise<ProgressView> {
  const out = (line: string) => process.stdout.write(`${line}\n`)
  switch (mode) {
    case 'json':
      return jsonView(out)
    case 'quiet':
      return quietView()
    case 'plain':
      return plainView(out, t, terminalWidth())
    case 'tasks': {
      // listr2 is only needed for a live terminal; load it then.
      const {taskListView} = await import('./task-list.js')
      return taskListView(outline, t, out, terminalWidth())
    }
  }
}
