/**
 * A fake cluster for the log engine's unit tests: pods whose containers start, print, crash
 * and restart as a test says, and a log endpoint that picks the container run like the kubelet
 * (current, or `previous`), honours tailLines/sinceTime/sinceSeconds/follow, and can cut every
 * open stream mid-line, as a dropped connection does.
 */
import {Readable} from 'node:stream'

import type {LogAnswer, LogOptions, WatchEvent} from '../../src/kube/client.js'
import type {KindName, KindObject, KubernetesObject, V1ContainerStatus, V1Event, V1Pod} from '../../src/kube/types.js'
import {stampKey} from '../../src/logs/lines.js'
import type {LogSource} from '../../src/logs/pods.js'

interface RunLog {
  lines: Array<{stamp: string; text: string}>
  ended: boolean
  listeners: Set<() => void>
}

type Listener = (event: WatchEvent, object: KubernetesObject) => void

export interface LogRequestRecord extends LogOptions {
  pod: string
}

export interface FakePodSpec {
  labels?: Record<string, string>
  owner?: {kind: string; name: string}
  containers?: string[]
  initContainers?: string[]
}

export class FakeCluster implements LogSource {
  readonly namespace = 'demo'
  readonly requests: LogRequestRecord[] = []
  private readonly pods = new Map<string, V1Pod>()
  private readonly objects = new Map<string, KubernetesObject>()
  private readonly events: V1Event[] = []
  private readonly logs = new Map<string, RunLog>()
  private readonly watchers = new Map<KindName, Set<Listener>>()
  private readonly openBodies = new Set<{body: Readable; log: RunLog; sent: number}>()
  /** The next log read is cut after this many lines and half of the next one. */
  cutNextReadAfter: number | undefined
  /** Called as a log request arrives, before the kubelet picks the run: a restart can happen here. */
  onLogRequest: ((request: LogRequestRecord) => void) | undefined
  /** Called as a log request is answered, before its lines are sent: the pod can be deleted here. */
  onLogAnswer: ((request: LogRequestRecord) => void) | undefined
  private resourceVersion = 1
  private runs = 0
  /** Fake wall clock: every printed line is 1 ms after the one before unless told otherwise. */
  now = Date.parse('2025-01-01T10:00:00Z')

  // --- the test's side: build a cluster and make things happen --------------------------

  addOwner(kind: string, name: string, metadata: {annotations?: Record<string, string>; labels?: Record<string, string>; owner?: {kind: string; name: string}} = {}): void {
    this.objects.set(`${kind}/${name}`, {
      apiVersion: 'apps/v1',
      kind,
      metadata: {
        name,
        namespace: this.namespace,
        annotations: metadata.annotations,
        labels: metadata.labels,
        ownerReferences: metadata.owner ? [{apiVersion: 'apps/v1', kind: metadata.owner.kind, name: metadata.owner.name, uid: `uid-${metadata.owner.name}`, controller: true}] : undefined,
      },
    })
  }

