/**
 * The HTTP front of one simulated cluster: kube-apiserver's REST paths, content negotiation
 * (JSON, YAML bodies, Tables), and the Status errors clients parse.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {parse as parseYaml} from 'yaml'

import type {AccessControl, Admitted} from './access.js'
import type {ClusterApi, DeleteOptions, PatchType} from './api.js'
import type {KubeObject} from './contract.js'
import {aggregatedContentType, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, openApiV3Document, openApiV3Index, serverVersion, wantsAggregated} from './discovery.js'
import {ApiError, badRequest, bodyMediaTypes, internalError, methodNotAllowed, notAcceptable, notFound, patchMediaTypes, resourceNotFound, unsupportedMediaType} from './errors.js'
import {isJsonObject, type JsonObject} from './json.js'
import {instanceFor, resolveContainer, streamLog, type LogQuery, type LogStore} from './logs.js'
import {decodeProtobuf, protobufContentType} from './protobuf.js'
import {apiVersionOf, type ResourceRegistry, type ResourceType} from './resources.js'
import {checkFieldSelector, parseFieldSelector, parseLabelSelector, selectorFromSpec, formatLabelSelector, type LabelSelectorSpec} from './selectors.js'
import {compareStrings, objectKey, type ObjectStore} from './store.js'
import {partialMetadata, toTable, wantsMetadata, wantsTable, type IncludeObject} from './tables.js'
import type {Pod} from './types.js'
import type {WatchHub} from './watch.js'

export interface ServerContext {
  api: ClusterApi
  access: AccessControl
  registry: ResourceRegistry
  store: ObjectStore
  watches: WatchHub
  logs: LogStore
  gitVersion: string
  serverAddress: () => string
}

interface ResourceRequest {
  type: ResourceType
  namespace?: string
  name?: string
  subresource?: string
}

const jobDeletionWarning = '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"'

function sendJson(response: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body)
  response.writeHead(code, {'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private'})
  response.end(text)
}

function sendText(response: ServerResponse, code: number, text: string): void {
  response.writeHead(code, {'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(text)})
  response.end(text)
}

function sendError(response: ServerResponse, error: unknown): void {
  const apiError = error instanceof ApiError ? error : internalError(error)
  if (response.headersSent) {
    response.destroy()
    return
  }
  sendJson(response, apiError.code, apiError.toStatus())
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function mediaType(header: string | undefined): string {
  return (header ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? ''
}

function decodeBody(raw: Buffer, contentType: string): unknown {
  if (contentType === protobufContentType) return raw.length === 0 ? undefined : decodeProtobuf(raw)
  if (raw.length > 0 && !contentType.includes('json') && !contentType.includes('yaml')) throw unsupportedMediaType(contentType, bodyMediaTypes)
  const text = raw.toString('utf8')
  if (text.trim() === '') return undefined
  try {
    if (contentType === 'application/yaml' || contentType === 'application/apply-patch+yaml') return parseYaml(text) as unknown
    return JSON.parse(text) as unknown
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    throw badRequest(`couldn't get version/kind; json parse error: ${detail}`)
  }
}

function patchTypeOf(contentType: string): PatchType {
  switch (contentType) {
    case 'application/json-patch+json':
      return 'json'
    case 'application/merge-patch+json':
      return 'merge'
    case 'application/strategic-merge-patch+json':
      return 'strategic'
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply'
    default:
      throw unsupportedMediaType(contentType, patchMediaTypes)
  }
}

/** JSON is all this server speaks; a client that accepts nothing else (protobuf only) gets 406. */
function checkAcceptable(accept: string | undefined): void {
  if (!accept) return
  const ok = accept.split(',').some((part) => {
    const type = part.split(';')[0]?.trim() ?? ''
    return type === 'application/json' || type === '*/*' || type === 'application/*' || type === 'application/yaml'
  })
  if (!ok) throw notAcceptable(accept)
}

function integerParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name)
  if (value === null || value === '') return undefined
  const parsed = Number(value)
  if (!Number.isInteger(parsed)) throw badRequest(`invalid value for ${name}: ${value}`)
  return parsed
}

function booleanParam(query: URLSearchParams, name: string): boolean {
  const value = query.get(name)
  return value === 'true' || value === '1'
}

