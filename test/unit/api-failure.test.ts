/** The decisions on failed Kubernetes API calls: which are final, how long to wait, what to say. */
import {describe, expect, it} from 'vitest'

import {ClusterError} from '../../src/errors.js'
import {
  ApiRefusedError,
  classify,
  explainFailure,
  failureFromResponse,
  ifPermitted,
  parseRefusal,
  parseRetryAfter,
  retryDelay,
  retryNote,
  type ApiFailure,
  type ApiRequest,
} from '../../src/kube/api-failure.js'

const listPods: ApiRequest = {verb: 'list', resource: 'pods', group: '', namespace: 'other', alsoNeeds: ['watch']}
const credentials = {context: 'ann@shared', user: 'ann@shared'}

describe('classify', () => {
  it.each<[string, ApiFailure, string]>([
    ['401 Unauthorized', {status: 401, message: 'Unauthorized'}, 'final'],
    ['403 Forbidden', {status: 403, message: 'pods is forbidden'}, 'final'],
    ['404 Not Found', {status: 404, message: 'namespaces "x" not found'}, 'final'],
    ['429 Too Many Requests', {status: 429, message: 'Too many requests'}, 'transient'],
    ['500 Internal Server Error', {status: 500, message: 'etcdserver: leader changed'}, 'transient'],
    ['502 Bad Gateway', {status: 502, message: ''}, 'transient'],
    ['503 Service Unavailable', {status: 503, message: ''}, 'transient'],
    ['504 Gateway Timeout', {status: 504, message: ''}, 'transient'],
    ['409 Conflict', {status: 409, message: 'conflict'}, 'other'],
    ['422 Invalid', {status: 422, message: 'is invalid'}, 'other'],
    ['connection reset', {code: 'ECONNRESET', message: 'read ECONNRESET'}, 'transient'],
    ['socket hang up', {message: 'socket hang up'}, 'transient'],
    ['a watch gone silent', {silent: true, message: 'no word from the watch for 90 s'}, 'transient'],
    ['connection refused', {code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:6443'}, 'unreachable'],
    ['anything else', {message: 'unexpected token'}, 'other'],
  ])('%s is %s', (_, failure, expected) => {
    expect(classify(failure)).toBe(expected)
  })
})

describe('retryDelay', () => {
  const policy = {initialMs: 500, maxMs: 30_000, attempts: 6}

  it('doubles from the first wait up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelay(attempt, undefined, policy))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
  })

  it('never retries sooner than Retry-After, and still grows past it', () => {
    expect(retryDelay(0, 4000, policy)).toBe(4000)
    expect(retryDelay(3, 1000, policy)).toBe(4000)
    expect(retryDelay(4, 1000, policy)).toBe(8000)
  })

  it('caps a Retry-After longer than the policy allows', () => {
    expect(retryDelay(0, 120_000, policy)).toBe(30_000)
  })
})

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores what it cannot read', () => {
    expect(parseRetryAfter('4')).toBe(4000)
    expect(parseRetryAfter(' 0 ')).toBe(0)
    const now = Date.parse('2025-06-01T12:00:00Z')
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:00:03 GMT', now)).toBe(3000)
    expect(parseRetryAfter('Sun, 01 Jun 2025 11:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter(undefined)).toBeUndefined()
    expect(parseRetryAfter('soon')).toBeUndefined()
  })
})

describe('failureFromResponse', () => {
  it('takes the Status message, or the text of a plain answer, and Retry-After', () => {
    expect(failureFromResponse(403, JSON.stringify({kind: 'Status', message: 'pods is forbidden: User "ann" cannot list resource "pods"'}), undefined)).toEqual({
      status: 403,
      message: 'pods is forbidden: User "ann" cannot list resource "pods"',
      retryAfterMs: undefined,
    })
    expect(failureFromResponse(429, 'Too many requests, please try again later.\n', '2')).toEqual({status: 429, message: 'Too many requests, please try again later.', retryAfterMs: 2000})
    expect(failureFromResponse(503, '', undefined).message).toBe('Service Unavailable')
  })

  it('drops control characters from what the cluster says', () => {
    expect(failureFromResponse(500, JSON.stringify({message: 'bad \u001b[31mred\u001b[0m \u0007news'}), undefined).message).toBe('bad [31mred[0m news')
  })
})

describe('parseRefusal', () => {
  it('reads who was refused what, where, from the Forbidden message', () => {
    expect(parseRefusal('pods is forbidden: User "ann" cannot list resource "pods" in API group "" in the namespace "other"')).toEqual({
      user: 'ann',
      verb: 'list',
      resource: 'pods',
      group: '',
      namespace: 'other',
    })
    expect(parseRefusal('nodes is forbidden: User "system:serviceaccount:team:ci" cannot list resource "nodes" in API group "" at the cluster scope')).toEqual({
      user: 'system:serviceaccount:team:ci',
      verb: 'list',
      resource: 'nodes',
      group: '',
    })
    expect(parseRefusal('pods "web" is forbidden: User "ann" cannot get resource "pods/log" in API group "" in the namespace "demo"')).toMatchObject({verb: 'get', resource: 'pods/log'})
    expect(parseRefusal('statefulsets.apps is forbidden: User "a \\"quoted\\" name" cannot create resource "statefulsets" in API group "apps" in the namespace "x"')).toMatchObject({
      user: 'a "quoted" name',
      group: 'apps',
    })
    expect(parseRefusal('namespaces "demo" is forbidden: ')).toBeUndefined()
  })
})

