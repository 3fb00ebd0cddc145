/**
 * Faults a test injects into the API: matching requests are answered with a failure (with the
 * body and headers kube-apiserver or its front ends send), slowly, or — for watches — with a
 * connection that opens and then goes silent (no events, no bookmarks, no end), like a
 * half-open TCP connection. Checked after authentication, before authorization, where
 * kube-apiserver's priority-and-fairness filter answers 429.
 */
import type {ServerResponse} from 'node:http'

import type {UserInfo} from './authentication.js'
import {ApiError, internalError, type StatusDetails} from './errors.js'
import {forbiddenError, forbiddenFor} from './rbac.js'
import {resourceOf, type RequestInfo} from './request-info.js'

/** Which requests a fault applies to; every field given must match. */
export interface RequestMatch {
  /** As RBAC names them: get, list, watch, create, update, patch, delete, deletecollection. */
  verb?: string | string[]
  /** `pods`, `pods/log`, `deployments`. */
  resource?: string
  /** API group ('' for core); any group when absent. */
  group?: string
  namespace?: string
  name?: string
  /** The authenticated user's name (`system:admin` for the k3d kubeconfig). */
  user?: string
}

export type FaultStatusCode = 401 | 403 | 404 | 429 | 500 | 503 | 504

export type ApiFault = {
  match?: RequestMatch
  /** Applies to this many matching requests, then is gone; every one until cleared when absent. */
  times?: number
} & (
  | {kind: 'status'; code: FaultStatusCode; retryAfterSeconds?: number; message?: string}
  /** Wall-clock milliseconds before the request is handled (faults after this one still apply). */
  | {kind: 'slow'; delayMs: number}
  | {kind: 'silent-watch'}
)

/** What to do with a request: answer it with a fault, hang it, or handle it (after a delay). */
export type FaultOutcome = {respond: (response: ServerResponse) => void} | {delayMs: number}

function matches(match: RequestMatch | undefined, info: RequestInfo, user: UserInfo): boolean {
  if (!match) return true
  const verbs = match.verb === undefined ? undefined : Array.isArray(match.verb) ? match.verb : [match.verb]
  return (
    (verbs === undefined || verbs.includes(info.verb)) &&
    (match.resource === undefined || match.resource === resourceOf(info)) &&
    (match.group === undefined || match.group === info.apiGroup) &&
    (match.namespace === undefined || match.namespace === info.namespace) &&
    (match.name === undefined || match.name === info.name) &&
    (match.user === undefined || match.user === user.username)
  )
}

function sendStatus(response: ServerResponse, error: ApiError, retryAfterSeconds: number | undefined): void {
  const body = error.toStatus()
  if (retryAfterSeconds !== undefined) body.details = {...body.details, retryAfterSeconds} satisfies StatusDetails
  const text = JSON.stringify(body)
  response.writeHead(error.code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
    ...(retryAfterSeconds !== undefined ? {'Retry-After': String(retryAfterSeconds)} : {}),
  })
  response.end(text)
}

function statusError(fault: Extract<ApiFault, {kind: 'status'}>, info: RequestInfo, user: UserInfo): ApiError {
  switch (fault.code) {
    case 401:
      return new ApiError(401, 'Unauthorized', fault.message ?? 'Unauthorized')
    case 403:
      return fault.message ? forbiddenFor(info, fault.message) : forbiddenError(user, info, '')
    case 404: {
      const qualified = info.apiGroup ? `${info.resource}.${info.apiGroup}` : info.resource
      if (fault.message) return new ApiError(404, 'NotFound', fault.message)
      // What a write into a namespace that does not exist gets.
      if (info.namespace && info.resource !== 'namespaces') return new ApiError(404, 'NotFound', `namespaces ${JSON.stringify(info.namespace)} not found`, {name: info.namespace, kind: 'namespaces'})
      if (info.name)
        return new ApiError(404, 'NotFound', `${qualified} ${JSON.stringify(info.name)} not found`, {name: info.name, ...(info.apiGroup ? {group: info.apiGroup} : {}), kind: info.resource})
      return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {})
    }
    case 500:
      return internalError(fault.message ?? 'etcdserver: leader changed')
    case 503:
      return new ApiError(503, 'ServiceUnavailable', fault.message ?? 'the server is currently unable to handle the request')
    case 504:
      return new ApiError(504, 'Timeout', fault.message ?? 'Timeout: request did not complete within requested timeout - context deadline exceeded')
    case 429:
      throw new Error('429 is answered in plain text')
  }
}

function respondWith(fault: Extract<ApiFault, {kind: 'status'}>, info: RequestInfo, user: UserInfo): (response: ServerResponse) => void {
  if (fault.code === 429) {
    // kube-apiserver's max-in-flight and priority-and-fairness filters answer with http.Error, not a Status.
    return (response) => {
      const text = 'Too many requests, please try again later.\n'
      response.writeHead(429, {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        'Retry-After': String(fault.retryAfterSeconds ?? 1),
        'Content-Length': Buffer.byteLength(text),
      })
      response.end(text)
    }
  }
  const error = statusError(fault, info, user)
  return (response) => sendStatus(response, error, fault.retryAfterSeconds)
}

function silentWatch(response: ServerResponse): void {
  response.writeHead(200, {'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked'})
  response.flushHeaders()
}

export class ApiFaults {
  private faults: ApiFault[] = []

  inject(fault: ApiFault): void {
    if (fault.kind === 'status' && ![401, 403, 404, 429, 500, 503, 504].includes(fault.code)) throw new Error(`unsupported fault status ${fault.code}`)
    this.faults.push({...fault})
  }

  clear(): void {
    this.faults = []
  }

  /** The faults this request meets, in the order they were injected; consumes their `times`. */
  outcomes(info: RequestInfo, user: UserInfo): FaultOutcome[] {
    const outcomes: FaultOutcome[] = []
    for (const fault of [...this.faults]) {
      if (!matches(fault.match, info, user)) continue
      if (fault.kind === 'silent-watch' && info.verb !== 'watch') continue
      if (fault.times !== undefined && --fault.times <= 0) this.faults = this.faults.filter((f) => f !== fault)
      if (fault.kind === 'slow') outcomes.push({delayMs: fault.delayMs})
      else {
        outcomes.push({respond: fault.kind === 'silent-watch' ? silentWatch : respondWith(fault, info, user)})
        break
      }
    }
    return outcomes
  }
}
