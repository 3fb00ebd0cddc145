/**
 * Steps 5 and 6 of `up` (and the core of `upgrade`): decide whether the release must change,
 * then `helm upgrade --install` while the migration (hook Job, plain Job or init container)
 * is watched side by side, its logs streamed, failing fast instead of waiting for a timeout.
 */
import {FINGERPRINT_LABEL, recordCheckedFingerprint} from '../../chart/fingerprint.js'
import {describeMigration, type RenderedChart} from '../../chart/manifests.js'
import {latestRelease, type ReleaseRecord} from '../../chart/release-record.js'
import {dropPendingRevision, isPending} from '../../chart/release-recovery.js'
import {emptyStorageClassClaims} from '../../diagnose/claims.js'
import {explainUnhealthyPods} from '../../diagnose/explain.js'
import {ChartError, DevctlError} from '../../errors.js'
import type {NamespaceWatch} from '../../kube/namespace-watch.js'
import {runningHelmFor} from '../../system/processes.js'
import {sleep} from '../../system/sleep.js'
import type {Connection} from '../connect.js'
import type {Pipeline, Step, StepGroup, StepRun} from '../pipeline.js'
import {k3dCluster, runAgain, type Confirm, type Project} from '../project.js'
import {createdDuringDeploy, type Deployment} from './deployment.js'
import {runHooks} from './hooks.js'
import {migrationStep, recordMigration} from './migration.js'
import {deployFingerprint, renderChart, type ChartCheck} from './render.js'
import {installOptions, type DeployRequest} from './request.js'
import {deployedWorkloads, generationsNow, workloadRollout} from './rollout.js'

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
  if (!agreed)
    throw new ChartError(`${stuck} A helm command was interrupted before it finished.`, {
      hint: 'Run this again with --recover to drop the unfinished revision (devctl checks that no helm still works on it), or in a terminal to be asked.',
    })
  await dropPendingRevision(kube, namespace, release, latest)
  run.warn(`Recovered release ${release}: dropped the unfinished revision ${latest.revision} (${latest.status}).`)
  return {latest: await latestRelease(kube, namespace, release), recovered: `revision ${latest.revision} (${latest.status}) dropped`}
}

/**
 * Whether the release must change from `previous` (undefined: not installed), and why: it is
 * left as it is only when nothing asks for a change — no --force, no newer chart within the
 * range, the same fingerprint, a last deploy that succeeded, and every workload ready.
 */
export function releaseChange(request: DeployRequest, previous: ReleaseRecord | undefined, fingerprint: string, workloadsReady: boolean): {unchanged: boolean; reason: string} {
  const changed = (reason: string) => ({unchanged: false, reason})
  if (!previous) return changed('first install')
  if (request.force) return changed('--force')
  if (request.resolvedChart && request.resolvedChart.version !== request.resolvedChart.deployed) return changed(`a newer chart within ${request.chart.version ?? 'any version'}`)
  if (previous.fingerprint !== fingerprint) return changed('chart, values or settings changed')
  if (previous.status !== 'deployed') return changed(`last deploy ${previous.status}`)
  if (!workloadsReady) return changed('workloads not ready')
  return {unchanged: true, reason: 'nothing changed'}
}

/**
 * Decide whether the release must change from `previous`; if so, the rendered chart (its
 * workloads and migration): the one `up` checked before the cluster step when it was rendered
 * for this phase, else rendered now.
 */
