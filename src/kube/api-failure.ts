/**
 * What devctl does when a Kubernetes API call fails, decided here as pure functions (no
 * client-node import, so workflows can use them without loading the client):
 * - 401, 403 and 404 are final: retrying cannot help. They are explained at once — which verb
 *   on which resource in which namespace was refused, for which user, and the Role rule that
 *   would allow it — as an ApiRefusedError (a ClusterError, exit 5).
 * - 429, 5xx, a dropped connection and a watch gone silent are transient: retried with growing
 *   backoff, never sooner than the server's Retry-After, and reported (`retryNote`) so a step
 *   can show "API busy, retrying in 4 s" instead of hanging silently.
 */
import {ClusterError, type DevctlErrorOptions} from '../errors.js'

/** One API call, as devctl made it: enough to say what was refused and what would allow it. */
export interface ApiRequest {
  /** The Kubernetes verb: get, list, watch, create, patch, delete. */
  verb: string
  /** Plural resource, with a subresource after a slash: `pods`, `pods/log`. */
  resource: string
  /** API group, '' for the core group. */
  group: string
  namespace?: string
  name?: string
  /** Extra verbs devctl's operation needs on the same resource (a watch lists first; apply may create). */
  alsoNeeds?: string[]
}

/** A failed call, however the client reported it. */
export interface ApiFailure {
  /** HTTP status; absent for network errors. */
  status?: number
  /** The Status message, the response text, or the network error's message (control characters removed). */
  message: string
  /** Node's error code for network errors (ECONNRESET, ECONNREFUSED). */
  code?: string
  retryAfterMs?: number
  /** The watch connection stayed open but silent past its deadline. */
  silent?: boolean
}

export type FailureClass = 'final' | 'transient' | 'unreachable' | 'other'

const FINAL_STATUSES = new Set([401, 403, 404])
const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504])
const TRANSIENT_NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET'])

export function classify(failure: ApiFailure): FailureClass {
  if (failure.silent) return 'transient'
  if (failure.status !== undefined) {
    if (FINAL_STATUSES.has(failure.status)) return 'final'
    if (TRANSIENT_STATUSES.has(failure.status)) return 'transient'
    return 'other'
  }
  if (failure.code === 'ECONNREFUSED') return 'unreachable'
  if ((failure.code && TRANSIENT_NETWORK_CODES.has(failure.code)) || /socket hang up|ECONNRESET/.test(failure.message)) return 'transient'
  return 'other'
}

export interface RetryPolicy {
  /** The first wait; each further one doubles, up to `maxMs`. */
  initialMs: number
  maxMs: number
  /** How many times a single call is tried in all (watches retry until stopped). */
  attempts: number
}

export const DEFAULT_RETRY: RetryPolicy = {initialMs: 500, maxMs: 30_000, attempts: 6}

