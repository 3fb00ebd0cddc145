/**
 * devctl's Kubernetes client against the simulator's API as a namespace-scoped user, with
 * faults injected: refusals are final and explained, busy answers are retried (and announced),
 * a watch refused at its start or later fails whoever waits on it, and a silent watch is resumed.
 */
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {ClusterError} from '../../src/errors.js'
import {ApiRefusedError, type RetryNotice} from '../../src/kube/api-failure.js'
import {KubeClient} from '../../src/kube/client.js'
import {NamespaceWatch} from '../../src/kube/namespace-watch.js'
import type {KubernetesObject} from '../../src/kube/types.js'
import {serializeKubeconfig} from '../sim/host/kubeconfig.js'
import {eventually, startTestCluster, type TestCluster} from '../sim/apiserver/test-support.js'
import {createNamespaceUser, type NamespaceUser} from '../sim/namespace-user.js'
import {tempDir} from '../helpers/cli.js'

let cluster: TestCluster
let ann: NamespaceUser
let kubeconfig: string
const fast = {retry: {initialMs: 20, maxMs: 2000, attempts: 4}, watchTimeoutSeconds: 5, watchSilenceMs: 400}

beforeAll(async () => {
  cluster = await startTestCluster()
  ann = await createNamespaceUser(cluster.server, undefined, {user: 'ann', namespace: 'team'})
  kubeconfig = join(await tempDir(), 'config')
  await writeFile(kubeconfig, serializeKubeconfig({...ann.kubeconfig, 'current-context': ann.context}))
})

afterEach(() => {
  cluster.server.clearApiFaults()
})

afterAll(async () => {
  await cluster.close()
})

function connect(): {kube: KubeClient; notices: RetryNotice[]} {
  const kube = KubeClient.connect({kubeconfig, context: ann.context}, fast)
  const notices: RetryNotice[] = []
  kube.onRetry((notice) => notices.push(notice))
  return {kube, notices}
}

async function refusal(promise: Promise<unknown>): Promise<ApiRefusedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ApiRefusedError)
  return error as ApiRefusedError
}

describe('single calls', () => {
  it('are refused for good, with who was refused what and where', async () => {
    const {kube, notices} = connect()
    expect(await kube.list('Pod', 'team')).toEqual([])
    const otherNamespace = await refusal(kube.list('Pod', 'default'))
    expect(otherNamespace.message).toBe('Forbidden: user "ann" may not list pods in namespace "default".')
    const nodes = await refusal(kube.list('Node', undefined))
    expect(nodes.message).toBe('Forbidden: user "ann" may not list nodes cluster-wide.')
    const namespace = await refusal(kube.get('Namespace', undefined, 'team'))
    expect(namespace.message).toBe('Forbidden: user "ann" may not get namespaces in namespace "team".')
    const apply = await refusal(kube.apply({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'team'}}))
    expect(apply.details.slice(-1)).toEqual(['    verbs: ["patch", "create"]'])
    expect(notices).toEqual([])
  })

  it('are retried while the API is busy, never sooner than Retry-After, and each retry is announced', async () => {
    const {kube, notices} = connect()
    cluster.server.injectApiFault({kind: 'status', code: 503, times: 2, match: {verb: 'list', resource: 'secrets'}})
    cluster.server.injectApiFault({kind: 'status', code: 429, retryAfterSeconds: 1, times: 1, match: {verb: 'list', resource: 'secrets'}})
    expect(await kube.list('Secret', 'team')).toEqual([])
    expect(notices.map((n) => [n.attempt, n.failure.status, n.delayMs])).toEqual([
      [1, 503, 20],
      [2, 503, 40],
      [3, 429, 1000],
    ])
    expect(notices[0]?.request).toMatchObject({verb: 'list', resource: 'secrets', namespace: 'team'})
  })

  it("give up after the policy's attempts with what the API last said", async () => {
    const {kube, notices} = connect()
    cluster.server.injectApiFault({kind: 'status', code: 500, match: {verb: 'get', resource: 'configmaps'}})
    const error = await kube.get('ConfigMap', 'team', 'settings').then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(ClusterError)
    expect(error).not.toBeInstanceOf(ApiRefusedError)
    expect((error as ClusterError).message).toBe(
      'Kubernetes API: could not get configmaps "settings" in namespace "team": 500 Internal Server Error: Internal error occurred: etcdserver: leader changed',
    )
    expect(notices).toHaveLength(fast.retry.attempts - 1)
  })

  it('say so at once when the credentials stop working (401)', async () => {
    const {kube} = connect()
    cluster.server.injectApiFault({kind: 'status', code: 401, match: {user: 'ann'}})
    const error = await refusal(kube.list('Pod', 'team'))
    expect(error.status).toBe(401)
    expect(error.message).toBe('Unauthorized: the Kubernetes API did not accept the credentials of context "ann@sim" (user "ann@sim") to list pods in namespace "team".')
  })
})

