import {PassThrough} from 'node:stream'

import {Chalk} from 'chalk'
import {afterEach, describe, expect, it} from 'vitest'

import {UsageError} from '../../src/errors.js'
import type {V1Event} from '../../src/kube/types.js'
import {BatchBuilder, LineSplitter, type LogBatch, ReadPosition, stampKey} from '../../src/logs/lines.js'
import {byTime, eventLine} from '../../src/logs/events.js'
import {mergeInTimeOrder} from '../../src/logs/merge.js'
import {logsRequest, parseSince} from '../../src/logs/options.js'
import {instancesOf, locateInstance, PodSelector} from '../../src/logs/pods.js'
import {clearSecrets, registerSecret} from '../../src/secrets/redact.js'
import {createLogFormatter, LogPrinter, shortLabel} from '../../src/ui/log-view.js'
import {FakeCluster} from './logs-fake.js'

function batch(pod: string, entries: Array<[number, string]>): LogBatch {
  return {source: {pod, container: 'app', stream: 'log'}, stamps: entries.map(([t]) => new Date(t).toISOString()), times: entries.map(([t]) => t), messages: entries.map(([, m]) => m)}
}

async function* from(...batches: LogBatch[]): AsyncGenerator<LogBatch> {
  for (const b of batches) yield b
}

describe('log lines', () => {
  it('joins a line cut across chunks (also inside a UTF-8 character) and keeps a last line without newline', () => {
    const splitter = new LineSplitter()
    const euro = Buffer.from('€')
    expect(splitter.push(Buffer.concat([Buffer.from('one\ntw'), euro.subarray(0, 1)]))).toBe('one\n')
    expect(splitter.push(Buffer.concat([euro.subarray(1), Buffer.from('o\nthr')]))).toBe('tw€o\n')
    expect(splitter.push(Buffer.from('ee'))).toBe('')
    expect(splitter.end()).toBe('three\n')
    expect(splitter.end()).toBe('')
  })

  it('orders timestamps of different precision by time', () => {
    const stamps = ['2025-01-01T10:00:05.5Z', '2025-01-01T10:00:05Z', '2025-01-01T10:00:05.123456789Z', '2025-01-01T10:00:04.9Z']
    expect([...stamps].sort((a, b) => (stampKey(a) < stampKey(b) ? -1 : 1))).toEqual(['2025-01-01T10:00:04.9Z', '2025-01-01T10:00:05Z', '2025-01-01T10:00:05.123456789Z', '2025-01-01T10:00:05.5Z'])
  })

  it('on resume skips exactly the lines already read, even when several share the last timestamp', () => {
    const position = new ReadPosition()
    for (const stamp of ['T1', 'T2', 'T2']) position.advance(`2025-01-01T10:00:0${stamp.slice(1)}Z`)
    const alreadyRead = position.alreadyRead()
    // The server resumes at sinceTime=T2 (or, rounding down, earlier): T1 again, T2 three times, then T3.
    const resent = ['1', '2', '2', '2', '3'].map((s) => `2025-01-01T10:00:0${s}Z`)
    expect(resent.map((stamp) => alreadyRead(stamp))).toEqual([true, true, true, false, false])
  })

  it('splits "<timestamp> <message>" lines, a few at a time, and applies the filter', () => {
    const builder = new BatchBuilder({pod: 'p', container: 'c', stream: 'log'})
    const text = '2025-01-01T10:00:00.001Z hello world\r\n2025-01-01T10:00:00.002Z skip me\n2025-01-01T10:00:00.003Z \n2025-01-01T10:00:00.004Z last one\n'
    const keep = (_stamp: string, message: string) => !message.startsWith('skip')
    const first = builder.build(text, 0, 3, keep)
    expect(first.batch.messages).toEqual(['hello world', ''])
    expect(first.batch.stamps).toEqual(['2025-01-01T10:00:00.001Z', '2025-01-01T10:00:00.003Z'])
    expect(first.batch.times).toEqual([Date.parse('2025-01-01T10:00:00.001Z'), Date.parse('2025-01-01T10:00:00.003Z')])
    const rest = builder.build(text, first.next, 3, keep)
    expect(rest.batch.messages).toEqual(['last one'])
    expect(rest.next).toBe(text.length)
  })
})

