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
import {explainUnhealthyPods} from '../../diagnose/explain.js'
import {isFatal, summarizePod} from '../../diagnose/pod.js'
import type {ChartSource} from '../../config/schema.js'
import {ChartError, MigrationError} from '../../errors.js'
import type {NamespaceWatch} from '../../kube/namespace-watch.js'
import {daemonSetReadiness, deploymentReadiness, jobState, selects, statefulSetReadiness} from '../../kube/readiness.js'
import type {KubernetesObject, V1DaemonSet, V1Deployment, V1Job, V1Pod, V1StatefulSet} from '../../kube/types.js'
import {instancesOf} from '../../logs/pods.js'
import {followContainerRun} from '../../logs/tail.js'
import {runningHelmFor} from '../../system/processes.js'
import type {InstallOptions} from '../../tools/helm.js'
import type {Connection} from '../connect.js'
import type {Pipeline, Step, StepGroup, StepRun} from '../pipeline.js'
import {k3dCluster, runAgain, type Confirm, type Project} from '../project.js'
import {runHooks} from './hooks.js'

/** What to deploy: the chart, the values and settings, as `up` or `upgrade` asks for them. */
export interface DeployRequest {
  /** The chart as configured (its version may be a range): what the fingerprint keeps. */
  chart: ChartSource
  /**
   * `upgrade` with a repository or OCI chart given as a range (or no version): the newest
   * version the range allows now, deployed as exactly that, and the version deployed before.
   * The fingerprint keeps the range, so `up` stays a no-op without asking the repository.
   */
  resolvedChart?: {version: string; deployed?: string}
  /** Absolute paths, in the order helm reads them. */
  valuesFiles: string[]
  set: Record<string, SetValue>
  /** --force: deploy even when nothing changed. */
  force: boolean
}

/** `upgrade`'s additions on top of devctl.yaml. */
export interface RequestOverrides {
  force?: boolean
  /** Replaces devctl.yaml's values files (an --image-tag staged copy). */
  valuesFiles?: string[]
  extraValuesFiles?: string[]
  extraSet?: Record<string, SetValue>
  /** --chart-version: this version (or range) instead of devctl.yaml's. */
  chartVersion?: string
  resolvedChart?: DeployRequest['resolvedChart']
}

export function deployRequest(project: Project, overrides: RequestOverrides = {}): DeployRequest {
  const configured = project.config.app.chart
  return {
    chart: overrides.chartVersion ? {...configured, version: overrides.chartVersion} : configured,
    resolvedChart: overrides.resolvedChart,
    valuesFiles: [...(overrides.valuesFiles ?? project.valuesFiles), ...(overrides.extraValuesFiles ?? [])],
    set: {...project.config.app.set, ...overrides.extraSet},
    force: overrides.force ?? false,
  }
}

/** helm's view of the request (the exact chart version when a range was resolved). */
export function installOptions(project: Project, request: DeployRequest): Omit<InstallOptions, 'kube' | 'timeoutMs'> {
  return {
    release: project.names.release,
    namespace: project.names.namespace,
    chart: request.resolvedChart ? {...request.chart, version: request.resolvedChart.version} : request.chart,
    baseDir: project.dir,
    valuesFiles: request.valuesFiles,
    set: request.set,
  }
}

/** Where a deploy happens: the project, its cluster connection and the watched namespace. */
export interface DeployTarget {
  project: Project
  connection: Connection
  watch: NamespaceWatch
  helmMajor: number
}

/** Whether the release must change, why, and (when it must) the rendered chart. */
export interface DeployPlan {
  fingerprint: string
  /** The release's current revision (undefined: not installed). */
  previous?: ReleaseRecord
  unchanged: boolean
  /** Why it changes ("first install", "--force", ...), or "nothing changed". */
  reason: string
  rendered?: RenderedChart
}

async function computeFingerprint(target: DeployTarget, request: DeployRequest): Promise<string> {
  const {project} = target
  const options = installOptions(project, request)
  return fingerprint({
    chart: request.chart,
    baseDir: options.baseDir,
    valuesFiles: options.valuesFiles,
    set: options.set,
    extra: {release: options.release, namespace: options.namespace, services: project.config.services, migration: project.config.app.migration, helm: target.helmMajor},
  })
}

