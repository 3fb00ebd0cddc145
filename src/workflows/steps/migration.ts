/**
 * The migration step of a deploy, side by side with helm: follow what migrates (a hook Job, a
 * plain Job, or the migrate init container of every workload that has one), stream its log and
 * keep it (on disk too: a hook Job that deletes itself takes its log with it), and decide how it
 * went from what was seen — the Job's last state even after helm deleted it, helm's own outcome
 * — failing at the first failed run instead of waiting out a back-off. Retries show live; the
 * failure is explained once, with the lines that were streamed.
 */
import {relative} from 'node:path'

import {describeMigration, type MigrationContainer, type MigrationPlan} from '../../chart/manifests.js'
import {openMigrationLog, type MigrationLog} from '../../chart/migration-log.js'
import {writeMigrationRecord, type MigrationRecord} from '../../chart/migration-record.js'
import {explainUnhealthyPods, LOG_LINES_SHOWN} from '../../diagnose/explain.js'
import {isFatal, summarizePod} from '../../diagnose/pod.js'
import {DevctlError, MigrationError} from '../../errors.js'
import {jobState} from '../../kube/readiness.js'
import type {V1Job, V1Pod} from '../../kube/types.js'
import {instancesOf} from '../../logs/pods.js'
import {followContainerRun} from '../../logs/tail.js'
import {sleep} from '../../system/sleep.js'
import type {Step, StepRun} from '../pipeline.js'
import {k3dCluster, runAgain} from '../project.js'
import {createdDuringDeploy, type Deployment} from './deployment.js'
import {PodReport} from './pods.js'
import {podWiringError} from './render.js'
import {workloadKey, workloadRollout} from './rollout.js'
import {count} from '../../text.js'

/**
 * How long a verdict waits for the watches to catch up: a helm failure for the hook Job it ran
 * to show, a failed Job for its pod's last state (pods and Jobs come on separate watches).
 */
const WATCH_GRACE_MS = 1000
/** The Job controller's first retry delay; it doubles with every failed attempt (capped at 6 min). */
const JOB_BACKOFF_MS = 10_000

/**
 * The migration containers' logs, each container run streamed once as it runs, through the same
 * reader as `devctl logs` (a dropped connection resumes where it stopped); every line goes to
 * the step, to the run's log file, and to a short tail per container for the failure report.
 */
export class MigrationLogs {
  private readonly followers = new Map<string, Promise<void>>()
  private readonly tails = new Map<string, string[]>()

  constructor(
    private readonly deployment: Deployment,
    private readonly run: StepRun,
    readonly file: MigrationLog | undefined,
  ) {}

  /** Stream a pod's container (every one, init containers included, when none is named). */
  follow(pod: V1Pod, container?: string): void {
    const {connection, project, watch} = this.deployment
    const podName = pod.metadata?.name ?? ''
    for (const instance of instancesOf(pod).filter((i) => (container === undefined || i.container === container) && !this.followers.has(i.containerID))) {
      const source = `${podName}/${instance.container}`
      const output = {
        line: (line: string) => {
          this.run.log(source, line)
          this.file?.line(source, line)
          const tail = this.tails.get(source) ?? []
          tail.push(line)
          if (tail.length > LOG_LINES_SHOWN) tail.shift()
          this.tails.set(source, tail)
        },
        trouble: (message: string) => this.run.warn(message),
      }
      const following = followContainerRun(connection.kube, project.names.namespace, podName, instance, () => watch.get('Pod', podName), output, this.run.signal)
      this.followers.set(
        instance.containerID,
        following.catch((error: unknown) => output.trouble(`following ${source} failed: ${(error as Error).message}`)),
      )
    }
  }

  /** The last lines streamed from a pod's container ("pod/container"), as they arrived. */
  lastLines(source: string): string[] {
    return this.tails.get(source) ?? []
  }

  /** Let the lines of containers that have ended finish arriving; a stream still open after `ms` is left behind. */
  async drain(ms = 2000): Promise<void> {
    const timer = new AbortController()
    await Promise.race([Promise.allSettled(this.followers.values()), sleep(ms, timer.signal).catch(() => {})])
    timer.abort()
  }
}

/** What the step knows when it fails: which pod's run failed last, to explain that one only. */
interface MigrationFailure {
  message: string
  /** The pod whose run failed (it may be gone by now), and the container. */
  pod?: string
  container?: string
  /** "2 of 3 attempts failed", for a Job that retried. */
  attempts?: string
  /** The pod could not run the migration at all (image, Secret, scheduling): its state explains that; an exit code needs the log only. */
  cannotRun?: boolean
}

class MigrationFailed extends MigrationError {
  constructor(readonly failure: MigrationFailure) {
    super(failure.message)
  }
}