describe('merging logs in time order', () => {
  it('interleaves sources by time, keeping each source in order and ties in source order', async () => {
    const out: string[] = []
    await mergeInTimeOrder(
      [
        from(
          batch('a', [
            [1, 'a1'],
            [3, 'a3'],
          ]),
          batch('a', [[5, 'a5']]),
        ),
        from(
          batch('b', [
            [2, 'b2'],
            [3, 'b3'],
            [4, 'b4'],
          ]),
        ),
        from(),
        from(
          batch('c', [
            [0, 'c0'],
            [6, 'c6'],
          ]),
        ),
      ],
      (batches) => {
        for (const b of batches) out.push(...b.messages)
      },
      new AbortController().signal,
    )
    expect(out).toEqual(['c0', 'a1', 'b2', 'a3', 'b3', 'b4', 'a5', 'c6'])
  })

  it('stops reading when aborted and lets every source release its connection', async () => {
    const released: string[] = []
    async function* endless(name: string): AsyncGenerator<LogBatch> {
      try {
        for (let i = 0; ; i++) yield batch(name, [[i, `${name}${i}`]])
      } finally {
        released.push(name)
      }
    }
    const abort = new AbortController()
    let written = 0
    await mergeInTimeOrder(
      [endless('a'), endless('b')],
      (batches) => {
        written += batches.length
        if (written > 10) abort.abort()
      },
      abort.signal,
    )
    expect(released.sort()).toEqual(['a', 'b'])
  })
})

describe('events in time order', () => {
  const event = (reason: string, resourceVersion: string, time: {lastTimestamp?: string; eventTime?: string}): V1Event =>
    ({
      metadata: {name: `e${resourceVersion}`, uid: `u${resourceVersion}`, resourceVersion},
      involvedObject: {kind: 'Pod', name: 'demo-api-1'},
      reason,
      type: 'Normal',
      message: reason,
      ...time,
    }) as unknown as V1Event

  it('orders events by the time they show, and those of the same time as the API server wrote them', () => {
    const events = [
      event('Pulled', '12', {lastTimestamp: '2025-01-01T10:00:41Z'}),
      event('Scheduled', '10', {eventTime: '2025-01-01T10:00:41.208Z'}),
      event('Pulling', '11', {lastTimestamp: '2025-01-01T10:00:41Z'}),
      event('Started', '13', {lastTimestamp: '2025-01-01T10:00:42Z'}),
      event('Created', '9', {lastTimestamp: '2025-01-01T10:00:40Z'}),
    ]
    const ordered = events
      .map((e) => eventLine(e)!)
      .sort(byTime)
      .map((line) => line.batch.messages[0])
    expect(ordered).toEqual(['Normal Created: Created', 'Normal Pulling: Pulling', 'Normal Pulled: Pulled', 'Normal Scheduled: Scheduled', 'Normal Started: Started'])
  })
})

describe('which pods are the release', () => {
  const request = (overrides: Partial<Parameters<typeof logsRequest>[2]> = {}, components: string[] = []) =>
    logsRequest({namespace: 'demo', release: 'demo'}, components, {follow: false, events: false, services: false, ...overrides})

  async function selected(cluster: FakeCluster, options = request()): Promise<string[]> {
    const selector = new PodSelector(cluster, options)
    const pods = await cluster.list('Pod')
    const decisions = await Promise.all(pods.map((pod) => selector.selects(pod)))
    return pods
      .filter((_, i) => decisions[i])
      .map((pod) => pod.metadata!.name!)
      .sort()
  }

  function cluster(): FakeCluster {
    const c = new FakeCluster()
    c.addOwner('Deployment', 'demo-api', {annotations: {'meta.helm.sh/release-name': 'demo'}})
    c.addOwner('ReplicaSet', 'demo-api-7d9', {owner: {kind: 'Deployment', name: 'demo-api'}})
    c.addOwner('Deployment', 'other', {annotations: {'meta.helm.sh/release-name': 'other'}})
    c.addOwner('ReplicaSet', 'other-5c4', {owner: {kind: 'Deployment', name: 'other'}})
    c.addOwner('Job', 'demo-migrate', {labels: {'app.kubernetes.io/instance': 'demo'}})
    c.addPod('demo-api-7d9-x1', {labels: {'app.kubernetes.io/component': 'api'}, owner: {kind: 'ReplicaSet', name: 'demo-api-7d9'}})
    c.addPod('demo-worker-1', {labels: {'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/component': 'worker'}})
    c.addPod('demo-migrate-abc', {labels: {'job-name': 'demo-migrate'}, owner: {kind: 'Job', name: 'demo-migrate'}})
    c.addPod('other-5c4-y', {labels: {}, owner: {kind: 'ReplicaSet', name: 'other-5c4'}})
    c.addPod('devctl-postgres-0', {labels: {'app.kubernetes.io/managed-by': 'devctl', 'app.kubernetes.io/instance': 'devctl-postgres'}})
    c.addPod('stray', {labels: {}})
    return c
  }

  it('takes pods through the owner chain (ReplicaSet → annotated Deployment, labelled Job) and by instance label', async () => {
    expect(await selected(cluster())).toEqual(['demo-api-7d9-x1', 'demo-migrate-abc', 'demo-worker-1'])
  })

  it('adds devctl Postgres/Redis with --services', async () => {
    expect(await selected(cluster(), request({services: true}))).toEqual(['demo-api-7d9-x1', 'demo-migrate-abc', 'demo-worker-1', 'devctl-postgres-0'])
  })

  it('narrows to components by label or pod-name regex', async () => {
    expect(await selected(cluster(), request({}, ['worker']))).toEqual(['demo-worker-1'])
    expect(await selected(cluster(), request({}, ['api', 'migrate-.*']))).toEqual(['demo-api-7d9-x1', 'demo-migrate-abc'])
  })

  it('takes a known component as the label only, anything else as a pod-name regex', async () => {
    const c = cluster()
    // Its name contains "worker", its component is not.
    c.addPod('demo-worker-api-2', {labels: {'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/component': 'api'}})
    expect(await selected(c, request({}, ['worker']))).toEqual(['demo-worker-1'])
    expect(await selected(c, request({}, ['demo-worker']))).toEqual(['demo-worker-1', 'demo-worker-api-2'])
  })

  it('asks again about a pod whose owner could not be read', async () => {
    const c = cluster()
    const get = c.get.bind(c)
    let failures = 1
    c.get = async (kind, namespace, name) => {
      if (kind === 'ReplicaSet' && failures-- > 0) throw new Error('connection reset')
      return get(kind, namespace, name)
    }
    const selector = new PodSelector(c, request())
    const pod = (await c.get('Pod', 'demo', 'demo-api-7d9-x1'))!
    await expect(selector.selects(pod)).rejects.toThrow('connection reset')
    expect(await selector.selects(pod)).toBe(true)
  })

  it('reads each owner once', async () => {
    const c = cluster()
    c.addPod('demo-api-7d9-x2', {labels: {}, owner: {kind: 'ReplicaSet', name: 'demo-api-7d9'}})
    const reads: string[] = []
    const get = c.get.bind(c)
    c.get = async (kind, namespace, name) => {
      reads.push(`${kind}/${name}`)
      return get(kind, namespace, name)
    }
    await selected(c)
    expect(reads.filter((r) => r === 'ReplicaSet/demo-api-7d9')).toHaveLength(1)
  })
})

