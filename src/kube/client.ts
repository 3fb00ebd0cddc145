/**
 * The only module that talks to the Kubernetes API (through @kubernetes/client-node). Import
 * it lazily (`await import('../kube/client.js')`): loading the client costs ~300 ms, which
 * commands that never reach a cluster (and --help) must not pay.
 */
import {request as httpRequest, type IncomingMessage} from 'node:http'
import {request as httpsRequest, type RequestOptions} from 'node:https'
import {createInterface} from 'node:readline'
import {Transform, Writable, type Duplex, type Readable} from 'node:stream'

import {
  ApiException,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
  ListWatch,
  PatchStrategy,
  PortForward,
  Watch,
  type Configuration,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Status,
  type V1APIResource,
} from '@kubernetes/client-node'
import WebSocket from 'ws'

import {ClusterError, DevctlError, InterruptedError} from '../errors.js'
import {sleep} from '../system/sleep.js'
import type {KubeTarget} from '../tools/helm.js'
import {
  classify,
  DEFAULT_RETRY,
  explainFailure,
  failureFromResponse,
  printable,
  retryDelay,
  type ApiFailure,
  type ApiRequest,
  type RetryListener,
  type RetryNotice,
  type RetryPolicy,
} from './api-failure.js'
import {collectionPath, KINDS, type KindName, type KindObject} from './types.js'

export const FIELD_MANAGER = 'devctl'

/** Refused connections a watch tries through (~3.5 s of backoff) before it calls the cluster gone. */
const UNREACHABLE_ATTEMPTS = 3

export interface ListOptions {
  labelSelector?: string
  fieldSelector?: string
}

export interface LogOptions {
  container: string
  follow?: boolean
  previous?: boolean
  tailLines?: number
  sinceTime?: string
  sinceSeconds?: number
  timestamps?: boolean
}

export type WatchEvent = 'add' | 'update' | 'delete'

/** The API's answer to a log request: the byte stream, or the status it refused with. */
export type LogAnswer = {ok: true; body: Readable} | {ok: false; status: number; message: string}

/** How long devctl waits on the API; tests shorten it. */
export interface ClientTiming {
  retry: RetryPolicy
  /** Asked of the server for every watch request: it ends the watch then, and the watch is resumed. */
  watchTimeoutSeconds: number
  /** Not a byte from a watch for this long (not even its end): the connection is dead, resume elsewhere. */
  watchSilenceMs: number
}

export const DEFAULT_TIMING: ClientTiming = {retry: DEFAULT_RETRY, watchTimeoutSeconds: 60, watchSilenceMs: 90_000}

/** A request made here rather than through client-node (a watch, a log) that the API answered with a failure. */
class RefusedRequestError extends Error {
  constructor(readonly failure: ApiFailure) {
    super(failure.message)
  }
}

/** A watch that stayed open without a byte past its deadline: a half-open connection. */
class WatchSilentError extends Error {}

/** What a command run in a container (exec) reads and writes. */
export interface ExecIO {
  /** Its standard input; its end closes the command's. */
  stdin?: Readable
  /** Where its output goes; a slow writer slows the pod down rather than filling memory. With `tty`, a terminal (resized with it). */
  stdout: Writable
  /** Its error output (none with a TTY: the terminal merges it). */
  stderr?: Writable
  tty?: boolean
}

/** Bytes a WebSocket may hold unsent before devctl waits: client-node sends without checking. */
const SOCKET_HIGH_WATER = 1024 * 1024

/** The channel protocols client-node offers, newest first: v5 has a real "stdin ended" message. */
const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']

type SocketConnector = NonNullable<ConstructorParameters<typeof Exec>[1]>

/**
 * The socket under client-node's Exec and PortForward (their injection point for it): the same
 * framing as client-node's own, plus what devctl needs from it — a refused upgrade keeps the
 * API's Status ("forbidden: ... cannot create pods/exec") instead of "Unexpected server response:
 * 403", the socket is handed over as it opens (for backpressure, below), and a close frame
 * (255) from the server never closes devctl's own stdin/stdout as client-node's would.
 */
