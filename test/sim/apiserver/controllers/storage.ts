/**
 * PersistentVolumeClaims on k3s: the local-path provisioner (WaitForFirstConsumer) provisions a
 * hostPath PersistentVolume on the node the scheduler picked, binds it, and deletes it when the
 * claim goes; pvc-protection keeps a claim that a pod still uses.
 */
import type {ClusterApi} from '../api.js'
import type {KubeObject} from '../contract.js'
import type {EventRecorder} from '../events.js'
import {clone} from '../json.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {PersistentVolumeClaim, Pod} from '../types.js'
import type {Controller, ControllerRuntime} from './runtime.js'
import {isTerminal, keyOf, splitKey} from './support.js'

export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node'
const pvController = {component: 'persistentvolume-controller'}
const provisionerName = 'rancher.io/local-path'
const provisioner = {component: `${provisionerName}_local-path-provisioner-5cf85fd84d-x2x9q_6a3f1e0c-8b1f-4a0e-9a51-0d8c2d1e7f4b`}

function claimedBy(pod: Pod): string[] {
  return (pod.spec.volumes ?? []).flatMap((volume) => (volume.persistentVolumeClaim ? [volume.persistentVolumeClaim.claimName] : []))
}

export class StorageController implements Controller {
  readonly name = 'persistentvolume-controller'
  private readonly provisioning = new Set<string>()
  private readonly announced = new Set<string>()