describe('watches', () => {
  it('reject at once when the first list is refused', async () => {
    const {kube, notices} = connect()
    const stop = new AbortController()
    const error = await refusal(NamespaceWatch.start(kube, 'default', ['Pod', 'Deployment'], stop.signal))
    expect(error.message).toMatch(/^Forbidden: user "ann" may not list (pods|deployments\.apps) in namespace "default"\.$/)
    expect(error.details.at(-1)).toBe('    verbs: ["list", "watch"]')
    expect(notices).toEqual([])
    stop.abort()
  })

  it('retry a busy first list, then resolve with what is there', async () => {
    const {kube, notices} = connect()
    await cluster.kubectl(['create', 'configmap', 'first', '-n', 'team'])
    cluster.server.injectApiFault({kind: 'status', code: 503, retryAfterSeconds: 0, times: 2, match: {verb: 'list', resource: 'configmaps', namespace: 'team'}})
    const stop = new AbortController()
    const view = await NamespaceWatch.start(kube, 'team', ['ConfigMap'], stop.signal)
    expect(view.list('ConfigMap').map((c) => c.metadata?.name)).toContain('first')
    expect(notices.map((n) => n.failure.status)).toEqual([503, 503])
    view.close()
    stop.abort()
  })

  it('fail every wait when a later request is refused', async () => {
    const {kube} = connect()
    const stop = new AbortController()
    const view = await NamespaceWatch.start(kube, 'team', ['ConfigMap'], stop.signal)
    const waiting = view.until<KubernetesObject>(() => view.get('ConfigMap', 'never'), stop.signal)
    cluster.server.injectApiFault({kind: 'status', code: 401, match: {user: 'ann'}})
    cluster.server.dropWatches()
    const error = await refusal(waiting)
    expect(error.status).toBe(401)
    expect(error.message).toMatch(/to watch configmaps in namespace "team"\.$/)
    await expect(view.until(() => true, stop.signal)).rejects.toBe(error)
    stop.abort()
  })

  it('resume a watch that went silent, without losing what happened meanwhile', async () => {
    const {kube, notices} = connect()
    cluster.server.injectApiFault({kind: 'silent-watch', times: 1, match: {resource: 'secrets', namespace: 'team'}})
    const stop = new AbortController()
    const seen: string[] = []
    await kube.watch('Secret', 'team', {}, (event, object) => seen.push(`${event} ${object.metadata?.name}`), stop.signal)
    await cluster.kubectl(['create', 'secret', 'generic', 'during-silence', '-n', 'team'])
    await eventually(() => seen.includes('add during-silence'), {what: 'the Secret created while the watch was silent'})
    expect(notices.map((n) => n.failure.silent)).toEqual([true])
    expect(notices[0]?.request).toMatchObject({verb: 'watch', resource: 'secrets'})
    stop.abort()
  })
})