export async function planDeploy(
  target: DeployTarget,
  request: DeployRequest,
  previous: ReleaseRecord | undefined,
  run: StepRun,
  checked?: ChartCheck,
  options: {releaseIsLatest?: boolean} = {},
): Promise<DeployPlan> {
  const {project, watch} = target
  const hash = checked?.fingerprint ?? (await deployFingerprint(project, target.helmMajor, request))
  const ready = deployedWorkloads(watch, project.names.release).every((workload) => workloadRollout(watch, workload).ready)
  const change = releaseChange(request, previous, hash, ready)
  if (change.unchanged) return {fingerprint: hash, previous, ...change}
  const phase = previous === undefined ? 'install' : 'upgrade'
  let rendered = checked?.rendered
  // An upgrade renders as its next revision: a chart may name a Job by .Release.Revision, which
  // `helm template` (the check before the cluster) always renders as 1. Not past a pending
  // revision (helm refuses while one is), which the upgrade drops first.
  const asNextRevision = phase === 'upgrade' && options.releaseIsLatest !== false
  if (rendered?.phase !== phase || asNextRevision) {
    run.note(asNextRevision ? 'rendering the chart as the next revision (helm upgrade --dry-run)' : 'rendering the chart (helm template)')
    rendered = await renderChart(project, request, phase, run.signal, asNextRevision ? target.connection.kubeTarget : undefined)
    await recordCheckedFingerprint(project.stateDir, hash)
  }
  return {fingerprint: hash, previous, ...change, rendered}
}

/** `up`'s step 5: the release as it is (recovering a stuck one, with consent), and what must change. */
export const planStep: Step<DeployTarget & {request: DeployRequest; checked?: ChartCheck; recoverConsent: Confirm}, DeployPlan> = {
  id: 'plan',
  title: (project) => `Chart ${project.names.release}: what changed`,
  async execute(input, run) {
    const {latest} = await recoverStuckRelease(input.project, input.connection, input.recoverConsent, run)
    const plan = await planDeploy(input, input.request, latest, run, input.checked)
    const release = input.project.names.release
    const migration = plan.rendered?.migration
    const migrates = migration?.kind === 'none' ? migration.reason : `migration: ${migration ? describeMigration(migration) : ''}`
    run.title(plan.rendered ? `Chart ${release}: ${plan.reason}; ${migrates}` : `Chart ${release}: unchanged since revision ${plan.previous?.revision}`)
    return plan
  },
}

/** How long a failed helm waits for the migration step to say whether the failure was the migration's. */
const MIGRATION_VERDICT_WAIT_MS = 5000

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
      deployment.helm.generations = await generationsNow(deployment.connection.kube, project.names.namespace, deployment.plan.rendered.workloads)
      deployment.helm.state = 'succeeded'
    } catch (error) {
      deployment.helm.state = 'failed'
      if (error instanceof DevctlError) deployment.helm.error = error
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
    // helm fails when its pre-install/pre-upgrade hook does: the migration step decides (from
    // what it saw, even of a Job helm deleted) whether that was the migration, and says so.
    if (deployment.plan.rendered.migration.kind === 'hook-job') {
      // Bounded: a migration step stopped before it started never ends.
      const bound = new AbortController()
      await Promise.race([deployment.migration.done, sleep(MIGRATION_VERDICT_WAIT_MS, bound.signal)])
      bound.abort()
    }
    const details = await explainUnhealthyPods(
      connection.kube,
      watch.list('Pod').filter((p) => createdDuringDeploy(deployment, p)),
      {k3dCluster: k3dCluster(deployment.project)},
    )
    const claims = emptyStorageClassClaims(error.details, deployment.plan.rendered.objects, runAgain(deployment.project))
    return error.explain({details: claims ? [claims.detail, ...details] : details, hint: claims?.hint})
  },
}

export const deployGroup: StepGroup = {id: 'deploy', title: (project) => `Deploy ${project.names.release}`, steps: [helmStep, migrationStep]}

/**
 * helm and the migration side by side (the migration is skipped when the chart has none); the
 * group is skipped when nothing changed.
 */
export async function deploy(pipeline: Pipeline, deployment: Deployment): Promise<void> {
  const migration = deployment.plan.rendered.migration
  await pipeline.group(deployGroup, (members) => {
    const migrating = migration.kind === 'none' ? members.skip(migrationStep, migration.reason) : members.run(migrationStep, deployment)
    // Settled once the migration step has ended and reported: then a failed helm knows whose failure it is.
    void Promise.resolve(migrating)
      .finally(() => deployment.migration.ended())
      .catch(() => {})
    return Promise.all([members.run(helmStep, deployment), migrating])
  })
  // `status` says what ran: nothing, and why (a pre-upgrade-only hook on the first install), is an answer too.
  if (migration.kind === 'none') await recordMigration(deployment, 'not-run', migration.reason)
}
