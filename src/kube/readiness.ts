/**
 * When is a workload done rolling out? The same rules `kubectl rollout status` applies, as pure
 * functions over API objects (no client), so each rule is unit-tested on its own; and which pods
 * those rules are about: the current revision's, never the ones it is replacing.
 */
import {count} from '../text.js'
import type {KubernetesObject, V1DaemonSet, V1Deployment, V1Job, V1Pod, V1PodTemplateSpec, V1ReplicaSet, V1StatefulSet} from './types.js'

export interface Readiness {
  ready: boolean
  /** "2/3 ready", "waiting for the new ReplicaSet", ... */
  detail: string
}

/** `revision`: the pods by revision, when known, to say what the old ones are doing. */
export function deploymentReadiness(d: V1Deployment, revision?: RevisionPods): Readiness {
  const desired = d.spec?.replicas ?? 1
  const s = d.status ?? {}
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return {ready: false, detail: 'waiting for the controller to see the change'}
  const progressing = s.conditions?.find((c) => c.type === 'Progressing')
  if (progressing?.reason === 'ProgressDeadlineExceeded') return {ready: false, detail: `rollout stalled: ${progressing.message ?? 'progress deadline exceeded'}`}
  const updated = s.updatedReplicas ?? 0
  const available = s.availableReplicas ?? 0
  const total = s.replicas ?? 0
  if (updated < desired) return {ready: false, detail: `${updated}/${desired} updated`}
  // kubectl: "old replicas are pending termination" — they may still be running; the pods say which.
  if (total > updated) return {ready: false, detail: revision?.old.length ? describeReplacement(revision, desired) : `${count(total - updated, 'old replica')} not replaced yet`}
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

export type RolloutKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job'

/** A workload's pods split by revision: only the current revision's decide how a rollout goes. */
export interface RevisionPods {
  /** Pods of the revision being rolled out (none until the controller has seen the change). */
  current: V1Pod[]
  /** Pods on their way out: earlier revisions' (kept until replaced, or terminating), and terminating ones. */
  old: V1Pod[]
}

export interface Rollout extends Readiness, RevisionPods {}

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision'

function ownedBy(object: KubernetesObject, owner: KubernetesObject): boolean {
  const uid = owner.metadata?.uid
  return uid !== undefined && (object.metadata?.ownerReferences ?? []).some((reference) => reference.uid === uid)
}

function generationSeen(object: {metadata?: {generation?: number}; status?: {observedGeneration?: number}}): boolean {
  return (object.status?.observedGeneration ?? 0) >= (object.metadata?.generation ?? 0)
}

/** A pod template as JSON with sorted keys, without the hash label a ReplicaSet adds to its copy. */
function templateKey(template: V1PodTemplateSpec | undefined): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted)
    if (value && typeof value === 'object')
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
      )
    return value
  }
  const labels = {...template?.metadata?.labels}
  delete labels['pod-template-hash']
  return JSON.stringify(sorted({...template, metadata: {...template?.metadata, labels}}))
}

/**
 * A Deployment's new ReplicaSet, found as kubectl finds it: the one whose pod template is the
 * Deployment's (the newest by revision, should there be two). Undefined until it is seen.
 */
export function newReplicaSet(deployment: V1Deployment, replicaSets: V1ReplicaSet[]): V1ReplicaSet | undefined {
  const wanted = templateKey(deployment.spec?.template)
  const revision = (rs: V1ReplicaSet) => Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0)
  return replicaSets
    .filter((rs) => ownedBy(rs, deployment) && !rs.metadata?.deletionTimestamp && templateKey(rs.spec?.template) === wanted)
    .reduce<V1ReplicaSet | undefined>((newest, rs) => (!newest || revision(rs) > revision(newest) ? rs : newest), undefined)
}

/**
 * Which of the pods are the workload's current revision: a Deployment's new ReplicaSet's; a
 * StatefulSet's `controller-revision-hash` equal to its updateRevision; a DaemonSet's
 * `pod-template-generation` equal to its generation; a Job's own. Until the controller has
 * observed the workload's latest generation, no pod is current.
 */
export function revisionPods(kind: RolloutKind, object: KubernetesObject, pods: V1Pod[], replicaSets: V1ReplicaSet[]): RevisionPods {
  const workload = object as V1Deployment | V1StatefulSet | V1DaemonSet
  let owned: V1Pod[]
  let isCurrent: (pod: V1Pod) => boolean
  switch (kind) {
    case 'Deployment': {
      const sets = replicaSets.filter((rs) => ownedBy(rs, object))
      owned = pods.filter((pod) => sets.some((rs) => ownedBy(pod, rs)))
      const current = generationSeen(workload) ? newReplicaSet(object, replicaSets) : undefined
      isCurrent = (pod) => current !== undefined && ownedBy(pod, current)
      break
    }
    case 'StatefulSet': {
      owned = pods.filter((pod) => ownedBy(pod, object))
      const revision = generationSeen(workload) ? (object as V1StatefulSet).status?.updateRevision : undefined
      isCurrent = (pod) => revision !== undefined && pod.metadata?.labels?.['controller-revision-hash'] === revision
      break
    }
    case 'DaemonSet': {
      owned = pods.filter((pod) => ownedBy(pod, object))
      const generation = generationSeen(workload) ? String(object.metadata?.generation ?? '') : undefined
      isCurrent = (pod) => generation !== undefined && pod.metadata?.labels?.['pod-template-generation'] === generation
      break
    }
    case 'Job':
      owned = pods.filter((pod) => ownedBy(pod, object))
      isCurrent = () => true
      break
  }
  const staying = (pod: V1Pod) => isCurrent(pod) && !pod.metadata?.deletionTimestamp
  return {current: owned.filter(staying), old: owned.filter((pod) => !staying(pod))}
}

function readinessOf(kind: RolloutKind, object: KubernetesObject, revision: RevisionPods): Readiness {
  switch (kind) {
    case 'Deployment':
      return deploymentReadiness(object, revision)
    case 'StatefulSet':
      return statefulSetReadiness(object)
    case 'DaemonSet':
      return daemonSetReadiness(object)
    case 'Job': {
      const state = jobState(object)
      return {ready: state.state === 'complete', detail: state.state === 'failed' ? state.message : state.detail}
    }
  }
}

function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
}

/** The new revision's progress, and what its old pods are doing in words that are true (terminating only when they are). */
function describeReplacement({current, old}: RevisionPods, desired: number): string {
  const terminating = old.filter((pod) => pod.metadata?.deletionTimestamp).length
  const kept = old.length - terminating
  return [
    `${current.filter(podReady).length}/${desired} of the new revision ready`,
    kept ? `${count(kept, 'old replica')} kept until then` : '',
    terminating ? `${count(terminating, 'old replica')} terminating` : '',
  ]
    .filter(Boolean)
    .join('; ')
}

/**
 * A workload's rollout as `kubectl rollout status` judges it (from its status), with the pods
 * split by revision so a caller waits on, reports and fails on the current revision's pods only.
 */
export function rolloutOf(kind: RolloutKind, object: KubernetesObject, pods: V1Pod[], replicaSets: V1ReplicaSet[]): Rollout {
  const revision = revisionPods(kind, object, pods, replicaSets)
  return {...readinessOf(kind, object, revision), ...revision}
}
