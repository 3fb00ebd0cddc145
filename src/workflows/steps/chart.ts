/**
 * Steps 5 and 6 of `up` (and the core of `upgrade`): decide whether the release must change,
 * then `helm upgrade --install` while the migration (hook Job, plain Job or init container)
 * is watched side by side, its logs streamed, failing fast instead of waiting for a timeout.
 */
import {setTimeout as sleep} from 'node:timers/promises'

import {analyzeChart, describeMigration, parseManifests, type MigrationPlan, type RenderedChart, type Workload} from '../../chart/manifests.js'
import {fingerprint, FINGERPRINT_LABEL} from '../../chart/fingerprint.js'
import type {SetValue} from '../../chart/set-syntax.js'
import {writeMigrationRecord, type MigrationRecord} from '../../chart/migration-record.js'
import {belongsToRelease, latestRelease, type ReleaseRecord} from '../../chart/release-record.js'
import {dropPendingRevision, isPending} from '../../chart/release-recovery.js'
import {isFatal, summarizePod} from '../../diagnose/pod.js'
import type {ChartSource} from '../../config/schema.js'
import {ChartError, MigrationError} from '../../errors.js'
import {followContainer} from '../../kube/log-lines.js'
import {daemonSetReadiness, deploymentReadiness, jobState, selects, statefulSetReadiness} from '../../kube/readiness.js'
import type {KubernetesObject, V1DaemonSet, V1Deployment, V1Job, V1Pod, V1StatefulSet} from '../../kube/types.js'
import type {InstallOptions} from '../../tools/helm.js'
import {kubeOf, timeoutOf, watchOf} from '../context.js'
import type {GroupStep, LeafStep, StepRun} from '../pipeline.js'
import type {ClusterContext} from './cluster.js'
import {runHooks} from './hooks.js'
import {explainUnhealthyPods} from '../../diagnose/explain.js'

export interface DeployContext extends ClusterContext {
  /** --force: deploy even when nothing changed. */
  force: boolean
  /** --set / --values / --image-tag of `upgrade`, on top of devctl.yaml. */
  extraValuesFiles?: string[]
  extraSet?: Record<string, SetValue>
  /** --chart-version: deploy this version (or range) instead of devctl.yaml's. */
  chartVersionOverride?: string
  /**
   * `upgrade` with a repository or OCI chart given as a range (or no version): the newest version
   * the range allows now, deployed as exactly that, and the version deployed before. The
   * fingerprint keeps the range, so `up` stays a no-op without asking the repository.
   */
  resolvedChart?: {version: string; deployed?: string}
  /** What recovering a stuck release did, if it had to. */
  recovered?: string
  deploy?: {
    fingerprint: string
    previous?: ReleaseRecord
    unchanged: boolean
    rendered?: RenderedChart
    /** When this deploy began: objects created since belong to it. */
    startedAt: number
    helm: HelmProgress
  }
}

/** helm's progress, for the migration watcher: a hook Job passed when helm got past its hooks. */
interface HelmProgress {
  state: 'running' | 'succeeded' | 'failed'
}

/** The chart as devctl.yaml and --chart-version give it (a version may be a range). */
export function configuredChart(ctx: DeployContext): ChartSource {
  return ctx.chartVersionOverride ? {...ctx.config.app.chart, version: ctx.chartVersionOverride} : ctx.config.app.chart
}

export function installOptions(ctx: DeployContext): Omit<InstallOptions, 'kube' | 'timeout'> {
  const chart = configuredChart(ctx)
  return {
    release: ctx.names.release,
    namespace: ctx.names.namespace,
    chart: ctx.resolvedChart ? {...chart, version: ctx.resolvedChart.version} : chart,
    baseDir: ctx.loaded.dir,
    valuesFiles: [...ctx.valuesFiles, ...(ctx.extraValuesFiles ?? [])],
    set: {...ctx.config.app.set, ...ctx.extraSet},
  }
}

