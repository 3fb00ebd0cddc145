/**
 * The simulated kubelet (and container runtime) of every node: runs each scheduled pod through
 * sandbox creation, image pulls, init containers in order, config resolution, container
 * start, readiness, exits and restarts with back-off, and graceful termination — writing the
 * pod status fields and events a real kubelet writes, and the containers' log lines.
 */
import {createHash, randomBytes} from 'node:crypto'

import type {ClusterApi} from './api.js'
import type {ImagePuller, KubeObject, NodeImage, SimClock} from './contract.js'
import {defaultLogScript, type Line, type LogScript} from './container-logs.js'
import type {Controller} from './controllers/runtime.js'
import type {EventRecorder, EventSpec} from './events.js'
import {clone, isJsonObject} from './json.js'
import type {InstanceLog, LogStore} from './logs.js'
import {serverBinaries} from './backends.js'
import type {PodRuntime} from './pod-runtime.js'
import type {ResourceType} from './resources.js'
import {planContainer, type ContainerPlan, type Scenario} from './scenario.js'
import type {Change} from './store.js'
import type {Condition, Container, ContainerStatus, Pod, PodStatus} from './types.js'

export interface KubeletTypes {
  pod: ResourceType
  secret: ResourceType
  configMap: ResourceType
  node: ResourceType
  replicaSet: ResourceType
}

export interface KubeletDependencies {
  api: ClusterApi
  logs: LogStore
  clock: SimClock
  events: EventRecorder
  types: KubeletTypes
  scenario: () => Scenario
  images?: ImagePuller
  /** Real servers and processes behind containers that a scenario backs with them. */
  runtime: PodRuntime
}

/** The kubelet reports at most this many images in a Node's status (nodeStatusMaxImages), the largest first. */
const nodeStatusMaxImages = 50

/** Which real servers this machine has for devctl's Postgres and Redis (scenario.ts: builtInBackend). */
const installedServers = {postgres: serverBinaries.postgres !== undefined, redis: serverBinaries.redis !== undefined}

const backoffStartMs = 10_000
const backoffCapMs = 300_000
/** How often the kubelet retries a container whose config (Secret/ConfigMap) is missing. */
const configRetryMs = 10_000

class Aborted extends Error {}

/** The registry-qualified name containerd reports: `docker.io/library/nginx:1.27`. */
export function normalizeImage(image: string): string {
  const slash = image.indexOf('/')
  const first = slash < 0 ? '' : image.slice(0, slash)
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost'
  let name = hasRegistry ? image : `docker.io/${slash < 0 ? `library/${image}` : image}`
  const last = name.split('/').at(-1) ?? name
  if (!last.includes(':') && !name.includes('@')) name += ':latest'
  return name
}

function imageDigest(image: string): string {
  return createHash('sha256').update(normalizeImage(image)).digest('hex')
}

function imageID(image: string): string {
  const normalized = normalizeImage(image)
  const repository = normalized.replace(/[:@][^/]*$/, '')
  return `${repository}@sha256:${imageDigest(image)}`
}

function imageSize(image: string): number {
  return 20_000_000 + (Number.parseInt(imageDigest(image).slice(0, 8), 16) % 180_000_000)
}

/** A public image of that name, as a registry of "the internet" serves it. */
function publicImage(image: string): NodeImage {
  return {
    names: [normalizeImage(image), imageID(image)],
    id: `sha256:${createHash('sha256')
      .update(`config:${normalizeImage(image)}`)
      .digest('hex')}`,
    sizeBytes: imageSize(image),
  }
}

/** What a container running this image reports as its imageID: the repository digest if pulled, else the image ID. */
function runningImageID(image: NodeImage): string {
  return image.names.find((name) => name.includes('@sha256:')) ?? image.id
}

/** Go's time.Duration formatting for the Pulled event. */
function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  return `${Number((ms / 1000).toFixed(3))}s`
}

function seconds(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z')
}

/** The container's `waiting` message while it cannot start because of its Secret/ConfigMap references. */
function configError(api: ClusterApi, types: KubeletTypes, pod: Pod, container: Container): string | undefined {
  const namespace = pod.metadata.namespace ?? 'default'
  const lookup = (kind: 'secret' | 'configmap', name: string): KubeObject | undefined => api.find(kind === 'secret' ? types.secret : types.configMap, namespace, name)
  for (const source of container.envFrom ?? []) {
    if (source.secretRef && !source.secretRef.optional && !lookup('secret', source.secretRef.name)) return `secret "${source.secretRef.name}" not found`
    if (source.configMapRef && !source.configMapRef.optional && !lookup('configmap', source.configMapRef.name)) return `configmap "${source.configMapRef.name}" not found`
  }
  for (const variable of container.env ?? []) {
    const secretRef = variable.valueFrom?.secretKeyRef
    const configMapRef = variable.valueFrom?.configMapKeyRef
    if (secretRef) {
      const secret = lookup('secret', secretRef.name)
      if (!secret) {
        if (!secretRef.optional) return `secret "${secretRef.name}" not found`
      } else if (!hasKey(secret, secretRef.key) && !secretRef.optional) {
        return `couldn't find key ${secretRef.key} in Secret ${namespace}/${secretRef.name}`
      }
    }
    if (configMapRef) {
      const configMap = lookup('configmap', configMapRef.name)
      if (!configMap) {
        if (!configMapRef.optional) return `configmap "${configMapRef.name}" not found`
      } else if (!hasKey(configMap, configMapRef.key) && !configMapRef.optional) {
        return `couldn't find key ${configMapRef.key} in ConfigMap ${namespace}/${configMapRef.name}`
      }
    }
  }
  return undefined
}