/** Field manager for non-apply writes: the explicit one, else the user agent's program name. */
function fieldManagerOf(request: IncomingMessage, query: URLSearchParams): string {
  const explicit = query.get('fieldManager')
  if (explicit) return explicit
  const agent = request.headers['user-agent'] ?? ''
  return agent.split('/')[0]?.slice(0, 128) || 'unknown'
}

interface ContinueToken {
  rv: number
  after: string
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({v: 'meta.k8s.io/v1', rv: token.rv, start: token.after})).toString('base64url')
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as {rv?: number; start?: string}
    if (typeof parsed.rv === 'number' && typeof parsed.start === 'string') return {rv: parsed.rv, after: parsed.start}
  } catch {
    // fall through to the real error below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
}

export function createRequestHandler(context: ServerContext): (request: IncomingMessage, response: ServerResponse) => void {
  const {api, access, registry, store, watches, logs} = context

  function parseResourcePath(segments: string[]): ResourceRequest | undefined {
    let group: string
    let version: string
    let rest: string[]
    if (segments[0] === 'api' && segments.length >= 3) {
      group = ''
      version = segments[1] ?? ''
      rest = segments.slice(2)
    } else if (segments[0] === 'apis' && segments.length >= 4) {
      group = segments[1] ?? ''
      version = segments[2] ?? ''
      rest = segments.slice(3)
    } else {
      return undefined
    }
    let namespace: string | undefined
    if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && (rest[2] === 'status' || rest[2] === 'finalize') && rest.length === 3)) {
      namespace = rest[1]
      rest = rest.slice(2)
    }
    const [resource, name, subresource, ...extra] = rest
    if (!resource || extra.length > 0) throw resourceNotFound()
    const type = registry.byResource(group, version, resource)
    if (!type) throw resourceNotFound()
    if (namespace !== undefined && !type.namespaced) throw resourceNotFound()
    if (subresource !== undefined && !type.subresources.some((sub) => sub.name === subresource)) throw resourceNotFound()
    return {type, namespace, name, subresource}
  }

  function handleNonResource(path: string, request: IncomingMessage, response: ServerResponse): boolean {
    const accept = request.headers.accept
    if (path === '/version' || path === '/version/') {
      sendJson(response, 200, serverVersion(context.gitVersion))
    } else if (['/healthz', '/livez', '/readyz'].includes(path) || /^\/(healthz|livez|readyz)\//.test(path)) {
      sendText(response, 200, 'ok')
    } else if (path === '/api') {
      if (wantsAggregated(accept)) sendJson(response, 200, aggregatedDiscovery(registry, true), aggregatedContentType)
      else sendJson(response, 200, apiVersions(context.serverAddress()))
    } else if (path === '/apis') {
      if (wantsAggregated(accept)) sendJson(response, 200, aggregatedDiscovery(registry, false), aggregatedContentType)
      else sendJson(response, 200, apiGroupList(registry))
    } else if (path === '/openapi/v3') {
      sendJson(response, 200, openApiV3Index(registry))
    } else if (path.startsWith('/openapi/v3/')) {
      const parts = path.slice('/openapi/v3/'.length).split('/')
      const [group, version] = parts[0] === 'api' ? ['', parts[1] ?? ''] : [parts[1] ?? '', parts[2] ?? '']
      const document = openApiV3Document(registry, context.gitVersion, group, version)
      if (!document) return false
      sendJson(response, 200, document)
    } else {
      const segments = path.split('/').filter(Boolean)
      if (segments[0] === 'api' && segments.length === 2) {
        const list = apiResourceList(registry, '', segments[1] ?? '')
        if (!list) return false
        sendJson(response, 200, list)
      } else if (segments[0] === 'apis' && segments.length === 2) {
        const group = apiGroup(registry, segments[1] ?? '')
        if (!group) return false
        sendJson(response, 200, group)
      } else if (segments[0] === 'apis' && segments.length === 3) {
        const list = apiResourceList(registry, segments[1] ?? '', segments[2] ?? '')
        if (!list) return false
        sendJson(response, 200, list)
      } else {
        return false
      }
    }
    return true
  }

  /** Items of a typed list carry no apiVersion/kind; custom resources keep them. */
  function listItem(type: ResourceType, object: KubeObject): KubeObject {
    if (type.custom) return object
    const item: KubeObject = {...object}
    delete (item as Partial<KubeObject>).apiVersion
    delete (item as Partial<KubeObject>).kind
    return item
  }

  function respondObject(response: ServerResponse, request: IncomingMessage, query: URLSearchParams, type: ResourceType, object: KubeObject, code = 200): void {
    if (wantsMetadata(request.headers.accept, false)) {
      sendJson(response, code, partialMetadata(object))
    } else if (wantsTable(request.headers.accept)) {
      sendJson(response, code, toTable(type, [object], {resourceVersion: object.metadata.resourceVersion ?? '', include: includeObject(query), withColumns: true}))
    } else {
      sendJson(response, code, object)
    }
  }

  function includeObject(query: URLSearchParams): IncludeObject {
    const value = query.get('includeObject')
    return value === 'None' || value === 'Object' ? value : 'Metadata'
  }

  function list(request: IncomingMessage, response: ServerResponse, query: URLSearchParams, target: ResourceRequest): void {
    const {type, namespace} = target
    const revision = store.currentRevision()
    let items = api.list(type, namespace, {labelSelector: query.get('labelSelector'), fieldSelector: query.get('fieldSelector')})
    const continueText = query.get('continue')
    if (continueText) {
      const token = decodeContinue(continueText)
      items = items.filter((item) => compareStrings(objectKey(item.metadata.namespace, item.metadata.name), token.after) > 0)
    }
    const limit = integerParam(query, 'limit')
    let continueToken: string | undefined
    let remaining: number | undefined
    if (limit !== undefined && limit > 0 && items.length > limit) {
      remaining = items.length - limit
      items = items.slice(0, limit)
      const last = items.at(-1)
      if (last) continueToken = encodeContinue({rv: revision, after: objectKey(last.metadata.namespace, last.metadata.name)})
    }
    const listMetadata = {resourceVersion: String(revision), ...(continueToken ? {continue: continueToken, remainingItemCount: remaining} : {})}
    if (wantsTable(request.headers.accept)) {
      sendJson(response, 200, toTable(type, items, {resourceVersion: String(revision), continueToken, include: includeObject(query), withColumns: true}))
      return
    }
    if (wantsMetadata(request.headers.accept, true)) {
      sendJson(response, 200, {kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMetadata, items: items.map(partialMetadata)})
      return
    }
    sendJson(response, 200, {
      kind: `${type.kind}List`,
      apiVersion: apiVersionOf(type),
      metadata: listMetadata,
      items: items.map((item) => listItem(type, item)),
    })
  }

  function watch(request: IncomingMessage, response: ServerResponse, query: URLSearchParams, target: ResourceRequest): void {
    const labels = parseLabelSelector(query.get('labelSelector'))
    const fields = parseFieldSelector(query.get('fieldSelector'))
    checkFieldSelector(target.type.kind, fields)
    const asTable = wantsTable(request.headers.accept)
    const asMetadata = wantsMetadata(request.headers.accept, true)
    const include = includeObject(query)
    watches.serve(
      {
        type: target.type,
        namespace: target.namespace,
        labels,
        fields,
        resourceVersion: query.get('resourceVersion') ?? undefined,
        allowBookmarks: booleanParam(query, 'allowWatchBookmarks'),
        sendInitialEvents: booleanParam(query, 'sendInitialEvents'),
        timeoutSeconds: integerParam(query, 'timeoutSeconds'),
        render: (object, first) =>
          asTable ? toTable(target.type, [object], {resourceVersion: object.metadata.resourceVersion ?? '', include, withColumns: first}) : asMetadata ? partialMetadata(object) : object,
      },
      response,
    )
  }

  function scaleOf(object: KubeObject): JsonObject {
    const spec = (object.spec ?? {}) as {replicas?: number; selector?: LabelSelectorSpec}
    const status = (object.status ?? {}) as {replicas?: number}
    const selector = selectorFromSpec(spec.selector).length > 0 ? formatLabelSelector(spec.selector) : ''
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: object.metadata.name,
        namespace: object.metadata.namespace ?? null,
        uid: object.metadata.uid ?? null,
        resourceVersion: object.metadata.resourceVersion ?? null,
        creationTimestamp: object.metadata.creationTimestamp ?? null,
      },
      spec: {replicas: spec.replicas ?? 0},
      status: {replicas: status.replicas ?? 0, ...(selector ? {selector} : {})},
    }
  }

  async function handleResource(request: IncomingMessage, response: ServerResponse, query: URLSearchParams, target: ResourceRequest, admitted: Admitted): Promise<void> {
    const {type, namespace, name, subresource} = target
    const method = request.method ?? 'GET'
    const dryRun = query.getAll('dryRun').includes('All')
    if (name === undefined && method === 'POST' && access.isReview(type)) {
      sendJson(response, 201, access.review(type, decodeBody(await readBody(request), mediaType(request.headers['content-type'])), admitted.user))
      return
    }
    if (name === undefined) {
      if (method === 'GET') {
        checkAcceptable(request.headers.accept)
        if (booleanParam(query, 'watch')) watch(request, response, query, target)
        else list(request, response, query, target)
        return
      }
      if (method === 'POST' && type.verbs.includes('create')) {
        const body = decodeBody(await readBody(request), mediaType(request.headers['content-type']))
        const created = api.create(type, namespace, body, {fieldManager: fieldManagerOf(request, query), dryRun})
        respondObject(response, request, query, type, created, 201)
        return
      }
      if (method === 'DELETE' && type.verbs.includes('deletecollection')) {
        const options = deleteOptions(query, decodeBody(await readBody(request), mediaType(request.headers['content-type'])))
        const victims = api.list(type, namespace, {labelSelector: query.get('labelSelector'), fieldSelector: query.get('fieldSelector')})
        const deleted = victims.map((victim) => {
          const result = api.delete(type, victim.metadata.namespace, victim.metadata.name, options)
          return result.kind === 'object' ? result.object : victim
        })
        sendJson(response, 200, {
          kind: `${type.kind}List`,
          apiVersion: apiVersionOf(type),
          metadata: {resourceVersion: String(store.currentRevision())},
          items: deleted.map((item) => listItem(type, item)),
        })
        return
      }
      throw methodNotAllowed()
    }

    if (subresource === 'token') {
      if (method !== 'POST') throw methodNotAllowed()
      sendJson(response, 201, access.issueToken(namespace ?? '', name, decodeBody(await readBody(request), mediaType(request.headers['content-type']))))
      return
    }
    if (subresource === 'exec' || subresource === 'portforward') {
      // Served on the upgraded connection (streaming.ts); a plain request cannot carry the streams.
      throw badRequest('Upgrade request required')
    }
    if (subresource === 'log') {
      if (method !== 'GET') throw methodNotAllowed()
      await serveLog(response, query, api.get(type, namespace, name) as Pod)
      return
    }
    if (subresource === 'scale') {
      const current = api.get(type, namespace, name)
      if (method === 'GET') {
        sendJson(response, 200, scaleOf(current))
        return
      }
      const body = decodeBody(await readBody(request), mediaType(request.headers['content-type']))
      const scale = method === 'PATCH' ? api.previewPatch(scaleOf(current), patchTypeOf(mediaType(request.headers['content-type'])), body) : body
      const replicas = isJsonObject(scale) && isJsonObject(scale.spec) ? scale.spec.replicas : undefined
      if (typeof replicas !== 'number') throw badRequest('Scale.autoscaling "" is invalid: spec.replicas: Required value')
      const updated = api.patch(type, namespace, name, 'merge', {spec: {replicas}}, {fieldManager: fieldManagerOf(request, query), subresource: 'scale', dryRun})
      sendJson(response, 200, scaleOf(updated))
      return
    }
    if (subresource === 'eviction' || subresource === 'binding') {
      if (method !== 'POST') throw methodNotAllowed()
      const body = decodeBody(await readBody(request), mediaType(request.headers['content-type']))
      if (subresource === 'eviction') {
        api.delete(type, namespace, name, deleteOptions(new URLSearchParams(), isJsonObject(body) ? body.deleteOptions : undefined))
      } else {
        const target = isJsonObject(body) && isJsonObject(body.target) ? body.target.name : undefined
        api.bindPod(namespace ?? '', name, typeof target === 'string' ? target : '')
      }
      sendJson(response, 201, {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201})
      return
    }

    switch (method) {
      case 'GET':
        checkAcceptable(request.headers.accept)
        respondObject(response, request, query, type, api.get(type, namespace, name))
        return
      case 'PUT': {
        const body = decodeBody(await readBody(request), mediaType(request.headers['content-type']))
        const updated = api.update(type, namespace, name, body, {fieldManager: fieldManagerOf(request, query), subresource, dryRun})
        respondObject(response, request, query, type, updated)
        return
      }
      case 'PATCH': {
        const contentType = mediaType(request.headers['content-type'])
        const patchType = patchTypeOf(contentType)
        const body = decodeBody(await readBody(request), contentType)
        const existed = api.find(type, namespace, name) !== undefined
        if (!existed && patchType === 'apply') access.authorizeCreate(admitted)
        const manager = patchType === 'apply' ? (query.get('fieldManager') ?? undefined) : fieldManagerOf(request, query)
        const patched = api.patch(type, namespace, name, patchType, body, {fieldManager: manager, subresource, dryRun, force: booleanParam(query, 'force')})
        respondObject(response, request, query, type, patched, existed ? 200 : 201)
        return
      }
      case 'DELETE': {
        if (subresource) throw methodNotAllowed()
        const options = deleteOptions(query, decodeBody(await readBody(request), mediaType(request.headers['content-type'])))
        if (type.group === 'batch' && type.kind === 'Job' && options.propagationPolicy === undefined) response.setHeader('Warning', jobDeletionWarning)
        if (type.kind === 'Namespace' && type.group === '' && ['default', 'kube-system', 'kube-public'].includes(name)) {
          throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, {name, kind: 'namespaces'})
        }
        const result = api.delete(type, namespace, name, {...options, dryRun})
        if (result.kind === 'object') respondObject(response, request, query, type, result.object)
        else sendJson(response, 200, result.status)
        return
      }
      default:
        throw methodNotAllowed()
    }
  }

  async function serveLog(response: ServerResponse, query: URLSearchParams, pod: Pod): Promise<void> {
    const logQuery: LogQuery = {
      container: query.get('container') ?? undefined,
      follow: booleanParam(query, 'follow'),
      previous: booleanParam(query, 'previous'),
      timestamps: booleanParam(query, 'timestamps'),
      tailLines: integerParam(query, 'tailLines'),
      sinceSeconds: integerParam(query, 'sinceSeconds'),
      sinceTime: query.get('sinceTime') ?? undefined,
      limitBytes: integerParam(query, 'limitBytes'),
    }
    if (logQuery.sinceSeconds !== undefined && logQuery.sinceTime !== undefined) {
      throw new ApiError(422, 'Invalid', 'PodLogOptions "" is invalid: sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified')
    }
    const container = resolveContainer(pod, logQuery.container)
    if (!pod.spec.nodeName) {
      response.writeHead(200, {'Content-Type': 'text/plain', 'Content-Length': 0})
      response.end()
      return
    }
    const log = logs.instance(instanceFor(pod, container, logQuery.previous))
    if (!log) throw notFound({group: '', resource: 'pods'}, pod.metadata.name)
    logs.track(response)
    await streamLog(log, logQuery, response)
  }

  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname
    void (async () => {
      try {
        const admitted = await access.admit(request, response, path, url.searchParams)
        if (!admitted) return
        if (request.method === 'GET' && handleNonResource(path, request, response)) return
        const target = parseResourcePath(path.split('/').filter(Boolean))
        if (!target) {
          sendText(response, 404, '404 page not found\n')
          return
        }
        await handleResource(request, response, url.searchParams, target, admitted)
      } catch (error) {
        sendError(response, error)
      }
    })()
  }
}