async function computeFingerprint(ctx: DeployContext): Promise<string> {
  const options = installOptions(ctx)
  return fingerprint({
    chart: configuredChart(ctx),
    baseDir: options.baseDir,
    valuesFiles: options.valuesFiles,
    set: options.set,
    extra: {release: options.release, namespace: options.namespace, services: ctx.config.services, migration: ctx.config.app.migration, helm: ctx.helmMajor},
  })
}

/** Deployments/StatefulSets/DaemonSets helm created for this release, as found in the cluster. */
export function releaseWorkloads(ctx: DeployContext): Array<{kind: Workload['kind']; object: KubernetesObject}> {
  const watch = watchOf(ctx)
  return (['Deployment', 'StatefulSet', 'DaemonSet'] as const).flatMap((kind) =>
    watch
      .list(kind)
      .filter((o) => belongsToRelease(o, ctx.names.release))
      .map((object) => ({kind, object})),
  )
}

export function workloadReadiness(kind: Workload['kind'], object: KubernetesObject) {
  switch (kind) {
    case 'Deployment':
      return deploymentReadiness(object as V1Deployment)
    case 'StatefulSet':
      return statefulSetReadiness(object as V1StatefulSet)
    case 'DaemonSet':
      return daemonSetReadiness(object as V1DaemonSet)
    case 'Job': {
      const state = jobState(object as V1Job)
      return {ready: state.state === 'complete', detail: state.state === 'failed' ? state.message : state.detail}
    }
  }
}

/**
 * The release as it is now; a revision stuck pending (helm killed mid-way) is recovered first,
 * with the user's consent, instead of failing later with "another operation is in progress".
 */
export async function currentRelease(ctx: DeployContext, run: StepRun): Promise<ReleaseRecord | undefined> {
  const kube = kubeOf(ctx)
  const latest = await latestRelease(kube, ctx.names.namespace, ctx.names.release)
  if (!isPending(latest)) return latest
  const stuck = `Release ${ctx.names.release} is stuck in "${latest.status}" (revision ${latest.revision}): a helm command was interrupted before it finished.`
  const consent = await ctx.confirm({
    flag: '--yes',
    message: `${stuck} Drop the unfinished revision ${latest.revision} so the release can be deployed again?`,
    details: [],
  })
  if (!consent) throw new ChartError(stuck, {hint: 'Run `devctl upgrade` (it asks before recovering it), or run this again with --yes.'})
  await dropPendingRevision(kube, ctx.names.namespace, ctx.names.release, latest)
  run.warn(`Recovered release ${ctx.names.release}: dropped the unfinished revision ${latest.revision} (${latest.status}).`)
  ctx.recovered = `revision ${latest.revision} (${latest.status}) dropped`
  return latestRelease(kube, ctx.names.namespace, ctx.names.release)
}

/** Decide whether the release must change; if so, render the chart to know its workloads and migration. */
export async function prepareDeploy(ctx: DeployContext, run: StepRun): Promise<NonNullable<DeployContext['deploy']>> {
  const previous = await currentRelease(ctx, run)
  const hash = await computeFingerprint(ctx)
  const ready = releaseWorkloads(ctx).every(({kind, object}) => workloadReadiness(kind, object).ready)
  const chartMoved = ctx.resolvedChart !== undefined && ctx.resolvedChart.version !== ctx.resolvedChart.deployed
  const unchanged = !ctx.force && !chartMoved && previous?.status === 'deployed' && previous.fingerprint === hash && ready
  ctx.deploy = {fingerprint: hash, previous, unchanged, startedAt: Date.now(), helm: {state: 'running'}}
  if (!unchanged) {
    run.note('rendering the chart (helm template)')
    const manifests = await ctx.tools.helm.template({...installOptions(ctx), isUpgrade: previous !== undefined}, run.signal)
    ctx.deploy.rendered = analyzeChart(parseManifests(manifests), ctx.config.app.migration)
  }
  return ctx.deploy
}

