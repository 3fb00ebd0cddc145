/**
 * Injected API faults as the real kubectl (v1.32, v1.34) meets them: the Status bodies and what
 * kubectl prints for them, client-go's own retry of 429 and 5xx with Retry-After, slow answers
 * against --request-timeout, and a watch that opens and then stays silent.
 */
import {spawn} from 'node:child_process'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {eventually, kubectlPath, startTestCluster, type TestCluster} from './test-support.js'

let cluster: TestCluster

beforeAll(async () => {
  cluster = await startTestCluster()
  cluster.server.addToken('alice-token', {name: 'alice'})
})

afterEach(() => {
  cluster.server.clearApiFaults()
})

afterAll(async () => {
  await cluster.close()
})

const listPods = {verb: 'list', resource: 'pods'}

describe.each(['v32', 'v34'] as const)('kubectl %s against injected faults', (version) => {
  it('prints the failure of each final status', async () => {
    cluster.server.injectApiFault({kind: 'status', code: 401, match: listPods})
    expect(await cluster.kubectl(['get', 'pods'], {version})).toMatchObject({code: 1, stderr: 'error: You must be logged in to the server (Unauthorized)\n'})
    cluster.server.clearApiFaults()

    cluster.server.injectApiFault({kind: 'status', code: 403, match: {...listPods, user: 'alice'}})
    expect((await cluster.kubectl(['get', 'pods'], {version})).code).toBe(0)
    expect((await cluster.kubectl(['get', 'pods', '-n', 'default'], {version, token: 'alice-token'})).stderr).toBe(
      'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"\n',
    )
    cluster.server.clearApiFaults()

    cluster.server.injectApiFault({kind: 'status', code: 404, match: {verb: 'create', resource: 'configmaps'}})
    expect((await cluster.kubectl(['create', 'configmap', 'c', '-n', 'default'], {version})).stderr).toBe('error: failed to create configmap: namespaces "default" not found\n')
    cluster.server.clearApiFaults()

    cluster.server.injectApiFault({kind: 'status', code: 500, match: listPods})
    expect((await cluster.kubectl(['get', 'pods'], {version})).stderr).toBe('Error from server (InternalError): Internal error occurred: etcdserver: leader changed\n')
    cluster.server.clearApiFaults()

    cluster.server.injectApiFault({kind: 'status', code: 503, match: listPods})
    expect((await cluster.kubectl(['get', 'pods'], {version})).stderr).toBe('Error from server (ServiceUnavailable): the server is currently unable to handle the request\n')
  })

  it('is retried by client-go after Retry-After, for 429 and for a 5xx that carries it', async () => {
    cluster.server.injectApiFault({kind: 'status', code: 429, retryAfterSeconds: 1, times: 1, match: listPods})
    cluster.server.injectApiFault({kind: 'status', code: 503, retryAfterSeconds: 1, times: 1, match: listPods})
    const result = await cluster.kubectl(['get', 'pods', '-n', 'default', '-v=6'], {version})
    expect(result.code).toBe(0)
    // -v=6 logs each response: `GET URL 429 Too Many Requests in 0 milliseconds` (1.32), `url="URL" status="429 Too Many Requests"` (1.34).
    const statuses = [...result.stderr.matchAll(/namespaces\/default\/pods\?limit=500\S*\s(?:status=")?(\d{3} [A-Za-z ]+?)(?:" | in \d)/g)].map((m) => m[1])
    expect(statuses).toEqual(['429 Too Many Requests', '503 Service Unavailable', '200 OK'])
  })

  it('times out a slow answer at --request-timeout', async () => {
    cluster.server.injectApiFault({kind: 'slow', delayMs: 3000, match: listPods})
    const result = await cluster.kubectl(['get', 'pods', '--request-timeout=500ms'], {version})
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/(context deadline exceeded|Client\.Timeout exceeded while awaiting headers)/)
  })
})

/** kubectl get -w, its output read as it comes. */
function watchWithKubectl(args: string[]) {
  const child = spawn(kubectlPath('v34'), [`--kubeconfig=${cluster.kubeconfigPath}`, 'get', '-w', '-o', 'name', '-v=6', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  const output = {stdout: '', stderr: ''}
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output.stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output.stderr += d))
  return {output, stop: () => child.kill()}
}

describe('a watch that goes silent', () => {
  it('opens (200) and then delivers nothing while an ordinary watch sees the change', async () => {
    cluster.server.injectApiFault({kind: 'silent-watch', times: 1, match: {resource: 'configmaps', namespace: 'default'}})
    const silent = watchWithKubectl(['configmaps', '-n', 'default'])
    let ordinary: ReturnType<typeof watchWithKubectl> | undefined
    try {
      await eventually(() => /watch=true.*200 OK/.test(silent.output.stderr), {what: 'the first watch to open'})
      ordinary = watchWithKubectl(['configmaps', '-n', 'default'])
      const second = ordinary
      await eventually(() => /watch=true.*200 OK/.test(second.output.stderr), {what: 'the second watch to open'})
      await cluster.kubectl(['create', 'configmap', 'after-silence', '-n', 'default'])
      await eventually(() => second.output.stdout.includes('configmap/after-silence'), {what: 'the ordinary watch to see the new ConfigMap'})
      expect(silent.output.stdout).toBe('configmap/kube-root-ca.crt\n')
    } finally {
      silent.stop()
      ordinary?.stop()
    }
  })
})