function hasKey(object: KubeObject, key: string): boolean {
  const data = isJsonObject(object.data) ? object.data : {}
  const binary = isJsonObject(object.binaryData) ? object.binaryData : {}
  return key in data || key in binary
}

/** The FailedMount message for the first Secret/ConfigMap volume that does not exist. */
function mountError(api: ClusterApi, types: KubeletTypes, pod: Pod): string | undefined {
  const namespace = pod.metadata.namespace ?? 'default'
  for (const volume of pod.spec.volumes ?? []) {
    if (volume.secret && !volume.secret.optional && !api.find(types.secret, namespace, volume.secret.secretName)) {
      return `MountVolume.SetUp failed for volume "${volume.name}" : secret "${volume.secret.secretName}" not found`
    }
    if (volume.configMap && !volume.configMap.optional && !api.find(types.configMap, namespace, volume.configMap.name)) {
      return `MountVolume.SetUp failed for volume "${volume.name}" : configmap "${volume.configMap.name}" not found`
    }
  }
  return undefined
}

/** Migration files a pod can see: `.sql` keys of the ConfigMaps it mounts, in name order. */
function mountedMigrations(deps: KubeletDependencies, pod: Pod): string[] {
  const names = (pod.spec.volumes ?? []).flatMap((volume) => {
    const configMap = volume.configMap ? deps.api.find(deps.types.configMap, pod.metadata.namespace, volume.configMap.name) : undefined
    return Object.keys(isJsonObject(configMap?.data) ? configMap.data : {}).filter((key) => key.endsWith('.sql'))
  })
  return names.sort().map((name) => name.slice(0, -'.sql'.length))
}

export class Kubelet implements Controller {
  readonly name = 'kubelet'
  private readonly workers = new Map<string, PodWorker>()
  /** Per node: containerd's images by every name they have. */
  private readonly nodeImages = new Map<string, Map<string, NodeImage>>()
  private readonly nextAddress = new Map<string, number>()
  private paused = false

  constructor(readonly deps: KubeletDependencies) {}

  keysFor(change: Change): string[] {
    const {types} = this.deps
    if (change.storage === types.pod.storage) {
      const pod = change.object as Pod
      return pod.spec.nodeName || change.type === 'DELETED' ? [`${pod.metadata.namespace ?? ''}/${pod.metadata.name}`] : []
    }
    if (change.storage === types.secret.storage || change.storage === types.configMap.storage) return [`config:${change.object.metadata.namespace ?? ''}`]
    return []
  }

  reconcile(key: string): void {
    if (this.paused) return
    if (key === '*') {
      for (const pod of this.deps.api.list(this.deps.types.pod, undefined)) this.sync(pod.metadata.namespace ?? '', pod.metadata.name)
      return
    }
    if (key.startsWith('config:')) {
      const namespace = key.slice('config:'.length)
      for (const worker of this.workers.values()) if (worker.namespace === namespace) worker.wake()
      return
    }
    const slash = key.indexOf('/')
    this.sync(key.slice(0, slash), key.slice(slash + 1))
  }

  private sync(namespace: string, name: string, reboot = false): void {
    const pod = this.deps.api.find(this.deps.types.pod, namespace, name) as Pod | undefined
    for (const [uid, worker] of this.workers) {
      if (worker.namespace === namespace && worker.name === name && worker.uid !== pod?.metadata.uid) {
        worker.stop()
        this.workers.delete(uid)
        this.deps.logs.forgetPod(uid)
      }
    }
    if (!pod?.spec.nodeName || !pod.metadata.uid) return
    const existing = this.workers.get(pod.metadata.uid)
    if (existing) {
      if (pod.metadata.deletionTimestamp !== undefined) existing.terminate()
      return
    }
    const phase = pod.status?.phase
    if (phase === 'Succeeded' || phase === 'Failed') return
    if (pod.metadata.deletionTimestamp !== undefined) {
      // Nothing runs for it on this node any more: confirm the deletion at once.
      this.deps.api.removeInternal(this.deps.types.pod, pod)
      return
    }
    const worker = new PodWorker(this, pod, reboot)
    this.workers.set(pod.metadata.uid, worker)
    worker.start()
  }

