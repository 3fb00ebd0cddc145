import type {ChalkInstance} from 'chalk'

import {formatBytes} from '../text.js'
import {formatDuration} from '../workflows/pipeline.js'
import type {UpgradePlan, UpgradeResult} from '../workflows/upgrade.js'
import {podTable} from './progress.js'
import {forDisplay} from './untrusted-text.js'

function show(value: unknown): string {
  if (value === undefined) return '(unset)'
  // Values may hold a password given with --set.
  return forDisplay(typeof value === 'string' && value !== '' ? value : JSON.stringify(value))
}

export function renderUpgradePlan(plan: UpgradePlan, t: ChalkInstance): string {
  if (!plan.changed) return `${t.green('✔')} ${plan.release}: nothing changed since revision ${plan.fromRevision}; helm was not called.\n`
  const lines = ['', t.bold(`Upgrade of ${plan.release} (revision ${plan.fromRevision} → ${(plan.fromRevision ?? 0) + 1}): ${plan.reason}`)]
  if (plan.stuck) lines.push(`  revision ${plan.stuck.revision} is ${plan.stuck.status}: it is dropped before deploying (asks first)`)
  if (plan.chart.from !== plan.chart.to) lines.push(`  chart version: ${plan.chart.from ?? '?'} → ${plan.chart.to ?? '?'}`)
  if (plan.reinstall) lines.push(t.yellow("  the chart crosses devctl.yaml's breakingVersion: the release is uninstalled and installed again (Postgres/Redis data kept)"))
  if (plan.values.length === 0) lines.push('  values: what the chart receives is unchanged')
  for (const change of plan.values) lines.push(`  ${change.path}: ${t.red(show(change.before))} → ${t.green(show(change.after))}`)
  lines.push(`  migration: ${plan.migration}`)
  if (plan.snapshot) lines.push('  data: Postgres is snapshotted before the migration (a failed upgrade can restore it)')
  if (plan.keeps.length) lines.push(`  kept in devctl.yaml once it succeeds, so \`devctl up\` deploys the same: ${plan.keeps.map(show).join(', ')}`)
  if (plan.notKept.length)
    lines.push(t.yellow(`  not kept in devctl.yaml, as it may be a secret: --set ${plan.notKept.join(', ')}; the next \`devctl up\` deploys without it (give the chart a Secret: app.wiring.secrets)`))
  lines.push('')
  return lines.join('\n')
}

export function renderUpgradeResult(result: UpgradeResult, t: ChalkInstance): string {
  if (result.outcome !== 'upgraded') return ''
  const lines = ['', `${t.green('✔')} ${result.plan.release} upgraded in ${formatDuration(result.durationMs)}.`]
  lines.push(...podTable(result.pods, '  '))
  if (result.snapshot)
    lines.push(
      t.dim(
        `  The data before the migration is in snapshot ${result.snapshot.name} (${formatBytes(result.snapshot.bytes)}, taken in ${formatDuration(result.snapshot.durationMs)}): \`devctl db restore ${result.snapshot.name}\` puts it back.`,
      ),
    )
  lines.push('')
  return lines.join('\n')
}