function socketConnector(config: KubeConfig, opened: (ws: WebSocket) => void): SocketConnector {
  return {
    async connect(path, textHandler, binaryHandler) {
      const server = config.getCurrentCluster()?.server
      if (!server) throw new ClusterError('The kubeconfig has no cluster for the current context.')
      const options: RequestOptions = {}
      await config.applyToHTTPSOptions(options)
      return new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`${server.replace(/^http/, 'ws').replace(/\/$/, '')}${path}`, CHANNEL_PROTOCOLS, options)
        ws.once('unexpected-response', (request, response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => {
            reject(new RefusedRequestError(failureFromResponse(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), response.headers['retry-after'])))
            request.destroy()
          })
        })
        ws.once('error', reject)
        ws.once('open', () => {
          ws.off('error', reject)
          // Later socket errors end in 'close', which the callers handle.
          ws.on('error', () => {})
          opened(ws)
          resolve(ws)
        })
        ws.on('message', (data: Buffer, isBinary) => {
          // A server's close frame: the status frame already says all (client-node would throw on it).
          if (isBinary && data[0] === 255) return
          const keep = isBinary ? (binaryHandler?.(data[0] ?? 0, data.subarray(1)) ?? true) : (textHandler?.(data.toString('utf8')) ?? true)
          if (!keep) ws.close()
        })
      })
    },
  }
}

/** A stream client-node sends from, slowed to what the socket has sent: never more than SOCKET_HIGH_WATER waiting. */
function paced(socket: () => WebSocket | undefined, signal: AbortSignal): Transform {
  const room = async () => {
    for (let ws = socket(); !ws || ws.bufferedAmount > SOCKET_HIGH_WATER; ws = socket()) {
      if (signal.aborted || ws?.readyState === WebSocket.CLOSED) return
      await sleep(5)
    }
  }
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      room().then(() => done(null, chunk), done)
    },
  })
}

/** Where client-node writes what arrives: a `target` that cannot keep up pauses the socket until it drains. */
function pausing(target: Writable, socket: () => WebSocket | undefined): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!target.write(chunk)) {
        const ws = socket()
        ws?.pause()
        target.once('drain', () => ws?.resume())
      }
      done()
    },
  })
}

/** The exit code in an exec's Status; other failures (no such program) are errors. */
function exitCodeOf(status: V1Status, what: string): number {
  if (status.status === 'Success') return 0
  if (status.reason === 'NonZeroExitCode') {
    const code = Number(status.details?.causes?.find((cause) => cause.reason === 'ExitCode')?.message)
    if (Number.isInteger(code)) return code
  }
  throw new ClusterError(`${what} could not run: ${printable(status.message ?? 'the container runtime refused it')}`)
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined
  const entry = Object.entries(headers as Record<string, unknown>).find(([key]) => key.toLowerCase() === name)
  return typeof entry?.[1] === 'string' ? entry[1] : undefined
}