describe('explainFailure', () => {
  it('explains a 403 in a namespace: who, what, where, the Role rule that allows it, how to check', () => {
    const error = explainFailure(listPods, {status: 403, message: 'pods is forbidden: User "ann" cannot list resource "pods" in API group "" in the namespace "other"'}, credentials)
    expect(error).toBeInstanceOf(ApiRefusedError)
    expect(error.exitCode).toBe(5)
    expect(error.message).toBe('Forbidden: user "ann" may not list pods in namespace "other".')
    expect(error.details).toEqual([
      'The API said: pods is forbidden: User "ann" cannot list resource "pods" in API group "" in the namespace "other"',
      'A Role in namespace "other" with this rule, bound to user "ann" by a RoleBinding, would allow it:',
      '  - apiGroups: [""]',
      '    resources: ["pods"]',
      '    verbs: ["list", "watch"]',
    ])
    expect(error.hint).toBe('Ask a cluster admin for that rule, or use a context whose user has it (`kubectl auth can-i list pods -n other` checks).')
  })

  it('explains a cluster-scoped 403 as something a namespace-only account cannot have', () => {
    const error = explainFailure(
      {verb: 'list', resource: 'nodes', group: ''},
      {status: 403, message: 'nodes is forbidden: User "ann" cannot list resource "nodes" in API group "" at the cluster scope'},
      credentials,
    )
    expect(error.message).toBe('Forbidden: user "ann" may not list nodes cluster-wide.')
    expect(error.details[1]).toBe('A ClusterRole with this rule, bound to user "ann" by a ClusterRoleBinding, would allow it:')
    expect(error.hint).toMatch(/^An account limited to its namespace cannot have this; .*`kubectl auth can-i list nodes` checks/)
  })

  it('explains a 403 without the usual message from the request itself', () => {
    const request: ApiRequest = {verb: 'patch', resource: 'namespaces', group: '', name: 'demo', alsoNeeds: ['create']}
    const error = explainFailure(request, {status: 403, message: 'namespaces "demo" is forbidden:'}, credentials)
    expect(error.message).toBe('Forbidden: your user may not patch namespaces cluster-wide.')
    expect(error.details.slice(-1)).toEqual(['    verbs: ["patch", "create"]'])
  })

  it('explains a 401 with the context whose credentials failed', () => {
    const error = explainFailure(listPods, {status: 401, message: 'Unauthorized'}, credentials)
    expect(error).toBeInstanceOf(ApiRefusedError)
    expect(error.message).toBe('Unauthorized: the Kubernetes API did not accept the credentials of context "ann@shared" (user "ann@shared") to list pods in namespace "other".')
    expect(error.hint).toMatch(/expired or been revoked/)
  })

  it('explains a 404 for a namespace that does not exist', () => {
    const error = explainFailure({verb: 'patch', resource: 'secrets', group: '', namespace: 'gone', name: 'db'}, {status: 404, message: 'namespaces "gone" not found'}, credentials)
    expect(error.message).toBe('Not found: could not patch secrets "db" in namespace "gone": namespaces "gone" not found.')
    expect(error.hint).toMatch(/^Namespace "gone" does not exist/)
  })

  it('reports a transient failure that outlasted its retries, and an unreachable cluster, as cluster errors', () => {
    const busy = explainFailure(listPods, {status: 503, message: 'the server is currently unable to handle the request'}, credentials)
    expect(busy).not.toBeInstanceOf(ApiRefusedError)
    expect(busy).toBeInstanceOf(ClusterError)
    expect(busy.message).toBe('Kubernetes API: could not list pods in namespace "other": 503 Service Unavailable: the server is currently unable to handle the request')
    expect(explainFailure(listPods, {code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:6443'}, credentials).hint).toMatch(/not answering; is it running/)
  })
})

describe('retryNote', () => {
  it('says the API is busy, for how long devctl waits, and which call', () => {
    expect(retryNote({request: listPods, failure: {status: 429, message: 'Too many requests'}, attempt: 3, delayMs: 4000})).toBe(
      'API busy, retrying in 4 s (list pods in namespace "other": 429 Too Many Requests)',
    )
    expect(retryNote({request: {...listPods, verb: 'watch'}, failure: {silent: true, message: 'no word from the watch for 90 s'}, attempt: 1, delayMs: 500})).toBe(
      'API connection lost, retrying in 1 s (watch pods in namespace "other": no word from the watch for 90 s)',
    )
  })
})

describe('ifPermitted', () => {
  it('turns a 403 into "not permitted" and passes everything else through', async () => {
    const refused = explainFailure({verb: 'list', resource: 'nodes', group: ''}, {status: 403, message: 'forbidden'}, credentials)
    expect(await ifPermitted(Promise.resolve(3))).toEqual({permitted: true, value: 3})
    expect(await ifPermitted(Promise.reject(refused))).toEqual({permitted: false, refusal: refused})
    const unauthorized = explainFailure(listPods, {status: 401, message: 'Unauthorized'}, credentials)
    await expect(ifPermitted(Promise.reject(unauthorized))).rejects.toBe(unauthorized)
  })
})
