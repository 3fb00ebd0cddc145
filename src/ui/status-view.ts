import type {ChalkInstance} from 'chalk'

import type {StatusResult} from '../workflows/status.js'
import {podLine} from './progress.js'

function ago(seconds: number | undefined): string {
  if (seconds === undefined) return ''
  if (seconds < 90) return `${seconds}s`
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`
  return `${Math.round(seconds / 86_400)}d`
}

export function renderStatus(s: StatusResult, t: ChalkInstance): string {
  const ok = (good: boolean) => (good ? t.green('●') : t.red('●'))
  const lines = [t.bold(`${s.project} — namespace ${s.namespace}`), '']
  const c = s.cluster
  lines.push(`${ok(c.state === 'running')} cluster   ${c.provider === 'k3d' ? `k3d ${c.name}` : `context ${c.context}`}: ${c.state}${c.state === 'running' ? `, ${c.nodes.ready}/${c.nodes.total} node(s) ready` : ''}`)
  for (const service of s.services) {
    if (service.mode === 'disabled') lines.push(`${t.dim('○')} ${service.name.padEnd(9)} disabled`)
    else lines.push(`${ok(service.ready)} ${service.name.padEnd(9)} ${service.mode}${service.endpoint ? ` ${t.dim(service.endpoint)}` : ''}${service.ready ? '' : ' — not ready'}`)
  }
  const r = s.release
  lines.push(r ? `${ok(r.status === 'deployed')} release   ${r.name} revision ${r.revision} ${r.status}${r.chart ? `, ${r.chart}` : ''}${r.appVersion ? ` (app ${r.appVersion})` : ''}${r.lastDeployed ? t.dim(`, deployed ${r.lastDeployed}`) : ''}` : `${t.red('●')} release   not installed`)
  const m = s.migration
  if (m?.result === 'not-run') lines.push(`${t.dim('○')} migration none ran: ${m.message ?? 'nothing to migrate'}`)
  else if (m) lines.push(`${ok(m.result === 'succeeded')} migration ${m.kind} ${m.name}: ${m.result} at ${m.startedAt} (${Math.round(m.durationMs / 100) / 10}s)`)
  if (s.workloads.length) {
    lines.push('', t.bold('Workloads'))
    for (const w of s.workloads) {
      lines.push(`${ok(w.ready)} ${w.kind} ${w.name}: ${w.detail}`)
      for (const pod of w.pods) lines.push(`    ${podLine(pod)}  ${t.dim(ago(pod.ageSeconds))}`)
    }
  }
  lines.push('', t.bold('Conditions'))
  for (const condition of s.conditions) {
    const mark = condition.status === 'True' ? t.green('True ') : condition.status === 'False' ? t.red('False') : t.yellow('?    ')
    lines.push(`  ${condition.type.padEnd(19)} ${mark} ${condition.reason}: ${condition.message}`)
    if (condition.hint && condition.status !== 'True') lines.push(`  ${''.padEnd(19)}       ${t.cyan('→')} ${condition.hint}`)
  }
  return `${lines.join('\n')}\n`
}
