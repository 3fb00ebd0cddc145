/**
 * StatefulSets: pods `<name>-0..N-1` created in order (each waits for the previous to be Running
 * and Ready under OrderedReady), a PersistentVolumeClaim per volumeClaimTemplate and ordinal,
 * ControllerRevisions, rolling updates from the highest ordinal down, and the status fields
 * `kubectl rollout status statefulset` reads.
 */
import type {ClusterApi} from '../api.js'
import type {KubeObject} from '../contract.js'
import type {EventRecorder} from '../events.js'
import {clone, scalarText} from '../json.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {Pod, StatefulSet, Volume} from '../types.js'
import type {Controller, ControllerRuntime} from './runtime.js'
import {controllerOf, controllerReference, controlledPods, isAvailable, isReady, isTerminal, keyOf, ownerKeys, podFromTemplate, splitKey, templateHash} from './support.js'

const source = {component: 'statefulset-controller'}

function ordinalOf(statefulSet: StatefulSet, pod: Pod): number {
  const suffix = pod.metadata.name.slice(statefulSet.metadata.name.length + 1)
  return /^\d+$/.test(suffix) ? Number(suffix) : -1
}

function isRunningAndReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && isReady(pod) && pod.metadata.deletionTimestamp === undefined
}

export class StatefulSetController implements Controller {
  readonly name = 'statefulset-controller'

  constructor(
    private readonly api: ClusterApi,
    private readonly runtime: ControllerRuntime,
    private readonly events: EventRecorder,
    private readonly types: {statefulSet: ResourceType; pod: ResourceType; claim: ResourceType; revision: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.statefulSet.storage) return [keyOf(change.object)]
    return ownerKeys(change, this.types.pod.storage, 'StatefulSet')
  }

