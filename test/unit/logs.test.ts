/** The log engine against a fake cluster: which runs are read, in what order, and resumes. */
import {afterEach, describe, expect, it} from 'vitest'

import {logsRequest, type LogsFlags} from '../../src/logs/options.js'
import {streamLogs} from '../../src/logs/stream.js'
import {instancesOf} from '../../src/logs/pods.js'
import {followContainerRun} from '../../src/logs/tail.js'
import type {V1Pod} from '../../src/kube/types.js'
import {CollectingOutput, FakeCluster, until} from './logs-fake.js'

function request(flags: Partial<LogsFlags> = {}, components: string[] = []) {
  return logsRequest({namespace: 'demo', release: 'demo'}, components, {follow: false, events: false, services: false, ...flags})
}

const lines = (prefix: string, count: number) => Array.from({length: count}, (_, i) => `${prefix} ${i + 1}`)

/** A release with an API pod (init container, one crash behind it) and a finished migration Job pod. */
function environment(): FakeCluster {
  const c = new FakeCluster()
  c.addPod('demo-migrate-x', {containers: ['migrate']})
  c.start('demo-migrate-x', 'migrate')
  c.addPod('demo-api-1', {initContainers: ['wait-db'], containers: ['api']})
  c.start('demo-api-1', 'wait-db')
  c.print('demo-api-1', 'wait-db', ['waiting for db', 'db is up'])
  c.stop('demo-api-1', 'wait-db', 0)
  c.print('demo-migrate-x', 'migrate', ['applying 001 ... ok', 'done'])
  c.stop('demo-migrate-x', 'migrate', 0)
  c.start('demo-api-1', 'api')
  c.print('demo-api-1', 'api', ['starting', 'panic: no config'])
  c.stop('demo-api-1', 'api')
  c.start('demo-api-1', 'api')
  c.print('demo-api-1', 'api', ['starting', 'listening on :8080'])
  return c
}

