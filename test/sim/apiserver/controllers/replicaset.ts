/** ReplicaSets: keep `spec.replicas` pods alive, and report how many are ready and available. */
import type {ClusterApi} from '../api.js'
import {clone} from '../json.js'
import type {EventRecorder} from '../events.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {Pod, ReplicaSet} from '../types.js'
import type {Controller, ControllerRuntime} from './runtime.js'
import {controlledPods, isActive, isAvailable, isReady, keyOf, ownerKeys, podFromTemplate, splitKey, withoutZeros} from './support.js'

const source = {component: 'replicaset-controller'}

/** Which pod to delete first when scaling down: unscheduled, then not ready, then the newest. */
function deletionRank(pod: Pod): number {
  if (!pod.spec.nodeName) return 0
  if (pod.status?.phase === 'Pending') return 1
  if (!isReady(pod)) return 2
  return 3
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset-controller'

  constructor(
    private readonly api: ClusterApi,
    private readonly runtime: ControllerRuntime,
    private readonly events: EventRecorder,
    private readonly types: {replicaSet: ResourceType; pod: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.replicaSet.storage) return [keyOf(change.object)]
    return ownerKeys(change, this.types.pod.storage, 'ReplicaSet')
  }

  reconcile(key: string): void {
    if (key === '*') {
      for (const replicaSet of this.api.list(this.types.replicaSet, undefined)) this.reconcile(keyOf(replicaSet))
      return
    }
    const [namespace, name] = splitKey(key)
    const replicaSet = this.api.find(this.types.replicaSet, namespace, name) as ReplicaSet | undefined
    if (!replicaSet || replicaSet.metadata.deletionTimestamp !== undefined) return
    const desired = replicaSet.spec.replicas ?? 1
    const active = controlledPods(this.api, this.types.pod, replicaSet).filter(isActive)
    if (active.length < desired) {
      for (let count = active.length; count < desired; count++) {
        const pod = podFromTemplate(replicaSet, replicaSet.spec.template, {generateName: `${name}-`})
        const created = this.api.createInternal(this.types.pod, pod)
        this.events.record(replicaSet, {type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${created.metadata.name}`, source})
      }
    } else if (active.length > desired) {
      const victims = [...active].sort((a, b) => deletionRank(a) - deletionRank(b) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))
      for (const pod of victims.slice(0, active.length - desired)) {
        this.api.delete(this.types.pod, namespace, pod.metadata.name, {})
        this.events.record(replicaSet, {type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${pod.metadata.name}`, source})
      }
    }
    this.writeStatus(replicaSet)
  }

  private writeStatus(replicaSet: ReplicaSet): void {
    const minReady = replicaSet.spec.minReadySeconds ?? 0
    const pods = controlledPods(this.api, this.types.pod, replicaSet).filter(isActive)
    const templateLabels = replicaSet.spec.template.metadata?.labels ?? {}
    const ready = pods.filter(isReady)
    const available = pods.filter((pod) => isAvailable(pod, minReady, this.runtime.clock.factor))
    if (available.length < ready.length) this.runtime.after(minReady * 1000, this, keyOf(replicaSet))
    const status = withoutZeros(
      {
        replicas: pods.length,
        fullyLabeledReplicas: pods.filter((pod) => Object.entries(templateLabels).every(([k, v]) => pod.metadata.labels?.[k] === v)).length,
        readyReplicas: ready.length,
        availableReplicas: available.length,
        observedGeneration: replicaSet.metadata.generation,
      },
      ['replicas'],
    )
    const current = this.api.find(this.types.replicaSet, replicaSet.metadata.namespace, replicaSet.metadata.name)
    if (!current) return
    const next = clone(current) as ReplicaSet
    next.status = status
    this.api.writeInternal(this.types.replicaSet, next)
  }
}