  /** A stopped cluster: every container stops where it is, no status is written. */
  pause(): void {
    this.paused = true
    for (const worker of this.workers.values()) worker.stop()
    this.workers.clear()
  }

  /** The cluster starts again: every pod that was not finished restarts, as after a node reboot. */
  resume(): void {
    this.paused = false
    for (const pod of this.deps.api.list(this.deps.types.pod, undefined)) this.sync(pod.metadata.namespace ?? '', pod.metadata.name, true)
  }

  close(): void {
    this.pause()
  }

  imageOn(node: string, image: string): NodeImage | undefined {
    return this.nodeImages.get(node)?.get(normalizeImage(image))
  }

  /** Into the node's containerd: by every name it has (a newer image takes a name over), and into the Node's status. */
  rememberImage(node: string, image: NodeImage): void {
    const images = this.nodeImages.get(node) ?? new Map<string, NodeImage>()
    for (const name of image.names) images.set(name.includes('@') ? name : normalizeImage(name), image)
    this.nodeImages.set(node, images)
    this.publishNodeImages(node)
  }

  imagesOn(node: string): NodeImage[] {
    const unique = new Map<string, NodeImage>()
    for (const [name, image] of this.nodeImages.get(node) ?? []) {
      const entry = unique.get(image.id) ?? {...image, names: []}
      entry.names.push(name)
      unique.set(image.id, entry)
    }
    return [...unique.values()]
  }

  pull(image: string): {ok: true; image: NodeImage} | {ok: false; message: string} {
    return this.deps.images?.pull(image) ?? {ok: true, image: publicImage(image)}
  }

  /** `.status.images` of the Node, as the kubelet reports them: the largest first, at most nodeStatusMaxImages. */
  private publishNodeImages(nodeName: string): void {
    const node = this.deps.api.find(this.deps.types.node, undefined, nodeName)
    if (!node) return
    const images = this.imagesOn(nodeName)
      .sort((a, b) => b.sizeBytes - a.sizeBytes)
      .slice(0, nodeStatusMaxImages)
      .map((image) => ({names: image.names, sizeBytes: image.sizeBytes}))
    const next = clone(node)
    next.status = {...(isJsonObject(next.status) ? next.status : {}), images}
    this.deps.api.writeInternal(this.deps.types.node, next)
  }

  /** Pod IPs come from the node's pod CIDR (10.42.<node>.0/24), like flannel's host-local IPAM. */
  allocatePodIP(nodeName: string): string {
    const node = this.deps.api.find(this.deps.types.node, undefined, nodeName)
    const cidr = (node?.spec as {podCIDR?: string} | undefined)?.podCIDR ?? '10.42.0.0/24'
    const prefix = cidr.split('.').slice(0, 3).join('.')
    const next = this.nextAddress.get(nodeName) ?? 2
    this.nextAddress.set(nodeName, next >= 254 ? 2 : next + 1)
    return `${prefix}.${next}`
  }

  hostIP(nodeName: string): string {
    const node = this.deps.api.find(this.deps.types.node, undefined, nodeName)
    const addresses = (node?.status as {addresses?: Array<{type: string; address: string}>} | undefined)?.addresses ?? []
    return addresses.find((address) => address.type === 'InternalIP')?.address ?? ''
  }

  /** The workload a scenario rule's `workload:` refers to (a Deployment for ReplicaSet-owned pods). */
  workloadOf(pod: Pod): string | undefined {
    const owner = pod.metadata.ownerReferences?.find((reference) => reference.controller)
    if (!owner) return undefined
    if (owner.kind === 'ReplicaSet') {
      const replicaSet = this.deps.api.find(this.deps.types.replicaSet, pod.metadata.namespace, owner.name)
      const deployment = replicaSet?.metadata.ownerReferences?.find((reference) => reference.controller && reference.kind === 'Deployment')
      if (deployment) return deployment.name
    }
    return owner.name
  }
}

interface ContainerSlot {
  spec: Container
  init: boolean
  plan: ContainerPlan
  script: LogScript
  status: ContainerStatus
  log?: InstanceLog
  /** Increments with every instance, so stale timers (readiness, probes) can tell they are stale. */
  instance: number
}

/** One pod on one node, from sandbox to the end of its life. */
class PodWorker {
  readonly uid: string
  readonly namespace: string
  readonly name: string
  private readonly lifetime = new AbortController()
  private readonly running = new AbortController()
  private readonly slots: ContainerSlot[]
  private readonly wakers = new Set<() => void>()
  private terminating = false
  private failed = false
  private podIP = ''
  private sandboxReady = false