  reconcile(key: string): void {
    if (key === '*') {
      for (const statefulSet of this.api.list(this.types.statefulSet, undefined)) this.reconcile(keyOf(statefulSet))
      return
    }
    const [namespace, name] = splitKey(key)
    const statefulSet = this.api.find(this.types.statefulSet, namespace, name) as StatefulSet | undefined
    if (!statefulSet || statefulSet.metadata.deletionTimestamp !== undefined) return
    const updateRevision = `${name}-${templateHash(statefulSet.spec.template)}`
    this.ensureRevision(statefulSet, updateRevision)
    const currentRevision = scalarText(statefulSet.status?.currentRevision, updateRevision)
    const replicas = statefulSet.spec.replicas ?? 1
    const ordered = (statefulSet.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady'
    const pods = controlledPods(this.api, this.types.pod, statefulSet)
    const byOrdinal = new Map(pods.map((pod) => [ordinalOf(statefulSet, pod), pod]))

    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const pod = byOrdinal.get(ordinal)
      if (pod && isTerminal(pod) && pod.metadata.deletionTimestamp === undefined) {
        this.deletePod(statefulSet, pod)
        if (ordered) break
        continue
      }
      if (!pod) {
        this.createPod(statefulSet, ordinal, updateRevision)
        if (ordered) break
        continue
      }
      if (ordered && !isRunningAndReady(pod)) break
    }

    const extra = pods.filter((pod) => ordinalOf(statefulSet, pod) >= replicas && pod.metadata.deletionTimestamp === undefined).sort((a, b) => ordinalOf(statefulSet, b) - ordinalOf(statefulSet, a))
    const lowerReady = pods.filter((pod) => ordinalOf(statefulSet, pod) < replicas).every(isRunningAndReady)
    for (const pod of extra) {
      if (ordered && !lowerReady) break
      this.deletePod(statefulSet, pod)
      if (ordered) break
    }

    const partition = statefulSet.spec.updateStrategy?.rollingUpdate?.partition ?? 0
    const rolling = (statefulSet.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate'
    const live = controlledPods(this.api, this.types.pod, statefulSet).filter((pod) => ordinalOf(statefulSet, pod) < replicas)
    if (rolling && live.length === replicas && live.every(isRunningAndReady)) {
      const outdated = live
        .filter((pod) => ordinalOf(statefulSet, pod) >= partition && pod.metadata.labels?.['controller-revision-hash'] !== updateRevision)
        .sort((a, b) => ordinalOf(statefulSet, b) - ordinalOf(statefulSet, a))
      const first = outdated[0]
      if (first) this.deletePod(statefulSet, first)
    }
    this.writeStatus(statefulSet, currentRevision, updateRevision)
  }

  private ensureRevision(statefulSet: StatefulSet, revisionName: string): void {
    if (this.api.find(this.types.revision, statefulSet.metadata.namespace, revisionName)) return
    const existing = this.api.list(this.types.revision, statefulSet.metadata.namespace).filter((revision) => controllerOf(revision)?.uid === statefulSet.metadata.uid)
    const revisionNumber = Math.max(0, ...existing.map((revision) => Number(revision.revision ?? 0))) + 1
    this.api.createInternal(this.types.revision, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: revisionName,
        namespace: statefulSet.metadata.namespace,
        labels: {...statefulSet.spec.template.metadata?.labels, 'controller.kubernetes.io/hash': revisionName.slice(statefulSet.metadata.name.length + 1)},
        ownerReferences: [controllerReference(statefulSet)],
      },
      data: {spec: {template: {...clone(statefulSet.spec.template), $patch: 'replace'}}},
      revision: revisionNumber,
    })
  }

  private createPod(statefulSet: StatefulSet, ordinal: number, revision: string): void {
    const name = `${statefulSet.metadata.name}-${ordinal}`
    const namespace = statefulSet.metadata.namespace
    const claimVolumes: Volume[] = []
    for (const template of statefulSet.spec.volumeClaimTemplates ?? []) {
      const claimName = `${template.metadata.name}-${name}`
      claimVolumes.push({name: template.metadata.name, persistentVolumeClaim: {claimName}})
      if (this.api.find(this.types.claim, namespace, claimName)) continue
      const claim: KubeObject = {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: claimName,
          namespace,
          labels: {...template.metadata.labels, ...statefulSet.spec.selector.matchLabels},
          ...(template.metadata.annotations ? {annotations: {...template.metadata.annotations}} : {}),
        },
        spec: clone(template.spec),
      }
      this.api.createInternal(this.types.claim, claim)
      this.events.record(statefulSet, {type: 'Normal', reason: 'SuccessfulCreate', message: `create Claim ${claimName} Pod ${name} in StatefulSet ${statefulSet.metadata.name} success`, source})
    }
    const pod = podFromTemplate(
      statefulSet,
      statefulSet.spec.template,
      {name},
      {
        'apps.kubernetes.io/pod-index': String(ordinal),
        'controller-revision-hash': revision,
        'statefulset.kubernetes.io/pod-name': name,
      },
    )
    pod.spec.hostname = name
    if (statefulSet.spec.serviceName) pod.spec.subdomain = statefulSet.spec.serviceName
    const claimed = new Set(claimVolumes.map((volume) => volume.name))
    pod.spec.volumes = [...(pod.spec.volumes ?? []).filter((volume) => !claimed.has(volume.name)), ...claimVolumes]
    this.api.createInternal(this.types.pod, pod)
    this.events.record(statefulSet, {type: 'Normal', reason: 'SuccessfulCreate', message: `create Pod ${name} in StatefulSet ${statefulSet.metadata.name} successful`, source})
  }

  private deletePod(statefulSet: StatefulSet, pod: Pod): void {
    this.api.delete(this.types.pod, pod.metadata.namespace, pod.metadata.name, {})
    this.events.record(statefulSet, {type: 'Normal', reason: 'SuccessfulDelete', message: `delete Pod ${pod.metadata.name} in StatefulSet ${statefulSet.metadata.name} successful`, source})
  }

  private writeStatus(statefulSet: StatefulSet, currentRevision: string, updateRevision: string): void {
    const replicas = statefulSet.spec.replicas ?? 1
    const pods = controlledPods(this.api, this.types.pod, statefulSet).filter((pod) => pod.metadata.deletionTimestamp === undefined && !isTerminal(pod))
    const ready = pods.filter(isReady)
    const minReady = statefulSet.spec.minReadySeconds ?? 0
    const available = pods.filter((pod) => isAvailable(pod, minReady, this.runtime.clock.factor))
    if (available.length < ready.length) this.runtime.after(minReady * 1000, this, keyOf(statefulSet))
    const updated = pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === updateRevision)
    const rolledOut = updated.length === replicas && ready.length === replicas && pods.length === replicas
    const current = rolledOut ? updateRevision : currentRevision
    const status: Record<string, unknown> = {
      observedGeneration: statefulSet.metadata.generation,
      replicas: pods.length,
      ...(ready.length > 0 ? {readyReplicas: ready.length} : {}),
      ...(pods.some((pod) => pod.metadata.labels?.['controller-revision-hash'] === current)
        ? {currentReplicas: pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === current).length}
        : {}),
      ...(updated.length > 0 ? {updatedReplicas: updated.length} : {}),
      availableReplicas: available.length,
      currentRevision: current,
      updateRevision,
      collisionCount: 0,
    }
    const latest = this.api.find(this.types.statefulSet, statefulSet.metadata.namespace, statefulSet.metadata.name)
    if (!latest) return
    const next = clone(latest) as StatefulSet
    next.status = status
    this.api.writeInternal(this.types.statefulSet, next)
  }
}