/** A Job's pods, oldest first: each one an attempt. */
function attemptsOf(pods: V1Pod[]): V1Pod[] {
  return [...pods].sort((a, b) => new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime())
}

/** The container of a pod whose last run failed (init containers first, as they run), if one did. */
function failedContainer(pod: V1Pod): string | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
  const failed = (exit: {exitCode: number} | undefined) => exit !== undefined && exit.exitCode !== 0
  return statuses.find((s) => failed(s.state?.terminated) || failed(s.lastState?.terminated))?.name
}

function exitOf(pod: V1Pod, container?: string): string {
  const status = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((s) => container === undefined || s.name === container)
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated
  return terminated ? `exit code ${terminated.exitCode}${terminated.reason && terminated.reason !== 'Error' ? `, ${terminated.reason}` : ''}` : 'failed'
}

/**
 * How a Job's attempts are going, for the live note: "attempt 1 of 3 failed (exit code 1); next
 * in ~10 s" while the Job controller waits to retry, "attempt 2 of 3 running" while one runs.
 */
export function attemptNote(job: V1Job, pods: V1Pod[], now: number): string {
  const limit = (job.spec?.backoffLimit ?? 6) + 1
  const attempts = attemptsOf(pods)
  const failed = attempts.filter((pod) => pod.status?.phase === 'Failed')
  const last = attempts.at(-1)
  if (!last) return `Job ${job.metadata?.name}: waiting for its first pod`
  const phase = last.status?.phase
  if (phase !== 'Failed') {
    const doing = phase === 'Succeeded' ? 'completed' : phase === 'Running' ? 'running' : 'starting'
    return `Job ${job.metadata?.name}: attempt ${attempts.length} of ${limit} ${doing}${failed.length ? ` (${failed.length} failed before)` : ''}`
  }
  const finished = new Date(last.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? now).getTime()
  const next = finished + JOB_BACKOFF_MS * 2 ** Math.max(0, failed.length - 1) - now
  return `Job ${job.metadata?.name}: attempt ${failed.length} of ${limit} failed (${exitOf(last)})${failed.length < limit ? `; next in ~${Math.max(1, Math.round(next / 1000))} s` : ''}`
}

/** How a wait ended: its title, and whether the migration ran at all. */
interface WaitOutcome {
  title: string
  ran: boolean
}

async function waitForJob(deployment: Deployment, run: StepRun, plan: Extract<MigrationPlan, {kind: 'hook-job' | 'job'}>, logs: MigrationLogs): Promise<WaitOutcome> {
  const {watch, helm} = deployment
  const pods = new PodReport(run)
  const done = {title: `Migration (${describeMigration(plan)}) complete`, ran: true}
  // The last version of this deploy's Job seen: kept after helm deletes it (hook-delete-policy), it says how it ended.
  let seen: V1Job | undefined
  const attempts = new Map<string, V1Pod>()
  let helmFailedAt: number | undefined
  let jobFailedAt: number | undefined
  return watch.until(() => {
    const job = watch.get('Job', plan.job)
    if (job && (plan.kind === 'job' || createdDuringDeploy(deployment, job))) seen = job
    if (seen) {
      const owned = watch.list('Pod').filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === seen?.metadata?.uid))
      for (const pod of owned) attempts.set(pod.metadata?.name ?? '', pod)
      pods.show(owned)
      // Every container: a Job may migrate in its init containers (Temporal's schema Job) and only say "done" after.
      for (const pod of owned) logs.follow(pod)
      const all = attemptsOf([...attempts.values()])
      const last = all.at(-1)
      const container = last && (failedContainer(last) ?? last.spec?.containers[0]?.name)
      const state = jobState(seen)
      if (state.state === 'complete') return done
      if (state.state === 'failed') {
        // Pods and Jobs come on separate watches: the Job's verdict may arrive before its pod's last
        // state. Wait (briefly) for that pod to end or go, so its log is read to the end first.
        const ended = owned.every((pod) => pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded')
        if (jobFailedAt === undefined) {
          jobFailedAt = Date.now()
          setTimeout(() => watch.notify(), WATCH_GRACE_MS).unref()
        }
        if (!ended && Date.now() - jobFailedAt < WATCH_GRACE_MS) return undefined
        const failedCount = seen.status?.failed ?? all.filter((pod) => pod.status?.phase === 'Failed').length
        throw new MigrationFailed({
          message: `The migration Job ${plan.job} failed: ${state.reason} (${state.message}).`,
          pod: last?.metadata?.name,
          container,
          attempts: `${failedCount} of ${count((seen.spec?.backoffLimit ?? 6) + 1, 'attempt')} failed`,
        })
      }
      const fatal = owned.find((pod) => isFatal(summarizePod(pod)))
      if (fatal) {
        const summary = summarizePod(fatal)
        if (summary.reason === 'CrashLoopBackOff' && summary.container) {
          // restartPolicy OnFailure: the kubelet reruns a failed container in the same pod. It ran and failed: its log says why.
          const which = fatal.spec?.initContainers?.some((c) => c.name === summary.container) ? 'init container' : 'container'
          throw new MigrationFailed({
            message: `The migration Job ${plan.job} failed: its ${which} ${summary.container} keeps failing (${exitOf(fatal, summary.container)}; ${count(summary.restarts, 'restart')} in pod ${summary.name}).`,
            pod: summary.name,
            container: summary.container,
          })
        }
        throw new MigrationFailed({
          message: `The migration Job ${plan.job} cannot run: its pod ${summary.name} is in ${summary.reason}.`,
          pod: summary.name,
          container: summary.container,
          cannotRun: true,
        })
      }
      run.note(attemptNote(seen, all, Date.now()))
    }
    // A hook Job deleted on success (hook-succeeded) may vanish before it is seen complete; helm passing its hooks says the same.
    if (plan.kind === 'hook-job' && helm.state === 'succeeded') return done
    if (helm.state === 'failed') {
      // helm stopped at this deploy's migration Job (which may be gone already: hook-failed): the migration failed.
      if (seen)
        throw new MigrationFailed({
          message: `The migration Job ${plan.job} did not complete: helm stopped at it (${helm.error?.message ?? 'helm failed'}).`,
          pod: attemptsOf([...attempts.values()]).at(-1)?.metadata?.name,
        })
      if (helmFailedAt === undefined) {
        helmFailedAt = Date.now()
        // Give the watch a moment to show a Job helm ran, then decide again.
        setTimeout(() => watch.notify(), WATCH_GRACE_MS).unref()
      } else if (Date.now() - helmFailedAt >= WATCH_GRACE_MS) {
        run.skip('did not run: helm failed before it started')
        return {title: `Migration (${describeMigration(plan)})`, ran: false}
      }
    }
    if (!seen) run.note(`waiting for Job ${plan.job}`)
    return undefined
  }, run.signal)
}