export function changeReason(ctx: DeployContext): string {
  const {previous, fingerprint: hash} = ctx.deploy!
  if (!previous) return 'first install'
  if (ctx.force) return '--force'
  if (ctx.resolvedChart && ctx.resolvedChart.version !== ctx.resolvedChart.deployed) return `a newer chart within ${configuredChart(ctx).version ?? 'any version'}`
  if (previous.fingerprint !== hash) return 'chart, values or settings changed'
  if (previous.status !== 'deployed') return `last deploy ${previous.status}`
  return 'workloads not ready'
}

export const planStep: LeafStep<DeployContext> = {
  id: 'plan',
  title: (ctx) => `Chart ${ctx.names.release}: what changed`,
  async execute(ctx, run) {
    const deploy = await prepareDeploy(ctx, run)
    if (deploy.unchanged) return `Chart ${ctx.names.release}: unchanged since revision ${deploy.previous?.revision}`
    return `Chart ${ctx.names.release}: ${changeReason(ctx)}; migration: ${describeMigration(deploy.rendered!.migration)}`
  },
}

const MIGRATION_HINT = 'Fix the migration (its log is above), then run `devctl up` again; a migration that already ran is not undone by a rollback.'

const helmStep: LeafStep<DeployContext> = {
  id: 'helm',
  title: (ctx) => `helm upgrade --install ${ctx.names.release}`,
  timeoutMs: (ctx) => timeoutOf(ctx, 'deploy'),
  async execute(ctx, run) {
    const deploy = ctx.deploy!
    try {
      await runHooks(ctx, 'beforeDeploy', run)
      // helm's own output (NOTES) is noise next to devctl's summary; its errors come back in the error.
      await ctx.tools.helm.upgradeInstall(
        {
          ...installOptions(ctx),
          kube: ctx.kubeTarget!,
          timeout: ctx.config.app.timeouts.deploy,
          labels: {[FINGERPRINT_LABEL]: deploy.fingerprint},
        },
        run.mustFinishSignal,
      )
      deploy.helm.state = 'succeeded'
    } catch (error) {
      deploy.helm.state = 'failed'
      throw error
    } finally {
      // Let waiters re-evaluate: helm finishing is news even when no object changed.
      watchOf(ctx).notify()
    }
    await runHooks(ctx, 'afterDeploy', run)
    return `helm upgrade --install ${ctx.names.release}: done`
  },
  async onFailure(ctx, _run, error) {
    const pods = watchOf(ctx).list('Pod')
    const details = await explainUnhealthyPods(kubeOf(ctx), pods.filter((p) => createdDuringDeploy(ctx, p)))
    // helm fails when its pre-install/pre-upgrade hook does: that is the migration failing, say so.
    const plan = ctx.deploy?.rendered?.migration
    const hookJob = plan?.kind === 'hook-job' ? watchOf(ctx).get('Job', plan.job) : undefined
    const hookState = hookJob && createdDuringDeploy(ctx, hookJob) ? jobState(hookJob) : undefined
    if (plan?.kind === 'hook-job' && hookState?.state === 'failed') {
      const failed = new MigrationError(`The migration Job ${plan.job} failed: ${hookState.reason} (${hookState.message}).`, {details: [...error.details.map((d) => `helm: ${d}`), ...details]})
      await recordMigration(ctx, 'failed', failed.message).catch(() => {})
      return failed.explain({hint: MIGRATION_HINT})
    }
    return error.explain({details})
  },
}

function createdDuringDeploy(ctx: DeployContext, object: KubernetesObject): boolean {
  // Timestamps have second precision; anything from the same second as the start counts.
  return new Date(object.metadata?.creationTimestamp ?? 0).getTime() >= (ctx.deploy?.startedAt ?? 0) - 1000
}

