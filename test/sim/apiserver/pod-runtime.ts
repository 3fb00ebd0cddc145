/**
 * What runs for real behind the simulated pods, shared by the kubelet (which starts and stops
 * it with the containers) and the streaming endpoints (exec and port-forward reach into it):
 * real database servers, processes "in" containers, a pod network where an app container's
 * declared ports answer HTTP, and the streams that end when their pod does.
 */
import {createServer as createHttpServer, type Server} from 'node:http'
import {connect, type Socket} from 'node:net'

import type {ClusterApi} from './api.js'
import {Backends, type BackendKind, type RunningBackend} from './backends.js'
import {containerArgs, containerEnv, resolveServiceNames} from './container-env.js'
import {HostProcesses} from './host-processes.js'
import {isJsonObject} from './json.js'
import type {ResourceType} from './resources.js'
import type {Container, Pod} from './types.js'

export interface PodRuntimeTypes {
  pod: ResourceType
  service: ResourceType
  secret: ResourceType
  configMap: ResourceType
  claim: ResourceType
}

/** Where a forwarded port leads: a real server, the pod network's HTTP answer, or nothing listening. */
export type PortTarget = {kind: 'server'; connect: () => Socket} | {kind: 'refused'; message: string}

function podUid(pod: Pod): string {
  return pod.metadata.uid ?? ''
}

export class PodRuntime {
  readonly processes = new HostProcesses()
  private readonly backends = new Backends()
  /** Running servers by pod uid, then container name. */
  private readonly servers = new Map<string, Map<string, RunningBackend>>()
  /** What ends with a pod: open exec and port-forward streams. */
  private readonly closers = new Map<string, Set<() => void>>()
  private network: Promise<{server: Server; port: number}> | undefined
  /** Which pod a connection to the pod network is for, by the connection's local port. */
  private readonly networkPeers = new Map<number, {pod: string; namespace: string; port: number}>()

  constructor(
    private readonly api: ClusterApi,
    private readonly types: PodRuntimeTypes,
  ) {}

  /** The server a container runs (once it runs). */
  serverOf(pod: Pod, container?: string): RunningBackend | undefined {
    const servers = this.servers.get(podUid(pod))
    if (!servers) return undefined
    return container === undefined ? servers.values().next().value : servers.get(container)
  }

  /** Start the real server behind a container; its data lives with the pod's volume claim (or the pod when it has none). */
  async startServer(pod: Pod, container: Container, kind: BackendKind): Promise<RunningBackend> {
    const claim = (pod.spec.volumes ?? []).find((volume) => volume.persistentVolumeClaim)?.persistentVolumeClaim?.claimName
    const claimObject = claim ? this.api.find(this.types.claim, pod.metadata.namespace, claim) : undefined
    const dataKey = `${kind}-${claimObject?.metadata.uid ?? podUid(pod)}`
    const env = containerEnv(this.api, this.types, pod, container)
    const port = container.ports?.[0]?.containerPort ?? (kind === 'postgres' ? 5432 : 6379)
    const server = await this.backends.start({kind, dataKey, port, env, args: containerArgs(container, env)})
    const servers = this.servers.get(podUid(pod)) ?? new Map<string, RunningBackend>()
    servers.set(container.name, server)
    this.servers.set(podUid(pod), servers)
    void server.exited.then(() => {
      if (servers.get(container.name) === server) servers.delete(container.name)
    })
    return server
  }

  /**
   * The environment a process in `container` gets: its own variables, cluster DNS names of
   * Services with a real server behind them resolved to that server, and its own server (if it
   * runs one) as the local one.
   */
  processEnvironment(pod: Pod, container: Container): {env: Record<string, string>; local?: Record<string, string>} {
    const namespace = pod.metadata.namespace ?? 'default'
    const env = resolveServiceNames(containerEnv(this.api, this.types, pod, container), this.serviceAddresses(namespace), namespace)
    return {env, local: this.serverOf(pod, container.name)?.localEnv}
  }