describe('devctl logs engine, without --follow', () => {
  it('reads init containers, the migration pod, the crashed run once and the current run, in time order', async () => {
    const c = environment()
    const out = new CollectingOutput()
    const outcome = await streamLogs(c, request(), out, new AbortController().signal)
    expect(out.lines).toEqual([
      'demo-api-1/wait-db waiting for db',
      'demo-api-1/wait-db db is up',
      'demo-migrate-x/migrate applying 001 ... ok',
      'demo-migrate-x/migrate done',
      'demo-api-1/api starting',
      'demo-api-1/api panic: no config',
      'demo-api-1/api starting',
      'demo-api-1/api listening on :8080',
    ])
    expect(outcome).toEqual({pods: 2, containers: 3, problems: []})
    expect(c.requests.filter((r) => r.container === 'api').map((r) => Boolean(r.previous))).toEqual([true, false])
  })

  it('applies --container, --grep and --exclude', async () => {
    const c = environment()
    const run = async (flags: Partial<LogsFlags>) => {
      const out = new CollectingOutput()
      await streamLogs(c, request(flags), out, new AbortController().signal)
      return out.lines
    }
    expect(await run({container: '^api$'})).toEqual(['demo-api-1/api starting', 'demo-api-1/api panic: no config', 'demo-api-1/api starting', 'demo-api-1/api listening on :8080'])
    expect(await run({grep: 'db|done'})).toEqual(['demo-api-1/wait-db waiting for db', 'demo-api-1/wait-db db is up', 'demo-migrate-x/migrate done'])
    expect(await run({exclude: 'start|db'})).toEqual([
      'demo-migrate-x/migrate applying 001 ... ok',
      'demo-migrate-x/migrate done',
      'demo-api-1/api panic: no config',
      'demo-api-1/api listening on :8080',
    ])
  })

  it('narrows to components', async () => {
    const c = environment()
    const out = new CollectingOutput()
    await streamLogs(c, request({}, ['migrate']), out, new AbortController().signal)
    expect(out.lines).toEqual(['demo-migrate-x/migrate applying 001 ... ok', 'demo-migrate-x/migrate done'])
  })

  it('asks the API for --tail and --since on every container run', async () => {
    const c = environment()
    await streamLogs(c, request({tail: 1}), new CollectingOutput(), new AbortController().signal)
    expect(new Set(c.requests.map((r) => r.tailLines))).toEqual(new Set([1]))
    const out = new CollectingOutput()
    await streamLogs(c, request({tail: 1}), out, new AbortController().signal)
    expect(out.lines).toEqual(['demo-api-1/wait-db db is up', 'demo-migrate-x/migrate done', 'demo-api-1/api panic: no config', 'demo-api-1/api listening on :8080'])

    c.requests.length = 0
    await streamLogs(c, request({since: '5m'}), new CollectingOutput(), new AbortController().signal)
    expect(new Set(c.requests.map((r) => r.sinceSeconds))).toEqual(new Set([300]))
    await streamLogs(c, request({since: '2025-01-01T10:00:00.005Z'}), new CollectingOutput(), new AbortController().signal)
    expect(c.requests.at(-1)?.sinceTime).toBe('2025-01-01T10:00:00.005Z')
  })

  it('interleaves the events of the selected pods with --events, in time order', async () => {
    const c = new FakeCluster()
    c.addPod('demo-api-1')
    c.addPod('other', {labels: {}})
    c.addEvent({kind: 'Pod', name: 'demo-api-1'}, 'Normal', 'Scheduled', 'Successfully assigned demo/demo-api-1')
    c.start('demo-api-1', 'app')
    c.print('demo-api-1', 'app', ['hello'])
    c.addEvent({kind: 'Pod', name: 'other'}, 'Normal', 'Scheduled', 'not ours')
    c.addEvent({kind: 'Pod', name: 'demo-api-1', fieldPath: 'spec.containers{app}'}, 'Warning', 'BackOff', 'Back-off restarting failed container')
    const out = new CollectingOutput()
    await streamLogs(c, request({events: true}), out, new AbortController().signal)
    expect(out.lines).toEqual([
      'event demo-api-1/ Normal Scheduled: Successfully assigned demo/demo-api-1',
      'demo-api-1/app hello',
      'event demo-api-1/app Warning BackOff: Back-off restarting failed container',
    ])
  })

  it('reads a run once when the container crashes between listing the pod and asking for its logs', async () => {
    const c = environment()
    // The kubelet picks the run as the request arrives: by then the listed current run has
    // crashed, so `previous` is that run and the run listed as previous is gone.
    c.onLogRequest = (asked) => {
      if (asked.container !== 'api') return
      c.onLogRequest = undefined
      c.print('demo-api-1', 'api', ['panic: lost the database'])
      c.stop('demo-api-1', 'api')
      c.backOff('demo-api-1', 'api')
    }
    const out = new CollectingOutput()
    await streamLogs(c, request({container: '^api$'}), out, new AbortController().signal)
    expect(out.lines).toEqual(['demo-api-1/api starting', 'demo-api-1/api listening on :8080', 'demo-api-1/api panic: lost the database'])
  })

  it('reads the log of a pod deleted just after its log was asked for (a finished hook Job)', async () => {
    const c = environment()
    c.onLogAnswer = () => {
      c.onLogAnswer = undefined
      c.deletePod('demo-migrate-x')
    }
    const out = new CollectingOutput()
    await streamLogs(c, request({}, ['migrate']), out, new AbortController().signal)
    expect(out.lines).toEqual(['demo-migrate-x/migrate applying 001 ... ok', 'demo-migrate-x/migrate done'])
  })

  it('resumes a read cut mid-line without losing or repeating a line', async () => {
    const c = new FakeCluster()
    c.addPod('demo-api-1')
    c.start('demo-api-1', 'app')
    c.print('demo-api-1', 'app', lines('same stamp', 5), {sameStamp: true})
    c.print('demo-api-1', 'app', lines('line', 5))
    const out = new CollectingOutput()
    // The first read sends three lines (all with one timestamp) and half of the fourth, then drops.
    c.cutNextReadAfter = 3
    await streamLogs(c, request(), out, new AbortController().signal)
    expect(out.lines).toEqual([...lines('same stamp', 5), ...lines('line', 5)].map((l) => `demo-api-1/app ${l}`))
    expect(c.requests.map((r) => r.sinceTime)).toEqual([undefined, '2025-01-01T10:00:00.000Z'])
  })

  it('reports a log it cannot read after retrying, and still prints the others', async () => {
    const c = environment()
    const openLog = c.openLog.bind(c)
    c.openLog = async (namespace, pod, options, signal) => {
      if (options.container === 'migrate') throw new Error('connect ECONNREFUSED')
      return openLog(namespace, pod, options, signal)
    }
    const out = new CollectingOutput()
    const outcome = await streamLogs(c, request(), out, new AbortController().signal)
    expect(outcome.problems).toEqual(['could not read the log of demo-migrate-x/migrate: connect ECONNREFUSED'])
    expect(out.lines.filter((l) => l.includes('migrate'))).toEqual([])
    expect(out.lines).toHaveLength(6)
  })

  it('says so when no pod of the release matches', async () => {
    const c = new FakeCluster()
    const out = new CollectingOutput()
    await streamLogs(c, request(), out, new AbortController().signal)
    expect(out.warnings).toEqual(['No pods of release demo in namespace demo match.'])
  })
})