/** What went wrong, from whichever error the client or the network raised. */
function failureOf(error: unknown): ApiFailure {
  if (error instanceof ApiException) return failureFromResponse(error.code, error.body, headerValue(error.headers, 'retry-after'))
  if (error instanceof RefusedRequestError) return error.failure
  if (error instanceof WatchSilentError) return {silent: true, message: error.message}
  const code = (error as {code?: unknown})?.code ?? (error as {cause?: {code?: unknown}})?.cause?.code
  const status = (error as {statusCode?: unknown})?.statusCode
  if (typeof status === 'number') return {status, message: printable(error instanceof Error ? error.message : String(error))}
  const message = printable((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '')
  return {message, ...(typeof code === 'string' ? {code} : {})}
}

function requestFor(kind: KindName, verb: string, namespace: string | undefined, name?: string, alsoNeeds?: string[]): ApiRequest {
  const {apiVersion, plural, namespaced} = KINDS[kind]
  return {
    verb,
    resource: plural,
    group: apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '',
    ...(namespaced && namespace ? {namespace} : {}),
    ...(name ? {name} : {}),
    ...(alsoNeeds ? {alsoNeeds} : {}),
  }
}

/**
 * client-node's Watch, with the request made here: a refused watch keeps the API's Status (who
 * was refused what), the server is asked for bookmarks and to end the watch after
 * `watchTimeoutSeconds`, and a connection silent past `watchSilenceMs` is ended with
 * WatchSilentError so that ListWatch's owner resumes it instead of waiting forever.
 */
class DeadlineWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly timing: ClientTiming,
    private readonly events: {
      /** A watch request goes out (ListWatch asks for one only once its list is stored). */
      starting: () => void
      /** The server accepted it (200). */
      accepted: () => void
    },
  ) {
    super(config)
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, object: unknown, watchObject?: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<AbortController> {
    this.events.starting()
    const controller = new AbortController()
    const server = this.config.getCurrentCluster()?.server
    if (!server) throw new ClusterError('The kubeconfig has no cluster for the current context.')
    const url = new URL(`${server.replace(/\/$/, '')}${path}`)
    for (const [key, value] of Object.entries<string | number | boolean | undefined>({...queryParams, watch: true, allowWatchBookmarks: true, timeoutSeconds: this.timing.watchTimeoutSeconds})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value))
    }
    const options: RequestOptions = {method: 'GET', headers: {Accept: 'application/json'}}
    await this.config.applyToHTTPSOptions(options)
    let finished = false
    let silence: NodeJS.Timeout | undefined
    const finish = (error: unknown) => {
      if (finished) return
      finished = true
      clearTimeout(silence)
      controller.abort()
      done(error)
    }
    const heard = () => {
      clearTimeout(silence)
      silence = setTimeout(() => finish(new WatchSilentError(`no word from the watch for ${Math.round(this.timing.watchSilenceMs / 1000)} s`)), this.timing.watchSilenceMs)
    }
    heard()
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const request = send(url, {...options, signal: controller.signal}, (response) => {
      if (response.statusCode !== 200) {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => finish(new RefusedRequestError(failureFromResponse(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), response.headers['retry-after']))))
        response.on('error', finish)
        return
      }
      this.events.accepted()
      response.on('data', heard)
      const lines = createInterface({input: response})
      // readline passes the response's errors on; they are handled below.
      lines.on('error', finish)
      lines.on('line', (line) => {
        let event: {type?: string; object?: unknown}
        try {
          event = JSON.parse(line) as {type?: string; object?: unknown}
        } catch {
          return
        }
        if (event.type) callback(event.type, event.object, event)
      })
      response.on('error', finish)
      response.on('close', () => finish(null))
    })
    request.on('error', finish)
    request.end()
    return controller
  }
}

/**
 * client-node's generic object API asks the server for an API group's resource list before its
 * first call on that group (several times when the first calls run side by side): the kinds
 * devctl uses are known (KINDS), so they are answered here, and only another kind (one an
 * `apply` brings) is looked up.
 */
class KnownKindsObjectApi extends KubernetesObjectApi {
  static forConfig(config: KubeConfig): KnownKindsObjectApi {
    const objects = config.makeApiClient(KnownKindsObjectApi)
    objects.setDefaultNamespace(config)
    return objects
  }

  protected override async resource(apiVersion: string, kind: string, options?: Configuration): Promise<V1APIResource | undefined> {
    const known = kind in KINDS ? KINDS[kind as KindName] : undefined
    if (known?.apiVersion === apiVersion) return {kind, name: known.plural, namespaced: known.namespaced, singularName: '', verbs: []}
    return super.resource(apiVersion, kind, options)
  }
}

export class KubeClient {
  private readonly objects: KubernetesObjectApi
  private readonly retryListeners = new Set<RetryListener>()

  private constructor(
    readonly config: KubeConfig,
    private readonly timing: ClientTiming,
  ) {
    this.objects = KnownKindsObjectApi.forConfig(config)
  }

