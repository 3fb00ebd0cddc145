/**
 * The simulated machine the stand-in tools run against: a docker daemon (up or down, with so
 * much memory and CPU), the k3d clusters on it, which major of the real helm is on PATH, and the
 * scenario and clock every cluster runs on.
 */
import type {ApiFault, CreateApiServer, SimClock} from '../apiserver/contract.js'
import type {SimCluster} from './cluster.js'
import type {DockerState} from './docker.js'
import type {Invocation, ToolName} from './exec.js'
import {ImageStore, SimRegistry} from './images.js'

export type HelmVersion = 3 | 4

/** What tests and people can break or change while the simulator runs. */
export type Fault =
  | {type: 'docker-stopped'}
  | {type: 'docker-started'}
  | {type: 'docker-resources'; memoryBytes?: number; cpus?: number}
  | {type: 'drop-watches' | 'compact-watch-history' | 'drop-log-streams'; cluster: string}
  /** Requests to the cluster's API that match get a failure, a delay, or a watch that goes silent. */
  | {type: 'api'; cluster: string; fault: ApiFault}
  | {type: 'clear-api-faults'; cluster: string}
  /**
   * From now on, a command of `tool` whose arguments start with `argv` (e.g. k3d ['cluster',
   * 'delete']) hangs before doing anything, like a tool stuck in a slow Docker call, until
   * 'resume-commands'. Signals still reach it, so a test can interrupt it at a known point.
   */
  | {type: 'hang-command'; tool: ToolName; argv: string[]}
  | {type: 'resume-commands'}
  /** This machine loses (or regains) the network: base images and registries outside it cannot be reached. */
  | {type: 'offline'}
  | {type: 'online'}
  /**
   * From now on `k3d image import` into this cluster fails on every node (`ctr image import`
   * exits 1) and — as real k3d does (k3d #1484) — logs it and still says it succeeded, exit 0.
   */
  | {type: 'image-import-fails'; cluster: string}

export interface HostOptions {
  helmVersion: HelmVersion
  clock: SimClock
  createApiServer: CreateApiServer
  scenario?: unknown
  dockerRunning: boolean
  memoryBytes: number
  cpus: number
}

export interface HostSnapshot {
  helmVersion: HelmVersion
  timeFactor: number
  docker: {running: boolean; memoryBytes: number; cpus: number; offline: boolean; images: Array<{id: string; tags: string[]}>}
  clusters: Array<{name: string; running: boolean; apiPort: number; server: string; nodes: Array<{name: string; role: string; running: boolean; ports: string[]}>}>
}

export class SimHost {
  readonly clusters = new Map<string, SimCluster>()
  helmVersion: HelmVersion
  scenario: unknown
  readonly docker: DockerState
  /** Registries outside any cluster (a team's), added by tests; each answers to the names it is given. */
  readonly registries: SimRegistry[] = []
  /** Clusters whose `k3d image import` fails on the nodes (and says it succeeded). */
  readonly failingImports = new Set<string>()
  private hanging: {commands: Array<{tool: ToolName; argv: string[]}>; resumed: Promise<void>; resume: () => void} | undefined

  constructor(readonly options: HostOptions) {
    this.helmVersion = options.helmVersion
    this.scenario = options.scenario
    const clusters = this.clusters
    this.docker = {
      running: options.dockerRunning,
      memoryBytes: options.memoryBytes,
      cpus: options.cpus,
      containers: () => [...clusters.values()].flatMap((c) => c.containers()),
      images: new ImageStore(),
      buildCache: new Set<string>(),
      offline: false,
      registry: (host) => this.registryAt(host),
      nodeImages: (container) => this.nodeImages(container),
    }
  }

  /** The registry `host` (as this machine writes it) names: a running cluster's own, or one a test added. */
  registryAt(host: string): SimRegistry | undefined {
    for (const cluster of this.clusters.values()) {
      const node = cluster.nodes.find((n) => n.role === 'registry')
      if (cluster.registry?.answersTo(host) && node?.running) return cluster.registry
    }
    return this.registries.find((r) => r.answersTo(host))
  }

