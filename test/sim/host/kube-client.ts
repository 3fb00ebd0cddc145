/**
 * The stand-in helm's way into a cluster: plain REST against the API server named in the
 * kubeconfig, with discovery for kind → resource mapping and list-then-watch for waiting,
 * like client-go. Failures carry the API's Status and client-go's wording for network errors.
 */
import type {KubeObject} from '../apiserver/contract.js'

export interface ObjectRef {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
}

interface StatusBody {
  kind: 'Status'
  message?: string
  reason?: string
  code: number
}

/** A request the API server answered with a failure Status. */
export class KubeApiError extends Error {
  constructor(readonly status: StatusBody) {
    super(status.message ?? `the server responded with status ${status.code}`)
  }

  get notFound(): boolean {
    return this.status.code === 404
  }

  get alreadyExists(): boolean {
    return this.status.reason === 'AlreadyExists'
  }
}

/** The API server could not be reached at all (client-go's url.Error text). */
export class UnreachableError extends Error {}

/** A kind the server does not serve (RESTMapper's NoKindMatchError). */
export class NoKindMatchError extends Error {
  constructor(
    readonly kind: string,
    readonly apiVersion: string,
  ) {
    super(`no matches for kind "${kind}" in version "${apiVersion}"`)
  }
}

interface ResourceInfo {
  resource: string
  namespaced: boolean
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  object: KubeObject
}

function goNetworkError(method: string, url: string, error: unknown): UnreachableError {
  const cause = (error as {cause?: NodeJS.ErrnoException}).cause
  const {host} = new URL(url)
  const reason = cause?.code === 'ECONNREFUSED' ? 'connect: connection refused' : cause?.code === 'ECONNRESET' ? 'read: connection reset by peer' : (cause?.message ?? String(error))
  return new UnreachableError(`${method === 'GET' ? 'Get' : method[0] + method.slice(1).toLowerCase()} "${url}": dial tcp ${host}: ${reason}`)
}

export class KubeClient {
  constructor(
    readonly server: string,
    private readonly token: string | undefined,
    private readonly signal: AbortSignal,
    /** Discovery results by group/version, shared by the clients of one command. */
    private readonly mapping = new Map<string, Promise<Map<string, ResourceInfo>>>(),
  ) {}

  /** The same cluster and credentials, with requests aborted by `signal`. */
  withSignal(signal: AbortSignal): KubeClient {
    return new KubeClient(this.server, this.token, signal, this.mapping)
  }

