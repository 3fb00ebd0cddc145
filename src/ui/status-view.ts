/** What `devctl status` prints: one screen, each part with its state, then the conditions. */
import {stripVTControlCharacters} from 'node:util'

import type {ChalkInstance} from 'chalk'
import {createLogUpdate} from 'log-update'

import {count} from '../text.js'
import type {StatusResult} from '../workflows/status.js'
import {formatDuration} from '../workflows/pipeline.js'
import {podTable} from './progress.js'
import {forDisplayAll} from './untrusted-text.js'
import {terminalWidth, wrapText} from './wrap.js'

/** "just now", "12 s ago", "3 min ago", "2 h ago", "3 days ago". */
export function timeAgo(time: string | undefined, now = Date.now()): string {
  const at = time ? Date.parse(time) : Number.NaN
  if (Number.isNaN(at)) return ''
  const seconds = Math.max(0, Math.round((now - at) / 1000))
  if (seconds < 5) return 'just now'
  if (seconds < 90) return `${seconds} s ago`
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`
  return `${count(Math.round(seconds / 86_400), 'day')} ago`
}

/** A pod's age as kubectl shows it: 45s, 3m, 5h, 2d. */
function age(seconds: number | undefined): string {
  if (seconds === undefined) return ''
  if (seconds < 90) return `${seconds}s`
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`
  return `${Math.round(seconds / 86_400)}d`
}

const LABEL = 11
const CONDITION = 19

/** `width`: the terminal's, to wrap long lines at word boundaries under their text (undefined: piped, no wrapping). */
export function renderStatus(result: StatusResult, t: ChalkInstance, width?: number, now = Date.now()): string {
  // Messages, reasons and records come from the cluster: secrets masked, control sequences shown.
  const s = forDisplayAll(result)
  const ok = (good: boolean) => (good ? t.green('●') : t.red('●'))
  const row = (mark: string, label: string, text: string) => `${mark} ${label.padEnd(LABEL)}${text}`
  const lines = [t.bold(`${s.project} — namespace ${s.namespace}`), '']
  let podColumn = 0
  let podLines = new Set<string>()
  const c = s.cluster
  lines.push(
    row(
      ok(c.state === 'running'),
      'cluster',
      `${c.provider === 'k3d' ? `k3d ${c.name}` : `context ${c.context}`}: ${c.state}${c.state === 'running' ? `, ${c.nodes.ready}/${count(c.nodes.total, 'node')} ready` : ''}`,
    ),
  )
  for (const service of s.services) {
    if (service.mode === 'disabled') lines.push(row(t.dim('○'), service.name, 'disabled'))
    else lines.push(row(ok(service.ready), service.name, `${service.mode}${service.endpoint ? ` ${t.dim(service.endpoint)}` : ''}${service.ready ? '' : ' — not ready'}`))
  }
  const r = s.release
  if (!r) lines.push(row(t.red('●'), 'release', 'not installed'))
  else {
    const when = timeAgo(r.lastDeployed, now)
    lines.push(
      row(
        ok(r.status === 'deployed'),
        'release',
        `${r.name} revision ${r.revision} ${r.status}${when ? ` ${when}` : ''}${r.chart ? `, chart ${r.chart}` : ''}${r.appVersion ? ` (app ${r.appVersion})` : ''}`,
      ),
    )
    const failure = r.lastFailure
    if (failure) {
      const rollback = failure.rolledBackBy
        ? `; rolled back to revision ${/^Rollback to (\d+)/.exec(failure.rolledBackBy.description ?? '')?.[1] ?? '?'} by revision ${failure.rolledBackBy.revision} ${timeAgo(failure.rolledBackBy.updated, now)}`
        : ''
      // Failed in helm's eyes, or deployed by helm and rolled back by devctl (its pods never became ready).
      const what = failure.status === 'failed' ? `failed ${timeAgo(failure.updated, now)}${failure.description ? `: ${failure.description}` : ''}` : 'did not become ready'
      lines.push(row(t.yellow('!'), 'last fail', `revision ${failure.revision} ${what}${rollback}`))
    }
  }
  const m = s.migration
  if (m?.result === 'not-run') lines.push(row(t.dim('○'), 'migration', `none ran: ${m.message ?? 'nothing to migrate'}`))
  else if (m) lines.push(row(ok(m.result === 'succeeded'), 'migration', `${m.kind} ${m.name} ${m.result} ${timeAgo(m.startedAt, now)} (took ${formatDuration(m.durationMs)})`))
  if (s.workloads.length) {
    lines.push('', t.bold('Workloads'))
    const nameWidth = Math.max(...s.workloads.map((w) => `${w.kind} ${w.name}`.length))
    // One table for every workload's pods, so their columns line up across workloads.
    const podRows = podTable(
      s.workloads.flatMap((w) => w.pods),
      '    ',
      (pod) => t.dim(age(pod.ageSeconds)),
    )
    // A pod row too long for the terminal continues under its status column.
    podColumn = 4 + Math.max(...s.workloads.flatMap((w) => w.pods.map((pod) => pod.name.length))) + 2
    podLines = new Set(podRows)
    for (const w of s.workloads) {
      lines.push(`${ok(w.ready)} ${`${w.kind} ${w.name}`.padEnd(nameWidth)}  ${w.detail}${w.images.length ? `  ${t.dim(`image ${w.images.join(', ')}`)}` : ''}`)
      lines.push(...podRows.splice(0, w.pods.length))
    }
  }
  lines.push('', t.bold('Conditions'))
  for (const condition of s.conditions) {
    const mark = condition.status === 'True' ? t.green('True ') : condition.status === 'False' ? t.red('False') : t.yellow('?    ')
    lines.push(`  ${condition.type.padEnd(CONDITION)} ${mark} ${condition.reason}: ${condition.message}`)
    if (condition.hint && condition.status !== 'True') lines.push(`  ${''.padEnd(CONDITION)}       ${t.cyan('→')} ${condition.hint}`)
  }
  // Continuation rows go under the text they continue: after the label, the condition's name, the arrow.
  const hang = (line: string): number | undefined => {
    const plain = stripVTControlCharacters(line)
    if (podLines.has(line)) return podColumn
    if (/^[●○!] /.test(plain)) return 2 + LABEL
    if (/^ {2}\S/.test(plain)) return 4
    if (/^ +→ /.test(plain)) return plain.indexOf('→') + 2
    return undefined
  }
  return `${wrapText(lines.join('\n'), width, hang)}\n`
}

/**
 * `status --watch`. In a terminal, the status stays in place and is redrawn over itself when it
 * changes (log-update: the old rows erased and rewritten in one write, no screen clear). Piped,
 * each change is printed once, in full.
 */
export function liveStatusView(t: ChalkInstance, interactive: boolean, stream: NodeJS.WriteStream = process.stdout): {show(result: StatusResult): void} {
  const footer = t.dim('Watching for changes; Ctrl-C to stop.')
  if (interactive) {
    const draw = createLogUpdate(stream)
    return {show: (result) => draw(`${renderStatus(result, t, terminalWidth(stream))}\n${footer}`)}
  }
  let last: string | undefined
  return {
    show(result) {
      // Ages change every second; a change is what the cluster did, not the clock.
      const key = JSON.stringify(result, (name, value: unknown) => (name === 'ageSeconds' ? undefined : value))
      if (key === last) return
      const separator = last === undefined ? '' : '\n'
      last = key
      stream.write(`${separator}${renderStatus(result, t)}`)
    },
  }
}