/** One migrate init container's run in a pod: its exit code once it ended, undefined while it has not. */
function initExit(pod: V1Pod, container: string): number | undefined {
  const status = pod.status?.initContainerStatuses?.find((s) => s.name === container)
  // A failed run restarted by the kubelet shows in lastState: it failed, however the next one goes.
  const lastExit = status?.lastState?.terminated?.exitCode
  if (lastExit !== undefined && lastExit !== 0) return lastExit
  return status?.state?.terminated?.exitCode
}

async function waitForInitContainers(deployment: Deployment, run: StepRun, plan: Extract<MigrationPlan, {kind: 'init-container'}>, logs: MigrationLogs): Promise<WaitOutcome> {
  const {watch, helm} = deployment
  const pods = new PodReport(run)
  const generationAtStart = new Map(plan.containers.map((c) => [workloadKey(c.workload), watch.get(c.workload.kind, c.workload.name)?.metadata?.generation]))
  const where = (c: MigrationContainer) => `${c.workload.kind} ${c.workload.name}`
  return watch.until(() => {
    const outcomes = plan.containers.map((entry) => {
      const fresh = workloadRollout(watch, entry.workload).current.filter((pod) => createdDuringDeploy(deployment, pod))
      for (const pod of fresh) logs.follow(pod, entry.container)
      return {entry, fresh}
    })
    pods.show(outcomes.flatMap((o) => o.fresh))
    const pending: string[] = []
    for (const {entry, fresh} of outcomes) {
      // The first failed run fails the migration: the kubelet would retry it forever, backing off each time.
      const failed = fresh.find((pod) => (initExit(pod, entry.container) ?? 0) !== 0)
      if (failed) {
        throw new MigrationFailed({
          message: `The migration init container ${entry.container} of ${where(entry)} failed (${exitOf(failed, entry.container)}) in pod ${failed.metadata?.name}.`,
          pod: failed.metadata?.name,
          container: entry.container,
        })
      }
      const fatal = fresh.find((pod) => isFatal(summarizePod(pod)))
      if (fatal) {
        const summary = summarizePod(fatal)
        throw new MigrationFailed({
          message: `The migration init container ${entry.container} of ${where(entry)} cannot run: pod ${summary.name} is in ${summary.reason}.`,
          pod: summary.name,
          container: summary.container,
          cannotRun: true,
        })
      }
      if (fresh.some((pod) => initExit(pod, entry.container) === 0)) continue
      // helm changed nothing in this workload: its pods were not replaced, they migrated before.
      const unchanged = helm.state === 'succeeded' && helm.generations?.get(workloadKey(entry.workload)) === generationAtStart.get(workloadKey(entry.workload))
      if (!unchanged) pending.push(`${entry.container} of ${where(entry)}`)
    }
    if (pending.length === 0) return {title: `Migration (${describeMigration(plan)}) complete`, ran: true}
    run.note(`waiting for the init container ${pending.join(', ')}`)
    return undefined
  }, run.signal)
}