/** The wait before retry number `attempt` (0-based): doubling, capped, and never shorter than Retry-After. */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, policy: RetryPolicy = DEFAULT_RETRY): number {
  const backoff = Math.min(policy.maxMs, policy.initialMs * 2 ** attempt)
  return Math.min(policy.maxMs, Math.max(backoff, retryAfterMs ?? 0))
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Text from the cluster is untrusted: no control characters (escape sequences) reach a terminal. */
export function printable(text: string): string {
  return text.replaceAll(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').trim()
}

/** The failure an HTTP answer describes: its Status message (or text) and Retry-After. */
export function failureFromResponse(status: number, body: unknown, retryAfter: string | undefined): ApiFailure {
  let message = typeof body === 'string' ? body : ''
  const parsed = typeof body === 'string' ? parseJson(body) : body
  if (parsed && typeof parsed === 'object' && typeof (parsed as {message?: unknown}).message === 'string') message = (parsed as {message: string}).message
  const statusText = STATUS_TEXT[status]
  return {status, message: printable(message) || statusText || `HTTP ${status}`, retryAfterMs: parseRetryAfter(retryAfter)}
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** How a request reads in a sentence: `list pods in namespace "demo"`, `get namespaces "demo"`. */
export function describeRequest(request: ApiRequest): string {
  const resource = request.group ? `${request.resource}.${request.group}` : request.resource
  const name = request.name ? ` ${JSON.stringify(request.name)}` : ''
  const where = request.namespace ? ` in namespace ${JSON.stringify(request.namespace)}` : ''
  return `${request.verb} ${resource}${name}${where}`
}

/** One line for a failure: `429 Too Many Requests`, `503 Service Unavailable: etcd leader changed`, `connection reset`. */
export function describeFailure(failure: ApiFailure): string {
  if (failure.silent) return failure.message
  if (failure.status === undefined) return failure.code === 'ECONNRESET' ? 'connection reset' : failure.message
  const text = STATUS_TEXT[failure.status]
  const head = text ? `${failure.status} ${text}` : `HTTP ${failure.status}`
  return failure.message && failure.message !== text ? `${head}: ${failure.message}` : head
}

export interface RetryNotice {
  request: ApiRequest
  failure: ApiFailure
  /** 1 for the first retry. */
  attempt: number
  delayMs: number
}

export type RetryListener = (notice: RetryNotice) => void

/** The note a step shows while a call waits to be retried. */
export function retryNote(notice: RetryNotice): string {
  const seconds = Math.max(1, Math.round(notice.delayMs / 1000))
  const what = notice.failure.status === 429 || (notice.failure.status ?? 0) >= 500 ? 'API busy' : 'API connection lost'
  const reason = notice.failure.status !== undefined ? `${notice.failure.status} ${STATUS_TEXT[notice.failure.status] ?? ''}`.trim() : describeFailure(notice.failure)
  return `${what}, retrying in ${seconds} s (${describeRequest(notice.request)}: ${reason})`
}

/** What kube-apiserver's Forbidden message says was refused. */
export interface Refusal {
  user: string
  verb: string
  resource: string
  group: string
  /** Absent for a cluster-scoped request. */
  namespace?: string
}

const FORBIDDEN = /User "((?:[^"\\]|\\.)*)" cannot ([\w*]+) resource "([^"]+)" in API group "([^"]*)" (?:in the namespace "([^"]+)"|at the cluster scope)/

export function parseRefusal(message: string): Refusal | undefined {
  const match = FORBIDDEN.exec(message)
  if (!match) return undefined
  const [, user = '', verb = '', resource = '', group = '', namespace] = match
  return {user: user.replaceAll(/\\(.)/g, '$1'), verb, resource, group, ...(namespace ? {namespace} : {})}
}

/** A call the API refused for good (401, 403, 404): retrying cannot help. Exit code 5. */
export class ApiRefusedError extends ClusterError {
  constructor(
    message: string,
    readonly status: 401 | 403 | 404,
    readonly request: ApiRequest,
    options: DevctlErrorOptions = {},
  ) {
    super(message, options)
  }
}

/** Where the credentials came from, for the 401 explanation. */
export interface Credentials {
  context: string
  user?: string
}

function quotedList(values: string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(', ')}]`
}

/** The RBAC rule that would allow what was refused, as YAML lines. */
export function ruleLines(refusal: Refusal, request: ApiRequest): string[] {
  const verbs = [refusal.verb, ...(request.alsoNeeds ?? []).filter((v) => v !== refusal.verb && refusal.resource === request.resource)]
  return [`- apiGroups: ${quotedList([refusal.group])}`, `  resources: ${quotedList([refusal.resource])}`, `  verbs: ${quotedList(verbs)}`]
}

function explainForbidden(request: ApiRequest, failure: ApiFailure): ApiRefusedError {
  const refusal = parseRefusal(failure.message) ?? {user: '', verb: request.verb, resource: request.resource, group: request.group, ...(request.namespace ? {namespace: request.namespace} : {})}
  const resource = refusal.group ? `${refusal.resource}.${refusal.group}` : refusal.resource
  const who = refusal.user ? `user ${JSON.stringify(refusal.user)}` : 'your user'
  const where = refusal.namespace ? `in namespace ${JSON.stringify(refusal.namespace)}` : 'cluster-wide'
  const canI = `kubectl auth can-i ${refusal.verb} ${resource}${refusal.namespace ? ` -n ${refusal.namespace}` : ''}`
  const details = [
    `The API said: ${failure.message}`,
    refusal.namespace
      ? `A Role in namespace ${JSON.stringify(refusal.namespace)} with this rule, bound to ${who} by a RoleBinding, would allow it:`
      : `A ClusterRole with this rule, bound to ${who} by a ClusterRoleBinding, would allow it:`,
    ...ruleLines(refusal, request).map((line) => `  ${line}`),
  ]
  const hint = refusal.namespace
    ? `Ask a cluster admin for that rule, or use a context whose user has it (\`${canI}\` checks).`
    : `An account limited to its namespace cannot have this; ask a cluster admin, or use a context whose user has it (\`${canI}\` checks).`
  return new ApiRefusedError(`Forbidden: ${who} may not ${refusal.verb} ${resource} ${where}.`, 403, request, {details, hint})
}

/** The ClusterError for a call that failed for good, or ran out of retries. */
export function explainFailure(request: ApiRequest, failure: ApiFailure, credentials: Credentials, cause?: unknown): ClusterError {
  const what = describeRequest(request)
  switch (failure.status) {
    case 401:
      return new ApiRefusedError(
        `Unauthorized: the Kubernetes API did not accept the credentials of context ${JSON.stringify(credentials.context)}${credentials.user ? ` (user ${JSON.stringify(credentials.user)})` : ''} to ${what}.`,
        401,
        request,
        {
          cause,
          hint: 'They have expired or been revoked: log in again or refresh the kubeconfig, then retry (for a k3d cluster, `devctl up` fetches its kubeconfig anew).',
        },
      )
    case 403:
      return explainForbidden(request, failure)
    case 404: {
      const missingNamespace = /^namespaces "([^"]+)" not found$/.exec(failure.message)?.[1]
      return new ApiRefusedError(`Not found: could not ${what}: ${failure.message}.`, 404, request, {
        cause,
        hint: missingNamespace
          ? `Namespace ${JSON.stringify(missingNamespace)} does not exist: create it (or ask a cluster admin to), or check the namespace in devctl.yaml.`
          : failure.message === 'the server could not find the requested resource'
            ? `This cluster does not serve ${request.resource}${request.group ? `.${request.group}` : ''}; check its Kubernetes version.`
            : undefined,
      })
    }
  }
  const kind = classify(failure)
  return new ClusterError(`Kubernetes API: could not ${what}: ${describeFailure(failure)}`, {
    cause,
    hint:
      kind === 'unreachable'
        ? 'The cluster is not answering; is it running? (`devctl status`, or `devctl up` to start it)'
        : kind === 'transient'
          ? 'The API server stayed busy or kept dropping the connection through every retry; try again in a minute.'
          : undefined,
  })
}

/** A read a namespace-scoped account may be refused (nodes, namespaces): the answer, or "not permitted". */
export type Permitted<T> = {permitted: true; value: T} | {permitted: false; refusal: ApiRefusedError}

export async function ifPermitted<T>(read: Promise<T>): Promise<Permitted<T>> {
  try {
    return {permitted: true, value: await read}
  } catch (error) {
    if (error instanceof ApiRefusedError && error.status === 403) return {permitted: false, refusal: error}
    throw error
  }
}
