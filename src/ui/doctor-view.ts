/** What `devctl doctor` prints: one line per check with its fix under it, what --fix did, a summary. */
import type {ChalkInstance} from 'chalk'

import type {DoctorEvent} from '../doctor/doctor.js'
import type {AppliedFix, CheckResult, CheckStatus, DoctorResult} from '../doctor/types.js'
import {forDisplay, forDisplayAll} from './untrusted-text.js'
import {wrapLine} from './wrap.js'

function statusMark(status: CheckStatus, t: ChalkInstance): string {
  switch (status) {
    case 'pass':
      return t.green('✔')
    case 'warn':
      return t.yellow('⚠')
    case 'fail':
      return t.red('✖')
    case 'skip':
      return t.dim('-')
  }
}

/** `columns`: the terminal's width, to wrap each message, detail and fix under its own column. */
export function renderChecks(checks: readonly CheckResult[], t: ChalkInstance, columns?: number): string {
  const width = Math.max(...checks.map((check) => check.title.length))
  const indent = ' '.repeat(width + 4)
  const lines: string[] = []
  // Findings quote what docker, k3d and the cluster answered.
  for (const check of forDisplayAll(checks)) {
    const message = check.status === 'skip' ? t.dim(check.message) : check.message
    lines.push(wrapLine(`${statusMark(check.status, t)} ${check.title.padEnd(width)}  ${message}`, columns, indent.length))
    for (const detail of check.details ?? []) lines.push(wrapLine(`${indent}${t.dim(detail)}`, columns, indent.length))
    if (check.fix && check.status !== 'pass') lines.push(wrapLine(`${indent}${t.cyan('→')} ${check.fix}`, columns, indent.length + 2))
  }
  return `${lines.join('\n')}\n`
}

export function renderFix(fix: AppliedFix, t: ChalkInstance): string {
  if (fix.applied) return `${t.green('✔')} done: ${fix.description}\n`
  if (fix.error) return `${t.red('✖')} could not ${fix.description}: ${forDisplay(fix.error)}\n`
  return `${t.dim('-')} left alone: ${fix.description}\n`
}

/** Renders each event as it arrives, so --fix questions come right after the report they are about. */
export function createDoctorView(t: ChalkInstance, write: (text: string) => void, columns?: number): (event: DoctorEvent) => void {
  let fixed = false
  return (event) => {
    if (event.type === 'fixed') {
      fixed = true
      write(renderFix(event.fix, t))
    } else if (!event.final) {
      // A blank line, then the --fix questions.
      write(`${renderChecks(event.checks, t, columns)}\n`)
    } else {
      write(`${fixed ? `\n${t.bold('After the fixes:')}\n` : ''}${renderChecks(event.checks, t, columns)}`)
    }
  }
}

export function renderDoctorSummary(result: DoctorResult, t: ChalkInstance): string {
  const {summary} = result
  const counts = [
    summary.fail ? t.red(`${summary.fail} failed`) : undefined,
    summary.warn ? t.yellow(`${summary.warn} warning${summary.warn === 1 ? '' : 's'}`) : undefined,
    `${summary.pass} passed`,
    summary.skip ? `${summary.skip} skipped` : undefined,
  ].filter((part): part is string => part !== undefined)
  const lines = ['', `${counts.join(', ')}.`]
  const fixable = result.checks.filter((check) => check.autoFix).length
  if (fixable > 0) lines.push(`${t.cyan('devctl doctor --fix')} can fix ${fixable === 1 ? 'one of these' : `${fixable} of these`} for you (it asks first).`)
  if (summary.fail === 0) lines.push(summary.warn ? 'Nothing is failing: devctl can run.' : 'Everything devctl needs is here.')
  return `${lines.join('\n')}\n`
}