  constructor(
    private readonly api: ClusterApi,
    private readonly runtime: ControllerRuntime,
    private readonly events: EventRecorder,
    private readonly types: {claim: ResourceType; volume: ResourceType; storageClass: ResourceType; pod: ResourceType},
    private readonly provisionDelay: () => number,
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.claim.storage) {
      if (change.type === 'DELETED') {
        const volume = (change.object as PersistentVolumeClaim).spec.volumeName
        return volume ? [`release:${volume}`] : []
      }
      return [keyOf(change.object)]
    }
    if (change.storage === this.types.pod.storage && (change.type === 'DELETED' || isTerminal(change.object as Pod))) {
      const namespace = change.object.metadata.namespace ?? ''
      return claimedBy(change.object as Pod).map((claim) => `${namespace}/${claim}`)
    }
    return []
  }

  reconcile(key: string): void {
    if (key === '*') {
      for (const claim of this.api.list(this.types.claim, undefined)) this.reconcile(keyOf(claim))
      return
    }
    if (key.startsWith('release:')) {
      this.release(key.slice('release:'.length))
      return
    }
    if (key.startsWith('provision:')) {
      this.provision(key.slice('provision:'.length))
      return
    }
    const [namespace, name] = splitKey(key)
    const claim = this.api.find(this.types.claim, namespace, name) as PersistentVolumeClaim | undefined
    if (!claim) return
    if (claim.metadata.deletionTimestamp !== undefined) {
      this.unprotectIfUnused(claim)
      return
    }
    if (claim.spec.volumeName) return
    const className = claim.spec.storageClassName
    const storageClass = className ? this.api.find(this.types.storageClass, undefined, className) : undefined
    if (!storageClass) {
      if (className) this.events.record(claim, {type: 'Warning', reason: 'ProvisioningFailed', message: `storageclass.storage.k8s.io "${className}" not found`, source: pvController})
      return
    }
    const waitsForConsumer = storageClass.volumeBindingMode === 'WaitForFirstConsumer'
    const node = claim.metadata.annotations?.[selectedNodeAnnotation]
    if (waitsForConsumer && !node) {
      if (!this.announced.has(claim.metadata.uid ?? '')) {
        this.announced.add(claim.metadata.uid ?? '')
        this.events.record(claim, {type: 'Normal', reason: 'WaitForFirstConsumer', message: 'waiting for first consumer to be created before binding', source: pvController})
      }
      return
    }
    if (this.provisioning.has(claim.metadata.uid ?? '')) return
    this.provisioning.add(claim.metadata.uid ?? '')
    const next = clone(claim)
    next.metadata.annotations = {
      ...next.metadata.annotations,
      'volume.beta.kubernetes.io/storage-provisioner': provisionerName,
      'volume.kubernetes.io/storage-provisioner': provisionerName,
    }
    this.api.writeInternal(this.types.claim, next)
    this.events.record(claim, {
      type: 'Normal',
      reason: 'ExternalProvisioning',
      message: `Waiting for a volume to be created either by the external provisioner '${provisionerName}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      source: pvController,
    })
    this.events.record(claim, {type: 'Normal', reason: 'Provisioning', message: `External provisioner is provisioning volume for claim "${namespace}/${name}"`, source: provisioner})
    this.runtime.after(this.provisionDelay(), this, `provision:${key}`)
  }

  private provision(key: string): void {
    const [namespace, name] = splitKey(key)
    const claim = this.api.find(this.types.claim, namespace, name) as PersistentVolumeClaim | undefined
    if (!claim || claim.spec.volumeName || claim.metadata.deletionTimestamp !== undefined) return
    this.provisioning.delete(claim.metadata.uid ?? '')
    const volumeName = `pvc-${claim.metadata.uid ?? ''}`
    const node = claim.metadata.annotations?.[selectedNodeAnnotation]
    const capacity = claim.spec.resources?.requests?.storage ?? '1Gi'
    const accessModes = claim.spec.accessModes ?? ['ReadWriteOnce']
    const volume: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: volumeName,
        annotations: {'pv.kubernetes.io/provisioned-by': provisionerName, ...(node ? {'local.path.provisioner/selected-node': node} : {})},
        finalizers: ['kubernetes.io/pv-protection'],
      },
      spec: {
        accessModes,
        capacity: {storage: capacity},
        claimRef: {apiVersion: 'v1', kind: 'PersistentVolumeClaim', name, namespace, uid: claim.metadata.uid, resourceVersion: claim.metadata.resourceVersion},
        hostPath: {path: `/var/lib/rancher/k3s/storage/${volumeName}_${namespace}_${name}`, type: 'DirectoryOrCreate'},
        ...(node ? {nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: 'kubernetes.io/hostname', operator: 'In', values: [node]}]}]}}} : {}),
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: claim.spec.storageClassName,
        volumeMode: claim.spec.volumeMode ?? 'Filesystem',
      },
      status: {phase: 'Bound', lastPhaseTransitionTime: this.api.now().replace(/\.\d+Z$/, 'Z')},
    }
    this.api.createInternal(this.types.volume, volume)
    const next = clone(claim)
    next.spec.volumeName = volumeName
    next.metadata.annotations = {...next.metadata.annotations, 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes'}
    next.status = {phase: 'Bound', accessModes, capacity: {storage: capacity}}
    this.api.writeInternal(this.types.claim, next)
    this.events.record(claim, {type: 'Normal', reason: 'ProvisioningSucceeded', message: `Successfully provisioned volume ${volumeName}`, source: provisioner})
  }

  private unprotectIfUnused(claim: PersistentVolumeClaim): void {
    const inUse = (this.api.list(this.types.pod, claim.metadata.namespace) as Pod[]).some((pod) => !isTerminal(pod) && claimedBy(pod).includes(claim.metadata.name))
    if (inUse) return
    const next = clone(claim)
    next.metadata.finalizers = ((next.metadata.finalizers as string[] | undefined) ?? []).filter((f) => f !== 'kubernetes.io/pvc-protection')
    this.api.writeInternal(this.types.claim, next)
  }

  /** The claim is gone: local-path's reclaim policy is Delete. */
  private release(volumeName: string): void {
    const volume = this.api.find(this.types.volume, undefined, volumeName)
    if (!volume) return
    if (volume.metadata.deletionTimestamp === undefined) this.api.delete(this.types.volume, undefined, volumeName, {})
    const deleting = this.api.find(this.types.volume, undefined, volumeName)
    if (!deleting) return
    const next = clone(deleting)
    next.metadata.finalizers = []
    this.api.writeInternal(this.types.volume, next)
  }
}
