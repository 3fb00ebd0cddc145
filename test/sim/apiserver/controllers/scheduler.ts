/**
 * default-scheduler: binds pending pods to a node whose allocatable CPU and memory still fit the
 * pod's requests and whose labels match its selector/affinity, waits for WaitForFirstConsumer
 * volumes to be provisioned, and otherwise marks the pod Unschedulable with the real
 * FailedScheduling message ("0/1 nodes are available: 1 Insufficient memory. preemption: ...").
 */
import type {ClusterApi} from '../api.js'
import type {EventRecorder} from '../events.js'
import {clone} from '../json.js'
import {parseQuantity} from '../quantity.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {Container, Node, PersistentVolumeClaim, Pod} from '../types.js'
import type {Controller, ControllerRuntime} from './runtime.js'
import {isTerminal, keyOf, setCondition, splitKey} from './support.js'
import {selectedNodeAnnotation} from './storage.js'

const source = {component: 'default-scheduler'}
const retryMs = 60_000

interface Requests {
  cpu: number
  memory: number
}

function containerRequests(container: Container): Requests {
  const requests = container.resources?.requests ?? {}
  const limits = container.resources?.limits ?? {}
  return {cpu: parseQuantity(requests.cpu ?? limits.cpu), memory: parseQuantity(requests.memory ?? limits.memory)}
}

/** A pod's effective request: its containers (and sidecars) together, or its largest init container. */
export function podRequests(pod: Pod): Requests {
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')
  const regular = [...pod.spec.containers, ...sidecars].map(containerRequests)
  const sum = regular.reduce((total, r) => ({cpu: total.cpu + r.cpu, memory: total.memory + r.memory}), {cpu: 0, memory: 0})
  for (const init of (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always').map(containerRequests)) {
    sum.cpu = Math.max(sum.cpu, init.cpu)
    sum.memory = Math.max(sum.memory, init.memory)
  }
  return sum
}

function requirementHolds(value: string | undefined, operator: string, values: string[] = []): boolean {
  switch (operator) {
    case 'In':
      return value !== undefined && values.includes(value)
    case 'NotIn':
      return value === undefined || !values.includes(value)
    case 'Exists':
      return value !== undefined
    case 'DoesNotExist':
      return value === undefined
    default:
      return false
  }
}

function matchesNode(pod: Pod, node: Node): boolean {
  const selector = pod.spec.nodeSelector ?? {}
  if (!Object.entries(selector).every(([key, value]) => node.metadata.labels?.[key] === value)) return false
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
  if (!terms || terms.length === 0) return true
  return terms.some(
    (term) =>
      (term.matchExpressions ?? []).every((e) => requirementHolds(node.metadata.labels?.[e.key], e.operator, e.values)) &&
      (term.matchFields ?? []).every((f) => requirementHolds(f.key === 'metadata.name' ? node.metadata.name : undefined, f.operator, f.values)),
  )
}

function counted(reasons: Map<string, number>): string {
  return [...reasons]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([reason, count]) => `${count} ${reason}`)
    .join(', ')
}

export class Scheduler implements Controller {
  readonly name = 'default-scheduler'

  constructor(
    private readonly api: ClusterApi,
    private readonly runtime: ControllerRuntime,
    private readonly events: EventRecorder,
    private readonly types: {pod: ResourceType; node: ResourceType; claim: ResourceType; storageClass: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.node.storage || change.storage === this.types.claim.storage) return ['*']
    if (change.storage !== this.types.pod.storage) return []
    const pod = change.object as Pod
    if (change.type === 'DELETED' || isTerminal(pod) || pod.metadata.deletionTimestamp !== undefined) return ['*']
    return pod.spec.nodeName ? [] : [keyOf(pod)]
  }

  reconcile(key: string): void {
    const pending =
      key === '*'
        ? (this.api.list(this.types.pod, undefined) as Pod[]).filter((pod) => !pod.spec.nodeName)
        : [this.api.find(this.types.pod, ...splitKey(key)) as Pod | undefined].filter((pod): pod is Pod => pod !== undefined)
    for (const pod of pending) {
      if (pod.spec.nodeName || pod.metadata.deletionTimestamp !== undefined) continue
      this.schedule(pod)
    }
  }

