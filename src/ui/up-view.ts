/** What `up` prints when it is done (or, with --dry-run, what it would do). */
import type {ChalkInstance} from 'chalk'

import {formatDuration} from '../workflows/pipeline.js'
import type {UpPlan, UpResult} from '../workflows/up.js'
import {podTable} from './progress.js'

export function renderUpSummary(result: UpResult, t: ChalkInstance): string {
  const lines = [
    '',
    `${t.green('✔')} ${t.bold(result.project)} is up in ${formatDuration(result.durationMs)} — cluster ${result.cluster.name} (${result.cluster.action}), namespace ${result.namespace}.`,
  ]
  lines.push(
    result.release.deployed
      ? `  release ${result.release.name} deployed${result.release.previousRevision ? ` (was revision ${result.release.previousRevision})` : ''}`
      : `  release ${result.release.name} unchanged: helm was not called (use --force to redeploy)`,
  )
  for (const image of result.images ?? []) lines.push(`  image ${image.ref} ${image.built ? 'built' : 'unchanged'}${image.moved ? `, ${image.via === 'import' ? 'imported' : 'pushed'}` : ''}`)
  if (result.pods.length) {
    // The current revision's pods only: the ones it replaced are not part of what is up.
    lines.push('', 'Pods:')
    lines.push(...podTable(result.pods, '  '))
  }
  if (result.endpoints.length) {
    lines.push('', 'Reach it:')
    for (const endpoint of result.endpoints) lines.push(`  ${endpoint.name}: ${endpoint.url ? t.cyan(endpoint.url) : t.dim(endpoint.command ?? '')}`)
  }
  lines.push('', `Next: ${t.cyan('devctl logs')} to follow every pod, ${t.cyan('devctl status')} for the overview, ${t.cyan('devctl upgrade')} after changing values.`, '')
  return lines.join('\n')
}

export function renderUpPlan(plan: UpPlan, t: ChalkInstance): string {
  const lines = [t.bold('devctl up --dry-run: nothing was changed.'), '']
  if (plan.cluster.k3dConfig) lines.push(t.bold(`# k3d cluster ${plan.cluster.name} (created if missing, started if stopped)`), plan.cluster.k3dConfig.trimEnd(), '')
  else lines.push(t.bold(`# existing cluster: kube context ${plan.cluster.context}`), '')
  lines.push(t.bold('# applied with server-side apply (secret values masked)'), plan.manifests.trimEnd(), '')
  lines.push(t.bold('# then'), plan.helmCommand, '')
  lines.push(t.bold('# the chart: helm template with your values, as on a first install (Secret values masked)'), t.bold(`# migration: ${plan.chart.migration}`), plan.chart.manifests.trimEnd(), '')
  return lines.join('\n')
}