describe('container runs of a pod', () => {
  it('lists init and app containers, the run before a restart, and locates each', async () => {
    const c = new FakeCluster()
    c.addPod('p', {initContainers: ['migrate'], containers: ['api']})
    c.start('p', 'migrate')
    c.stop('p', 'migrate', 0)
    const first = c.start('p', 'api')
    c.stop('p', 'api')
    const second = c.start('p', 'api')
    const pod = (await c.get('Pod', 'demo', 'p'))!
    const runs = instancesOf(pod)
    expect(runs.map((r) => [r.container, r.init, r.restartCount])).toEqual([
      ['migrate', true, 0],
      ['api', false, 0],
      ['api', false, 1],
    ])
    expect(runs.map((r) => locateInstance(pod, r))).toEqual([
      {previous: false, running: false},
      {previous: true, running: false},
      {previous: false, running: true},
    ])
    expect(runs.map((r) => r.containerID).slice(1)).toEqual([first, second])
  })

  it('finds the crashed run while the container waits in CrashLoopBackOff', async () => {
    const c = new FakeCluster()
    c.addPod('p')
    const crashed = c.start('p', 'app')
    c.stop('p', 'app')
    c.backOff('p', 'app')
    const pod = (await c.get('Pod', 'demo', 'p'))!
    const [run] = instancesOf(pod)
    expect(run?.containerID).toBe(crashed)
    expect(locateInstance(pod, run!)).toEqual({previous: true, running: false})
  })
})

describe('logs options', () => {
  it('reads --since as a duration or a time, and refuses anything else', () => {
    expect(parseSince('90s')).toEqual({seconds: 90})
    expect(parseSince('1h30m')).toEqual({seconds: 5400})
    expect(parseSince('2025-01-31T14:00:00Z')).toEqual({time: '2025-01-31T14:00:00.000Z'})
    expect(() => parseSince('yesterday')).toThrow(UsageError)
    expect(() => parseSince('5 minutes')).toThrow(/neither a duration nor a time/)
  })

  it('refuses a broken regex with a usage error naming the flag', () => {
    expect(() => logsRequest({namespace: 'n', release: 'r'}, [], {follow: true, events: false, services: false, grep: 'error('})).toThrow(/^--grep "error\(" is not a valid regular expression/)
    expect(() => logsRequest({namespace: 'n', release: 'r'}, ['api['], {follow: true, events: false, services: false})).toThrow(UsageError)
  })
})

