/**
 * When is a workload done rolling out? The same rules `kubectl rollout status` applies, as pure
 * functions over API objects (no client), so each rule is unit-tested on its own.
 */
import {count} from '../text.js'
import type {V1DaemonSet, V1Deployment, V1Job, V1Pod, V1StatefulSet} from './types.js'

export interface Readiness {
  ready: boolean
  /** "2/3 ready", "waiting for the new ReplicaSet", ... */
  detail: string
}

export function deploymentReadiness(d: V1Deployment): Readiness {
  const desired = d.spec?.replicas ?? 1
  const s = d.status ?? {}
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return {ready: false, detail: 'waiting for the controller to see the change'}
  const progressing = s.conditions?.find((c) => c.type === 'Progressing')
  if (progressing?.reason === 'ProgressDeadlineExceeded') return {ready: false, detail: `rollout stalled: ${progressing.message ?? 'progress deadline exceeded'}`}
  const updated = s.updatedReplicas ?? 0
  const available = s.availableReplicas ?? 0
  const total = s.replicas ?? 0
  if (updated < desired) return {ready: false, detail: `${updated}/${desired} updated`}
  if (total > updated) return {ready: false, detail: `${count(total - updated, 'old replica')} still terminating`}
  if (available < updated) return {ready: false, detail: `${available}/${desired} ready`}
  return {ready: true, detail: `${available}/${desired} ready`}
}

export function statefulSetReadiness(s: V1StatefulSet): Readiness {
  const desired = s.spec?.replicas ?? 1
  const status = s.status ?? {replicas: 0}
  if ((status.observedGeneration ?? 0) < (s.metadata?.generation ?? 0)) return {ready: false, detail: 'waiting for the controller to see the change'}
  const ready = status.readyReplicas ?? 0
  if (ready < desired) return {ready: false, detail: `${ready}/${desired} ready`}
  if (status.updateRevision && status.currentRevision && status.updateRevision !== status.currentRevision && (status.updatedReplicas ?? 0) < desired) {
    return {ready: false, detail: `${status.updatedReplicas ?? 0}/${desired} updated`}
  }
  return {ready: true, detail: `${ready}/${desired} ready`}
}

export function daemonSetReadiness(d: V1DaemonSet): Readiness {
  const s = d.status
  if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return {ready: false, detail: 'waiting for the controller to see the change'}
  const desired = s.desiredNumberScheduled
  if ((s.updatedNumberScheduled ?? 0) < desired) return {ready: false, detail: `${s.updatedNumberScheduled ?? 0}/${desired} updated`}
  if ((s.numberAvailable ?? 0) < desired) return {ready: false, detail: `${s.numberAvailable ?? 0}/${desired} ready`}
  return {ready: true, detail: `${s.numberAvailable ?? 0}/${desired} ready`}
}

export type JobState = {state: 'running'; detail: string} | {state: 'complete'; detail: string} | {state: 'failed'; reason: string; message: string}

/** Complete / Failed, including the 1.31+ terminal-to-be conditions SuccessCriteriaMet / FailureTarget. */
export function jobState(job: V1Job): JobState {
  const conditions = job.status?.conditions ?? []
  const isTrue = (type: string) => conditions.find((c) => c.type === type && c.status === 'True')
  const failed = isTrue('Failed') ?? isTrue('FailureTarget')
  if (failed) return {state: 'failed', reason: failed.reason ?? 'Failed', message: failed.message ?? 'the Job failed'}
  if (isTrue('Complete') ?? isTrue('SuccessCriteriaMet')) return {state: 'complete', detail: `${job.status?.succeeded ?? 1} succeeded`}
  const s = job.status ?? {}
  return {state: 'running', detail: `${s.active ?? 0} active, ${s.failed ?? 0} failed`}
}

/** Does `pod` belong to a workload selecting these labels? */
export function selects(selector: Record<string, string>, pod: V1Pod): boolean {
  const labels = pod.metadata?.labels ?? {}
  const entries = Object.entries(selector)
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v)
}
