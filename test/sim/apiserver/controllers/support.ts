/** What the workload controllers share: owner references, pod templates, pod readiness, template hashes. */
import type {ClusterApi} from '../api.js'
import type {KubeObject} from '../contract.js'
import {clone} from '../json.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {Condition, OwnerReference, Pod, PodTemplateSpec} from '../types.js'

export function controllerReference(owner: KubeObject): OwnerReference {
  return {apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true}
}

export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((reference) => reference.controller === true)
}

/** Keys (`namespace/name`) of the owners of kind `kind` a pod change concerns (before and after). */
export function ownerKeys(change: Change, podStorage: string, kind: string): string[] {
  if (change.storage !== podStorage) return []
  const keys = new Set<string>()
  for (const object of [change.object, change.previous]) {
    if (!object) continue
    const owner = controllerOf(object)
    if (owner?.kind === kind) keys.add(`${object.metadata.namespace ?? ''}/${owner.name}`)
  }
  return [...keys]
}

export function splitKey(key: string): [namespace: string, name: string] {
  const slash = key.indexOf('/')
  return [key.slice(0, slash), key.slice(slash + 1)]
}

export function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`
}

/** Pods whose controller is `owner` (by uid), oldest first. */
export function controlledPods(api: ClusterApi, podType: ResourceType, owner: KubeObject): Pod[] {
  return (api.list(podType, owner.metadata.namespace) as Pod[])
    .filter((pod) => controllerOf(pod)?.uid === owner.metadata.uid)
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) || a.metadata.name.localeCompare(b.metadata.name))
}

export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'
}

/** Counted by controllers: not finished and not being deleted. */
export function isActive(pod: Pod): boolean {
  return !isTerminal(pod) && pod.metadata.deletionTimestamp === undefined
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false
}

/** Ready for at least minReadySeconds (simulated) — wall-clock readiness time scaled by the clock. */
export function isAvailable(pod: Pod, minReadySeconds: number, factor: number, now = Date.now()): boolean {
  if (!isReady(pod)) return false
  if (minReadySeconds <= 0) return true
  const since = pod.status?.conditions?.find((condition) => condition.type === 'Ready')?.lastTransitionTime
  return since !== undefined && (now - Date.parse(since)) / factor >= minReadySeconds * 1000
}

/** A pod for `owner` from its template. */
export function podFromTemplate(owner: KubeObject, template: PodTemplateSpec, naming: {name?: string; generateName?: string}, extraLabels: Record<string, string> = {}): Pod {
  const metadata = template.metadata ?? {}
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(naming.name ? {name: naming.name} : {name: '', generateName: naming.generateName}),
      namespace: owner.metadata.namespace,
      labels: {...(metadata.labels ?? {}), ...extraLabels},
      ...(metadata.annotations ? {annotations: {...metadata.annotations}} : {}),
      ownerReferences: [controllerReference(owner)],
    },
    spec: clone(template.spec),
  }
}

const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789'

/** `controller.ComputeHash`: FNV-32a of the template, printed in decimal and safe-encoded (`7d4b9c8f6`). */
export function templateHash(template: unknown, collisionCount = 0): string {
  let hash = 0x811c9dc5
  const text = JSON.stringify(template) + (collisionCount > 0 ? String(collisionCount) : '')
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index) & 0xff
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return [...String(hash >>> 0)].map((digit) => safeAlphabet[digit.charCodeAt(0) % safeAlphabet.length]).join('')
}

/** Sets (or refreshes) a condition, keeping lastTransitionTime when the status does not change. */
export function setCondition(conditions: Condition[] | undefined, next: Condition, now: string, withUpdateTime = false): Condition[] {
  const list = [...(conditions ?? [])]
  const index = list.findIndex((condition) => condition.type === next.type)
  const before = index >= 0 ? list[index] : undefined
  const changed = !before || before.status !== next.status || before.reason !== next.reason || before.message !== next.message
  const merged: Condition = {
    ...next,
    ...(withUpdateTime ? {lastUpdateTime: changed ? now : (before?.lastUpdateTime ?? now)} : {}),
    lastTransitionTime: before && before.status === next.status ? (before.lastTransitionTime ?? now) : now,
  }
  if (index >= 0) list[index] = merged
  else list.push(merged)
  return list
}

/** The template without the pod-template-hash label, to compare a ReplicaSet's with its Deployment's. */
export function templateWithoutHash(template: PodTemplateSpec): PodTemplateSpec {
  const copy = clone(template)
  if (copy.metadata?.labels) delete copy.metadata.labels['pod-template-hash']
  return copy
}

/** Resolves `25%` or `1` against a total (maxSurge rounds up, maxUnavailable down). */
export function intOrPercent(value: number | string | undefined, total: number, roundUp: boolean, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value === 'number') return value
  const percent = Number(value.replace('%', ''))
  const raw = (percent * total) / 100
  return roundUp ? Math.ceil(raw) : Math.floor(raw)
}

export function withoutZeros<T extends Record<string, unknown>>(status: T, keep: string[] = []): T {
  const result: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(status)) {
    if (value === 0 && !keep.includes(key)) continue
    if (value === undefined) continue
    result[key] = value
  }
  return result as T
}

export function annotation(object: KubeObject, key: string): string | undefined {
  return object.metadata.annotations?.[key]
}