  /** Load a kubeconfig (a file, or the default KUBECONFIG/~/.kube/config) and pick the context. */
  static connect(target: KubeTarget, timing: Partial<ClientTiming> = {}): KubeClient {
    const config = new KubeConfig()
    try {
      if (target.kubeconfig) config.loadFromFile(target.kubeconfig)
      else config.loadFromDefault()
    } catch (error) {
      // Only the first line: a YAML error quotes the file around the fault, tokens and keys included.
      throw new ClusterError(`Could not read the kubeconfig${target.kubeconfig ? ` ${target.kubeconfig}` : ''}: ${(error as Error).message.split('\n')[0]}`, {
        hint: 'Check the file with `kubectl config view`; devctl only reads it.',
      })
    }
    if (!config.getContextObject(target.context)) {
      throw new ClusterError(`The kube context "${target.context}" does not exist in your kubeconfig.`, {
        hint: 'List contexts with `kubectl config get-contexts`; set cluster.context in devctl.yaml to one of them.',
      })
    }
    config.setCurrentContext(target.context)
    return new KubeClient(config, {...DEFAULT_TIMING, ...timing})
  }

  /** Hear about every call waiting to be retried ("API busy, retrying in 4 s"); returns the way to stop. */
  onRetry(listener: RetryListener): () => void {
    this.retryListeners.add(listener)
    return () => this.retryListeners.delete(listener)
  }

  private announce(notice: RetryNotice): void {
    for (const listener of this.retryListeners) listener(notice)
  }

  private explain(request: ApiRequest, failure: ApiFailure, cause: unknown): ClusterError {
    return explainFailure(request, failure, {context: this.config.getCurrentContext(), user: this.config.getCurrentUser()?.name}, cause)
  }