describe('devctl logs engine, following', () => {
  let stop: AbortController
  afterEach(() => stop?.abort())

  function follow(c: FakeCluster, flags: Partial<LogsFlags> = {}) {
    stop = new AbortController()
    const out = new CollectingOutput()
    const done = streamLogs(c, request({follow: true, ...flags}), out, stop.signal)
    return {out, done}
  }

  it('prints the backlog, then live lines, and picks up a new pod', async () => {
    const c = new FakeCluster()
    c.addPod('demo-api-1')
    c.start('demo-api-1', 'app')
    c.print('demo-api-1', 'app', ['old'])
    const {out, done} = follow(c)
    await until(() => out.lines.length === 1, 'backlog printed')
    c.print('demo-api-1', 'app', ['new'])
    await until(() => out.lines.length === 2, 'live line')
    c.addPod('demo-worker-1')
    c.start('demo-worker-1', 'app')
    c.print('demo-worker-1', 'app', ['worker up'])
    await until(() => out.lines.length === 3, 'live lines')
    expect(out.lines).toEqual(['demo-api-1/app old', 'demo-api-1/app new', 'demo-worker-1/app worker up'])
    stop.abort()
    expect(await done).toMatchObject({pods: 2, containers: 2})
    expect(c.openStreams).toBe(0)
  })

  it('on a restart shows the crashed run to its last line once, then the new run', async () => {
    const c = new FakeCluster()
    c.addPod('demo-api-1')
    c.start('demo-api-1', 'app')
    c.print('demo-api-1', 'app', ['starting'])
    const {out} = follow(c)
    await until(() => out.lines.length === 1, 'backlog printed')
    c.print('demo-api-1', 'app', ['panic: boom'])
    c.stop('demo-api-1', 'app')
    c.backOff('demo-api-1', 'app')
    c.start('demo-api-1', 'app')
    c.print('demo-api-1', 'app', ['starting again'])
    await until(() => out.lines.length >= 3, 'restart shown')
    c.print('demo-api-1', 'app', ['serving'])
    await until(() => out.lines.length >= 4, 'new run followed')
    expect(out.lines).toEqual(['demo-api-1/app starting', 'demo-api-1/app panic: boom', 'demo-api-1/app starting again', 'demo-api-1/app serving'])
  })

  it('follows init containers into the app container', async () => {
    const c = new FakeCluster()
    c.addPod('demo-api-1', {initContainers: ['migrate'], containers: ['api']})
    const {out} = follow(c)
    await until(() => out.warnings.length === 0 && c.requests.length === 0, 'started')
    c.start('demo-api-1', 'migrate')
    c.print('demo-api-1', 'migrate', ['migrating'])
    c.stop('demo-api-1', 'migrate', 0)
    c.start('demo-api-1', 'api')
    c.print('demo-api-1', 'api', ['up'])
    await until(() => out.lines.length === 2, 'both containers')
    expect(out.lines).toEqual(['demo-api-1/migrate migrating', 'demo-api-1/api up'])
  })

  it('after dropped log connections, prints every line exactly once', async () => {
    const c = new FakeCluster()
    c.addPod('demo-api-1')
    c.addPod('demo-worker-1')
    for (const pod of ['demo-api-1', 'demo-worker-1']) c.start(pod, 'app')
    const {out} = follow(c)
    await until(() => c.openStreams === 2, 'both logs followed')
    const pods = ['demo-api-1', 'demo-worker-1']
    const expected: string[] = []
    for (let round = 0; round < 20; round++) {
      for (const pod of pods) {
        const batch = lines(`${pod} round ${round}`, 3)
        c.print(pod, 'app', batch, {sameStamp: round % 2 === 0})
        expected.push(...batch.map((l) => `${pod}/app ${l}`))
      }
      if (round % 3 === 0) {
        const opened = c.requests.length
        c.dropLogStreams({midLine: round % 2 === 0})
        // Both cut streams are open again before the next round prints.
        await until(() => c.requests.length >= opened + 2 && c.openStreams === 2, `both logs reopened after the drop in round ${round}`)
      }
    }
    // Each log's last line comes after anything read twice from it: once both are here, all is.
    for (const pod of pods) c.print(pod, 'app', ['the end'])
    expected.push(...pods.map((pod) => `${pod}/app the end`))
    await until(() => pods.every((pod) => out.lines.includes(`${pod}/app the end`)), 'the last line of each log')
    expect([...out.lines].sort()).toEqual([...expected].sort())
    // The drops did happen, and every one was resumed from the last line read.
    expect(c.requests.filter((r) => r.follow && r.sinceTime).length).toBeGreaterThanOrEqual(7)
  })

  it('ends a deleted pod quietly', async () => {
    const c = new FakeCluster()
    c.addPod('demo-api-1')
    c.start('demo-api-1', 'app')
    const {out, done} = follow(c)
    await until(() => c.openStreams === 1 && c.requests.some((r) => r.follow), 'following')
    c.print('demo-api-1', 'app', ['bye'])
    c.deletePod('demo-api-1')
    await until(() => out.lines.length === 1, 'last line read')
    await until(() => c.openStreams === 0, 'stream closed')
    stop.abort()
    await done
    expect(out.lines).toEqual(['demo-api-1/app bye'])
    expect(out.warnings).toEqual([])
    // Ended, not retried: one read of the backlog, one followed stream.
    expect(c.requests).toHaveLength(2)
  })
})