describe('log view', () => {
  afterEach(() => clearSecrets())
  const lines = batch('demo-api-1', [
    [Date.parse('2025-01-01T10:00:00Z'), 'hello'],
    [Date.parse('2025-01-01T10:00:01Z'), 'password=s3cret-value'],
  ])

  it('prints pod/container and the message, plain without colour, secrets masked', () => {
    registerSecret('s3cret-value')
    const format = createLogFormatter({json: false, timestamps: false, short: false}, new Chalk({level: 0}))
    expect(format([lines])).toBe('demo-api-1/app hello\ndemo-api-1/app password=********\n')
  })

  it('adds timestamps with --timestamps and marks events', () => {
    const format = createLogFormatter({json: false, timestamps: true, short: false}, new Chalk({level: 0}))
    const event: LogBatch = {...batch('demo-api-1', [[0, 'Warning BackOff: Back-off restarting failed container']]), source: {pod: 'demo-api-1', container: 'app', stream: 'event'}}
    expect(format([lines, event])).toBe(
      'demo-api-1/app 2025-01-01T10:00:00.000Z hello\ndemo-api-1/app 2025-01-01T10:00:01.000Z password=s3cret-value\ndemo-api-1/app [event] 1970-01-01T00:00:00.000Z Warning BackOff: Back-off restarting failed container\n',
    )
  })

  it('colours the prefix by pod: the same colour for a pod, another for each new pod', () => {
    const format = createLogFormatter({json: false, timestamps: false, short: false}, new Chalk({level: 1}))
    const [first, second] = format([lines]).split('\n')
    expect(first).toMatch(/^\u001B\[\d+mdemo-api-1\/app\u001B\[39m hello$/)
    expect(first!.slice(0, 5)).toBe(second!.slice(0, 5))
    const colours = ['demo-api-2', 'demo-api-3', 'demo-worker-1'].map((pod) => format([batch(pod, [[0, 'x']])]).slice(0, 5))
    expect(new Set([first!.slice(0, 5), ...colours]).size).toBe(4)
  })

  it('in a terminal, labels lines stern-style: component and pod-name suffix, the container when it differs', () => {
    expect(shortLabel('demo-web-worker-5999c67489-k9lxj', 'api', 'api')).toBe('api-k9lxj')
    expect(shortLabel('demo-web-worker-5999c67489-k9lxj', 'wait-for-db', 'api')).toBe('api-k9lxj/wait-for-db')
    expect(shortLabel('devctl-postgres-0', 'postgres', 'postgres')).toBe('postgres-0')
    expect(shortLabel('demo-web-worker-migrate-x7q2p', 'migrate', undefined)).toBe('migrate-x7q2p')
    expect(shortLabel('deployment/demo-web-worker', '', undefined)).toBe('deployment/demo-web-worker')
    const format = createLogFormatter({json: false, timestamps: false, short: true}, new Chalk({level: 0}))
    const log: LogBatch = {...batch('demo-web-worker-5999c67489-k9lxj', [[0, 'started']]), source: {pod: 'demo-web-worker-5999c67489-k9lxj', container: 'app', stream: 'log', component: 'api'}}
    const event: LogBatch = {...batch('demo-web-worker-5999c67489-k9lxj', [[1, 'Normal Pulled: ok']]), source: {pod: 'demo-web-worker-5999c67489-k9lxj', container: 'app', stream: 'event'}}
    expect(format([log, event])).toBe('api-k9lxj/app started\napi-k9lxj/app [event] Normal Pulled: ok\n')
  })

  it('with --json prints one parseable object per line, secrets masked', () => {
    registerSecret('s3cret-value')
    const format = createLogFormatter({json: true, timestamps: false, short: false}, new Chalk({level: 1}))
    const parsed = format([lines])
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown)
    expect(parsed).toEqual([
      {type: 'log', ts: '2025-01-01T10:00:00.000Z', pod: 'demo-api-1', container: 'app', stream: 'log', message: 'hello'},
      {type: 'log', ts: '2025-01-01T10:00:01.000Z', pod: 'demo-api-1', container: 'app', stream: 'log', message: 'password=********'},
    ])
  })

  it('waits for a full pipe to drain, and takes a closed pipe (EPIPE) as the end', async () => {
    const pipe = new PassThrough({highWaterMark: 8})
    const printer = new LogPrinter(pipe, createLogFormatter({json: false, timestamps: false, short: false}, new Chalk({level: 0})), () => {})
    const wait = printer.write([lines])
    expect(wait).toBeInstanceOf(Promise)
    let drained = false
    void wait!.then(() => (drained = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(drained).toBe(false)
    pipe.read()
    await wait
    expect(drained).toBe(true)

    const error = Object.assign(new Error('write EPIPE'), {code: 'EPIPE'})
    pipe.emit('error', error)
    await printer.closed
    expect(printer.write([lines])).toBeUndefined()
  })
})
