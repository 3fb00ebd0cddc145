/** DaemonSets: one pod per eligible node (pinned by node affinity, scheduled by the scheduler), rolled one node at a time. */
import type {ClusterApi} from '../api.js'
import type {EventRecorder} from '../events.js'
import {clone} from '../json.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {DaemonSet, Node, Pod} from '../types.js'
import type {Controller, ControllerRuntime} from './runtime.js'
import {controlledPods, isActive, isAvailable, isReady, keyOf, ownerKeys, podFromTemplate, splitKey, templateHash} from './support.js'

const source = {component: 'daemonset-controller'}

/** The node a daemon pod is pinned to (matchFields metadata.name), as the controller writes it. */
function targetNode(pod: Pod): string | undefined {
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
  return terms.flatMap((term) => term.matchFields ?? []).find((field) => field.key === 'metadata.name')?.values?.[0] ?? pod.spec.nodeName
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset-controller'

  constructor(
    private readonly api: ClusterApi,
    private readonly runtime: ControllerRuntime,
    private readonly events: EventRecorder,
    private readonly types: {daemonSet: ResourceType; pod: ResourceType; node: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.daemonSet.storage) return [keyOf(change.object)]
    if (change.storage === this.types.node.storage) return ['*']
    return ownerKeys(change, this.types.pod.storage, 'DaemonSet')
  }

  reconcile(key: string): void {
    if (key === '*') {
      for (const daemonSet of this.api.list(this.types.daemonSet, undefined)) this.reconcile(keyOf(daemonSet))
      return
    }
    const [namespace, name] = splitKey(key)
    const daemonSet = this.api.find(this.types.daemonSet, namespace, name) as DaemonSet | undefined
    if (!daemonSet || daemonSet.metadata.deletionTimestamp !== undefined) return
    const hash = templateHash(daemonSet.spec.template)
    const selector = (daemonSet.spec.template.spec as {nodeSelector?: Record<string, string>}).nodeSelector ?? {}
    const nodes = (this.api.list(this.types.node, undefined) as Node[]).filter((node) => !node.spec.unschedulable && Object.entries(selector).every(([k, v]) => node.metadata.labels?.[k] === v))
    const pods = controlledPods(this.api, this.types.pod, daemonSet).filter(isActive)
    for (const node of nodes) {
      if (pods.some((pod) => targetNode(pod) === node.metadata.name)) continue
      const pod = podFromTemplate(
        daemonSet,
        daemonSet.spec.template,
        {generateName: `${name}-`},
        {
          'controller-revision-hash': hash,
          'pod-template-generation': String(daemonSet.metadata.generation ?? 1),
        },
      )
      pod.spec.affinity = {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchFields: [{key: 'metadata.name', operator: 'In', values: [node.metadata.name]}]}]}}}
      const created = this.api.createInternal(this.types.pod, pod)
      this.events.record(daemonSet, {type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${created.metadata.name}`, source})
    }
    const eligible = new Set(nodes.map((node) => node.metadata.name))
    for (const pod of pods.filter((p) => !eligible.has(targetNode(p) ?? ''))) this.deletePod(daemonSet, pod)
    const outdated = pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] !== hash)
    const first = outdated[0]
    if (first && pods.every(isReady)) this.deletePod(daemonSet, first)
    this.writeStatus(daemonSet, hash, nodes.length)
  }

  private deletePod(daemonSet: DaemonSet, pod: Pod): void {
    this.api.delete(this.types.pod, pod.metadata.namespace, pod.metadata.name, {})
    this.events.record(daemonSet, {type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${pod.metadata.name}`, source})
  }

  private writeStatus(daemonSet: DaemonSet, hash: string, desired: number): void {
    const pods = controlledPods(this.api, this.types.pod, daemonSet).filter(isActive)
    const scheduled = new Set(pods.filter((pod) => pod.spec.nodeName).map((pod) => pod.spec.nodeName))
    const minReady = daemonSet.spec.minReadySeconds ?? 0
    const available = pods.filter((pod) => isAvailable(pod, minReady, this.runtime.clock.factor)).length
    const status: Record<string, unknown> = {
      currentNumberScheduled: scheduled.size,
      desiredNumberScheduled: desired,
      numberMisscheduled: 0,
      numberReady: pods.filter(isReady).length,
      observedGeneration: daemonSet.metadata.generation,
      updatedNumberScheduled: pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === hash && pod.spec.nodeName).length,
      ...(available > 0 ? {numberAvailable: available} : {}),
      ...(desired - available > 0 ? {numberUnavailable: desired - available} : {}),
    }
    const latest = this.api.find(this.types.daemonSet, daemonSet.metadata.namespace, daemonSet.metadata.name)
    if (!latest) return
    const next = clone(latest) as DaemonSet
    next.status = status
    this.api.writeInternal(this.types.daemonSet, next)
  }
}