  addPod(name: string, spec: FakePodSpec = {}): void {
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: this.namespace,
        uid: `uid-${name}-${this.resourceVersion}`,
        labels: spec.labels ?? {'app.kubernetes.io/instance': 'demo'},
        ownerReferences: spec.owner ? [{apiVersion: 'apps/v1', kind: spec.owner.kind, name: spec.owner.name, uid: `uid-${spec.owner.name}`, controller: true}] : undefined,
      },
      spec: {
        initContainers: (spec.initContainers ?? []).map((c) => ({name: c, image: 'busybox'})),
        containers: (spec.containers ?? ['app']).map((c) => ({name: c, image: 'app'})),
      },
      status: {
        phase: 'Pending',
        initContainerStatuses: (spec.initContainers ?? []).map((c) => waiting(c)),
        containerStatuses: (spec.containers ?? ['app']).map((c) => waiting(c)),
      },
    }
    this.pods.set(name, pod)
    this.changed('Pod', 'add', pod)
  }

  /** A new run of the container: the one before becomes `lastState` (a restart). */
  start(podName: string, container: string): string {
    const status = this.status(podName, container)
    const previous = status.state?.running || status.state?.terminated ? (status.state.terminated?.containerID ?? status.containerID) : undefined
    const id = `containerd://run-${++this.runs}`
    if (previous) {
      status.lastState = {terminated: {containerID: previous, exitCode: status.state?.terminated?.exitCode ?? 1}}
      status.restartCount = (status.restartCount ?? 0) + 1
    }
    status.containerID = id
    status.state = {running: {}}
    this.logs.set(id, {lines: [], ended: false, listeners: new Set()})
    this.touch(podName)
    return id
  }

  /** Lines printed by the container's current run; `sameStamp` gives them all one timestamp. */
  print(podName: string, container: string, texts: string[], options: {sameStamp?: boolean} = {}): void {
    const log = this.runLog(this.status(podName, container).containerID)
    const first = this.now
    for (const text of texts) {
      if (!options.sameStamp) this.now += 1
      log.lines.push({stamp: new Date(options.sameStamp ? first : this.now).toISOString(), text})
    }
    if (options.sameStamp) this.now += 1
    for (const listener of log.listeners) listener()
  }

  /** The current run stops with `exitCode` (0: completed). */
  stop(podName: string, container: string, exitCode = 1): void {
    const status = this.status(podName, container)
    const log = this.runLog(status.containerID)
    status.state = {terminated: {containerID: status.containerID, exitCode, reason: exitCode === 0 ? 'Completed' : 'Error'}}
    log.ended = true
    for (const listener of log.listeners) listener()
    this.touch(podName)
  }

  /** Crash-loop back-off: waiting, the stopped run kept as lastState. */
  backOff(podName: string, container: string): void {
    const status = this.status(podName, container)
    const terminated = status.state?.terminated
    if (!terminated) throw new Error('backOff needs a stopped run')
    status.lastState = {terminated}
    status.restartCount = (status.restartCount ?? 0) + 1
    status.state = {waiting: {reason: 'CrashLoopBackOff'}}
    this.touch(podName)
  }

  deletePod(name: string): void {
    const pod = this.pods.get(name)
    if (!pod) return
    this.pods.delete(name)
    for (const status of statusesOf(pod)) for (const id of [status.containerID, status.lastState?.terminated?.containerID]) if (id) this.endLog(id)
    this.changed('Pod', 'delete', pod)
  }

  addEvent(involved: {kind: string; name: string; fieldPath?: string}, type: string, reason: string, message: string): void {
    this.now += 1
    const event: V1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {name: `${involved.name}.${this.events.length}`, namespace: this.namespace, uid: `event-${this.events.length}`},
      involvedObject: {kind: involved.kind, name: involved.name, namespace: this.namespace, fieldPath: involved.fieldPath},
      type,
      reason,
      message,
      count: 1,
      lastTimestamp: new Date(this.now),
    }
    this.events.push(event)
    this.changed('Event', 'add', event)
  }

  /** Cut every open log stream; with `midLine`, after sending half of the next line. */
  dropLogStreams(options: {midLine?: boolean} = {}): void {
    for (const open of [...this.openBodies]) {
      const next = open.log.lines[open.sent]
      if (options.midLine && next) open.body.push(`${next.stamp} ${next.text.slice(0, Math.ceil(next.text.length / 2))}`)
      cutSoon(open.body)
    }
  }

  get openStreams(): number {
    return this.openBodies.size
  }

  // --- LogSource ------------------------------------------------------------------------

  async list<K extends KindName>(kind: K): Promise<Array<KindObject<K>>> {
    if (kind === 'Pod') return [...this.pods.values()].map((pod) => structuredClone(pod)) as Array<KindObject<K>>
    if (kind === 'Event') return [...this.events] as Array<KindObject<K>>
    return [...this.objects.values()].filter((o) => o.kind === kind) as Array<KindObject<K>>
  }

  async get<K extends KindName>(kind: K, _namespace: string | undefined, name: string): Promise<KindObject<K> | undefined> {
    if (kind === 'Pod') {
      const pod = this.pods.get(name)
      return pod ? (structuredClone(pod) as KindObject<K>) : undefined
    }
    return this.objects.get(`${kind}/${name}`) as KindObject<K> | undefined
  }

  async watch<K extends KindName, T extends KubernetesObject = KindObject<K>>(
    kind: K,
    _namespace: string | undefined,
    _options: unknown,
    onChange: (event: WatchEvent, object: T) => void,
    signal: AbortSignal,
  ): Promise<void> {
    for (const object of await this.list(kind)) onChange('add', object as unknown as T)
    const listener = onChange as Listener
    const set = this.watchers.get(kind) ?? new Set()
    this.watchers.set(kind, set)
    set.add(listener)
    signal.addEventListener('abort', () => set.delete(listener), {once: true})
  }

  async openLog(_namespace: string, podName: string, options: LogOptions, signal: AbortSignal): Promise<LogAnswer> {
    this.requests.push({pod: podName, ...options})
    this.onLogRequest?.({pod: podName, ...options})
    const pod = this.pods.get(podName)
    if (!pod) return {ok: false, status: 404, message: `pods "${podName}" not found`}
    const status = statusesOf(pod).find((s) => s.name === options.container)
    const id = options.previous
      ? status?.lastState?.terminated?.containerID
      : (status?.state?.terminated?.containerID ?? (status?.state?.running ? status.containerID : status?.lastState?.terminated?.containerID))
    const log = id ? this.logs.get(id) : undefined
    if (!log) return {ok: false, status: 400, message: `container "${options.container}" in pod "${podName}" is waiting to start: ContainerCreating`}
    let from = 0
    if (options.sinceTime !== undefined) {
      const since = stampKey(options.sinceTime)
      from = log.lines.findIndex((line) => stampKey(line.stamp) >= since)
      if (from < 0) from = log.lines.length
    } else if (options.sinceSeconds !== undefined) {
      const since = this.now - options.sinceSeconds * 1000
      from = log.lines.findIndex((line) => Date.parse(line.stamp) >= since)
      if (from < 0) from = log.lines.length
    }
    if (options.tailLines !== undefined) from = Math.max(from, log.lines.length - options.tailLines)
    const body = new Readable({read() {}})
    const open = {body, log, sent: from}
    const cutAfter = this.cutNextReadAfter
    this.cutNextReadAfter = undefined
    const flush = () => {
      if (cutAfter !== undefined) {
        const kept = log.lines.slice(open.sent, open.sent + cutAfter + 1).map((line) => `${line.stamp} ${line.text}`)
        const half = kept.pop()
        body.push(`${kept.join('\n')}\n${half?.slice(0, Math.ceil(half.length / 2)) ?? ''}`)
        cutSoon(body)
        return
      }
      const lines = log.lines.slice(open.sent)
      open.sent = log.lines.length
      if (lines.length > 0) body.push(lines.map((line) => `${options.timestamps ? `${line.stamp} ` : ''}${line.text}\n`).join(''))
      if (!options.follow || log.ended) finish()
    }
    const finish = () => {
      log.listeners.delete(flush)
      this.openBodies.delete(open)
      body.push(null)
    }
    this.openBodies.add(open)
    body.on('close', () => {
      log.listeners.delete(flush)
      this.openBodies.delete(open)
    })
    signal.addEventListener('abort', () => body.destroy(), {once: true})
    log.listeners.add(flush)
    // Like a server, answer first and stream after.
    queueMicrotask(flush)
    this.onLogAnswer?.({pod: podName, ...options})
    return {ok: true, body}
  }

  // --- internals ------------------------------------------------------------------------

  private status(podName: string, container: string): V1ContainerStatus {
    const pod = this.pods.get(podName)
    const status = pod && statusesOf(pod).find((s) => s.name === container)
    if (!status) throw new Error(`no container ${container} in pod ${podName}`)
    return status
  }

  private runLog(id: string | undefined): RunLog {
    const log = id ? this.logs.get(id) : undefined
    if (!log) throw new Error(`no log for run ${id}`)
    return log
  }

  private endLog(id: string): void {
    const log = this.logs.get(id)
    if (!log) return
    log.ended = true
    for (const listener of log.listeners) listener()
    this.logs.delete(id)
  }

  private touch(podName: string): void {
    const pod = this.pods.get(podName)
    if (!pod) return
    pod.status!.phase = 'Running'
    this.changed('Pod', 'update', pod)
  }

  private changed(kind: KindName, event: WatchEvent, object: KubernetesObject): void {
    object.metadata!.resourceVersion = String(++this.resourceVersion)
    for (const listener of this.watchers.get(kind) ?? []) listener(event, structuredClone(object))
  }
}

/** A connection reset: what was sent arrives, then the stream fails (destroying at once would discard it). */
function cutSoon(body: Readable): void {
  setTimeout(() => body.destroy(new Error('aborted')), 5)
}

function waiting(name: string): V1ContainerStatus {
  return {name, image: 'app', imageID: '', ready: false, restartCount: 0, state: {waiting: {reason: 'ContainerCreating'}}}
}

function statusesOf(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
}

/** Collects what the engine prints, line by line, as `pod/container message`. */
export class CollectingOutput {
  readonly lines: string[] = []
  readonly warnings: string[] = []

  write(batches: Array<{source: {pod: string; container: string; stream: string}; messages: string[]}>): void {
    for (const batch of batches) {
      for (const message of batch.messages) this.lines.push(`${batch.source.stream === 'event' ? 'event ' : ''}${batch.source.pod}/${batch.source.container} ${message}`)
    }
  }

  warn(message: string): void {
    this.warnings.push(message)
  }
}

/** Wait until `check` holds, failing with `what` if it does not come true. */
export async function until(check: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
