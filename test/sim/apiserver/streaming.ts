/**
 * `pods/exec` and `pods/portforward` over WebSocket, as kube-apiserver (and the kubelet behind
 * it) serve them:
 *
 * - exec: GET with `Upgrade: websocket`, subprotocol `v5.channel.k8s.io` (what kubectl 1.30+
 *   asks for first, and client-node too) or `v4.channel.k8s.io`; binary frames whose first byte
 *   is the channel (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize, 255 close); the outcome as
 *   one JSON Status on channel 3, then a close with code 1000.
 * - port-forward: subprotocol `v4.channel.k8s.io` (what the kubelet speaks and client-node
 *   gets); port i has data channel 2i and error channel 2i+1, and the first frame of each
 *   carries the port as a little-endian uint16. kubectl's SPDY is not served.
 *
 * Both are authorized like a 1.31 apiserver: `get` on the subresource, and `create` for the
 * WebSocket upgrade (AuthorizePodWebsocketUpgradeCreatePermission).
 */
import {ServerResponse, type IncomingMessage} from 'node:http'
import type {Socket} from 'node:net'
import type {Duplex} from 'node:stream'

import {WebSocketServer, type WebSocket} from 'ws'

import type {AccessControl} from './access.js'
import type {ClusterApi} from './api.js'
import {ApiError, badRequest, internalError, notFound} from './errors.js'
import type {PodRuntime} from './pod-runtime.js'
import type {ResourceType} from './resources.js'
import type {Pod} from './types.js'

export interface StreamingDependencies {
  access: AccessControl
  api: ClusterApi
  podType: ResourceType
  runtime: PodRuntime
}

const CHANNEL = {stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255} as const
const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io']
const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io']
/** Output waiting in a socket beyond this pauses its source until it drains. */
const HIGH_WATER = 1024 * 1024

/** A response written on the socket of an upgrade request that is not upgraded (refused, failed). */
function responseOn(request: IncomingMessage, socket: Duplex): ServerResponse {
  const response = new ServerResponse(request)
  response.assignSocket(socket as Socket)
  response.shouldKeepAlive = false
  response.once('finish', () => {
    response.detachSocket(socket as Socket)
    socket.end()
  })
  return response
}

function refuse(response: ServerResponse, error: unknown): void {
  const apiError = error instanceof ApiError ? error : internalError(error)
  const text = JSON.stringify(apiError.toStatus())
  response.writeHead(apiError.code, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text)})
  response.end(text)
}

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name)
  return value === 'true' || value === '1'
}

function frame(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  return Buffer.concat([Buffer.from([channel]), body])
}

/** Sends frames in order; `send` says whether the caller may go on or should wait for `drained`. */
function sender(ws: WebSocket, drained: () => void): (data: Buffer) => boolean {
  let waiting = false
  return (data) => {
    if (ws.readyState !== ws.OPEN) return true
    ws.send(data, {binary: true}, () => {
      if (waiting && ws.bufferedAmount < HIGH_WATER / 4) {
        waiting = false
        drained()
      }
    })
    if (ws.bufferedAmount >= HIGH_WATER) waiting = true
    return !waiting
  }
}

function statusFrame(status: object): Buffer {
  return frame(CHANNEL.error, JSON.stringify({metadata: {}, ...status}))
}

interface Target {
  pod: Pod
  query: URLSearchParams
  subresource: 'exec' | 'portforward'
}

