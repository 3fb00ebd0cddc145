import {spawn} from 'node:child_process'

import {CoreV1Api, makeInformer, type V1ConfigMap} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {eventually, kubectlPath, startTestCluster, type TestCluster} from './test-support.js'

let cluster: TestCluster
let core: CoreV1Api

beforeAll(async () => {
  cluster = await startTestCluster()
  core = cluster.kubeConfig.makeApiClient(CoreV1Api)
  await core.createNamespace({body: {metadata: {name: 'watched'}}})
})

afterAll(async () => {
  await cluster.close()
})

/** Reads a watch (or any NDJSON stream) until `enough` says so, then aborts it. */
async function readEvents(
  path: string,
  enough: (events: Array<{type: string; object: {metadata?: {resourceVersion?: string; annotations?: Record<string, string>; name?: string}; kind?: string}}>) => boolean,
) {
  const controller = new AbortController()
  const response = await fetch(`${cluster.server.url}${path}`, {signal: controller.signal})
  const events: Array<{type: string; object: {metadata?: {resourceVersion?: string; annotations?: Record<string, string>; name?: string}; kind?: string}}> = []
  let buffered = ''
  try {
    for await (const chunk of response.body ?? []) {
      buffered += Buffer.from(chunk as Uint8Array).toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      events.push(...lines.filter(Boolean).map((line) => JSON.parse(line) as (typeof events)[number]))
      if (enough(events)) break
    }
  } finally {
    controller.abort()
  }
  return events
}

describe('watch', () => {
  it('keeps a client-node informer in sync across dropped connections and compacted history (410, re-list)', async () => {
    let lists = 0
    const informer = makeInformer(cluster.kubeConfig, '/api/v1/namespaces/watched/configmaps', () => {
      lists++
      return core.listNamespacedConfigMap({namespace: 'watched'})
    })
    const added: string[] = []
    informer.on('add', (object: V1ConfigMap) => added.push(object.metadata?.name ?? ''))
    await informer.start()
    await core.createNamespacedConfigMap({namespace: 'watched', body: {metadata: {name: 'before'}}})
    await eventually(() => added.includes('before'))
    // A change the informer does not watch, so its resourceVersion falls behind the compaction.
    await core.createNamespacedConfigMap({namespace: 'default', body: {metadata: {name: 'elsewhere'}}})
    cluster.server.compactWatchHistory()
    cluster.server.dropWatches()
    await core.createNamespacedConfigMap({namespace: 'watched', body: {metadata: {name: 'after'}}})
    await eventually(() => added.includes('after'), {what: 'the informer to re-list and see the new ConfigMap'})
    await core.createNamespacedConfigMap({namespace: 'watched', body: {metadata: {name: 'later'}}})
    await eventually(() => added.includes('later'), {what: 'the informer to keep watching'})
    expect(
      informer
        .list()
        .map((object) => object.metadata?.name)
        .sort(),
    ).toEqual(['after', 'before', 'kube-root-ca.crt', 'later'])
    expect(lists).toBe(2)
    await informer.stop()
  })

  it('sends bookmarks when asked, and the initial-events protocol of watch-list', async () => {
    const bookmarks = await readEvents('/api/v1/namespaces/watched/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=0', (events) => events.some((e) => e.type === 'BOOKMARK'))
    const bookmark = bookmarks.find((event) => event.type === 'BOOKMARK')
    expect(bookmark?.object.kind).toBe('ConfigMap')
    expect(Number(bookmark?.object.metadata?.resourceVersion)).toBeGreaterThan(0)

    const initial = await readEvents('/api/v1/namespaces/watched/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan', (events) =>
      events.some((e) => e.type === 'BOOKMARK'),
    )
    const types = initial.map((event) => event.type)
    expect(types.slice(0, -1).every((type) => type === 'ADDED')).toBe(true)
    expect(
      initial
        .filter((event) => event.type === 'ADDED')
        .map((event) => event.object.metadata?.name)
        .sort(),
    ).toEqual(['after', 'before', 'kube-root-ca.crt', 'later'])
    expect(initial.at(-1)?.object.metadata?.annotations).toEqual({'k8s.io/initial-events-end': 'true'})
  })

  it('ends a watch after timeoutSeconds', async () => {
    const started = Date.now()
    const response = await fetch(`${cluster.server.url}/api/v1/namespaces/watched/configmaps?watch=true&timeoutSeconds=1&resourceVersion=0`)
    const body = await response.text()
    expect(body.split('\n').filter(Boolean).length).toBe(4)
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
  })

  it('streams Table rows to kubectl get -w', async () => {
    const child = spawn(kubectlPath(), [`--kubeconfig=${cluster.kubeconfigPath}`, 'get', 'configmaps', '-n', 'watched', '-w'])
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    try {
      await eventually(() => output.includes('later'), {what: 'the initial rows'})
      await core.createNamespacedConfigMap({namespace: 'watched', body: {metadata: {name: 'streamed'}, data: {a: '1', b: '2'}}})
      await eventually(() => output.includes('streamed'), {what: 'the new row'})
    } finally {
      child.kill()
    }
    const lines = output.trim().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+DATA\s+AGE$/)
    expect(lines.filter((line) => line.startsWith('NAME'))).toHaveLength(1)
    expect(lines.at(-1)).toMatch(/^streamed\s+2\s+0s$/)
  })
})

describe('list', () => {
  it('pages with limit and continue, like kubectl --chunk-size', async () => {
    const first = await core.listNamespacedConfigMap({namespace: 'watched', limit: 2})
    expect(first.items).toHaveLength(2)
    expect(first.metadata?.remainingItemCount).toBe(3)
    const rest = await core.listNamespacedConfigMap({namespace: 'watched', limit: 10, _continue: first.metadata?._continue})
    expect([...first.items, ...rest.items].map((item) => item.metadata?.name)).toEqual(['after', 'before', 'kube-root-ca.crt', 'later', 'streamed'])
    expect(rest.metadata?._continue).toBeUndefined()
    const chunked = await cluster.kubectl(['get', 'configmaps', '-n', 'watched', '--chunk-size=2', '--no-headers', '-o', 'name'])
    expect(chunked.stdout.trim().split('\n')).toHaveLength(5)
  })
})
