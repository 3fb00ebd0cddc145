/**
 * One simulated k3s cluster: the store, the REST front, the controllers and the kubelet, behind
 * the `ApiServer` interface of contract.ts. `stop()` is a stopped k3d cluster (connection
 * refused, state kept), `start()` a restart (pods come back as after a reboot).
 */
import {createServer, type Server} from 'node:http'
import {createServer as createSecureServer} from 'node:https'
import type {Socket} from 'node:net'

import {AccessControl} from './access.js'
import {ClusterApi} from './api.js'
import type {ApiFault} from './api-faults.js'
import {bootstrapCluster, networkPrefixFor, nodeObject, type ClusterIdentity} from './bootstrap.js'
import type {ApiServer, ApiServerOptions, KubeObject, NodeImage, NodeSpec} from './contract.js'
import {DaemonSetController} from './controllers/daemonset.js'
import {DeploymentController} from './controllers/deployment.js'
import {DisruptionController} from './controllers/disruption.js'
import {EndpointsController} from './controllers/endpoints.js'
import {GarbageCollector} from './controllers/garbage-collector.js'
import {JobController} from './controllers/job.js'
import {NamespaceController} from './controllers/namespace.js'
import {ReplicaSetController} from './controllers/replicaset.js'
import {ControllerRuntime} from './controllers/runtime.js'
import {Scheduler} from './controllers/scheduler.js'
import {StatefulSetController} from './controllers/statefulset.js'
import {StorageController} from './controllers/storage.js'
import {EventRecorder} from './events.js'
import {clone, isJsonObject, jsonEqual, scalarText, type JsonObject} from './json.js'
import {Kubelet} from './kubelet.js'
import {LogStore} from './logs.js'
import {ResourceRegistry, type ResourceType} from './resources.js'
import {PodRuntime} from './pod-runtime.js'
import {parseScenario, provisionDelay, type Scenario} from './scenario.js'
import {createRequestHandler} from './server.js'
import {createUpgradeHandler} from './streaming.js'
import {ObjectStore} from './store.js'
import {deploySystemWorkloads} from './system-workloads.js'
import type {ServingCertificate} from './tls.js'
import {WatchHub} from './watch.js'

export const defaultKubernetesVersion = 'v1.31.5+k3s1'
const bookmarkIntervalMs = 60_000

/** Listens on `port` (0: any free one) and returns the port it got. */
async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  return address && typeof address === 'object' ? address.port : port
}

function requireType(registry: ResourceRegistry, apiVersion: string, kind: string): ResourceType {
  const type = registry.byKind(apiVersion, kind)
  if (!type) throw new Error(`${apiVersion} ${kind} is not registered`)
  return type
}

export class SimulatedCluster implements ApiServer {
  readonly store = new ObjectStore()
  readonly registry: ResourceRegistry
  readonly api: ClusterApi
  readonly logs = new LogStore()
  readonly runtime: ControllerRuntime
  readonly identity: ClusterIdentity
  private readonly watches: WatchHub
  private readonly access: AccessControl
  private readonly http: Server
  /** The same API over TLS, where Go clients (kubectl, helm) send a kubeconfig user's token. */
  private readonly https: Server
  private securePort = 0
  private readonly sockets = new Set<Socket>()
  private readonly host: string
  private listeningPort: number
  private bookmarkTimer: NodeJS.Timeout | undefined
  private running = false
  /** Set after the first start: later starts are reboots. */
  private started = false
  private closed = false
  private readonly usedClusterIPs = new Set<string>(['10.43.0.1', '10.43.0.10'])
  private readonly usedNodePorts = new Set<number>()
  private readonly kubelet: Kubelet
  /** Real servers and processes behind pods (exec, port-forward, scenario backends). */
  private readonly podRuntime: PodRuntime
  private scenario: Scenario