describe("following one container run (the migration step's reader)", () => {
  it('reads a run to its end across dropped connections, every line exactly once', async () => {
    const c = new FakeCluster()
    c.addPod('demo-migrate-x', {containers: ['migrate']})
    c.start('demo-migrate-x', 'migrate')
    const pod = () => (c as unknown as {pods: Map<string, V1Pod>}).pods.get('demo-migrate-x')
    const [instance] = instancesOf(pod()!)
    const received: string[] = []
    const troubles: string[] = []
    const stop = new AbortController()
    const done = followContainerRun(c, c.namespace, 'demo-migrate-x', instance!, pod, {line: (l) => received.push(l), trouble: (m) => troubles.push(m)}, stop.signal)
    const expected: string[] = []
    for (let round = 0; round < 6; round++) {
      const batch = lines(`step ${round}`, 4)
      c.print('demo-migrate-x', 'migrate', batch)
      expected.push(...batch)
      await until(() => c.openStreams === 1, 'stream open')
      const requests = c.requests.length
      c.dropLogStreams({midLine: round % 2 === 0})
      await until(() => c.requests.length > requests && c.openStreams === 1, 'stream resumed')
    }
    c.print('demo-migrate-x', 'migrate', ['Migrations complete'])
    c.stop('demo-migrate-x', 'migrate', 0)
    await done
    expect(received).toEqual([...expected, 'Migrations complete'])
    expect(troubles).toEqual([])
    // Every drop was resumed from the last line read.
    expect(c.requests.filter((r) => r.follow && r.sinceTime).length).toBe(6)
  })
})
