import {expect, it} from 'vitest'

import {createApiServer, createClock} from './index.js'
import {eventually} from './test-support.js'

function handles(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1
  return counts
}

it('leaves no timers or sockets behind after close()', async () => {
  const before = handles()
  const server = await createApiServer({
    clusterName: 'leaks',
    clock: createClock(0.01),
    k3sSystemWorkloads: true,
    nodes: [{name: 'k3d-leaks-server-0', cpu: '2', memory: '4Gi', role: 'server'}],
  })
  const watch = new AbortController()
  const watching = fetch(`${server.url}/api/v1/pods?watch=true&allowWatchBookmarks=true`, {signal: watch.signal}).then((r) => r.body?.getReader().read())
  await eventually(() => server.list('v1', 'Pod').length > 0, {what: 'the system pods'})
  watch.abort()
  await watching.catch(() => undefined)
  await server.close()
  // Sockets close asynchronously on both ends; wait for them rather than for a fixed time.
  const leaked = (): string[] => {
    const after = handles()
    return ['Timeout', 'TCPServerWrap', 'TCPSocketWrap', 'Immediate'].filter((kind) => (after[kind] ?? 0) > (before[kind] ?? 0))
  }
  await eventually(() => leaked().length === 0, {timeoutMs: 3000, what: 'every handle to be released'}).catch(() => undefined)
  expect(leaked()).toEqual([])
})