  constructor(
    private readonly options: ApiServerOptions,
    private readonly certificate: ServingCertificate,
  ) {
    this.host = options.host ?? '127.0.0.1'
    this.listeningPort = options.port ?? 0
    this.identity = {
      clusterName: options.clusterName,
      gitVersion: options.kubernetesVersion ?? defaultKubernetesVersion,
      networkPrefix: networkPrefixFor(options.clusterName),
    }
    this.registry = new ResourceRegistry({traefik: options.k3sSystemWorkloads === true})
    this.api = new ClusterApi(
      this.store,
      this.registry,
      {
        now: () => options.clock.now().toISOString(),
        allocateClusterIP: () => this.allocateClusterIP(),
        allocateNodePort: () => this.allocateNodePort(),
        defaultStorageClass: () => this.defaultStorageClass(),
      },
      {
        customResourceDefinitionChanged: (crd, deleted) => this.customResourceDefinitionChanged(crd, deleted),
      },
    )
    this.watches = new WatchHub(this.store)
    this.scenario = parseScenario(options.scenario)
    this.runtime = new ControllerRuntime(this.store, options.clock)
    const type = (apiVersion: string, kind: string): ResourceType => requireType(this.registry, apiVersion, kind)
    const pod = type('v1', 'Pod')
    const node = type('v1', 'Node')
    const claim = type('v1', 'PersistentVolumeClaim')
    const storageClass = type('storage.k8s.io/v1', 'StorageClass')
    const replicaSet = type('apps/v1', 'ReplicaSet')
    const events = new EventRecorder(this.api, type('v1', 'Event'))
    this.podRuntime = new PodRuntime(this.api, {pod, claim, service: type('v1', 'Service'), secret: type('v1', 'Secret'), configMap: type('v1', 'ConfigMap')})
    this.kubelet = new Kubelet({
      api: this.api,
      logs: this.logs,
      clock: options.clock,
      events,
      types: {pod, node, replicaSet, secret: type('v1', 'Secret'), configMap: type('v1', 'ConfigMap')},
      scenario: () => this.scenario,
      images: options.images,
      runtime: this.podRuntime,
    })
    for (const controller of [
      new NamespaceController(this.api, {namespace: type('v1', 'Namespace'), configMap: type('v1', 'ConfigMap'), serviceAccount: type('v1', 'ServiceAccount')}),
      new GarbageCollector(this.api),
      // The volume controller sees a new claim before the scheduler places its pod, as in k3s.
      new StorageController(this.api, this.runtime, events, {claim, volume: type('v1', 'PersistentVolume'), storageClass, pod}, () => provisionDelay(this.scenario)),
      new Scheduler(this.api, this.runtime, events, {pod, node, claim, storageClass}),
      new DeploymentController(this.api, this.runtime, events, {deployment: type('apps/v1', 'Deployment'), replicaSet, pod}),
      new ReplicaSetController(this.api, this.runtime, events, {replicaSet, pod}),
      new StatefulSetController(this.api, this.runtime, events, {statefulSet: type('apps/v1', 'StatefulSet'), pod, claim, revision: type('apps/v1', 'ControllerRevision')}),
      new DaemonSetController(this.api, this.runtime, events, {daemonSet: type('apps/v1', 'DaemonSet'), pod, node}),
      new JobController(this.api, this.runtime, events, {job: type('batch/v1', 'Job'), pod}),
      new EndpointsController(this.api, {service: type('v1', 'Service'), pod, node, endpoints: type('v1', 'Endpoints'), slice: type('discovery.k8s.io/v1', 'EndpointSlice')}),
      new DisruptionController(this.api, {budget: type('policy/v1', 'PodDisruptionBudget'), pod}),
      this.kubelet,
    ])
      this.runtime.register(controller)
    bootstrapCluster(this.api, this.identity, this.sizedNodes(options.nodes))
    if (options.k3sSystemWorkloads) deploySystemWorkloads(this.api)
    for (const object of options.manifests ?? []) this.api.createInternal(type(object.apiVersion, object.kind), object)
    this.access = new AccessControl(this.api, options.adminToken)
    const handler = createRequestHandler({
      api: this.api,
      access: this.access,
      registry: this.registry,
      store: this.store,
      watches: this.watches,
      logs: this.logs,
      gitVersion: this.identity.gitVersion,
      serverAddress: () => `${this.identity.networkPrefix}.2:6443`,
    })
    this.http = createServer(handler)
    this.https = createSecureServer({key: certificate.key, cert: certificate.cert}, handler)
    const upgrade = createUpgradeHandler({access: this.access, api: this.api, podType: pod, runtime: this.podRuntime})
    for (const server of [this.http, this.https]) {
      server.on('upgrade', upgrade)
      server.on('connection', (socket: Socket) => {
        this.sockets.add(socket)
        socket.on('close', () => this.sockets.delete(socket))
      })
    }
  }

  get port(): number {
    return this.listeningPort
  }

  importImages(node: string, images: NodeImage[]): void {
    for (const image of images) this.kubelet.rememberImage(node, image)
  }

  nodeImages(node: string): NodeImage[] {
    return this.kubelet.imagesOn(node)
  }

  get url(): string {
    return `http://${this.host}:${this.listeningPort}`
  }

  get secureUrl(): string {
    return `https://${this.host}:${this.securePort}`
  }