  /** One call, retried while the failure is transient (429, 5xx, a dropped connection); final ones are explained. */
  private async call<T>(request: ApiRequest, send: () => Promise<T>, recover?: (failure: ApiFailure) => {value: T} | undefined, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send()
      } catch (error) {
        if (error instanceof DevctlError) throw error
        if (signal?.aborted) throw signal.reason ?? error
        const failure = failureOf(error)
        const recovered = recover?.(failure)
        if (recovered) return recovered.value
        if (classify(failure) !== 'transient' || attempt >= this.timing.retry.attempts) throw this.explain(request, failure, error)
        const delayMs = retryDelay(attempt - 1, failure.retryAfterMs, this.timing.retry)
        this.announce({request, failure, attempt, delayMs})
        await sleep(delayMs, signal)
      }
    }
  }

  get server(): string | undefined {
    return this.config.getCurrentCluster()?.server
  }

  async get<K extends KindName>(kind: K, namespace: string | undefined, name: string): Promise<KindObject<K> | undefined> {
    return this.call<KindObject<K> | undefined>(
      requestFor(kind, 'get', namespace, name),
      () => this.objects.read<KindObject<K>>({apiVersion: KINDS[kind].apiVersion, kind, metadata: {name, namespace}}),
      (failure) => (failure.status === 404 ? {value: undefined} : undefined),
    )
  }

  async list<K extends KindName>(kind: K, namespace: string | undefined, options: ListOptions = {}): Promise<Array<KindObject<K>>> {
    const list = await this.call(requestFor(kind, 'list', namespace), () =>
      this.objects.list<KindObject<K>>(KINDS[kind].apiVersion, kind, namespace, undefined, undefined, undefined, options.fieldSelector, options.labelSelector),
    )
    return list.items
  }

  /** Server-side apply, owning every field devctl sets (force: devctl is the only writer). */
  async apply<T extends KubernetesObject>(object: T): Promise<T> {
    const kind = (object.kind ?? '') in KINDS ? (object.kind as KindName) : undefined
    // Server-side apply is a patch, and a create when the object is new.
    const request = kind
      ? requestFor(kind, 'patch', object.metadata?.namespace, object.metadata?.name, ['create'])
      : {verb: 'patch', resource: `${(object.kind ?? 'object').toLowerCase()}s`, group: '', namespace: object.metadata?.namespace, name: object.metadata?.name, alsoNeeds: ['create']}
    return this.call(request, () => this.objects.patch<T>(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply))
  }

  /** Create `object`; undefined when one of that name exists already (409), so a caller can tell "someone got there first". */
  async create<K extends KindName>(kind: K, object: KindObject<K>): Promise<KindObject<K> | undefined> {
    return this.call<KindObject<K> | undefined>(
      requestFor(kind, 'create', object.metadata?.namespace),
      () => this.objects.create<KindObject<K>>({...object, apiVersion: KINDS[kind].apiVersion, kind}),
      (failure) => (failure.status === 409 ? {value: undefined} : undefined),
    )
  }

  /** Replace `object` at the resourceVersion it carries; undefined when it changed since (409: someone else wrote it). */
  async replace<K extends KindName>(kind: K, object: KindObject<K>): Promise<KindObject<K> | undefined> {
    return this.call<KindObject<K> | undefined>(
      requestFor(kind, 'update', object.metadata?.namespace, object.metadata?.name),
      () => this.objects.replace<KindObject<K>>({...object, apiVersion: KINDS[kind].apiVersion, kind}),
      (failure) => (failure.status === 409 ? {value: undefined} : undefined),
    )
  }

  /** Returns false when it was already gone. */
  async delete(kind: KindName, namespace: string | undefined, name: string, propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<boolean> {
    return this.call(
      requestFor(kind, 'delete', namespace, name),
      async () => {
        await this.objects.delete({apiVersion: KINDS[kind].apiVersion, kind, metadata: {name, namespace}}, undefined, undefined, undefined, undefined, propagationPolicy)
        return true
      },
      (failure) => (failure.status === 404 ? {value: false} : undefined),
    )
  }

  /**
   * List, then watch, calling `onChange` for every change until `signal` aborts. Resolves once
   * the first list is stored; rejects, explained, when it is refused (401, 403, 404). Dropped
   * or silent connections resume from the last resourceVersion, a 410 Gone re-lists
   * (client-node's ListWatch), and transient failures retry with growing backoff, each retry
   * announced (`onRetry`). A refusal after the start stops the watch and goes to `onFailure`.
   */
  async watch<K extends KindName, T extends KubernetesObject = KindObject<K>>(
    kind: K,
    namespace: string | undefined,
    options: ListOptions,
    onChange: (event: WatchEvent, object: T) => void,
    signal: AbortSignal,
    onFailure?: (error: ClusterError) => void,
  ): Promise<void> {
    const watchRequest = requestFor(kind, 'watch', namespace, undefined, ['list'])
    const listRequest = requestFor(kind, 'list', namespace, undefined, ['watch'])
    let phase: 'list' | 'watch' = 'list'
    let attempt = 0
    let started = false
    let resolveFirst!: () => void
    let rejectFirst!: (error: unknown) => void
    const first = new Promise<void>((resolve, reject) => {
      resolveFirst = resolve
      rejectFirst = reject
    })
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      phase = 'list'
      const list = await this.objects.list<T>(KINDS[kind].apiVersion, kind, namespace, undefined, undefined, undefined, options.fieldSelector, options.labelSelector)
      attempt = 0
      // The generic list answer lacks kind/apiVersion on items; callers rely on them.
      for (const item of list.items) {
        item.kind ??= kind
        item.apiVersion ??= KINDS[kind].apiVersion
      }
      return list
    }
    const watch = new DeadlineWatch(this.config, this.timing, {
      starting: () => {
        phase = 'watch'
        started = true
        resolveFirst()
      },
      accepted: () => (attempt = 0),
    })
    const informer = new ListWatch<T>(collectionPath(kind, namespace), watch, listFn, false, options.labelSelector, options.fieldSelector)
    const changed = (event: WatchEvent) => (object: T) => {
      attempt = 0
      onChange(event, object)
    }
    informer.on('add', changed('add'))
    informer.on('update', changed('update'))
    informer.on('delete', changed('delete'))

    const retry = (error: unknown) => {
      if (signal.aborted) return
      const failure = failureOf(error)
      const request = phase === 'list' ? listRequest : watchRequest
      const kind = classify(failure)
      // A cluster that refuses connections (stopped or deleted under us) is not coming back by waiting long.
      if (kind === 'final' || (kind === 'unreachable' && attempt + 1 >= UNREACHABLE_ATTEMPTS)) {
        void informer.stop()
        const explained = this.explain(request, failure, error)
        if (started) onFailure?.(explained)
        else rejectFirst(explained)
        return
      }
      const delayMs = retryDelay(attempt++, failure.retryAfterMs, this.timing.retry)
      this.announce({request, failure, attempt, delayMs})
      void sleep(delayMs, signal).then(() => {
        if (!signal.aborted) informer.start().catch(retry)
      })
    }
    informer.on('error', retry)
    signal.addEventListener(
      'abort',
      () => {
        void informer.stop()
        resolveFirst()
      },
      {once: true},
    )
    informer.start().catch(retry)
    await first
  }

  /** Read a container's log (not following); a refusal (no previous run, pod gone) throws. */
  async readLog(namespace: string, pod: string, options: LogOptions, signal = new AbortController().signal): Promise<string> {
    const answer = await this.openLog(namespace, pod, {...options, follow: false}, signal)
    if (!answer.ok) throw new ClusterError(`Kubernetes API: could not read the log of ${pod}/${options.container}: ${answer.message}`)
    const chunks: Buffer[] = []
    for await (const chunk of answer.body) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  /**
   * Open a container's log as a byte stream (GET pods/NAME/log). The caller reads the body: a
   * dropped connection surfaces as a stream error (so it can resume), and the answers the log
   * engine acts on (400 "waiting to start", 404 pod gone) come back with the API's message.
   * Busy answers (429, 5xx) are retried here; a refusal (401, 403) throws, explained.
   */
  async openLog(namespace: string, pod: string, options: LogOptions, signal: AbortSignal): Promise<LogAnswer> {
    const server = this.server
    if (!server) throw new ClusterError('The kubeconfig has no cluster for the current context.')
    const url = new URL(`${server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`)
    url.searchParams.set('container', options.container)
    if (options.follow) url.searchParams.set('follow', 'true')
    if (options.previous) url.searchParams.set('previous', 'true')
    if (options.timestamps) url.searchParams.set('timestamps', 'true')
    if (options.tailLines !== undefined) url.searchParams.set('tailLines', String(options.tailLines))
    if (options.sinceTime !== undefined) url.searchParams.set('sinceTime', options.sinceTime)
    else if (options.sinceSeconds !== undefined) url.searchParams.set('sinceSeconds', String(options.sinceSeconds))
    const requestOptions: RequestOptions = {method: 'GET', headers: {Accept: '*/*'}}
    await this.config.applyToHTTPSOptions(requestOptions)
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const request: ApiRequest = {verb: 'get', resource: 'pods/log', group: '', namespace, name: pod}
    return this.call<LogAnswer>(
      request,
      async () => {
        const response = await new Promise<IncomingMessage>((resolve, reject) => {
          const sent = send(url, {...requestOptions, signal}, resolve)
          sent.once('error', reject)
          sent.end()
        })
        if (response.statusCode === 200) return {ok: true, body: response}
        const chunks: Buffer[] = []
        for await (const chunk of response) chunks.push(chunk as Buffer)
        const failure = failureFromResponse(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), response.headers['retry-after'])
        if (failure.status === 400 || failure.status === 404) return {ok: false, status: failure.status, message: failure.message}
        throw new RefusedRequestError(failure)
      },
      undefined,
      signal,
    )
  }

  /** The call's ApiRequest, explained like any other refused call (403 names the Role rule that would allow it). */
  private streamRefusal(request: ApiRequest, error: unknown): ClusterError {
    return this.explain(request, failureOf(error), error)
  }

  /**
   * Run `command` in a container (pods/exec over WebSocket, client-node's Exec) and resolve with
   * its exit code once it ended and its output was delivered. Backpressure both ways; a socket
   * that closes before the exit status (the pod went away) is an error, not a hang.
   */
  async exec(namespace: string, pod: string, container: string, command: string[], io: ExecIO, signal: AbortSignal): Promise<number> {
    const request: ApiRequest = {verb: 'create', resource: 'pods/exec', group: '', namespace, name: pod, alsoNeeds: ['get']}
    if (signal.aborted) throw new InterruptedError()
    let ws: WebSocket | undefined
    const handler = socketConnector(this.config, (opened) => (ws = opened))
    const stdin = io.stdin ? paced(() => ws, signal) : null
    // With a TTY, client-node sizes the terminal from process.stdout itself (and ends nothing it owns).
    const stdout = io.tty ? io.stdout : pausing(io.stdout, () => ws)
    const stderr = io.stderr ? pausing(io.stderr, () => ws) : null
    return new Promise<number>((resolve, reject) => {
      let settled = false
      const settle = (outcome: () => number) => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', abort)
        if (io.stdin && stdin) io.stdin.unpipe(stdin)
        try {
          resolve(outcome())
        } catch (error) {
          reject(error)
        }
      }
      const abort = () => {
        ws?.close()
        settle(() => {
          throw new InterruptedError()
        })
      }
      signal.addEventListener('abort', abort, {once: true})
      if (io.stdin && stdin) io.stdin.pipe(stdin)
      new Exec(this.config, handler)
        .exec(namespace, pod, container, command, stdout, stderr, stdin, io.tty ?? false, (status) => settle(() => exitCodeOf(status, `\`${command[0]}\` in ${pod}`)))
        .then(
          (socket) => {
            // client-node calls back only for a status frame: a socket closed without one must not hang here.
            socket.on('close', () =>
              settle(() => {
                throw new ClusterError(`The connection to pod ${pod} closed before \`${command[0]}\` finished (the pod stopped or the API dropped the stream).`, {
                  hint: 'Check the pod with `devctl status`, then run this again.',
                })
              }),
            )
          },
          (error: unknown) =>
            settle(() => {
              throw this.streamRefusal(request, error)
            }),
        )
    })
  }

  /**
   * Carry one local connection to `port` of `pod` (pods/portforward over WebSocket, client-node's
   * PortForward: one socket per connection). Resolves when either side closes; rejects with the
   * kubelet's message when it could not connect in the pod (nothing listening there).
   * client-node's gaps are closed here: a remote close ends the local socket, backpressure both ways.
   */
  async portForward(namespace: string, pod: string, port: number, local: Duplex, signal: AbortSignal): Promise<void> {
    const request: ApiRequest = {verb: 'create', resource: 'pods/portforward', group: '', namespace, name: pod, alsoNeeds: ['get']}
    let ws: WebSocket | undefined
    const handler = socketConnector(this.config, (opened) => (ws = opened))
    const input = paced(() => ws, signal)
    let failure = ''
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // The error channel's first frame is only its port number, which client-node strips.
        if (chunk.length > 0) {
          failure += chunk.toString('utf8')
          ws?.close()
        }
        done()
      },
    })
    const socket = await new PortForward(this.config, true, handler)
      .portForward(
        namespace,
        pod,
        [port],
        pausing(local, () => ws),
        errors,
        input,
      )
      .catch((error: unknown) => {
        throw this.streamRefusal(request, error)
      })
    local.pipe(input)
    return new Promise<void>((resolve, reject) => {
      const ended = () => {
        signal.removeEventListener('abort', close)
        local.unpipe(input)
        local.destroy()
        if (failure) reject(new ClusterError(`Port ${port} of pod ${pod}: ${printable(failure.trim())}`))
        else resolve()
      }
      const close = () => (socket as WebSocket).close()
      if ((socket as WebSocket).readyState === WebSocket.CLOSED) ended()
      else (socket as WebSocket).once('close', ended)
      local.once('close', close)
      local.on('error', close)
      signal.addEventListener('abort', close, {once: true})
    })
  }
}

export {ApiException}
