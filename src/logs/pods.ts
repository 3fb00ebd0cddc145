/**
 * Which pods are the release's, and which container instances each one has. A pod belongs to
 * the release when it carries `app.kubernetes.io/instance=<release>` or when its owner chain
 * (ReplicaSet → Deployment, StatefulSet, DaemonSet, Job) leads to an object helm annotated
 * with the release's name. devctl's own Postgres and Redis come with --services. COMPONENT
 * arguments name `app.kubernetes.io/component` values; one that no pod carries is a regex on
 * pod names.
 */
import {belongsToRelease} from '../chart/release-record.js'
import type {KubeClient} from '../kube/client.js'
import type {KindName, KubernetesObject, V1ContainerStatus, V1Pod} from '../kube/types.js'
import {managedByDevctl} from '../services/naming.js'
import type {LogsRequest} from './options.js'

const INSTANCE_LABEL = 'app.kubernetes.io/instance'
const COMPONENT_LABEL = 'app.kubernetes.io/component'
const OWNER_KINDS = new Set<string>(['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job'])
// Pod → ReplicaSet → Deployment is the longest chain helm creates; a little room beyond it.
const MAX_OWNER_DEPTH = 4

/** What the log engine needs from the Kubernetes API (KubeClient has it; tests pass a fake). */
export type LogSource = Pick<KubeClient, 'list' | 'get' | 'watch' | 'openLog'>

/** What a pod is part of: its app.kubernetes.io/component, else its app.kubernetes.io/name. */
export function componentOf(pod: V1Pod): string | undefined {
  return pod.metadata?.labels?.[COMPONENT_LABEL] ?? pod.metadata?.labels?.['app.kubernetes.io/name']
}

/** Identifies a pod across its versions (a pod recreated under the same name is another pod). */
export function podKey(pod: V1Pod): string {
  return pod.metadata?.uid ?? pod.metadata?.name ?? ''
}

function controllerOf(object: KubernetesObject): {kind: string; name: string} | undefined {
  const owner = object.metadata?.ownerReferences?.find((reference) => reference.controller) ?? object.metadata?.ownerReferences?.[0]
  return owner && OWNER_KINDS.has(owner.kind) ? {kind: owner.kind, name: owner.name} : undefined
}

function namesRelease(object: KubernetesObject, release: string): boolean {
  return belongsToRelease(object, release) || object.metadata?.labels?.[INSTANCE_LABEL] === release
}

/** Decides, once per pod, whether the request covers it; owners are read once and remembered. */
export class PodSelector {
  private readonly owners = new Map<string, Promise<KubernetesObject | undefined>>()
  private readonly decisions = new Map<string, Promise<boolean>>()
  private readonly componentPatterns: RegExp[]
  /** Every component label seen on a pod of the namespace. */
  private readonly knownComponents = new Set<string>()
  /** Owners (kind/name) of the selected pods: their events are shown with --events. */
  readonly selectedOwners = new Set<string>()

  constructor(
    private readonly source: LogSource,
    private readonly request: LogsRequest,
  ) {
    this.componentPatterns = request.components.map((component) => new RegExp(component))
  }

  selects(pod: V1Pod): Promise<boolean> {
    const component = pod.metadata?.labels?.[COMPONENT_LABEL]
    if (component) this.knownComponents.add(component)
    const key = podKey(pod)
    let decision = this.decisions.get(key)
    if (!decision) {
      decision = this.decide(pod)
      this.decisions.set(key, decision)
      // A failed owner lookup is decided again at the pod's next change.
      decision.catch(() => this.decisions.delete(key))
    }
    return decision
  }

  /** The component labels seen on the namespace's pods, sorted. */
  components(): string[] {
    return [...this.knownComponents].sort()
  }

  /** The pod is gone: its decision is not needed any more. */
  forget(pod: V1Pod): void {
    this.decisions.delete(podKey(pod))
  }

  private async decide(pod: V1Pod): Promise<boolean> {
    // Owners first: by then the pods listed with this one have been seen (their components known).
    const owners = await this.ownerChain(pod)
    if (!this.matchesComponent(pod)) return false
    const isService = managedByDevctl(pod)
    const selected = isService ? this.request.services : [pod, ...owners].some((object) => namesRelease(object, this.request.release))
    if (selected) for (const owner of owners) this.selectedOwners.add(`${owner.kind}/${owner.metadata?.name}`)
    return selected
  }

  private matchesComponent(pod: V1Pod): boolean {
    if (this.request.components.length === 0) return true
    const component = pod.metadata?.labels?.[COMPONENT_LABEL]
    const name = pod.metadata?.name ?? ''
    // "worker" is the worker component, not every pod whose name contains "worker"; an argument
    // that is no pod's component is a pod-name regex.
    return this.request.components.some((wanted, index) => wanted === component || (!this.knownComponents.has(wanted) && this.componentPatterns[index]!.test(name)))
  }

  /** The pod's owner chain, read through the API (each owner once per run). */
  private async ownerChain(pod: V1Pod): Promise<KubernetesObject[]> {
    const chain: KubernetesObject[] = []
    let next = controllerOf(pod)
    while (next && chain.length < MAX_OWNER_DEPTH) {
      const key = `${next.kind}/${next.name}`
      let owner = this.owners.get(key)
      if (!owner) {
        owner = this.source.get(next.kind as KindName, this.request.namespace, next.name)
        this.owners.set(key, owner)
        owner.catch(() => this.owners.delete(key))
      }
      const found = await owner
      if (!found) break
      chain.push(found)
      next = controllerOf(found)
    }
    return chain
  }
}

/** One run of a container: what its log requests ask for while it is current, and after. */
export interface ContainerInstance {
  container: string
  init: boolean
  /** The runtime's id for this run; a restart gets a new one. */
  containerID: string
  restartCount: number
}

/** Where an instance's log is now: `previous` when a newer run replaced it; running or ended. */
export interface InstancePlace {
  previous: boolean
  running: boolean
}

function statusesOf(pod: V1Pod): Array<{status: V1ContainerStatus; init: boolean}> {
  return [...(pod.status?.initContainerStatuses ?? []).map((status) => ({status, init: true})), ...(pod.status?.containerStatuses ?? []).map((status) => ({status, init: false}))]
}

function currentID(status: V1ContainerStatus): string | undefined {
  if (status.state?.running) return status.containerID
  if (status.state?.terminated) return status.state.terminated.containerID ?? status.containerID
  return undefined
}

/** Every container run whose log the kubelet can still serve: the current one and the one before it. */
export function instancesOf(pod: V1Pod): ContainerInstance[] {
  const instances: ContainerInstance[] = []
  for (const {status, init} of statusesOf(pod)) {
    const previous = status.lastState?.terminated?.containerID
    const current = currentID(status)
    const restartCount = status.restartCount ?? 0
    if (previous && previous !== current) instances.push({container: status.name, init, containerID: previous, restartCount: Math.max(0, restartCount - 1)})
    if (current) instances.push({container: status.name, init, containerID: current, restartCount})
  }
  return instances
}

/** Where `instance` is in this version of its pod; undefined when the kubelet no longer has its log. */
export function locateInstance(pod: V1Pod, instance: ContainerInstance): InstancePlace | undefined {
  const found = statusesOf(pod).find(({status}) => status.name === instance.container)?.status
  if (!found) return undefined
  if (currentID(found) === instance.containerID) return {previous: false, running: Boolean(found.state?.running)}
  if (found.lastState?.terminated?.containerID === instance.containerID) return {previous: true, running: false}
  return undefined
}