/**
 * The migration containers' logs, each container run streamed once as it runs. A migration can
 * finish before its last lines have arrived; its step waits for them (briefly) before it ends.
 */
class MigrationLogs {
  private readonly followers = new Map<string, Promise<void>>()

  constructor(
    private readonly ctx: DeployContext,
    private readonly run: StepRun,
  ) {}

  follow(pods: V1Pod[], container: (pod: V1Pod) => string | undefined): void {
    for (const pod of pods) {
      const name = container(pod)
      const status = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((s) => s.name === name)
      const started = status?.state?.running || status?.state?.terminated
      const key = `${pod.metadata?.uid}/${name}/${status?.restartCount ?? 0}`
      if (!name || !started || this.followers.has(key)) continue
      const source = `${pod.metadata!.name}/${name}`
      this.followers.set(key, followContainer(kubeOf(this.ctx), this.ctx.names.namespace, pod.metadata!.name!, name, (line) => this.run.log(source, line), this.run.signal))
    }
  }

  /** Let the lines of containers that have ended finish arriving; a stream still open after `ms` is left behind. */
  async drain(ms = 2000): Promise<void> {
    const timer = new AbortController()
    await Promise.race([Promise.allSettled(this.followers.values()), sleep(ms, undefined, {signal: timer.signal}).catch(() => {})])
    timer.abort()
  }
}

function failOnFatalPods(pods: V1Pod[], what: string): void {
  for (const pod of pods) {
    const summary = summarizePod(pod)
    if (isFatal(summary)) throw new MigrationError(`The migration (${what}) cannot run: pod ${summary.name} is in ${summary.reason}${summary.message ? ` (${summary.message})` : ''}.`)
  }
}

async function waitForJobMigration(ctx: DeployContext, run: StepRun, plan: Extract<MigrationPlan, {kind: 'hook-job' | 'job'}>): Promise<string> {
  const watch = watchOf(ctx)
  const logs = new MigrationLogs(ctx, run)
  const helm = ctx.deploy!.helm
  return watch.until(() => {
    const job = watch.get('Job', plan.job)
    const current = job && (plan.kind === 'job' || createdDuringDeploy(ctx, job)) ? job : undefined
    if (current) {
      const pods = watch.list('Pod').filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === current.metadata?.uid))
      for (const pod of pods) run.pod(summarizePod(pod))
      logs.follow(pods, (pod) => pod.spec?.containers[0]?.name)
      const state = jobState(current)
      if (state.state === 'complete') return `Migration (${describeMigration(plan)}) complete`
      if (state.state === 'failed') throw new MigrationError(`The migration Job ${plan.job} failed: ${state.reason} (${state.message}).`)
      failOnFatalPods(pods, `Job ${plan.job}`)
    }
    // A hook Job deleted on success (hook-succeeded) may vanish before we see it complete; helm passing its hooks says the same.
    if (plan.kind === 'hook-job' && helm.state === 'succeeded') return `Migration (${describeMigration(plan)}) complete`
    run.note(current ? `Job ${plan.job}: ${jobState(current).state}` : `waiting for Job ${plan.job}`)
    return undefined
  }, run.signal).finally(() => logs.drain())
}