  get certificateAuthorityData(): string {
    return Buffer.from(this.certificate.cert).toString('base64')
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const type = this.registry.byKind(apiVersion, kind)
    return type ? this.api.find(type, namespace, name) : undefined
  }

  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const type = this.registry.byKind(apiVersion, kind)
    return type ? this.api.list(type, namespace) : []
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error('this simulated cluster has been deleted')
    if (this.running) return
    this.listeningPort = await listen(this.http, this.listeningPort, this.host)
    try {
      this.securePort = await listen(this.https, this.securePort, this.host)
    } catch (error) {
      await new Promise((resolve) => this.http.close(resolve))
      throw error
    }
    this.running = true
    this.bookmarkTimer = setInterval(() => this.watches.sendBookmarks(), bookmarkIntervalMs * this.options.clock.factor)
    this.runtime.resume()
    if (this.started) this.kubelet.resume()
    this.started = true
    this.runtime.resyncAll()
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.runtime.pause()
    this.kubelet.pause()
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer)
    this.watches.closeAll()
    this.logs.dropStreams()
    const closed = [this.http, this.https].map((server) => new Promise<void>((resolve) => server.close(() => resolve())))
    for (const socket of this.sockets) socket.destroy()
    await Promise.all(closed)
  }

  async close(): Promise<void> {
    await this.stop()
    this.closed = true
    this.runtime.close()
    this.kubelet.close()
    await this.podRuntime.close()
  }

  dropWatches(): void {
    this.watches.closeAll()
  }

  compactWatchHistory(): void {
    this.store.compact()
  }

  dropLogStreams(): void {
    this.logs.dropStreams()
  }

  addToken(token: string, user: {name: string; uid?: string; groups?: string[]}): void {
    this.access.authenticator.addToken(token, user)
  }

  revokeToken(token: string): void {
    this.access.authenticator.revokeToken(token)
  }

  injectApiFault(fault: ApiFault): void {
    this.access.faults.inject(fault)
  }

  clearApiFaults(): void {
    this.access.faults.clear()
  }

  /** New behaviour for containers started from now on; node capacity changes at once. */
  setScenario(scenario: unknown): void {
    this.scenario = parseScenario(scenario)
    const nodeType = requireType(this.registry, 'v1', 'Node')
    const sized = this.sizedNodes(this.options.nodes)
    sized.forEach((spec, index) => {
      const current = this.api.find(nodeType, undefined, spec.name)
      if (!current) return
      const wanted = nodeObject(this.identity, spec, index, this.api.now()).status as {capacity: object; allocatable: object}
      const status = current.status as {capacity: object; allocatable: object}
      if (jsonEqual(status.capacity, wanted.capacity)) return
      const next = clone(current)
      next.status = {...status, capacity: wanted.capacity, allocatable: wanted.allocatable}
      this.api.writeInternal(nodeType, next)
    })
  }

  /** The nodes as created, with the scenario's capacity if it sets one. */
  private sizedNodes(nodes: NodeSpec[]): NodeSpec[] {
    const capacity = this.scenario.nodes ?? {}
    return nodes.map((spec) => ({...spec, cpu: capacity.cpu ?? spec.cpu, memory: capacity.memory ?? spec.memory}))
  }

  private allocateClusterIP(): string {
    for (;;) {
      const candidate = `10.43.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`
      if (!this.usedClusterIPs.has(candidate)) {
        this.usedClusterIPs.add(candidate)
        return candidate
      }
    }
  }

  private allocateNodePort(): number {
    for (;;) {
      const candidate = 30000 + Math.floor(Math.random() * 2768)
      if (!this.usedNodePorts.has(candidate)) {
        this.usedNodePorts.add(candidate)
        return candidate
      }
    }
  }

  private defaultStorageClass(): string | undefined {
    const type = requireType(this.registry, 'storage.k8s.io/v1', 'StorageClass')
    return this.api.list(type, undefined).find((sc) => sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')?.metadata.name
  }

  private customResourceDefinitionChanged(crd: KubeObject, deleted: boolean): void {
    const spec = isJsonObject(crd.spec) ? crd.spec : undefined
    const names = spec && isJsonObject(spec.names) ? spec.names : undefined
    if (!spec || !names || typeof spec.group !== 'string' || typeof names.plural !== 'string' || typeof names.kind !== 'string') return
    if (deleted) {
      this.registry.unregisterCustom(spec.group, names.plural)
      return
    }
    const versions = (Array.isArray(spec.versions) ? spec.versions : []).filter((v): v is JsonObject => isJsonObject(v) && v.served !== false)
    const subresources = versions.map((v) => (isJsonObject(v.subresources) ? v.subresources : {}))
    const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [])
    this.registry.registerCustom({
      group: spec.group,
      versions: versions.map((v) => scalarText(v.name)),
      kind: names.kind,
      plural: names.plural,
      singular: typeof names.singular === 'string' ? names.singular : names.kind.toLowerCase(),
      namespaced: spec.scope !== 'Cluster',
      shortNames: strings(names.shortNames),
      categories: strings(names.categories),
      status: subresources.some((s) => s.status !== undefined),
      scale: subresources.some((s) => s.scale !== undefined),
    })
  }
}