/** Deployments/StatefulSets/DaemonSets helm created for this release, as found in the cluster. */
export function releaseWorkloads(watch: NamespaceWatch, release: string): Array<{kind: Workload['kind']; object: KubernetesObject}> {
  return (['Deployment', 'StatefulSet', 'DaemonSet'] as const).flatMap((kind) =>
    watch
      .list(kind)
      .filter((o) => belongsToRelease(o, release))
      .map((object) => ({kind, object: object as KubernetesObject})),
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
 * instead of failing later with "another operation is in progress" — only with its own consent
 * (--recover, or a yes to this question; never --yes), and never while a helm still works on it.
 */
export async function recoverStuckRelease(project: Project, connection: Connection, consent: Confirm, run: StepRun): Promise<{latest?: ReleaseRecord; recovered?: string}> {
  const {kube} = connection
  const {namespace, release} = project.names
  const latest = await latestRelease(kube, namespace, release)
  if (!isPending(latest)) return {latest}
  const stuck = `Release ${release} is stuck in "${latest.status}" (revision ${latest.revision}).`
  const helm = await runningHelmFor(release, namespace)
  if (helm !== undefined) {
    throw new ChartError(`${stuck} A helm (pid ${helm}) is still working on it, probably started by a devctl that was killed: devctl will not touch the release under it.`, {
      hint: 'Wait for that helm to finish (or stop it), then run this again.',
    })
  }
  const agreed = await consent({
    flag: '--recover',
    message: `${stuck} No helm is working on it any more (it was interrupted). Drop the unfinished revision ${latest.revision} so the release can be deployed again?`,
    details: [],
  })
  if (!agreed) throw new ChartError(`${stuck} A helm command was interrupted before it finished.`, {hint: 'Run this again with --recover to drop the unfinished revision (devctl checks that no helm still works on it), or in a terminal to be asked.'})
  await dropPendingRevision(kube, namespace, release, latest)
  run.warn(`Recovered release ${release}: dropped the unfinished revision ${latest.revision} (${latest.status}).`)
  return {latest: await latestRelease(kube, namespace, release), recovered: `revision ${latest.revision} (${latest.status}) dropped`}
}

function changeReason(request: DeployRequest, previous: ReleaseRecord | undefined, hash: string): string {
  if (!previous) return 'first install'
  if (request.force) return '--force'
  if (request.resolvedChart && request.resolvedChart.version !== request.resolvedChart.deployed) return `a newer chart within ${request.chart.version ?? 'any version'}`
  if (previous.fingerprint !== hash) return 'chart, values or settings changed'
  if (previous.status !== 'deployed') return `last deploy ${previous.status}`
  return 'workloads not ready'
}

/** Decide whether the release must change from `previous`; if so, render the chart to know its workloads and migration. */
export async function planDeploy(target: DeployTarget, request: DeployRequest, previous: ReleaseRecord | undefined, run: StepRun): Promise<DeployPlan> {
  const {project, watch} = target
  const hash = await computeFingerprint(target, request)
  const ready = releaseWorkloads(watch, project.names.release).every(({kind, object}) => workloadReadiness(kind, object).ready)
  const chartMoved = request.resolvedChart !== undefined && request.resolvedChart.version !== request.resolvedChart.deployed
  const unchanged = !request.force && !chartMoved && previous?.status === 'deployed' && previous.fingerprint === hash && ready
  if (unchanged) return {fingerprint: hash, previous, unchanged, reason: 'nothing changed'}
  run.note('rendering the chart (helm template)')
  const manifests = await project.tools.helm.template({...installOptions(project, request), isUpgrade: previous !== undefined}, run.signal)
  const rendered = analyzeChart(parseManifests(manifests), project.config.app.migration)
  return {fingerprint: hash, previous, unchanged, reason: changeReason(request, previous, hash), rendered}
}

/** `up`'s step 5: the release as it is (recovering a stuck one, with consent), and what must change. */
export const planStep: Step<DeployTarget & {request: DeployRequest; recoverConsent: Confirm}, DeployPlan> = {
  id: 'plan',
  title: (project) => `Chart ${project.names.release}: what changed`,
  async execute(input, run) {
    const {latest} = await recoverStuckRelease(input.project, input.connection, input.recoverConsent, run)
    const plan = await planDeploy(input, input.request, latest, run)
    const release = input.project.names.release
    run.title(plan.rendered ? `Chart ${release}: ${plan.reason}; migration: ${describeMigration(plan.rendered.migration)}` : `Chart ${release}: unchanged since revision ${plan.previous?.revision}`)
    return plan
  },
}

function migrationHint(project: Project): string {
  return `Fix the migration (its log is above), then ${runAgain(project)}; a migration that already ran is not undone by a rollback.`
}

/** A deploy in progress, as the helm and migration steps share it. */
export interface Deployment extends DeployTarget {
  request: DeployRequest
  plan: DeployPlan & {rendered: RenderedChart}
  /** When this deploy began: objects created since belong to it. */
  startedAt: number
  /** helm's progress, for the migration watcher: a hook Job passed when helm got past its hooks. */
  helm: {state: 'running' | 'succeeded' | 'failed'}
}

export function startDeployment(target: DeployTarget, request: DeployRequest, plan: DeployPlan & {rendered: RenderedChart}): Deployment {
  return {...target, request, plan, startedAt: Date.now(), helm: {state: 'running'}}
}

function createdDuringDeploy(deployment: Deployment, object: KubernetesObject): boolean {
  // Timestamps have second precision; anything from the same second as the start counts.
  return new Date(object.metadata?.creationTimestamp ?? 0).getTime() >= deployment.startedAt - 1000
}

async function recordMigration(deployment: Deployment, result: MigrationRecord['result'], message?: string): Promise<void> {
  const plan = deployment.plan.rendered.migration
  const name = plan.kind === 'init-container' ? `${plan.workload.name}/${plan.container}` : plan.kind === 'none' ? '' : plan.job
  await writeMigrationRecord(deployment.connection.kube, deployment.project.names.namespace, {
    kind: plan.kind,
    name,
    result,
    startedAt: new Date(deployment.startedAt).toISOString(),
    durationMs: Date.now() - deployment.startedAt,
    revision: (deployment.plan.previous?.revision ?? 0) + 1,
    message,
  })
}

export const helmStep: Step<Deployment, void> = {
  id: 'helm',
  title: (project) => `helm upgrade --install ${project.names.release}`,
  timeoutMs: ({project}) => project.timeouts.deploy,
  async execute(deployment, run) {
    const {project} = deployment
    try {
      await runHooks(project, 'beforeDeploy', run)
      // helm's own output (NOTES) is noise next to devctl's summary; its errors come back in the error.
      await project.tools.helm.upgradeInstall(
        {
          ...installOptions(project, deployment.request),
          kube: deployment.connection.kubeTarget,
          timeoutMs: project.timeouts.deploy,
          labels: {[FINGERPRINT_LABEL]: deployment.plan.fingerprint},
        },
        run.mustFinishSignal,
      )
      deployment.helm.state = 'succeeded'
    } catch (error) {
      deployment.helm.state = 'failed'
      throw error
    } finally {
      // Let waiters re-evaluate: helm finishing is news even when no object changed.
      deployment.watch.notify()
    }
    await runHooks(project, 'afterDeploy', run)
    run.title(`helm upgrade --install ${project.names.release}: done`)
  },
  async onFailure(deployment, _run, error) {
    const {watch, connection} = deployment
    const details = await explainUnhealthyPods(
      connection.kube,
      watch.list('Pod').filter((p) => createdDuringDeploy(deployment, p)),
      k3dCluster(deployment.project),
    )
    // helm fails when its pre-install/pre-upgrade hook does: that is the migration failing, say so.
    const plan = deployment.plan.rendered.migration
    const hookJob = plan.kind === 'hook-job' ? watch.get('Job', plan.job) : undefined
    const hookState = hookJob && createdDuringDeploy(deployment, hookJob) ? jobState(hookJob) : undefined
    if (plan.kind === 'hook-job' && hookState?.state === 'failed') {
      const failed = new MigrationError(`The migration Job ${plan.job} failed: ${hookState.reason} (${hookState.message}).`, {details: [...error.details.map((d) => `helm: ${d}`), ...details]})
      await recordMigration(deployment, 'failed', failed.message)
      return failed.explain({hint: migrationHint(deployment.project)})
    }
    return error.explain({details})
  },
}

/**
 * The migration containers' logs, each container run streamed once as it runs, through the
 * same reader as `devctl logs` (a dropped connection resumes where it stopped). A migration can
 * finish before its last lines have arrived; its step waits for them (briefly) before it ends.
 */
class MigrationLogs {
  private readonly followers = new Map<string, Promise<void>>()

  constructor(
    private readonly deployment: Deployment,
    private readonly run: StepRun,
  ) {}

  follow(pods: V1Pod[], container: (pod: V1Pod) => string | undefined): void {
    const {connection, project, watch} = this.deployment
    for (const pod of pods) {
      const podName = pod.metadata?.name ?? ''
      const name = container(pod)
      for (const instance of instancesOf(pod).filter((i) => i.container === name && !this.followers.has(i.containerID))) {
        const source = `${podName}/${instance.container}`
        const output = {line: (line: string) => this.run.log(source, line), trouble: (message: string) => this.run.warn(message)}
        const following = followContainerRun(connection.kube, project.names.namespace, podName, instance, () => watch.get('Pod', podName), output, this.run.signal)
        this.followers.set(instance.containerID, following.catch((error: unknown) => output.trouble(`following ${source} failed: ${(error as Error).message}`)))
      }
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

async function waitForJobMigration(deployment: Deployment, run: StepRun, plan: Extract<MigrationPlan, {kind: 'hook-job' | 'job'}>): Promise<string> {
  const {watch, helm} = deployment
  const logs = new MigrationLogs(deployment, run)
  return watch
    .until(() => {
      const job = watch.get('Job', plan.job)
      const current = job && (plan.kind === 'job' || createdDuringDeploy(deployment, job)) ? job : undefined
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
    }, run.signal)
    .finally(() => logs.drain())
}

async function waitForInitContainerMigration(deployment: Deployment, run: StepRun, plan: Extract<MigrationPlan, {kind: 'init-container'}>): Promise<string> {
  const {watch, helm} = deployment
  const logs = new MigrationLogs(deployment, run)
  return watch
    .until(() => {
      const pods = watch.list('Pod').filter((p) => selects(plan.workload.selector, p) && !p.metadata?.deletionTimestamp)
      const fresh = pods.filter((p) => createdDuringDeploy(deployment, p))
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
    }, run.signal)
    .finally(() => logs.drain())
}

export const migrationStep: Step<Deployment, void> = {
  id: 'migration',
  title: () => 'Migration',
  timeoutMs: ({project}) => project.timeouts.migration,
  async execute(deployment, run) {
    const plan = deployment.plan.rendered.migration
    if (plan.kind === 'none') return
    run.title(`Migration: ${describeMigration(plan)}`)
    const title = plan.kind === 'init-container' ? await waitForInitContainerMigration(deployment, run, plan) : await waitForJobMigration(deployment, run, plan)
    await recordMigration(deployment, 'succeeded')
    run.title(title)
  },
  async onFailure(deployment, _run, error) {
    const plan = deployment.plan.rendered.migration
    const {watch} = deployment
    const pods = watch.list('Pod').filter((pod) => {
      if (plan.kind === 'init-container') return selects(plan.workload.selector, pod) && createdDuringDeploy(deployment, pod)
      if (plan.kind === 'none') return false
      const job = watch.get('Job', plan.job)
      return pod.metadata?.ownerReferences?.some((o) => o.uid === job?.metadata?.uid) ?? false
    })
    const failed = error instanceof MigrationError || error.kind === 'timeout' ? error : new MigrationError(error.message)
    await recordMigration(deployment, 'failed', error.message)
    return failed.explain({
      details: await explainUnhealthyPods(deployment.connection.kube, pods, k3dCluster(deployment.project)),
      hint: migrationHint(deployment.project),
    })
  },
}

export const deployGroup: StepGroup = {id: 'deploy', title: (project) => `Deploy ${project.names.release}`, steps: [helmStep, migrationStep]}

/**
 * helm and the migration side by side (the migration is skipped when the chart has none); the
 * group is skipped when nothing changed.
 */
export async function deploy(pipeline: Pipeline, deployment: Deployment): Promise<void> {
  const migration = deployment.plan.rendered.migration
  await pipeline.group(deployGroup, (members) =>
    Promise.all([members.run(helmStep, deployment), migration.kind === 'none' ? members.skip(migrationStep, migration.reason) : members.run(migrationStep, deployment)]),
  )
}