/** The migration's outcome in the namespace (for `status`), and its log file's path. */
export async function recordMigration(deployment: Deployment, result: MigrationRecord['result'], message?: string, log?: string): Promise<void> {
  const plan = deployment.plan.rendered.migration
  const name = plan.kind === 'init-container' ? plan.containers.map((c) => `${c.workload.name}/${c.container}`).join(', ') : plan.kind === 'none' ? '' : plan.job
  await writeMigrationRecord(deployment.connection.kube, deployment.project.names.namespace, {
    kind: plan.kind,
    name,
    result,
    startedAt: new Date(deployment.startedAt).toISOString(),
    durationMs: Date.now() - deployment.startedAt,
    revision: (deployment.plan.previous?.revision ?? 0) + 1,
    message,
    log,
  })
}

/** The failure said once: what failed, the attempts, the failed pod (no log re-read), the lines that were streamed, where the whole log is. */
async function explainMigration(deployment: Deployment, logs: MigrationLogs | undefined, error: DevctlError): Promise<string[]> {
  const failure = error instanceof MigrationFailed ? error.failure : undefined
  const details: string[] = []
  if (failure?.attempts) details.push(failure.attempts)
  const pod = failure?.pod ? deployment.watch.get('Pod', failure.pod) : undefined
  // A timeout or a pod that cannot start is explained by the pod's state; a run that exited, by its log.
  if (pod && (!failure || failure.cannotRun)) details.push(...(await explainUnhealthyPods(deployment.connection.kube, [pod], {logs: false, k3dCluster: k3dCluster(deployment.project)})))
  const source = failure?.pod && failure.container ? `${failure.pod}/${failure.container}` : undefined
  const lines = source ? (logs?.lastLines(source) ?? []) : []
  if (source && lines.length) {
    details.push(`last ${count(lines.length, 'log line')} of ${source}:`)
    for (const line of lines) details.push(`  | ${line}`)
  } else if (source && !failure?.cannotRun) {
    details.push(`no log line of ${source} could be read: the pod ended and was deleted before its log was (helm deletes a failed hook Job with its pods: hook-delete-policy hook-failed)`)
  }
  if (logs?.file) details.push(`the whole log: ${relative(deployment.project.dir, logs.file.path)} (\`devctl logs --migration\` prints it)`)
  return details
}

export const migrationStep: Step<Deployment, void> = {
  id: 'migration',
  title: () => 'Migration',
  timeoutMs: ({project}) => project.timeouts.migration,
  async execute(deployment, run) {
    const plan = deployment.plan.rendered.migration
    if (plan.kind === 'none') return
    run.title(`Migration: ${describeMigration(plan)}`)
    const file = await openMigrationLog(deployment.project.stateDir, {
      migration: describeMigration(plan),
      revision: (deployment.plan.previous?.revision ?? 0) + 1,
      startedAt: new Date(deployment.startedAt),
    })
    const logs = new MigrationLogs(deployment, run, file)
    deployment.migration.logs = logs
    let outcome: WaitOutcome
    try {
      outcome = plan.kind === 'init-container' ? await waitForInitContainers(deployment, run, plan, logs) : await waitForJob(deployment, run, plan, logs)
    } catch (error) {
      await logs.drain()
      await file.close(`failed: ${error instanceof Error ? error.message : String(error)}`).catch(() => {})
      throw error
    }
    await logs.drain()
    if (!outcome.ran) return await file.discard()
    await file.close(`ended: ${outcome.title}`)
    await recordMigration(deployment, 'succeeded', undefined, file.path)
    run.title(outcome.title)
  },
  async onFailure(deployment, _run, error) {
    const {logs} = deployment.migration
    // A pod that cannot start for want of a Secret or key devctl should provide: the wiring is wrong, not the migration.
    const pod = error instanceof MigrationFailed && error.failure.cannotRun && error.failure.pod ? deployment.watch.get('Pod', error.failure.pod) : undefined
    const wiring = pod && (await podWiringError(deployment.project, pod, deployment.plan.rendered.objects))
    if (wiring) {
      await recordMigration(deployment, 'failed', wiring.message, logs?.file?.path)
      return wiring
    }
    const failed = error instanceof MigrationError || error.kind === 'timeout' ? error : new MigrationError(error.message)
    const details = await explainMigration(deployment, logs, failed)
    await recordMigration(deployment, 'failed', failed.message, logs?.file?.path)
    return failed.explain({details, hint: `Fix the migration (its log is above), then ${runAgain(deployment.project)}; a migration that already ran is not undone by a rollback.`})
  },
}