async function waitForInitContainerMigration(ctx: DeployContext, run: StepRun, plan: Extract<MigrationPlan, {kind: 'init-container'}>): Promise<string> {
  const watch = watchOf(ctx)
  const logs = new MigrationLogs(ctx, run)
  const helm = ctx.deploy!.helm
  return watch.until(() => {
    const pods = watch.list('Pod').filter((p) => selects(plan.workload.selector, p) && !p.metadata?.deletionTimestamp)
    const fresh = pods.filter((p) => createdDuringDeploy(ctx, p))
    logs.follow(fresh, () => plan.container)
    const statusOf = (pod: V1Pod) => pod.status?.initContainerStatuses?.find((s) => s.name === plan.container)
    for (const pod of fresh) {
      const status = statusOf(pod)
      run.pod(summarizePod(pod))
      if (status?.state?.terminated?.exitCode === 0) return `Migration (${describeMigration(plan)}) complete in ${pod.metadata?.name}`
      const failedRuns = (status?.restartCount ?? 0) + (status?.state?.terminated ? 1 : 0)
      if (failedRuns >= 2 || status?.state?.waiting?.reason === 'CrashLoopBackOff') {
        throw new MigrationError(`The migration init container ${plan.container} in pod ${pod.metadata?.name} keeps failing (${failedRuns} failed run(s)).`)
      }
    }
    failOnFatalPods(fresh, `init container ${plan.container}`)
    // Nothing rolled: the pods that exist already ran this migration successfully.
    if (helm.state === 'succeeded' && fresh.length === 0 && pods.length > 0 && pods.every((p) => statusOf(p)?.state?.terminated?.exitCode === 0)) {
      return `Migration (${describeMigration(plan)}): already applied, no pod was replaced`
    }
    run.note(`waiting for the ${plan.container} init container of ${plan.workload.kind} ${plan.workload.name}`)
    return undefined
  }, run.signal).finally(() => logs.drain())
}

async function recordMigration(ctx: DeployContext, result: MigrationRecord['result'], message?: string): Promise<void> {
  const plan = ctx.deploy!.rendered!.migration
  const name = plan.kind === 'init-container' ? `${plan.workload.name}/${plan.container}` : plan.kind === 'none' ? '' : plan.job
  const startedAt = ctx.deploy!.startedAt
  await writeMigrationRecord(kubeOf(ctx), ctx.names.namespace, {
    kind: plan.kind,
    name,
    result,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
    revision: (ctx.deploy!.previous?.revision ?? 0) + 1,
    message,
  })
}

const migrationStep: LeafStep<DeployContext> = {
  id: 'migration',
  title: (ctx) => (ctx.deploy?.rendered && ctx.deploy.rendered.migration.kind !== 'none' ? `Migration: ${describeMigration(ctx.deploy.rendered.migration)}` : 'Migration'),
  timeoutMs: (ctx) => timeoutOf(ctx, 'migration'),
  skip: (ctx) => {
    const plan = ctx.deploy!.rendered!.migration
    return plan.kind === 'none' ? plan.reason : undefined
  },
  async execute(ctx, run) {
    const plan = ctx.deploy!.rendered!.migration
    if (plan.kind === 'none') return
    const title = plan.kind === 'init-container' ? await waitForInitContainerMigration(ctx, run, plan) : await waitForJobMigration(ctx, run, plan)
    await recordMigration(ctx, 'succeeded')
    return title
  },
  async onFailure(ctx, _run, error) {
    const plan = ctx.deploy!.rendered!.migration
    const watch = watchOf(ctx)
    const pods = watch.list('Pod').filter((pod) => {
      if (plan.kind === 'init-container') return selects(plan.workload.selector, pod) && createdDuringDeploy(ctx, pod)
      if (plan.kind === 'none') return false
      const job = watch.get('Job', plan.job)
      return pod.metadata?.ownerReferences?.some((o) => o.uid === job?.metadata?.uid) ?? false
    })
    const failed = error instanceof MigrationError || error.kind === 'timeout' ? error : new MigrationError(error.message)
    await recordMigration(ctx, 'failed', error.message).catch(() => {})
    return failed.explain({
      details: await explainUnhealthyPods(kubeOf(ctx), pods),
      hint: MIGRATION_HINT,
    })
  },
}

export const deployStep: GroupStep<DeployContext> = {
  id: 'deploy',
  title: (ctx) => `Deploy ${ctx.names.release}`,
  skip: (ctx) => (ctx.deploy?.unchanged ? `unchanged since revision ${ctx.deploy.previous?.revision} (--force redeploys)` : undefined),
  concurrent: [helmStep, migrationStep],
}