  constructor(
    private readonly kubelet: Kubelet,
    pod: Pod,
    private readonly reboot: boolean,
  ) {
    this.uid = pod.metadata.uid ?? ''
    this.namespace = pod.metadata.namespace ?? 'default'
    this.name = pod.metadata.name
    const scenario = kubelet.deps.scenario()
    const workload = kubelet.workloadOf(pod)
    const previous = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    const slot = (spec: Container, init: boolean): ContainerSlot => {
      const plan = planContainer(scenario, {pod, container: spec, workload, init}, installedServers)
      const before = previous.find((status) => status.name === spec.name)
      const status: ContainerStatus = {
        name: spec.name,
        state: {waiting: {reason: init ? 'PodInitializing' : pod.spec.initContainers?.length ? 'PodInitializing' : 'ContainerCreating'}},
        lastState: before?.lastState ?? {},
        ready: false,
        restartCount: before?.restartCount ?? 0,
        image: before?.image ?? spec.image,
        imageID: before?.imageID ?? '',
        started: false,
      }
      if (reboot && before?.containerID && (before.state.running || before.state.terminated)) {
        // The node went away under the container: its last state is an unknown termination.
        status.lastState = {
          terminated: {
            exitCode: 255,
            reason: 'Unknown',
            startedAt: before.state.running?.startedAt ?? before.state.terminated?.startedAt,
            finishedAt: seconds(kubelet.deps.api.now()),
            containerID: before.containerID,
          },
        }
        status.restartCount = before.restartCount + 1
      }
      return {spec, init, plan, script: defaultLogScript(spec, mountedMigrations(kubelet.deps, pod)), status, instance: 0}
    }
    this.slots = [...(pod.spec.initContainers ?? []).map((c) => slot(c, true)), ...pod.spec.containers.map((c) => slot(c, false))]
  }

  private get deps(): KubeletDependencies {
    return this.kubelet.deps
  }

  start(): void {
    void this.run()
  }

  stop(): void {
    this.lifetime.abort(new Aborted())
    this.running.abort(new Aborted())
    for (const wake of this.wakers) wake()
    for (const slot of this.slots) slot.log?.end()
    void this.deps.runtime.podStopped(this.uid)
  }

  terminate(): void {
    if (this.terminating) return
    this.terminating = true
    this.running.abort(new Aborted())
    for (const wake of this.wakers) wake()
  }

  /** Something this pod may be waiting for (a Secret, a ConfigMap) changed. */
  wake(): void {
    for (const wake of [...this.wakers]) wake()
  }

  private pod(): Pod | undefined {
    const pod = this.deps.api.find(this.deps.types.pod, this.namespace, this.name) as Pod | undefined
    return pod?.metadata.uid === this.uid ? pod : undefined
  }

  private async run(): Promise<void> {
    try {
      await this.lifecycle()
    } catch (error) {
      if (!(error instanceof Aborted) && !this.lifetime.signal.aborted && !this.running.signal.aborted) throw error
    }
    if (this.terminating && !this.lifetime.signal.aborted)
      await this.finishTermination().catch((error: unknown) => {
        if (!(error instanceof Aborted)) throw error
      })
  }

  /** Sleeps simulated time; rejects when the pod is being terminated or the node goes away. */
  private sleep(ms: number, signal: AbortSignal = this.running.signal): Promise<void> {
    const combined = AbortSignal.any([signal, this.lifetime.signal])
    return this.deps.clock.sleep(ms, combined).catch(() => {
      throw new Aborted()
    })
  }