  private schedule(pod: Pod): void {
    const nodes = this.api.list(this.types.node, undefined) as Node[]
    const total = nodes.length
    const claims = this.claims(pod)
    if (typeof claims === 'string') {
      this.unschedulable(pod, `0/${total} nodes are available: ${claims}. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`)
      return
    }
    const requests = podRequests(pod)
    const reasons = new Map<string, number>()
    const preemption = new Map<string, number>()
    const add = (map: Map<string, number>, reason: string): void => {
      map.set(reason, (map.get(reason) ?? 0) + 1)
    }
    const fitting: Node[] = []
    for (const node of nodes) {
      if (node.spec.unschedulable) {
        add(reasons, 'node(s) were unschedulable')
        add(preemption, 'Preemption is not helpful for scheduling')
        continue
      }
      if (!matchesNode(pod, node)) {
        add(reasons, "node(s) didn't match Pod's node affinity/selector")
        add(preemption, 'Preemption is not helpful for scheduling')
        continue
      }
      const used = this.usage(node.metadata.name)
      const allocatable = node.status.allocatable
      const insufficient: string[] = []
      if (requests.cpu > 0 && used.cpu + requests.cpu > parseQuantity(allocatable.cpu)) insufficient.push('Insufficient cpu')
      if (requests.memory > 0 && used.memory + requests.memory > parseQuantity(allocatable.memory)) insufficient.push('Insufficient memory')
      if (used.pods + 1 > parseQuantity(allocatable.pods ?? '110')) insufficient.push('Too many pods')
      if (insufficient.length > 0) {
        for (const reason of insufficient) add(reasons, reason)
        add(preemption, 'No preemption victims found for incoming pod')
        continue
      }
      fitting.push(node)
    }
    const chosen = fitting.sort((a, b) => this.usage(a.metadata.name).pods - this.usage(b.metadata.name).pods)[0]
    if (!chosen) {
      this.unschedulable(pod, `0/${total} nodes are available: ${counted(reasons)}. preemption: 0/${total} nodes are available: ${counted(preemption)}.`)
      return
    }
    const waiting = claims.filter((claim) => !claim.spec.volumeName)
    if (waiting.length > 0) {
      // WaitForFirstConsumer: tell the provisioner where the pod goes, bind once the volumes exist.
      for (const claim of waiting) {
        if (claim.metadata.annotations?.[selectedNodeAnnotation]) continue
        const next = clone(claim)
        next.metadata.annotations = {...next.metadata.annotations, [selectedNodeAnnotation]: chosen.metadata.name}
        this.api.writeInternal(this.types.claim, next)
      }
      return
    }
    this.bind(pod, chosen.metadata.name)
  }

  /** The pod's claims, or the scheduler's complaint about them. */
  private claims(pod: Pod): PersistentVolumeClaim[] | string {
    const result: PersistentVolumeClaim[] = []
    for (const volume of pod.spec.volumes ?? []) {
      const claimName = volume.persistentVolumeClaim?.claimName
      if (!claimName) continue
      const claim = this.api.find(this.types.claim, pod.metadata.namespace, claimName) as PersistentVolumeClaim | undefined
      if (!claim) return `persistentvolumeclaim "${claimName}" not found`
      if (claim.metadata.deletionTimestamp !== undefined) return `persistentvolumeclaim "${claimName}" is being deleted`
      if (!claim.spec.volumeName) {
        const className = claim.spec.storageClassName
        const storageClass = className ? this.api.find(this.types.storageClass, undefined, className) : undefined
        if (storageClass?.volumeBindingMode !== 'WaitForFirstConsumer') return 'pod has unbound immediate PersistentVolumeClaims'
      }
      result.push(claim)
    }
    return result
  }

  private usage(nodeName: string): Requests & {pods: number} {
    const pods = (this.api.list(this.types.pod, undefined) as Pod[]).filter((pod) => pod.spec.nodeName === nodeName && !isTerminal(pod))
    return pods.reduce(
      (total, pod) => {
        const requests = podRequests(pod)
        return {cpu: total.cpu + requests.cpu, memory: total.memory + requests.memory, pods: total.pods + 1}
      },
      {cpu: 0, memory: 0, pods: 0},
    )
  }

  private bind(pod: Pod, nodeName: string): void {
    const next = clone(pod)
    next.spec.nodeName = nodeName
    const now = this.api.now().replace(/\.\d+Z$/, 'Z')
    next.status = {...next.status, conditions: setCondition(next.status?.conditions, {type: 'PodScheduled', status: 'True', lastProbeTime: null}, now)}
    const bound = this.api.writeInternal(this.types.pod, next)
    if (bound) {
      this.events.record(bound, {type: 'Normal', reason: 'Scheduled', message: `Successfully assigned ${pod.metadata.namespace ?? ''}/${pod.metadata.name} to ${nodeName}`, source, action: 'Binding'})
    }
  }

  private unschedulable(pod: Pod, message: string): void {
    const before = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled')
    if (before?.message !== message) {
      const next = clone(pod)
      const now = this.api.now().replace(/\.\d+Z$/, 'Z')
      next.status = {...next.status, conditions: setCondition(next.status?.conditions, {type: 'PodScheduled', status: 'False', lastProbeTime: null, reason: 'Unschedulable', message}, now)}
      this.api.writeInternal(this.types.pod, next)
    }
    this.events.record(pod, {type: 'Warning', reason: 'FailedScheduling', message, source, action: 'Scheduling'})
    this.runtime.after(retryMs, this, keyOf(pod))
  }
}
