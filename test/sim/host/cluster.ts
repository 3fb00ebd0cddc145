/**
 * One k3d cluster on the simulated docker host: its node "containers", the host ports they
 * publish (real listeners on the host address each is published on, so a port already in use is
 * a real conflict and a port published on 127.0.0.1 cannot be reached from the network) and the
 * cluster's Kubernetes API (an ApiServer on the API port while the publishing node runs).
 */
import {randomBytes} from 'node:crypto'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {ApiServer, CreateApiServer, KubeObject, NodeSpec, SimClock} from '../apiserver/contract.js'
import type {Container} from './docker.js'
import {clusterPuller, registryApi, SimRegistry} from './images.js'
import {type ClusterSpec, type PortSpec} from './k3d-config.js'

export type NodeRole = 'server' | 'agent' | 'loadbalancer' | 'registry'

export interface PublishedPort {
  hostIP: string
  hostPort: number
  containerPort: number
  protocol: string
}

export interface K3dNode {
  name: string
  role: NodeRole
  image: string
  id: string
  createdAt: Date
  running: boolean
  /** Host ports docker publishes for this container. */
  ports: PublishedPort[]
  /** The node that serves the Kubernetes API port (the load balancer, or server-0 without one). */
  servesApi: boolean
  /** Docker labels given at creation (k3d's own come on top when listed). */
  labels: Record<string, string>
}

/** docker's "Bind for 0.0.0.0:8080 failed: port is already allocated", attributed to a node. */
export class PortAllocatedError extends Error {
  constructor(
    readonly node: K3dNode,
    readonly port: PublishedPort,
  ) {
    super(
      `Error response from daemon: driver failed programming external connectivity on endpoint ${node.name} (${node.id}): Bind for ${port.hostIP}:${port.hostPort} failed: port is already allocated`,
    )
  }
}

export const loadbalancerImage = 'ghcr.io/k3d-io/k3d-proxy:5.8.3'
const registryImage = 'docker.io/library/registry:2'

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex')
}

/** k3d's GenerateRandomString: letters and digits. */
export function randomToken(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('')
}

/** A free port on 127.0.0.1, found the way k3d's GetFreePort does (listen on :0, close). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

// What answers on a mapped port: traefik's reply to a request no ingress routes.
function hostPortListener(): Server {
  return createServer((_, res) => {
    res.writeHead(404, {'content-type': 'text/plain; charset=utf-8'})
    res.end('404 page not found\n')
  })
}

/** The registry's internal port (k3d's default registry image listens on 5000). */
const registryPort = 5000

/** docker's RAMInBytes ("512m", "2g", "1.5GiB", bytes); throws with its error text. */
export function dockerMemoryBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim())
  if (!match) throw new Error(`invalid size: '${text}'`)
  const power = ['', 'k', 'm', 'g', 't', 'p'].indexOf((match[2] ?? '').toLowerCase())
  return Math.floor(Number(match[1]) * 1024 ** power)
}

/** k3d's node filters ("loadbalancer", "server:0", "agent:*", "servers:*:proxy", ...) → node names. */
function directTargets(filters: string[], cluster: string, servers: number, agents: number): string[] | 'loadbalancer' {
  if (filters.length === 0 || filters.some((f) => f.startsWith('loadbalancer') || f.endsWith(':proxy'))) return 'loadbalancer'
  return filters.flatMap((filter) => {
    const [group = '', index = '*'] = filter.split(':')
    const role = group.startsWith('server') ? 'server' : 'agent'
    const count = role === 'server' ? servers : agents
    const indices = index === '*' ? [...Array(count).keys()] : index.split(',').map(Number)
    return indices.map((i) => `k3d-${cluster}-${role}-${i}`)
  })
}

/** The nodes a runtime label's filters pick: `all` or none given for every node, else `server:0`, `agent:*`, `loadbalancer`. */
function labelTargets(filters: string[], nodes: K3dNode[]): K3dNode[] {
  if (filters.length === 0 || filters.includes('all')) return nodes
  return nodes.filter((node) =>
    filters.some((filter) => {
      const [group = '', index = '*'] = filter.split(':')
      if (group.startsWith('loadbalancer')) return node.role === 'loadbalancer'
      const role = group.startsWith('server') ? 'server' : 'agent'
      const position = Number(/-(\d+)$/.exec(node.name)?.[1])
      return node.role === role && (index === '*' || index.split(',').map(Number).includes(position))
    }),
  )
}

