/**
 * What a rendered chart contains that devctl must wait on: its workloads, and how it migrates
 * its database (a hook Job, a plain Job, or an init container — detected when
 * `migration: auto`, as the seed write-ups describe teams doing all three).
 */
import {parseAllDocuments} from 'yaml'

import type {MigrationSetting} from '../config/schema.js'
import {ChartError, ConfigError} from '../errors.js'
import type {KubernetesObject, V1Job, V1PodSpec} from '../kube/types.js'

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number]

export interface Workload {
  kind: WorkloadKind | 'Job'
  name: string
  /** spec.selector.matchLabels: which pods belong to it. */
  selector: Record<string, string>
  replicas?: number
}

export type MigrationPlan =
  | {kind: 'hook-job'; job: string; hooks: string[]}
  | {kind: 'job'; job: string}
  | {kind: 'init-container'; workload: Workload; container: string}
  | {kind: 'none'; reason: string}

export interface RenderedChart {
  objects: KubernetesObject[]
  /** Deployments/StatefulSets/DaemonSets and plain Jobs, not hooks. */
  workloads: Workload[]
  migration: MigrationPlan
}

type PodTemplateOwner = KubernetesObject & {spec?: {template?: {spec?: V1PodSpec; metadata?: {labels?: Record<string, string>}}; selector?: {matchLabels?: Record<string, string>}; replicas?: number}}

const MIGRATE = /migrat/i

function hookAnnotation(object: KubernetesObject): string[] {
  return (object.metadata?.annotations?.['helm.sh/hook'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
}

function saysMigrate(name: string, container: {name: string; command?: string[]; args?: string[]}): boolean {
  return MIGRATE.test(name) || MIGRATE.test(container.name) || [...(container.command ?? []), ...(container.args ?? [])].some((part) => MIGRATE.test(part))
}

export function parseManifests(text: string): KubernetesObject[] {
  const objects: KubernetesObject[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new ChartError(`helm template produced YAML devctl cannot read: ${doc.errors[0]!.message}`)
    const value = doc.toJS() as KubernetesObject | null
    if (value && typeof value === 'object' && value.kind) objects.push(value)
  }
  return objects
}

function workloadOf(object: PodTemplateOwner): Workload {
  return {
    kind: object.kind as Workload['kind'],
    name: object.metadata?.name ?? '?',
    selector: object.spec?.selector?.matchLabels ?? object.spec?.template?.metadata?.labels ?? {},
    replicas: object.spec?.replicas,
  }
}

export function analyzeChart(objects: KubernetesObject[], setting: MigrationSetting): RenderedChart {
  const owners = objects as PodTemplateOwner[]
  const workloads = owners
    .filter((o) => hookAnnotation(o).length === 0 && ((WORKLOAD_KINDS as readonly string[]).includes(o.kind ?? '') || o.kind === 'Job'))
    .map(workloadOf)
  return {objects, workloads, migration: detectMigration(owners, setting)}
}

function detectMigration(owners: PodTemplateOwner[], setting: MigrationSetting): MigrationPlan {
  if (setting === 'none') return {kind: 'none', reason: 'migration: none in devctl.yaml'}
  const jobs = owners.filter((o): o is PodTemplateOwner & V1Job => o.kind === 'Job')
  const hookJob = (job: PodTemplateOwner) => hookAnnotation(job).some((h) => h === 'pre-install' || h === 'pre-upgrade')
  const initContainers = owners
    .filter((o) => (WORKLOAD_KINDS as readonly string[]).includes(o.kind ?? ''))
    .flatMap((o) => (o.spec?.template?.spec?.initContainers ?? []).map((c) => ({owner: o, container: c})))

  if (typeof setting === 'object' && 'job' in setting) {
    const job = jobs.find((j) => j.metadata?.name === setting.job)
    if (!job) throw new ConfigError(`devctl.yaml names the migration Job "${setting.job}", but the rendered chart has no Job by that name (it has: ${jobs.map((j) => j.metadata?.name).join(', ') || 'none'}).`, {hint: 'Fix app.migration.job, or use migration: auto.'})
    return hookJob(job) ? {kind: 'hook-job', job: setting.job, hooks: hookAnnotation(job)} : {kind: 'job', job: setting.job}
  }
  if (typeof setting === 'object' && 'initContainer' in setting) {
    const found = initContainers.find((c) => c.container.name === setting.initContainer)
    if (!found) throw new ConfigError(`devctl.yaml names the migration init container "${setting.initContainer}", but no workload in the rendered chart has one by that name.`, {hint: 'Fix app.migration.initContainer, or use migration: auto.'})
    return {kind: 'init-container', workload: workloadOf(found.owner), container: setting.initContainer}
  }

  // auto: a pre-install/pre-upgrade hook Job, else a Job that says migrate, else an init container that does.
  const hook = jobs.find((j) => hookJob(j) && (j.spec?.template?.spec?.containers ?? []).some((c) => saysMigrate(j.metadata?.name ?? '', c)))
    ?? jobs.find((j) => hookJob(j))
  if (hook) return {kind: 'hook-job', job: hook.metadata!.name!, hooks: hookAnnotation(hook)}
  const plain = jobs.find((j) => hookAnnotation(j).length === 0 && (j.spec?.template?.spec?.containers ?? []).some((c) => saysMigrate(j.metadata?.name ?? '', c)))
  if (plain) return {kind: 'job', job: plain.metadata!.name!}
  const init = initContainers.find((c) => saysMigrate('', c.container))
  if (init) return {kind: 'init-container', workload: workloadOf(init.owner), container: init.container.name}
  return {kind: 'none', reason: 'the chart has no migration Job or migrate init container'}
}

export function describeMigration(plan: MigrationPlan): string {
  switch (plan.kind) {
    case 'hook-job':
      return `hook Job ${plan.job} (${plan.hooks.join(',')})`
    case 'job':
      return `Job ${plan.job}`
    case 'init-container':
      return `init container ${plan.container} of ${plan.workload.kind} ${plan.workload.name}`
    case 'none':
      return 'none'
  }
}