  /** Services of the namespace whose selector picks a pod with a running server, and that server's address. */
  private serviceAddresses(namespace: string): Map<string, string> {
    const addresses = new Map<string, string>()
    const pods = this.api.list(this.types.pod, namespace) as Pod[]
    for (const service of this.api.list(this.types.service, namespace)) {
      const spec = isJsonObject(service.spec) ? service.spec : {}
      const selector = isJsonObject(spec.selector) ? (spec.selector as Record<string, string>) : undefined
      if (!selector || Object.keys(selector).length === 0) continue
      const backed = pods.find((pod) => Object.entries(selector).every(([key, value]) => pod.metadata.labels?.[key] === value) && this.serverOf(pod))
      if (backed) addresses.set(service.metadata.name, this.serverOf(backed)!.address)
    }
    return addresses
  }

  /** Where a connection to `port` of the pod goes: its server, an app container's port (HTTP), or nowhere. */
  async portTarget(pod: Pod, port: number): Promise<PortTarget> {
    const server = [...(this.servers.get(podUid(pod))?.values() ?? [])].find((s) => s.port === port)
    if (server) return {kind: 'server', connect: () => connect({host: server.address, port: server.port})}
    const running = pod.spec.containers.filter((c) => pod.status?.containerStatuses?.find((s) => s.name === c.name)?.state.running)
    if (running.some((c) => c.ports?.some((p) => p.containerPort === port))) {
      const network = await this.podNetwork()
      return {
        kind: 'server',
        connect: () => {
          const socket = connect({host: '127.0.0.1', port: network.port})
          socket.once('connect', () => this.networkPeers.set(socket.localPort ?? 0, {pod: pod.metadata.name, namespace: pod.metadata.namespace ?? 'default', port}))
          socket.once('close', () => this.networkPeers.delete(socket.localPort ?? 0))
          return socket
        },
      }
    }
    const netns = `/var/run/netns/cni-${podUid(pod).slice(0, 8)}`
    return {
      kind: 'refused',
      message: `error forwarding port ${port} to pod ${podUid(pod)}, uid : failed to execute portforward in network namespace "${netns}": failed to connect to localhost:${port} inside namespace "${podUid(pod)}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused `,
    }
  }

  /** An app container's ports answer HTTP, the way podinfo does: with the pod's name. */
  private podNetwork(): Promise<{server: Server; port: number}> {
    this.network ??= new Promise((resolve, reject) => {
      const server = createHttpServer((request, response) => {
        const peer = this.networkPeers.get(request.socket.remotePort ?? 0)
        const body = JSON.stringify({hostname: peer?.pod ?? 'unknown', namespace: peer?.namespace, port: peer?.port, path: request.url, message: 'greetings from the simulated pod network'})
        response.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)})
        response.end(body)
      })
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        resolve({server, port: typeof address === 'object' && address ? address.port : 0})
      })
    })
    return this.network
  }

  /** `close` runs when the pod stops (its streams end with it); returns the way to forget it. */
  onPodStop(pod: Pod, close: () => void): () => void {
    const uid = podUid(pod)
    const set = this.closers.get(uid) ?? new Set<() => void>()
    set.add(close)
    this.closers.set(uid, set)
    return () => set.delete(close)
  }

  /** The pod's containers stopped (or its node went away): its processes, streams and servers end. */
  async podStopped(uid: string): Promise<void> {
    this.processes.kill(uid)
    for (const close of this.closers.get(uid) ?? []) close()
    this.closers.delete(uid)
    const servers = this.servers.get(uid)
    this.servers.delete(uid)
    await Promise.all([...(servers?.values() ?? [])].map((server) => server.stop()))
  }

  /** One container's server stopped (the container ended, the pod lives on to restart it). */
  async containerStopped(pod: Pod, container: string): Promise<void> {
    const server = this.servers.get(podUid(pod))?.get(container)
    this.servers.get(podUid(pod))?.delete(container)
    await server?.stop()
  }

  async close(): Promise<void> {
    this.processes.kill()
    for (const closers of this.closers.values()) for (const close of closers) close()
    this.closers.clear()
    const servers = [...this.servers.values()].flatMap((s) => [...s.values()])
    this.servers.clear()
    await Promise.all(servers.map((server) => server.stop()))
    await this.backends.close()
    if (this.network) {
      const {server} = await this.network
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