export interface ClusterDeps {
  createApiServer: CreateApiServer
  clock: SimClock
  scenario: unknown
  hostCpus: number
  hostMemoryBytes: number
  /** Registries outside the cluster its nodes can pull from (by the names they use for them). */
  externalRegistries: () => SimRegistry[]
  /** Repositories only the docker host has (built, never pushed): no public registry serves them. */
  localRepositories: Set<string>
}

export class SimCluster {
  readonly nodes: K3dNode[] = []
  readonly networkId = randomHex(32)
  readonly token: string
  /** What the kubeconfig user authenticates with. */
  readonly userToken = randomToken(32)
  api: ApiServer | undefined
  /** The registry k3d created with the cluster (registries.create), if any. */
  readonly registry: SimRegistry | undefined
  private readonly listeners = new Map<string, Server[]>()

  constructor(
    readonly spec: ClusterSpec & {apiHostPort: number},
    private readonly deps: ClusterDeps,
  ) {
    this.token = spec.token ?? randomToken(20)
    const now = new Date()
    const node = (name: string, role: NodeRole, image: string): K3dNode => {
      const created: K3dNode = {name, role, image, id: randomHex(32), createdAt: now, running: false, ports: [], servesApi: false, labels: {}}
      this.nodes.push(created)
      return created
    }
    for (let i = 0; i < spec.servers; i++) node(`k3d-${spec.name}-server-${i}`, 'server', spec.image)
    for (let i = 0; i < spec.agents; i++) node(`k3d-${spec.name}-agent-${i}`, 'agent', spec.image)
    const apiNode = spec.noLoadbalancer ? this.nodes[0] : node(`k3d-${spec.name}-serverlb`, 'loadbalancer', loadbalancerImage)
    if (apiNode) {
      apiNode.servesApi = true
      apiNode.ports.push({hostIP: spec.apiHostIP, hostPort: spec.apiHostPort, containerPort: 6443, protocol: 'tcp'})
    }
    for (const port of spec.ports) this.publish(port, apiNode)
    for (const label of spec.runtimeLabels) {
      for (const target of labelTargets(label.nodeFilters, this.nodes)) target.labels[label.key] = label.value
    }
    if (spec.registry) {
      // k3d names the registry's container exactly as configured (default k3d-<cluster>-registry).
      const registry = node(spec.registry.name, 'registry', registryImage)
      registry.ports.push({hostIP: spec.registry.hostIP, hostPort: spec.registry.hostPort ?? 0, containerPort: registryPort, protocol: 'tcp'})
      // Nodes reach it by its container name; k3d's registries.yaml mirrors <name>:<hostPort> there too.
      this.registry = new SimRegistry([`${spec.registry.name}:${registryPort}`])
    }
  }

  private publish(port: PortSpec, loadbalancer: K3dNode | undefined): void {
    const targets = directTargets(port.nodeFilters, this.spec.name, this.spec.servers, this.spec.agents)
    const published = {hostIP: port.hostIP, hostPort: port.hostPort ?? 0, containerPort: port.containerPort, protocol: port.protocol}
    const nodes = targets === 'loadbalancer' ? [loadbalancer ?? this.nodes[0]] : this.nodes.filter((n) => targets.includes(n.name))
    for (const node of nodes) node?.ports.push({...published})
  }

  get name(): string {
    return this.spec.name
  }

  get apiPort(): number {
    return this.spec.apiHostPort
  }

  /** The URL k3d's kubeconfig points at (the simulated API is plain HTTP on loopback). */
  get server(): string {
    return `http://127.0.0.1:${this.apiPort}`
  }

  node(name: string): K3dNode | undefined {
    return this.nodes.find((n) => n.name === name)
  }

  nodesWithRole(role: NodeRole): K3dNode[] {
    return this.nodes.filter((n) => n.role === role)
  }

  /** The Kubernetes nodes this cluster has (servers and agents; the load balancer is not one). */
  private nodeSpecs(): NodeSpec[] {
    return this.nodes
      .filter((n) => n.role === 'server' || n.role === 'agent')
      .map((n) => ({
        name: n.name,
        role: n.role as 'server' | 'agent',
        cpu: String(this.deps.hostCpus),
        memory: `${Math.floor(dockerMemoryBytes((n.role === 'server' ? this.spec.serversMemory : this.spec.agentsMemory) ?? String(this.deps.hostMemoryBytes)) / 1024)}Ki`,
      }))
  }