  /** What containerd holds on a k3d node (its container's name), for `docker exec NODE ctr images ls`. */
  private nodeImages(container: string): ReturnType<NonNullable<SimCluster['api']>['nodeImages']> | undefined {
    for (const cluster of this.clusters.values()) {
      const node = cluster.nodes.find((n) => n.name === container || n.id.startsWith(container))
      if (node && (node.role === 'server' || node.role === 'agent')) return cluster.api?.nodeImages(node.name) ?? []
    }
    return undefined
  }

  get clock(): SimClock {
    return this.options.clock
  }

  private cluster(name: string): SimCluster {
    const cluster = this.clusters.get(name)
    if (!cluster?.api) throw new Error(`no running cluster named ${JSON.stringify(name)}`)
    return cluster
  }

  async injectFault(fault: Fault): Promise<void> {
    switch (fault.type) {
      case 'docker-stopped':
        this.docker.running = false
        return
      case 'docker-started':
        this.docker.running = true
        return
      case 'docker-resources':
        this.docker.memoryBytes = fault.memoryBytes ?? this.docker.memoryBytes
        this.docker.cpus = fault.cpus ?? this.docker.cpus
        return
      case 'drop-watches':
        return this.cluster(fault.cluster).api?.dropWatches()
      case 'compact-watch-history':
        return this.cluster(fault.cluster).api?.compactWatchHistory()
      case 'drop-log-streams':
        return this.cluster(fault.cluster).api?.dropLogStreams()
      case 'api':
        return this.cluster(fault.cluster).api?.injectApiFault(fault.fault)
      case 'clear-api-faults':
        return this.cluster(fault.cluster).api?.clearApiFaults()
      case 'hang-command': {
        if (!this.hanging) {
          let resume!: () => void
          const resumed = new Promise<void>((resolve) => (resume = resolve))
          this.hanging = {commands: [], resumed, resume}
        }
        this.hanging.commands.push({tool: fault.tool, argv: fault.argv})
        return
      }
      case 'resume-commands':
        this.hanging?.resume()
        this.hanging = undefined
        return
      case 'offline':
      case 'online':
        this.docker.offline = fault.type === 'offline'
        return
      case 'image-import-fails':
        this.failingImports.add(fault.cluster)
        return
      default:
        throw new Error(`unknown fault ${JSON.stringify(fault)}`)
    }
  }

  /** Waits while a 'hang-command' fault holds this invocation (or until it is abandoned). */
  async holdIfHanging(invocation: Invocation, abandoned: AbortSignal): Promise<void> {
    const hanging = this.hanging
    const held = hanging?.commands.some((c) => c.tool === invocation.tool && c.argv.every((word, i) => invocation.argv[i] === word))
    if (!hanging || !held) return
    await new Promise<void>((resolve) => {
      abandoned.addEventListener('abort', () => resolve(), {once: true})
      void hanging.resumed.then(resolve)
    })
  }

  /** New scenario for every cluster, present and future. */
  async setScenario(scenario: unknown): Promise<void> {
    this.scenario = scenario
    for (const cluster of this.clusters.values()) cluster.api?.setScenario(scenario)
  }

  snapshot(): HostSnapshot {
    return {
      helmVersion: this.helmVersion,
      timeFactor: this.clock.factor,
      docker: {
        running: this.docker.running,
        memoryBytes: this.docker.memoryBytes,
        cpus: this.docker.cpus,
        offline: this.docker.offline,
        images: this.docker.images.list().map((image) => ({id: image.id, tags: this.docker.images.tagsOf(image)})),
      },
      clusters: [...this.clusters.values()].map((c) => ({
        name: c.name,
        running: c.nodes.some((n) => n.running),
        apiPort: c.apiPort,
        server: c.server,
        nodes: c.nodes.map((n) => ({name: n.name, role: n.role, running: n.running, ports: n.ports.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerPort}/${p.protocol}`)})),
      })),
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c.delete()))
    this.clusters.clear()
  }
}