  private async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
    const url = `${this.server}${path}`
    const headers: Record<string, string> = {accept: 'application/json'}
    if (this.token) headers.authorization = `Bearer ${this.token}`
    if (body !== undefined) headers['content-type'] = contentType
    try {
      return await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: this.signal})
    } catch (error) {
      if (this.signal.aborted) throw this.signal.reason
      throw goNetworkError(method, url, error)
    }
  }

  private async call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const response = await this.request(method, path, body, contentType)
    const text = await response.text()
    const parsed = text ? (JSON.parse(text) as unknown) : {}
    if (!response.ok) throw new KubeApiError({kind: 'Status', code: response.status, ...(parsed as Partial<StatusBody>)})
    return parsed as T
  }

  /** helm's IsReachable: the server answers /version. */
  async version(): Promise<{gitVersion: string; major: string; minor: string}> {
    return this.call('GET', '/version')
  }

  private groupVersionPath(apiVersion: string): string {
    return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  }

  private resources(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    let known = this.mapping.get(apiVersion)
    if (!known) {
      known = this.call<{resources: Array<{name: string; kind: string; namespaced: boolean}>}>('GET', this.groupVersionPath(apiVersion)).then(
        (list) => new Map(list.resources.filter((r) => !r.name.includes('/')).map((r) => [r.kind, {resource: r.name, namespaced: r.namespaced}])),
        (error: unknown) => {
          if (error instanceof KubeApiError && error.notFound) return new Map<string, ResourceInfo>()
          throw error
        },
      )
      this.mapping.set(apiVersion, known)
    }
    return known
  }

  async resourceInfo(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const info = (await this.resources(apiVersion)).get(kind)
    if (!info) throw new NoKindMatchError(kind, apiVersion)
    return info
  }

  async isNamespaced(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resourceInfo(apiVersion, kind)).namespaced
  }

  private async collectionPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    const info = await this.resourceInfo(apiVersion, kind)
    const scope = info.namespaced && namespace ? `/namespaces/${namespace}` : ''
    return `${this.groupVersionPath(apiVersion)}${scope}/${info.resource}`
  }

  private async objectPath(ref: ObjectRef): Promise<string> {
    return `${await this.collectionPath(ref.apiVersion, ref.kind, ref.namespace)}/${encodeURIComponent(ref.name)}`
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await this.call<KubeObject>('GET', await this.objectPath(ref))
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return undefined
      throw error
    }
  }

  async create(object: KubeObject): Promise<KubeObject> {
    return this.call('POST', await this.collectionPath(object.apiVersion, object.kind, object.metadata.namespace), object)
  }

  /** A full replace (PUT); without a resourceVersion it is unconditional. */
  async replace(object: KubeObject): Promise<KubeObject> {
    return this.call('PUT', await this.objectPath({...object, name: object.metadata.name, namespace: object.metadata.namespace}), object)
  }

  /** A strategic-merge patch (what helm 3's three-way patches are sent as). */
  async patch(ref: KubeObject, patch: unknown): Promise<KubeObject> {
    return this.call('PATCH', await this.objectPath({...ref, name: ref.metadata.name, namespace: ref.metadata.namespace}), patch, 'application/strategic-merge-patch+json')
  }

  /** Server-side apply (helm 4): creates or updates the fields this manager owns. */
  async apply(object: KubeObject, fieldManager: string, force: boolean): Promise<KubeObject> {
    const path = await this.objectPath({...object, name: object.metadata.name, namespace: object.metadata.namespace})
    return this.call('PATCH', `${path}?${new URLSearchParams({fieldManager, force: String(force)})}`, object, 'application/apply-patch+yaml')
  }

  /** Deletes with background propagation; false when it was already gone. */
  async delete(ref: ObjectRef): Promise<boolean> {
    try {
      await this.call('DELETE', await this.objectPath(ref), {kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background'})
      return true
    } catch (error) {
      if (error instanceof KubeApiError && error.notFound) return false
      throw error
    }
  }

  async list(apiVersion: string, kind: string, namespace: string | undefined, query: {labelSelector?: string; fieldSelector?: string} = {}): Promise<{items: KubeObject[]; resourceVersion: string}> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined))
    const list = await this.call<{items: KubeObject[]; metadata: {resourceVersion: string}}>('GET', `${await this.collectionPath(apiVersion, kind, namespace)}?${params}`)
    return {items: list.items.map((item) => ({...item, apiVersion, kind})), resourceVersion: list.metadata.resourceVersion}
  }

  /**
   * The object's current state, then every change to it (client-go's UntilWithSync): lists,
   * watches from that resourceVersion, and lists again when the watch ends or expires (410).
   */
  async *watchObject(ref: ObjectRef): AsyncGenerator<WatchEvent> {
    const fieldSelector = `metadata.name=${ref.name}`
    for (;;) {
      const {items, resourceVersion} = await this.list(ref.apiVersion, ref.kind, ref.namespace, {fieldSelector})
      const current = items[0]
      if (current) yield {type: 'ADDED', object: current}
      const params = new URLSearchParams({fieldSelector, watch: 'true', resourceVersion, allowWatchBookmarks: 'true'})
      const response = await this.request('GET', `${await this.collectionPath(ref.apiVersion, ref.kind, ref.namespace)}?${params}`)
      if (!response.ok || !response.body) {
        await response.body?.cancel()
        continue
      }
      const decoder = new TextDecoder()
      let buffered = ''
      try {
        stream: for await (const chunk of response.body) {
          buffered += decoder.decode(chunk as Uint8Array, {stream: true})
          let newline: number
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline)
            buffered = buffered.slice(newline + 1)
            if (!line.trim()) continue
            const event = JSON.parse(line) as {type: string; object: KubeObject}
            if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') yield event as WatchEvent
            else if (event.type === 'ERROR') break stream
          }
        }
      } catch (error) {
        if (this.signal.aborted) throw this.signal.reason
        // The connection dropped: list and watch again, as a reflector would.
      }
    }
  }
}