export function createUpgradeHandler(deps: StreamingDependencies): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const servers = {
    exec: new WebSocketServer({noServer: true, handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false}),
    portforward: new WebSocketServer({noServer: true, handleProtocols: (offered) => PORT_FORWARD_PROTOCOLS.find((p) => offered.has(p)) ?? false}),
  }

  /** Everything short of upgrading: who asks, whether they may, for which pod, with which protocol. */
  async function admit(request: IncomingMessage, response: ServerResponse): Promise<Target | undefined> {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|portforward)\/?$/.exec(url.pathname)
    if (!match) {
      response.writeHead(404, {'Content-Type': 'text/plain'})
      response.end('404 page not found\n')
      return undefined
    }
    const admitted = await deps.access.admit(request, response, url.pathname, url.searchParams)
    if (!admitted) return undefined
    deps.access.authorizeCreate(admitted)
    const [, namespace = '', name = '', subresource] = match
    const pod = deps.api.find(deps.podType, namespace, name) as Pod | undefined
    if (!pod) throw notFound({group: '', resource: 'pods'}, name)
    return {pod, query: url.searchParams, subresource: subresource as Target['subresource']}
  }

  /** The request's own faults come first (as the REST layer finds them for SPDY too), then the transport's. */
  function checkTransport(request: IncomingMessage, subresource: Target['subresource']): void {
    if (request.method !== 'GET' || request.headers.upgrade?.toLowerCase() !== 'websocket') {
      throw badRequest('Upgrade request required: this simulator serves exec and port-forward over WebSocket only (no SPDY)')
    }
    const offered = new Set(
      (request.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    const supported = subresource === 'exec' ? EXEC_PROTOCOLS : PORT_FORWARD_PROTOCOLS
    if (!supported.some((p) => offered.has(p))) throw badRequest(`unable to upgrade connection: none of the requested subprotocols [${[...offered].join(' ')}] is supported (${supported.join(', ')})`)
  }

  return (request, socket, head) => {
    const response = responseOn(request, socket)
    void (async () => {
      let target: Target | undefined
      let start: (ws: WebSocket) => void
      try {
        target = await admit(request, response)
        if (!target) return
        const {pod, query} = target
        start = target.subresource === 'exec' ? await prepareExec(deps, pod, query) : await preparePortForward(deps, pod, query)
        checkTransport(request, target.subresource)
      } catch (error) {
        refuse(response, error)
        return
      }
      response.detachSocket(socket as Socket)
      servers[target.subresource].handleUpgrade(request, socket, head, (ws) => start(ws))
    })()
  }
}

/** kubectl's and the apiserver's checks, then a function that runs the command on the upgraded socket. */
async function prepareExec(deps: StreamingDependencies, pod: Pod, query: URLSearchParams): Promise<(ws: WebSocket) => void> {
  const command = query.getAll('command')
  if (command.length === 0) throw badRequest('you must specify at least 1 command')
  const io = {stdin: flag(query, 'stdin'), stdout: flag(query, 'stdout'), stderr: flag(query, 'stderr'), tty: flag(query, 'tty')}
  if (!io.stdin && !io.stdout && !io.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr')
  if (io.tty && io.stderr) throw badRequest('tty and stderr cannot both be true')
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`)
  const names = pod.spec.containers.map((c) => c.name)
  const containerName = query.get('container') ?? pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? (names.length === 1 ? names[0] : undefined)
  if (!containerName) throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`)
  const container = pod.spec.containers.find((c) => c.name === containerName)
  if (!container) throw badRequest(`container ${containerName} is not valid for pod ${pod.metadata.name}`)
  if (!pod.status?.containerStatuses?.find((s) => s.name === containerName)?.state.running) throw badRequest(`unable to upgrade connection: container not found ("${containerName}")`)
  const {env, local} = deps.runtime.processEnvironment(pod, container)

  return (ws) => {
    let resize = {columns: 80, rows: 24}
    let ended = false
    let started: Awaited<ReturnType<typeof deps.runtime.processes.start>> | undefined
    const send = sender(ws, () => started?.resumeOutput())
    const output = (channel: number, wanted: boolean) => (chunk: Buffer) => (wanted ? send(frame(channel, chunk)) : true)
    const forget = deps.runtime.onPodStop(pod, () => ws.terminate())
    const pending: Buffer[] = []
    const handle = (data: Buffer) => {
      const channel = data[0]
      const body = data.subarray(1)
      if (channel === CHANNEL.stdin) started?.write(body)
      else if (channel === CHANNEL.resize) {
        try {
          const size = JSON.parse(body.toString('utf8')) as {Width?: number; Height?: number; width?: number; height?: number}
          resize = {columns: size.Width ?? size.width ?? resize.columns, rows: size.Height ?? size.height ?? resize.rows}
          started?.resize(resize.columns, resize.rows)
        } catch {
          // a malformed resize is ignored, as the kubelet does
        }
      } else if (channel === CHANNEL.close && body[0] === CHANNEL.stdin) started?.endInput()
    }
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return
      if (started) handle(data)
      else pending.push(data)
    })
    ws.on('close', () => {
      ended = true
      forget()
      started?.kill()
    })
    void (async () => {
      started = await deps.runtime.processes.start(
        pod.metadata.uid ?? '',
        {argv: command, env, local, tty: io.tty ? resize : undefined},
        {
          stdout: output(CHANNEL.stdout, io.stdout),
          stderr: output(CHANNEL.stderr, io.stderr),
        },
      )
      // Sizes and input sent before the process existed.
      for (const data of pending.splice(0)) handle(data)
      if (!io.stdin) started.endInput()
      const outcome = await started.exited
      if (ended) return
      const status =
        'notFound' in outcome
          ? {
              status: 'Failure',
              reason: 'InternalError',
              code: 500,
              message: `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: "${outcome.notFound}": executable file not found in $PATH: unknown`,
              details: {causes: [{message: `exec: "${outcome.notFound}": executable file not found in $PATH`}]},
            }
          : outcome.exitCode === 0
            ? {status: 'Success'}
            : {
                status: 'Failure',
                reason: 'NonZeroExitCode',
                message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${outcome.exitCode}`,
                details: {causes: [{reason: 'ExitCode', message: String(outcome.exitCode)}]},
              }
      ws.send(statusFrame(status), {binary: true}, () => ws.close(1000))
    })()
  }
}

/** The ports asked for, checked; then a function that connects each one on the upgraded socket. */
async function preparePortForward(deps: StreamingDependencies, pod: Pod, query: URLSearchParams): Promise<(ws: WebSocket) => void> {
  const ports = query
    .getAll('ports')
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
  if (ports.length === 0) throw badRequest('at least one port must be specified')
  const numbers = ports.map((value) => {
    const port = Number(value)
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw badRequest(`invalid port: "${value}"`)
    return port
  })
  if (pod.status?.phase !== 'Running') throw badRequest(`unable to do port forwarding: pod is not running. Current status=${pod.status?.phase ?? 'Pending'}`)
  const targets = await Promise.all(numbers.map((port) => deps.runtime.portTarget(pod, port)))

  return (ws) => {
    /** The connection of each port, by its index in `ports`. */
    const connections = new Map<number, Socket>()
    const forget = deps.runtime.onPodStop(pod, () => ws.close(1000))
    ws.on('close', () => {
      forget()
      for (const connection of connections.values()) connection.destroy()
    })
    const send = sender(ws, () => connections.forEach((c) => c.resume()))
    numbers.forEach((port, index) => {
      const prefix = Buffer.alloc(2)
      prefix.writeUInt16LE(port)
      send(frame(2 * index, prefix))
      send(frame(2 * index + 1, prefix))
      const target = targets[index]!
      if (target.kind === 'refused') {
        send(frame(2 * index + 1, target.message))
        return
      }
      const connection = target.connect()
      connections.set(index, connection)
      connection.on('data', (chunk: Buffer) => {
        if (!send(frame(2 * index, chunk))) connection.pause()
      })
      connection.on('error', (error) => send(frame(2 * index + 1, `error forwarding port ${port} to pod ${pod.metadata.uid}: ${error.message}`)))
      connection.on('close', () => ws.close(1000))
    })
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary || data.length === 0) return
      const connection = data[0]! % 2 === 0 ? connections.get(data[0]! / 2) : undefined
      if (!connection) return
      if (!connection.write(data.subarray(1))) {
        ws.pause()
        connection.once('drain', () => ws.resume())
      }
    })
  }
}
