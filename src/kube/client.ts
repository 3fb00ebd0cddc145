/**
 * The only module that talks to the Kubernetes API (through @kubernetes/client-node). Import
 * it lazily (`await import('../kube/client.js')`): loading the client costs ~300 ms, which
 * commands that never reach a cluster (and --help) must not pay.
 */
import {request as httpRequest, type IncomingMessage} from 'node:http'
import {request as httpsRequest, type RequestOptions} from 'node:https'
import type {Readable} from 'node:stream'

import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  ListWatch,
  PatchStrategy,
  Watch,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node'

import {ClusterError, InterruptedError, type DevctlError} from '../errors.js'
import type {KubeTarget} from '../tools/helm.js'
import {collectionPath, KINDS, type KindName, type KindObject} from './types.js'

export const FIELD_MANAGER = 'devctl'

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

function statusCode(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code
  const code = (error as {code?: unknown; statusCode?: unknown})?.statusCode ?? (error as {code?: unknown})?.code
  return typeof code === 'number' ? code : undefined
}

/** Turn client errors into a ClusterError that says which request failed and why. */
function apiError(action: string, error: unknown): DevctlError {
  if (error instanceof ClusterError || error instanceof InterruptedError) return error
  const body = error instanceof ApiException ? (error.body as {message?: string} | string | undefined) : undefined
  const reason = typeof body === 'object' && body?.message ? body.message : error instanceof Error ? error.message.split('\n')[0] : String(error)
  const refused = /ECONNREFUSED|socket hang up|ECONNRESET/.test(String(reason))
  return new ClusterError(`Kubernetes API: could not ${action}: ${reason}`, {
    cause: error,
    hint: refused ? 'The cluster is not answering; is it running? (`devctl status`, or `devctl up` to start it)' : undefined,
  })
}

export class KubeClient {
  private readonly objects: KubernetesObjectApi

  private constructor(readonly config: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(config)
  }

  /** Load a kubeconfig (a file, or the default KUBECONFIG/~/.kube/config) and pick the context. */
  static connect(target: KubeTarget): KubeClient {
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
    return new KubeClient(config)
  }

  get server(): string | undefined {
    return this.config.getCurrentCluster()?.server
  }

  async get<K extends KindName>(kind: K, namespace: string | undefined, name: string): Promise<KindObject<K> | undefined> {
    try {
      return await this.objects.read<KindObject<K>>({apiVersion: KINDS[kind].apiVersion, kind, metadata: {name, namespace}})
    } catch (error) {
      if (statusCode(error) === 404) return undefined
      throw apiError(`read ${kind} ${name}`, error)
    }
  }

  async list<K extends KindName>(kind: K, namespace: string | undefined, options: ListOptions = {}): Promise<Array<KindObject<K>>> {
    try {
      const list: KubernetesListObject<KindObject<K>> = await this.objects.list<KindObject<K>>(
        KINDS[kind].apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        options.fieldSelector,
        options.labelSelector,
      )
      return list.items
    } catch (error) {
      throw apiError(`list ${KINDS[kind].plural}`, error)
    }
  }

  /** Server-side apply, owning every field devctl sets (force: devctl is the only writer). */
  async apply<T extends KubernetesObject>(object: T): Promise<T> {
    try {
      return await this.objects.patch<T>(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply)
    } catch (error) {
      throw apiError(`apply ${object.kind} ${object.metadata?.name ?? ''}`, error)
    }
  }

  /** Returns false when it was already gone. */
  async delete(kind: KindName, namespace: string | undefined, name: string, propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<boolean> {
    try {
      await this.objects.delete({apiVersion: KINDS[kind].apiVersion, kind, metadata: {name, namespace}}, undefined, undefined, undefined, undefined, propagationPolicy)
      return true
    } catch (error) {
      if (statusCode(error) === 404) return false
      throw apiError(`delete ${kind} ${name}`, error)
    }
  }

  /**
   * List, then watch, calling `onChange` for every change until `signal` aborts. Dropped
   * connections resume from the last resourceVersion; a 410 Gone re-lists (client-node's
   * ListWatch); other failures retry with backoff. Resolves once the first list was tried.
   */
  async watch<K extends KindName, T extends KubernetesObject = KindObject<K>>(
    kind: K,
    namespace: string | undefined,
    options: ListOptions,
    onChange: (event: WatchEvent, object: T) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      const list = await this.objects.list<T>(KINDS[kind].apiVersion, kind, namespace, undefined, undefined, undefined, options.fieldSelector, options.labelSelector)
      // The generic list answer lacks kind/apiVersion on items; callers rely on them.
      for (const item of list.items) {
        item.kind ??= kind
        item.apiVersion ??= KINDS[kind].apiVersion
      }
      return list
    }
    const informer = new ListWatch<T>(collectionPath(kind, namespace), new Watch(this.config), listFn, false, options.labelSelector, options.fieldSelector)
    informer.on('add', (o) => onChange('add', o))
    informer.on('update', (o) => onChange('update', o))
    informer.on('delete', (o) => onChange('delete', o))

    let retryMs = 200
    const restartLater = () => {
      if (signal.aborted) return
      setTimeout(() => {
        if (!signal.aborted) informer.start().catch(restartLater)
      }, retryMs).unref()
      retryMs = Math.min(retryMs * 2, 5000)
    }
    informer.on('connect', () => (retryMs = 200))
    // ListWatch stops on errors other than 410 Gone; come back with capped backoff.
    informer.on('error', restartLater)
    signal.addEventListener('abort', () => void informer.stop(), {once: true})
    await informer.start().catch(restartLater)
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
   * Open a container's log as a byte stream (GET pods/NAME/log). The caller reads the body: a dropped connection surfaces as a stream error (so it can
   * resume), and a refusal (400 "waiting to start", 404 pod gone) comes back with the API's
   * message instead of being thrown. Network failures throw a ClusterError.
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
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = send(url, {...requestOptions, signal}, resolve)
      request.once('error', reject)
      request.end()
    }).catch((error: unknown) => {
      throw signal.aborted ? (signal.reason ?? error) : apiError(`read the log of ${pod}/${options.container}`, error)
    })
    if (response.statusCode === 200) return {ok: true, body: response}
    const chunks: Buffer[] = []
    for await (const chunk of response) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let message = text.trim()
    try {
      message = (JSON.parse(text) as {message?: string}).message ?? message
    } catch {
      // Not a Status object: keep the text as it came.
    }
    return {ok: false, status: response.statusCode ?? 0, message}
  }
}

export {ApiException}
