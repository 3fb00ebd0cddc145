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

/** One migrate init container: the workload whose pods run it, and its name. */
export interface MigrationContainer {
  workload: Workload
  container: string
}

export type MigrationPlan =
  | {kind: 'hook-job'; job: string; hooks: string[]}
  | {kind: 'job'; job: string}
  /** Every workload that migrates in an init container (each is followed; any failing fails). */
  | {kind: 'init-container'; containers: MigrationContainer[]}
  | {kind: 'none'; reason: string}

/** Whether the release is being installed or upgraded: a hook Job runs only on its own phases. */
export type DeployPhase = 'install' | 'upgrade'

export interface RenderedChart {
  /** Rendered for this phase (`helm template --is-upgrade` for an upgrade). */
  phase: DeployPhase
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

export interface AnalyzeOptions {
  phase: DeployPhase
  /** The release name: `migration: {initContainer: WORKLOAD/NAME}` may leave out its `<release>-` prefix. */
  release: string
}

export function analyzeChart(objects: KubernetesObject[], setting: MigrationSetting, options: AnalyzeOptions): RenderedChart {
  const owners = objects as PodTemplateOwner[]
  const workloads = owners.filter((o) => hookAnnotation(o).length === 0 && ((WORKLOAD_KINDS as readonly string[]).includes(o.kind ?? '') || o.kind === 'Job')).map(workloadOf)
  return {phase: options.phase, objects, workloads, migration: migrationForPhase(detectMigration(owners, setting, options), options.phase)}
}

/** The hooks helm runs in each phase that a migration Job may name: before the chart's objects are applied, or after. */
const PHASE_HOOKS: Record<DeployPhase, {before: string; after: string}> = {
  install: {before: 'pre-install', after: 'post-install'},
  upgrade: {before: 'pre-upgrade', after: 'post-upgrade'},
}

const runsIn = (hooks: string[], phase: DeployPhase) => hooks.includes(PHASE_HOOKS[phase].before) || hooks.includes(PHASE_HOOKS[phase].after)

/**
 * What migrates in this phase: a hook Job runs only on the hooks it names, so a pre-upgrade-only
 * hook does nothing on the first install (and is not reported as a migration that ran).
 */
export function migrationForPhase(plan: MigrationPlan, phase: DeployPhase): MigrationPlan {
  if (plan.kind !== 'hook-job' || runsIn(plan.hooks, phase)) return plan
  const when = phase === 'install' ? 'on first install' : 'on upgrade'
  return {kind: 'none', reason: `no migration ${when}: hook Job ${plan.job} runs on ${plan.hooks.join(',')} only`}
}

/** `migration: {initContainer: NAME}` or `{initContainer: WORKLOAD/NAME}`: the init containers it names. */
function namedInitContainers(candidates: Array<{owner: PodTemplateOwner; container: {name: string}}>, name: string, release: string) {
  const [workload, container] = name.includes('/') ? (name.split('/', 2) as [string, string]) : [undefined, name]
  return candidates.filter((c) => c.container.name === container && (workload === undefined || [workload, `${release}-${workload}`].includes(c.owner.metadata?.name ?? '')))
}

function detectMigration(owners: PodTemplateOwner[], setting: MigrationSetting, {phase, release}: AnalyzeOptions): MigrationPlan {
  if (setting === 'none') return {kind: 'none', reason: 'migration: none in devctl.yaml'}
  const jobs = owners.filter((o): o is PodTemplateOwner & V1Job => o.kind === 'Job')
  const hooksOf = (job: PodTemplateOwner, when: 'before' | 'after') => hookAnnotation(job).filter((h) => h === PHASE_HOOKS.install[when] || h === PHASE_HOOKS.upgrade[when])
  const hookJob = (job: PodTemplateOwner) => hooksOf(job, 'before').length > 0 || hooksOf(job, 'after').length > 0
  const initContainers = owners
    .filter((o) => (WORKLOAD_KINDS as readonly string[]).includes(o.kind ?? ''))
    .flatMap((o) => (o.spec?.template?.spec?.initContainers ?? []).map((c) => ({owner: o, container: c})))
  const toContainers = (found: typeof initContainers): MigrationPlan => ({kind: 'init-container', containers: found.map((c) => ({workload: workloadOf(c.owner), container: c.container.name}))})

  if (typeof setting === 'object' && 'job' in setting) {
    const job = jobs.find((j) => j.metadata?.name === setting.job)
    if (!job)
      throw new ConfigError(
        `devctl.yaml names the migration Job "${setting.job}", but the rendered chart has no Job by that name (it has: ${jobs.map((j) => j.metadata?.name).join(', ') || 'none'}).`,
        {hint: 'Fix app.migration.job, or use migration: auto.'},
      )
    return hookJob(job) ? {kind: 'hook-job', job: setting.job, hooks: hookAnnotation(job)} : {kind: 'job', job: setting.job}
  }
  if (typeof setting === 'object' && 'initContainer' in setting) {
    const found = namedInitContainers(initContainers, setting.initContainer, release)
    if (found.length === 0) {
      const existing = initContainers.map((c) => `${c.owner.metadata?.name}/${c.container.name}`)
      throw new ConfigError(
        `devctl.yaml names the migration init container "${setting.initContainer}", but no workload in the rendered chart has one by that name (it has: ${existing.join(', ') || 'none'}).`,
        {
          hint: "Fix app.migration.initContainer (NAME, or WORKLOAD/NAME for one workload's), or use migration: auto.",
        },
      )
    }
    return toContainers(found)
  }

  // auto: a pre-install/pre-upgrade hook Job (one that runs in this phase first: a chart may have a
  // pre-install one and a pre-upgrade one), else a post-install/post-upgrade one that says migrate
  // (Chatwoot migrates after the app is applied), else a Job that says migrate, else every init container that does.
  const saysMigrateJob = (j: PodTemplateOwner) => (j.spec?.template?.spec?.containers ?? []).some((c) => saysMigrate(j.metadata?.name ?? '', c))
  const before = jobs.filter((j) => hooksOf(j, 'before').length > 0)
  const after = jobs.filter((j) => hooksOf(j, 'before').length === 0 && hooksOf(j, 'after').length > 0 && saysMigrateJob(j))
  const now = (j: PodTemplateOwner) => runsIn(hookAnnotation(j), phase)
  const hook = before.filter(now).find(saysMigrateJob) ?? before.find(now) ?? after.find(now) ?? before.find(saysMigrateJob) ?? before[0] ?? after[0]
  if (hook) return {kind: 'hook-job', job: hook.metadata!.name!, hooks: hookAnnotation(hook)}
  const plain = jobs.find((j) => hookAnnotation(j).length === 0 && (j.spec?.template?.spec?.containers ?? []).some((c) => saysMigrate(j.metadata?.name ?? '', c)))
  if (plain) return {kind: 'job', job: plain.metadata!.name!}
  const migrating = initContainers.filter((c) => saysMigrate('', c.container))
  if (migrating.length > 0) return toContainers(migrating)
  return {kind: 'none', reason: 'the chart has no migration Job or migrate init container'}
}

export function describeMigration(plan: MigrationPlan): string {
  switch (plan.kind) {
    case 'hook-job':
      return `hook Job ${plan.job} (${plan.hooks.join(',')})`
    case 'job':
      return `Job ${plan.job}`
    case 'init-container':
      return plan.containers.map((c) => `init container ${c.container} of ${c.workload.kind} ${c.workload.name}`).join(', ')
    case 'none':
      return plan.reason
  }
}