function deleteOptions(query: URLSearchParams, body: unknown): DeleteOptions {
  const fromBody = isJsonObject(body) ? body : {}
  const policy = query.get('propagationPolicy') ?? (typeof fromBody.propagationPolicy === 'string' ? fromBody.propagationPolicy : undefined)
  const orphan = query.get('orphanDependents') ?? (typeof fromBody.orphanDependents === 'boolean' ? String(fromBody.orphanDependents) : undefined)
  const graceText = query.get('gracePeriodSeconds')
  const grace = graceText !== null ? Number(graceText) : typeof fromBody.gracePeriodSeconds === 'number' ? fromBody.gracePeriodSeconds : undefined
  const preconditions = isJsonObject(fromBody.preconditions) ? fromBody.preconditions : undefined
  if (policy !== undefined && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
    throw new ApiError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`)
  }
  return {
    propagationPolicy: policy ?? (orphan === 'true' ? 'Orphan' : orphan === 'false' ? 'Background' : undefined),
    gracePeriodSeconds: grace,
    preconditions: preconditions
      ? {uid: typeof preconditions.uid === 'string' ? preconditions.uid : undefined, resourceVersion: typeof preconditions.resourceVersion === 'string' ? preconditions.resourceVersion : undefined}
      : undefined,
    dryRun: Array.isArray(fromBody.dryRun) && fromBody.dryRun.includes('All'),
  }
}
