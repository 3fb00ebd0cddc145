/**
 * Jobs, as the job controller of Kubernetes 1.31 runs them: pods up to parallelism, retries with
 * back-off until backoffLimit, activeDeadlineSeconds, and the terminal conditions in their real
 * order — SuccessCriteriaMet then Complete, FailureTarget then Failed — with the real reasons and
 * messages. Finished jobs are deleted after ttlSecondsAfterFinished.
 */
import type {ClusterApi} from '../api.js'
import type {EventRecorder} from '../events.js'
import {clone} from '../json.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {Condition, Job, Pod} from '../types.js'
import type {Controller, ControllerRuntime} from './runtime.js'
import {controlledPods, isReady, isTerminal, keyOf, ownerKeys, podFromTemplate, splitKey} from './support.js'

const source = {component: 'job-controller'}
const podBackoffStartMs = 10_000
const podBackoffCapMs = 360_000

interface Verdict {
  reason: string
  message: string
}

const completionsReached: Verdict = {reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods'}
const backoffLimitExceeded: Verdict = {reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit'}
const deadlineExceeded: Verdict = {reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline'}

function hasCondition(job: Job, type: string): boolean {
  return job.status?.conditions?.some((condition) => condition.type === type && condition.status === 'True') ?? false
}

function restartsOf(pod: Pod): number {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].reduce((sum, status) => sum + status.restartCount, 0)
}

export class JobController implements Controller {
  readonly name = 'job-controller'
  /** Wall-clock time each job started, for activeDeadlineSeconds in simulated time. */
  private readonly startedAt = new Map<string, number>()
  /** Wall-clock time of each job's last pod failure, for the pod re-creation back-off. */
  private readonly lastFailure = new Map<string, {at: number; count: number}>()
  /** Active pods each job deleted when it failed, reported in status.failed. */
  private readonly removedOnFailure = new Map<string, number>()

  constructor(
    private readonly api: ClusterApi,
    private readonly runtime: ControllerRuntime,
    private readonly events: EventRecorder,
    private readonly types: {job: ResourceType; pod: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.job.storage) return [keyOf(change.object)]
    return ownerKeys(change, this.types.pod.storage, 'Job')
  }

  reconcile(key: string): void {
    if (key === '*') {
      for (const job of this.api.list(this.types.job, undefined)) this.reconcile(keyOf(job))
      return
    }
    const [namespace, name] = splitKey(key)
    const job = this.api.find(this.types.job, namespace, name) as Job | undefined
    if (!job || job.metadata.deletionTimestamp !== undefined) return
    const uid = job.metadata.uid ?? ''
    const pods = controlledPods(this.api, this.types.pod, job)
    const active = pods.filter((pod) => !isTerminal(pod) && pod.metadata.deletionTimestamp === undefined)
    const terminating = pods.filter((pod) => !isTerminal(pod) && pod.metadata.deletionTimestamp !== undefined)
    const succeeded = pods.filter((pod) => pod.status?.phase === 'Succeeded').length
    const failedPods = pods.filter((pod) => pod.status?.phase === 'Failed').length
    const onFailure = job.spec.template.spec.restartPolicy === 'OnFailure'
    const failures = failedPods + (onFailure ? pods.reduce((sum, pod) => sum + restartsOf(pod), 0) : 0)
    const factor = this.runtime.clock.factor
    const now = this.api.now().replace(/\.\d+Z$/, 'Z')

    if (hasCondition(job, 'Complete') || hasCondition(job, 'Failed')) {
      this.expireFinished(job)
      return
    }

    let target: {type: 'SuccessCriteriaMet' | 'FailureTarget'; verdict: Verdict} | undefined
    const existingTarget = job.status?.conditions?.find((c) => (c.type === 'SuccessCriteriaMet' || c.type === 'FailureTarget') && c.status === 'True')
    if (existingTarget) {
      target = {type: existingTarget.type as 'SuccessCriteriaMet' | 'FailureTarget', verdict: {reason: existingTarget.reason ?? '', message: existingTarget.message ?? ''}}
    } else if (job.spec.suspend !== true) {
      if (!this.startedAt.has(uid)) this.startedAt.set(uid, job.status?.startTime ? Date.parse(job.status.startTime) : Date.now())
      const completions = job.spec.completions
      const done = completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0
      // A null (a chart's empty value) is no deadline: the real API server drops it when it decodes the Job.
      const deadline = job.spec.activeDeadlineSeconds ?? undefined
      const elapsed = (Date.now() - (this.startedAt.get(uid) ?? Date.now())) / factor
      if (done) target = {type: 'SuccessCriteriaMet', verdict: completionsReached}
      else if (failures > (job.spec.backoffLimit ?? 6)) target = {type: 'FailureTarget', verdict: backoffLimitExceeded}
      else if (deadline !== undefined && elapsed >= deadline * 1000) target = {type: 'FailureTarget', verdict: deadlineExceeded}
      else if (deadline !== undefined) this.runtime.after(deadline * 1000 - elapsed + 1, this, key)
    }

    if (target) {
      for (const pod of active) {
        this.api.delete(this.types.pod, namespace, pod.metadata.name, {})
        // Pods the controller removes because the job failed count as failed, as with pod tracking finalizers.
        if (target.type === 'FailureTarget') this.removedOnFailure.set(uid, (this.removedOnFailure.get(uid) ?? 0) + 1)
      }
      const finished = active.length === 0 && terminating.length === 0
      this.writeStatus(job, pods, (status) => {
        status.conditions = addCondition(status.conditions, target.type, target.verdict, now)
        if (finished) {
          const final = target.type === 'SuccessCriteriaMet' ? 'Complete' : 'Failed'
          status.conditions = addCondition(status.conditions, final, target.verdict, now)
          if (final === 'Complete') status.completionTime = now
        }
      })
      if (finished) {
        if (target.type === 'SuccessCriteriaMet') this.events.record(job, {type: 'Normal', reason: 'Completed', message: 'Job completed', source})
        else this.events.record(job, {type: 'Warning', reason: target.verdict.reason, message: target.verdict.message, source})
        this.expireFinished(job)
      }
      return
    }

    if (job.spec.suspend !== true) this.createPods(job, active.length, succeeded, failedPods, key)
    this.writeStatus(job, controlledPods(this.api, this.types.pod, job), (status) => {
      status.startTime ??= job.spec.suspend === true ? undefined : new Date(this.startedAt.get(uid) ?? Date.now()).toISOString().replace(/\.\d+Z$/, 'Z')
    })
  }

  /** Starts pods up to parallelism, waiting out the failure back-off (10s doubling, capped at 6m). */
  private createPods(job: Job, active: number, succeeded: number, failed: number, key: string): void {
    const uid = job.metadata.uid ?? ''
    const parallelism = job.spec.parallelism ?? 1
    const wanted = job.spec.completions !== undefined ? Math.min(parallelism, job.spec.completions - succeeded) : succeeded > 0 ? 0 : parallelism
    if (wanted <= active) return
    const previous = this.lastFailure.get(uid)
    if (failed > 0 && (!previous || previous.count !== failed)) this.lastFailure.set(uid, {at: Date.now(), count: failed})
    const lastFailure = this.lastFailure.get(uid)
    if (failed > 0 && lastFailure) {
      const backoff = Math.min(podBackoffStartMs * 2 ** (failed - 1), podBackoffCapMs)
      const waited = (Date.now() - lastFailure.at) / this.runtime.clock.factor
      if (waited < backoff) {
        this.runtime.after(backoff - waited + 1, this, key)
        return
      }
    }
    for (let count = active; count < wanted; count++) {
      const pod = podFromTemplate(job, job.spec.template, {generateName: `${job.metadata.name}-`})
      const created = this.api.createInternal(this.types.pod, pod)
      this.events.record(job, {type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${created.metadata.name}`, source})
    }
  }

  private writeStatus(job: Job, pods: Pod[], edit: (status: NonNullable<Job['status']>) => void): void {
    const latest = this.api.find(this.types.job, job.metadata.namespace, job.metadata.name)
    if (!latest) return
    const next = clone(latest) as Job
    const active = pods.filter((pod) => !isTerminal(pod) && pod.metadata.deletionTimestamp === undefined)
    const succeeded = pods.filter((pod) => pod.status?.phase === 'Succeeded').length
    const failed = pods.filter((pod) => pod.status?.phase === 'Failed').length + (this.removedOnFailure.get(job.metadata.uid ?? '') ?? 0)
    const status: NonNullable<Job['status']> = {
      ...(next.status?.conditions ? {conditions: next.status.conditions} : {}),
      ...(next.status?.startTime ? {startTime: next.status.startTime} : {}),
      ...(next.status?.completionTime ? {completionTime: next.status.completionTime} : {}),
      ...(active.length > 0 ? {active: active.length} : {}),
      ...(succeeded > 0 ? {succeeded} : {}),
      ...(failed > 0 ? {failed} : {}),
      terminating: pods.filter((pod) => !isTerminal(pod) && pod.metadata.deletionTimestamp !== undefined).length,
      uncountedTerminatedPods: {},
      ready: active.filter(isReady).length,
    }
    edit(status)
    if (status.startTime === undefined) delete status.startTime
    next.status = status
    this.api.writeInternal(this.types.job, next)
  }

  private expireFinished(job: Job): void {
    const ttl = job.spec.ttlSecondsAfterFinished
    if (ttl === undefined) return
    const finishedAt = job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.lastTransitionTime
    if (!finishedAt) return
    const elapsed = (Date.now() - Date.parse(finishedAt)) / this.runtime.clock.factor
    if (elapsed >= ttl * 1000) this.api.delete(this.types.job, job.metadata.namespace, job.metadata.name, {propagationPolicy: 'Background'})
    else this.runtime.after(ttl * 1000 - elapsed + 1, this, keyOf(job))
  }
}

function addCondition(conditions: Condition[] | undefined, type: string, verdict: Verdict, now: string): Condition[] {
  const list = [...(conditions ?? [])]
  if (list.some((condition) => condition.type === type)) return list
  list.push({type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason: verdict.reason, message: verdict.message})
  return list
}