  /** Waits for wake() (a watched object changed) or `ms` of simulated time, whichever is first. */
  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.wakers.delete(done)
        clearTimeout(timer)
        if (this.running.signal.aborted || this.lifetime.signal.aborted) reject(new Aborted())
        else resolve()
      }
      const timer = setTimeout(done, ms * this.deps.clock.factor)
      this.wakers.add(done)
      if (this.running.signal.aborted || this.lifetime.signal.aborted) done()
    })
  }

  private event(type: EventSpec['type'], reason: string, message: string, slot?: ContainerSlot): void {
    if (this.lifetime.signal.aborted) return
    const pod = this.pod()
    if (!pod) return
    this.deps.events.record(pod, {
      type,
      reason,
      message,
      source: {component: 'kubelet', host: pod.spec.nodeName},
      ...(slot ? {fieldPath: `spec.${slot.init ? 'initContainers' : 'containers'}{${slot.spec.name}}`} : {}),
    })
  }

  private async lifecycle(): Promise<void> {
    const pod = this.pod()
    if (!pod) return
    if (this.reboot) this.event('Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.')
    await this.prepareSandbox(pod)
    for (const slot of this.slots.filter((s) => s.init)) {
      if (slot.spec.restartPolicy === 'Always') {
        void this.runContainer(slot).catch(() => undefined)
        await this.until(() => slot.status.started === true)
        continue
      }
      const exitCode = await this.runContainer(slot)
      if (exitCode !== 0) return
    }
    await Promise.all(this.slots.filter((s) => !s.init).map((slot) => this.runContainer(slot)))
  }

  /** Mounts (waiting for missing Secret/ConfigMap volumes), then the sandbox with its IP. */
  private async prepareSandbox(pod: Pod): Promise<void> {
    const now = seconds(this.deps.api.now())
    this.publish((status) => {
      status.startTime ??= now
      status.hostIP = this.kubelet.hostIP(pod.spec.nodeName ?? '')
      status.hostIPs = [{ip: status.hostIP}]
    })
    for (;;) {
      const current = this.pod()
      if (!current) throw new Aborted()
      const failure = mountError(this.deps.api, this.deps.types, current)
      if (!failure) break
      this.event('Warning', 'FailedMount', failure)
      await this.waitForChange(configRetryMs)
    }
    this.podIP = this.kubelet.allocatePodIP(pod.spec.nodeName ?? '')
    this.sandboxReady = true
    this.publish((status) => {
      status.podIP = this.podIP
      status.podIPs = [{ip: this.podIP}]
    })
  }

  private async until(check: () => boolean): Promise<void> {
    while (!check()) await this.waitForChange(configRetryMs)
  }

  /** One container through all its instances; resolves with the final exit code (0 when it keeps running until stopped). */
  private async runContainer(slot: ContainerSlot): Promise<number> {
    const pod = this.pod()
    if (!pod) throw new Aborted()
    const policy = pod.spec.restartPolicy ?? 'Always'
    let backoff = backoffStartMs
    let attempt = 0
    for (;;) {
      await this.pullImage(slot, pod)
      await this.resolveConfig(slot)
      await this.sleep(slot.plan.create)
      const containerID = `containerd://${randomBytes(32).toString('hex')}`
      this.event('Normal', 'Created', `Created container ${slot.spec.name}`, slot)
      await this.sleep(slot.plan.start)
      const exitCode = await this.runInstance(slot, containerID, attempt)
      attempt++
      const restarts = slot.init && slot.spec.restartPolicy === 'Always' ? true : policy === 'Always' ? !slot.init || exitCode !== 0 : policy === 'OnFailure' && exitCode !== 0
      if (!restarts) {
        if (exitCode !== 0 && slot.init) {
          this.failed = policy === 'Never'
          this.publish()
        }
        return exitCode
      }
      const message = `back-off ${goDuration(backoff).replace(/\.0+s$/, 's')} restarting failed container=${slot.spec.name} pod=${this.name}_${this.namespace}(${this.uid})`
      slot.status = {...slot.status, lastState: {terminated: slot.status.state.terminated}, state: {waiting: {reason: 'CrashLoopBackOff', message}}, ready: false, started: false}
      this.publish()
      this.event('Warning', 'BackOff', `Back-off restarting failed container ${slot.spec.name} in pod ${this.name}_${this.namespace}(${this.uid})`, slot)
      await this.sleep(backoff)
      backoff = Math.min(backoff * 2, backoffCapMs)
    }
  }

  private async pullImage(slot: ContainerSlot, pod: Pod): Promise<void> {
    const node = pod.spec.nodeName ?? ''
    const image = slot.spec.image
    let backoff = backoffStartMs
    for (;;) {
      const pullPolicy = slot.spec.imagePullPolicy ?? 'IfNotPresent'
      const present = this.kubelet.imageOn(node, image)
      if (slot.plan.behavior !== 'imagePullError' && present && pullPolicy !== 'Always') {
        this.event('Normal', 'Pulled', `Container image "${image}" already present on machine`, slot)
        slot.status = {...slot.status, image: normalizeImage(image), imageID: runningImageID(present)}
        break
      }
      this.event('Normal', 'Pulling', `Pulling image "${image}"`, slot)
      await this.sleep(slot.plan.pull)
      const pulled = slot.plan.behavior === 'imagePullError' ? undefined : this.kubelet.pull(image)
      if (pulled?.ok) {
        this.kubelet.rememberImage(node, pulled.image)
        const took = goDuration(slot.plan.pull)
        this.event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${pulled.image.sizeBytes} bytes.`, slot)
        slot.status = {...slot.status, image: normalizeImage(image), imageID: runningImageID(pulled.image)}
        break
      }
      const reference = normalizeImage(image)
      const reason =
        slot.plan.imagePullMessage ??
        `rpc error: code = NotFound desc = failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ${pulled?.message ?? `${reference}: not found`}`
      this.event('Warning', 'Failed', `Failed to pull image "${image}": ${reason}`, slot)
      this.event('Warning', 'Failed', 'Error: ErrImagePull', slot)
      slot.status = {...slot.status, state: {waiting: {reason: 'ErrImagePull', message: reason}}}
      this.publish()
      await this.sleep(Math.min(backoff, 1000))
      this.event('Normal', 'BackOff', `Back-off pulling image "${image}"`, slot)
      this.event('Warning', 'Failed', 'Error: ImagePullBackOff', slot)
      slot.status = {...slot.status, state: {waiting: {reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ErrImagePull: ${reason}`}}}
      this.publish()
      await this.sleep(backoff)
      backoff = Math.min(backoff * 2, backoffCapMs)
    }
  }

  /** Env from Secrets/ConfigMaps must resolve before the container is created; retried until it does. */
  private async resolveConfig(slot: ContainerSlot): Promise<void> {
    for (;;) {
      const pod = this.pod()
      if (!pod) throw new Aborted()
      const failure = configError(this.deps.api, this.deps.types, pod, slot.spec)
      if (!failure) {
        if (slot.status.state.waiting?.reason === 'CreateContainerConfigError') {
          slot.status = {...slot.status, state: {waiting: {reason: 'ContainerCreating'}}}
        }
        return
      }
      slot.status = {...slot.status, state: {waiting: {reason: 'CreateContainerConfigError', message: failure}}}
      this.publish()
      this.event('Warning', 'Failed', `Error: ${failure}`, slot)
      await this.waitForChange(configRetryMs)
      this.event('Normal', 'Pulled', `Container image "${slot.spec.image}" already present on machine`, slot)
    }
  }

  private printLines(log: InstanceLog, lines: Line[]): void {
    const now = new Date()
    for (const line of lines) log.append(line(now), now.getTime())
  }

  /** One instance: started, printing, ready or not, until it exits (or runs until stopped). */
  private async runInstance(slot: ContainerSlot, containerID: string, attempt: number): Promise<number> {
    const startedAt = seconds(this.deps.api.now())
    const firstStart = slot.status.restartCount === 0 && slot.status.lastState.terminated === undefined
    const restartCount = firstStart || (this.reboot && attempt === 0) ? slot.status.restartCount : slot.status.restartCount + 1
    // Without a readiness probe a container is ready as soon as it runs; neverReady implies a failing probe.
    const hasReadinessProbe = slot.spec.readinessProbe !== undefined || slot.plan.behavior === 'neverReady'
    slot.instance++
    const instance = slot.instance
    const log = this.deps.logs.startInstance(this.uid, containerID)
    slot.log = log
    slot.status = {
      ...slot.status,
      state: {running: {startedAt}},
      ready: !hasReadinessProbe,
      started: true,
      restartCount,
      containerID,
      image: normalizeImage(slot.spec.image),
      imageID: slot.status.imageID || imageID(slot.spec.image),
    }
    this.publish()
    this.wake()
    this.event('Normal', 'Started', `Started container ${slot.spec.name}`, slot)
    const logs = slot.plan.logs ?? {}
    // A real process prints its own lines.
    if (!logs.replaceDefaults && !slot.plan.run) this.printLines(log, slot.script.start)
    for (const line of logs.lines ?? []) log.append(line)
    if (logs.generate) {
      const {lines, rate, text} = logs.generate
      log.appendGenerated(lines, rate > 0 ? (1000 / rate) * this.deps.clock.factor : 0, (index) => text.replaceAll('{i}', String(index + 1)))
    }
    if (slot.plan.run) return this.runScript(slot, log, slot.plan.run)
    const exits = slot.plan.behavior !== 'run' && slot.plan.behavior !== 'neverReady'
    if (exits) return this.runToExit(slot, log, attempt)
    const server = slot.plan.backend ? await this.startServer(slot, log, slot.plan.backend) : undefined
    if (slot.plan.backend && !server) return this.exited(slot, 1)
    void this.becomeReady(slot, instance, log).catch(() => undefined)
    try {
      await new Promise<void>((resolve, reject) => {
        const abort = (): void => reject(new Aborted())
        if (this.running.signal.aborted) abort()
        this.running.signal.addEventListener('abort', abort, {once: true})
        this.lifetime.signal.addEventListener('abort', abort, {once: true})
        // A real server that stops by itself is a container that exited.
        void server?.exited.then(resolve)
      })
    } finally {
      const pod = this.pod()
      if (server && pod) await this.deps.runtime.containerStopped(pod, slot.spec.name)
    }
    log.append(`${slot.plan.backend} server exited`)
    log.end()
    return this.exited(slot, 1)
  }

  /** The real server behind the container; undefined (and why, in its log) when it cannot start. */
  private async startServer(slot: ContainerSlot, log: InstanceLog, kind: 'postgres' | 'redis') {
    const pod = this.pod()
    if (!pod) throw new Aborted()
    try {
      return await this.deps.runtime.startServer(pod, slot.spec, kind)
    } catch (error) {
      for (const line of String(error instanceof Error ? error.message : error).split('\n')) log.append(line)
      log.end()
      return undefined
    }
  }

  /** The scenario's script, run for real; its output is the log, its exit code the container's. */
  private async runScript(slot: ContainerSlot, log: InstanceLog, script: string): Promise<number> {
    const pod = this.pod()
    if (!pod) throw new Aborted()
    const {env, local} = this.deps.runtime.processEnvironment(pod, slot.spec)
    const partial = {stdout: '', stderr: ''}
    const lines = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = partial[stream] + chunk.toString('utf8')
      const complete = text.split('\n')
      partial[stream] = complete.pop() ?? ''
      for (const line of complete) log.append(line)
      return true
    }
    const started = await this.deps.runtime.processes.start(this.uid, {argv: ['/bin/sh', '-c', script], env, local}, {stdout: lines('stdout'), stderr: lines('stderr')})
    const stop = (): void => started.kill()
    this.running.signal.addEventListener('abort', stop, {once: true})
    this.lifetime.signal.addEventListener('abort', stop, {once: true})
    const outcome = await started.exited
    this.running.signal.removeEventListener('abort', stop)
    this.lifetime.signal.removeEventListener('abort', stop)
    if (this.running.signal.aborted || this.lifetime.signal.aborted) throw new Aborted()
    for (const rest of [partial.stdout, partial.stderr]) if (rest) log.append(rest)
    log.end()
    return this.exited(slot, 'exitCode' in outcome ? outcome.exitCode : 127)
  }

  /** The container's instance ended with `exitCode` (its log already ended). */
  private exited(slot: ContainerSlot, exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error'): number {
    const terminated = {
      exitCode,
      reason,
      startedAt: slot.status.state.running?.startedAt,
      finishedAt: seconds(this.deps.api.now()),
      containerID: slot.status.containerID,
    }
    slot.status = {...slot.status, state: {terminated}, ready: false, started: false}
    this.publish()
    return exitCode
  }

  private async becomeReady(slot: ContainerSlot, instance: number, log: InstanceLog): Promise<void> {
    const probe = slot.spec.readinessProbe
    const delay = Math.max(slot.plan.ready, (probe?.initialDelaySeconds ?? 0) * 1000)
    if (slot.plan.behavior === 'neverReady') {
      const period = (probe?.periodSeconds ?? 10) * 1000
      await this.sleep(delay)
      for (;;) {
        if (slot.instance !== instance) return
        this.event('Warning', 'Unhealthy', `Readiness probe failed: HTTP probe failed with statuscode: 503`, slot)
        await this.sleep(period)
      }
    }
    await this.sleep(delay)
    if (slot.instance !== instance) return
    if (!slot.plan.logs?.replaceDefaults) this.printLines(log, slot.script.progress)
    const periodic = slot.script.periodic
    if (periodic && !slot.plan.logs?.replaceDefaults) log.appendGenerated(Infinity, periodic.everyMs * this.deps.clock.factor, periodic.render)
    if (!slot.status.ready) {
      slot.status = {...slot.status, ready: true}
      this.publish()
    }
  }

  private async runToExit(slot: ContainerSlot, log: InstanceLog, attempt: number): Promise<number> {
    const progress = slot.plan.logs?.replaceDefaults ? [] : slot.script.progress
    const steps = progress.length + 1
    for (const line of progress) {
      await this.sleep(slot.plan.runFor / steps)
      this.printLines(log, [line])
    }
    await this.sleep(slot.plan.runFor / steps)
    const succeeds = slot.plan.behavior === 'complete' || (slot.plan.succeedAfter !== undefined && attempt >= slot.plan.succeedAfter)
    const oom = slot.plan.behavior === 'oom' && !succeeds
    const exitCode = succeeds ? 0 : oom ? 137 : slot.plan.exitCode
    if (!slot.plan.logs?.replaceDefaults && !oom) this.printLines(log, exitCode === 0 ? slot.script.success : slot.script.failure)
    for (const line of slot.plan.logs?.exitLines ?? []) log.append(line)
    log.end()
    return this.exited(slot, exitCode, oom ? 'OOMKilled' : undefined)
  }

  /** SIGTERM: Killing events, the stop delay (at most the grace period), then the pod object goes. */
  private async finishTermination(): Promise<void> {
    const pod = this.pod()
    if (!pod) return
    const runningSlots = this.slots.filter((slot) => slot.status.state.running)
    for (const slot of runningSlots) this.event('Normal', 'Killing', `Stopping container ${slot.spec.name}`, slot)
    const grace = (pod.metadata.deletionGracePeriodSeconds as number | undefined) ?? pod.spec.terminationGracePeriodSeconds ?? 30
    const slowest = Math.max(0, ...runningSlots.map((slot) => slot.plan.terminate))
    await this.sleep(Math.min(slowest, grace * 1000), this.lifetime.signal)
    const finishedAt = seconds(this.deps.api.now())
    for (const slot of this.slots) {
      slot.log?.end()
      if (slot.status.state.running) {
        slot.status = {
          ...slot.status,
          ready: false,
          started: false,
          state: {terminated: {exitCode: 0, reason: 'Completed', startedAt: slot.status.state.running.startedAt, finishedAt, containerID: slot.status.containerID}},
        }
      }
    }
    this.publish()
    await this.deps.runtime.podStopped(this.uid)
    const current = this.pod()
    if (current) this.deps.api.removeInternal(this.deps.types.pod, current)
    this.deps.logs.forgetPod(this.uid)
  }

  /** Writes the pod status the kubelet derives from its containers (plus `extra` edits). */
  private publish(extra?: (status: PodStatus) => void): void {
    if (this.lifetime.signal.aborted) return
    const pod = this.pod()
    if (!pod) return
    const next = clone(pod)
    const status: PodStatus = next.status ?? {}
    extra?.(status)
    const init = this.slots.filter((slot) => slot.init)
    const main = this.slots.filter((slot) => !slot.init)
    status.initContainerStatuses = init.length > 0 ? init.map((slot) => slot.status) : undefined
    status.containerStatuses = main.map((slot) => slot.status)
    if (status.initContainerStatuses === undefined) delete status.initContainerStatuses
    status.phase = this.phase(next)
    status.conditions = this.conditions(next, status)
    next.status = status
    this.deps.api.writeInternal(this.deps.types.pod, next)
  }

  private initialized(): boolean {
    return this.slots.filter((slot) => slot.init).every((slot) => (slot.spec.restartPolicy === 'Always' ? slot.status.started === true : slot.status.state.terminated?.exitCode === 0))
  }

  /** The kubelet's getPhase. */
  private phase(pod: Pod): NonNullable<PodStatus['phase']> {
    if (this.failed) return 'Failed'
    if (!this.initialized()) return 'Pending'
    let running = 0
    let waiting = 0
    let stopped = 0
    let succeeded = 0
    for (const slot of this.slots.filter((s) => !s.init)) {
      const {state, lastState} = slot.status
      if (state.running) running++
      else if (state.terminated) {
        stopped++
        if (state.terminated.exitCode === 0) succeeded++
      } else if (lastState.terminated) stopped++
      else waiting++
    }
    if (waiting > 0) return 'Pending'
    if (running > 0) return 'Running'
    if (stopped > 0) {
      const policy = pod.spec.restartPolicy ?? 'Always'
      if (policy === 'Always') return 'Running'
      if (stopped === succeeded) return 'Succeeded'
      if (policy === 'Never') return 'Failed'
      return 'Running'
    }
    return 'Pending'
  }

  private conditions(pod: Pod, status: PodStatus): Condition[] {
    const previous = status.conditions ?? []
    const now = seconds(this.deps.api.now())
    const condition = (type: string, value: boolean, reason?: string, message?: string): Condition => {
      const before = previous.find((c) => c.type === type)
      const state = value ? 'True' : 'False'
      return {
        type,
        status: state,
        lastProbeTime: null,
        lastTransitionTime: before?.status === state ? before.lastTransitionTime : now,
        ...(reason ? {reason} : {}),
        ...(message ? {message} : {}),
      }
    }
    const terminal = status.phase === 'Succeeded' || status.phase === 'Failed'
    const unfinishedInit = this.slots.filter((slot) => slot.init && !(slot.status.state.terminated?.exitCode === 0 || (slot.spec.restartPolicy === 'Always' && slot.status.started)))
    const unready = this.slots.filter((slot) => !slot.init && !slot.status.ready)
    const gates = (pod.spec.readinessGates ?? []).every((gate) => previous.some((c) => c.type === gate.conditionType && c.status === 'True'))
    const initialized = unfinishedInit.length === 0
    const containersReady = unready.length === 0 && !terminal
    const list = (slots: ContainerSlot[]): string => `[${slots.map((slot) => slot.spec.name).join(' ')}]`
    const result: Condition[] = [
      condition('PodReadyToStartContainers', this.sandboxReady && !terminal),
      terminal
        ? condition('Initialized', true, 'PodCompleted')
        : initialized
          ? condition('Initialized', true)
          : condition('Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: ${list(unfinishedInit)}`),
      terminal
        ? condition('Ready', false, 'PodCompleted')
        : containersReady && gates
          ? condition('Ready', true)
          : condition('Ready', false, 'ContainersNotReady', `containers with unready status: ${list(unready)}`),
      terminal
        ? condition('ContainersReady', false, 'PodCompleted')
        : containersReady
          ? condition('ContainersReady', true)
          : condition('ContainersReady', false, 'ContainersNotReady', `containers with unready status: ${list(unready)}`),
    ]
    const scheduled = previous.find((c) => c.type === 'PodScheduled')
    if (scheduled) result.push(scheduled)
    for (const other of previous) if (!result.some((c) => c.type === other.type)) result.push(other)
    return result
  }
}
