/**
 * Managed port-forwards: each forwarded Service port listens on 127.0.0.1, and every connection
 * made to it goes, through its own Kubernetes port-forward (client-node's PortForward), to a
 * ready pod behind the Service as the namespace watch sees it at that moment. So a pod that
 * restarts or is replaced costs the connections it had, never the forward: the next connection
 * reaches the new pod (one arriving while no pod is ready waits for one). Like Tilt's and
 * Skaffold's forwarders, without a kubectl process to restart.
 */
import {createServer, type Server, type Socket} from 'node:net'

import {belongsToRelease} from '../chart/release-record.js'
import {isPodReady} from '../diagnose/pod.js'
import {PrerequisiteError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import type {NamespaceWatch} from '../kube/namespace-watch.js'
import type {V1Pod, V1Service} from '../kube/types.js'
import {portHolder} from '../system/ports.js'

/** One Service port to forward. */
export interface ForwardSpec {
  /** What the table shows and forward.ports pins: "postgres", "redis", a Service name, or SERVICE:PORT. */
  name: string
  service: string
  port: number
  /** The pod's port: a number, or a container port's name. */
  targetPort: number | string
  /** Pinned in devctl.yaml (forward.ports), or undefined for any free port. */
  localPort?: number
}

export interface Forward extends ForwardSpec {
  localPort: number
  address: string
}

export type ForwardEvent =
  /** The pod that new connections to `name` go to changed (undefined: none is ready now). */
  | {type: 'pod'; name: string; pod?: string}
  /** A connection could not be carried to the pod; the forward itself goes on. */
  | {type: 'trouble'; name: string; message: string}

/** How long a connection waits for a ready pod (one restarting) before it is closed. */
const POD_WAIT_MS = 60_000

/** The ready pods a Service selects, oldest first: connections stay on one pod while it lives. */
export function podsBehind(service: V1Service, pods: V1Pod[]): V1Pod[] {
  const selector = service.spec?.selector
  if (!selector || Object.keys(selector).length === 0) return []
  return pods
    .filter((pod) => Object.entries(selector).every(([key, value]) => pod.metadata?.labels?.[key] === value))
    .filter((pod) => pod.status?.phase === 'Running' && isPodReady(pod) && !pod.metadata?.deletionTimestamp)
    .sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')))
}

/** The container port a Service's targetPort means in this pod (a name is looked up in its containers). */
export function podPort(targetPort: number | string, pod: V1Pod): number | undefined {
  if (typeof targetPort === 'number') return targetPort
  if (/^\d+$/.test(targetPort)) return Number(targetPort)
  for (const container of pod.spec?.containers ?? []) {
    const found = container.ports?.find((p) => p.name === targetPort)
    if (found) return found.containerPort
  }
  return undefined
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({port, host: '127.0.0.1', exclusive: true}, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

export class Forwarder {
  private readonly servers: Server[] = []
  private readonly sockets = new Set<Socket>()
  private readonly current = new Map<string, string | undefined>()
  private readonly stop = new AbortController()
  private unwatch = () => {}

  constructor(
    private readonly kube: KubeClient,
    private readonly watch: NamespaceWatch,
    private readonly emit: (event: ForwardEvent) => void,
  ) {}

  /** Listen for every spec (a pinned port that is taken stops everything, saying who holds it). */
  async start(specs: ForwardSpec[], signal: AbortSignal): Promise<Forward[]> {
    signal.addEventListener('abort', () => this.close(), {once: true})
    const forwards: Forward[] = []
    try {
      for (const spec of specs) {
        const server = await listen(spec.localPort ?? 0).catch(async (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EADDRINUSE') throw error
          const holder = await portHolder(spec.localPort ?? 0)
          throw new PrerequisiteError(`Local port ${spec.localPort} (forward.ports.${spec.name} in devctl.yaml) is in use${holder ? ` by ${holder}` : ''}.`, {
            hint: `Stop what holds it, or pin another port for ${spec.name} under forward.ports in devctl.yaml.`,
          })
        })
        this.servers.push(server)
        const address = server.address()
        const forward = {...spec, localPort: typeof address === 'object' && address ? address.port : 0, address: '127.0.0.1'}
        server.on('connection', (socket) => this.carry(forward, socket))
        forwards.push(forward)
      }
    } catch (error) {
      this.close()
      throw error
    }
    // Say which pod each forward reaches now, and whenever that changes.
    const report = () => {
      for (const forward of forwards) {
        const pod = this.podFor(forward)?.metadata?.name
        if (this.current.has(forward.name) && this.current.get(forward.name) === pod) continue
        this.current.set(forward.name, pod)
        this.emit({type: 'pod', name: forward.name, pod})
      }
    }
    this.unwatch = this.watch.onChange(report)
    report()
    return forwards
  }

  private podFor(spec: ForwardSpec): V1Pod | undefined {
    const service = this.watch.get('Service', spec.service)
    return service ? podsBehind(service, this.watch.list('Pod'))[0] : undefined
  }

  /** One local connection, to the pod that serves the forward now (waiting for one while none is ready). */
  private carry(forward: Forward, socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    // Nothing the client sends is lost while the pod is looked up: it waits in the socket.
    socket.pause()
    const gone = AbortSignal.any([this.stop.signal, AbortSignal.timeout(POD_WAIT_MS)])
    void this.watch
      .until(() => this.podFor(forward), gone)
      .then(async (pod) => {
        const port = podPort(forward.targetPort, pod)
        if (port === undefined) throw new Error(`pod ${pod.metadata?.name} has no container port named "${forward.targetPort}"`)
        // The port-forward reads the socket from here on (what arrived meanwhile waited in it).
        await this.kube.portForward(this.watch.namespace, pod.metadata?.name ?? '', port, socket, this.stop.signal)
      })
      .catch((error: unknown) => {
        socket.destroy()
        if (this.stop.signal.aborted) return
        const message = gone.aborted ? `no pod behind Service ${forward.service} became ready within ${POD_WAIT_MS / 1000} s` : error instanceof Error ? error.message : String(error)
        this.emit({type: 'trouble', name: forward.name, message})
      })
  }

  /** Stop listening and end every connection (Ctrl-C). */
  close(): void {
    this.stop.abort()
    this.unwatch()
    for (const server of this.servers) server.close()
    for (const socket of this.sockets) socket.destroy()
  }
}

/**
 * What to forward: the release's Services (each port) and devctl's own Postgres and Redis, with
 * the local ports devctl.yaml pins (forward.ports).
 */
export function forwardSpecs(services: V1Service[], options: {release: string; own: string[]; pinned: Record<string, number>}): ForwardSpec[] {
  const specs: ForwardSpec[] = []
  const ownNames: Record<string, string> = {'devctl-postgres': 'postgres', 'devctl-redis': 'redis'}
  for (const service of services) {
    const name = service.metadata?.name ?? ''
    const own = options.own.includes(name)
    if (!own && !belongsToRelease(service, options.release)) continue
    const ports = service.spec?.ports ?? []
    for (const port of ports) {
      const base = own ? (ownNames[name] ?? name) : name
      const label = ports.length > 1 ? `${base}:${port.name ?? port.port}` : base
      specs.push({name: label, service: name, port: port.port, targetPort: port.targetPort ?? port.port, localPort: options.pinned[label]})
    }
  }
  return specs.sort((a, b) => Number(options.own.includes(b.service)) - Number(options.own.includes(a.service)) || a.name.localeCompare(b.name))
}