  private async listen(node: K3dNode, port: PublishedPort): Promise<Server> {
    const server = node.role === 'registry' && this.registry ? createServer(registryApi(this.registry)) : hostPortListener()
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortAllocatedError(node, port) : error))
      server.listen(port.hostPort, port.hostIP, resolve)
    })
    // A port docker chose itself is only known once bound.
    port.hostPort = (server.address() as AddressInfo).port
    if (node.role === 'registry' && this.registry) {
      // From this machine it is localhost:<hostPort>; from the nodes also <name>:<hostPort> (k3d's mirror).
      const names = [`${node.name}:${port.hostPort}`, `localhost:${port.hostPort}`, `127.0.0.1:${port.hostPort}`, `${port.hostIP}:${port.hostPort}`]
      for (const name of names) if (!this.registry.hosts.includes(name)) this.registry.hosts.push(name)
    }
    return server
  }

  /** Starts a node's container: binds its published ports; the API node brings the API up. */
  async startNode(node: K3dNode): Promise<void> {
    if (node.running) return
    const bound: Server[] = []
    try {
      for (const port of node.ports.filter((p) => !(node.servesApi && p.containerPort === 6443))) bound.push(await this.listen(node, port))
      if (node.servesApi) await this.startApi(node)
    } catch (error) {
      await Promise.all(bound.map(closeServer))
      throw error
    }
    this.listeners.set(node.name, bound)
    node.running = true
  }

  private async startApi(node: K3dNode): Promise<void> {
    const apiPort = node.ports.find((p) => p.containerPort === 6443) as PublishedPort
    try {
      if (this.api) await this.api.start()
      else {
        this.api = await this.deps.createApiServer({
          clusterName: this.name,
          host: '127.0.0.1',
          port: this.apiPort,
          clock: this.deps.clock,
          nodes: this.nodeSpecs(),
          scenario: this.deps.scenario,
          k3sSystemWorkloads: true,
          adminToken: this.userToken,
          images: clusterPuller(() => [...(this.registry ? [this.registry] : []), ...this.deps.externalRegistries()], this.deps.localRepositories),
          manifests: this.registryHostingManifest(),
        })
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortAllocatedError(node, apiPort)
      throw error
    }
  }

  /**
   * KEP-1755's ConfigMap, which k3d gives a cluster created with a registry (through k3s's
   * auto-deployed manifests): where tools push (`host`) and what nodes pull by.
   */
  private registryHostingManifest(): KubeObject[] {
    const registry = this.nodes.find((n) => n.role === 'registry')
    const published = registry?.ports[0]
    if (!registry || !published) return []
    const host = published.hostIP === '0.0.0.0' ? 'localhost' : published.hostIP
    const inside = `${registry.name}:${registryPort}`
    return [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {name: 'local-registry-hosting', namespace: 'kube-public'},
        data: {
          'localRegistryHosting.v1': `host: ${host}:${published.hostPort}\nhostFromContainerRuntime: ${inside}\nhostFromClusterNetwork: ${inside}\nhelp: https://k3d.io/stable/usage/registries/#using-a-local-registry\n`,
        },
      },
    ]
  }

  async stopNode(node: K3dNode): Promise<void> {
    if (!node.running) return
    await Promise.all((this.listeners.get(node.name) ?? []).map(closeServer))
    this.listeners.delete(node.name)
    if (node.servesApi) await this.api?.stop()
    node.running = false
  }

  /** Frees everything: listeners, the API server and its controllers. */
  async delete(): Promise<void> {
    for (const node of this.nodes) await this.stopNode(node)
    await this.api?.close()
    this.api = undefined
  }

  containers(): Container[] {
    return this.nodes.map((n) => ({
      id: n.id,
      name: n.name,
      image: n.image,
      command: n.role === 'loadbalancer' ? '/bin/sh -c nginx-proxy' : n.role === 'registry' ? '/entrypoint.sh /etc/docker/registry/config.yml' : '/bin/k3d-entrypoint.sh server',
      createdAt: n.createdAt,
      running: n.running,
      ports: n.ports.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerPort}/${p.protocol}`),
      labels: {app: 'k3d', 'k3d.cluster': this.name, 'k3d.role': n.role},
    }))
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}
