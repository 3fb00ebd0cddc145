/**
 * The log streaming service behind `devctl logs`: "find the release's pods, read every
 * container's log (and the run before a restart) merged in time order, then, when following,
 * keep every container's log live and pick up new pods and restarts as they happen."
 * It never prints: lines go to a LogOutput, whose backpressure pauses the reads.
 */
import {setMaxListeners} from 'node:events'

import {ClusterError, UsageError} from '../errors.js'
import {ApiRefusedError} from '../kube/api-failure.js'
import type {WatchEvent} from '../kube/client.js'
import type {V1Event, V1Pod} from '../kube/types.js'
import {byTime, type EventLine, eventLine, eventsInTimeOrder} from './events.js'
import type {LogBatch} from './lines.js'
import {mergeInTimeOrder} from './merge.js'
import type {LogsRequest} from './options.js'
import {componentOf, instancesOf, type LogSource, podKey, PodSelector} from './pods.js'
import {ContainerTail, type FirstRead, newestPod, type TailContext} from './tail.js'

export interface LogOutput {
  /** Print these lines; a returned promise means "wait before sending more". */
  write(batches: LogBatch[]): void | Promise<void>
  /** Something the user should know that is not a log line (a log that cannot be read). */
  warn(message: string): void
}

export interface LogsOutcome {
  pods: number
  containers: number
  /** Logs that could not be read (without --follow); already passed to `warn`. */
  problems: string[]
}

interface PodEntry {
  pod: V1Pod
  gone: boolean
  selected: Promise<boolean>
  /** Set once `selected` resolved true. */
  isSelected: boolean
  /** By containerID: one tail per container run, so a restart never doubles a stream. */
  tails: Map<string, ContainerTail>
}

function firstReadOf(request: LogsRequest): FirstRead {
  const since = request.since === undefined ? {} : 'seconds' in request.since ? {sinceSeconds: request.since.seconds} : {sinceTime: request.since.time}
  return {...since, ...(request.tail === undefined ? {} : {tailLines: request.tail})}
}

function sinceCutoff(request: LogsRequest): number {
  if (request.since === undefined) return -Infinity
  return 'seconds' in request.since ? Date.now() - request.since.seconds * 1000 : Date.parse(request.since.time)
}

class LogSession {
  private readonly selector: PodSelector
  private readonly pods = new Map<string, PodEntry>()
  private readonly selections = new Set<Promise<unknown>>()
  private readonly shownEvents = new Set<string>()
  private readonly following = new Set<Promise<void>>()
  private readonly problems: string[] = []
  /**
   * snapshot: the pods found at the start get tails that start where the request says;
   * backlog: those are being read (new runs wait); live: new runs are followed from their start.
   */
  private phase: 'snapshot' | 'backlog' | 'live' = 'snapshot'
  private backlog: ContainerTail[] = []
  private queuedEvents: V1Event[] = []
  /** The API refused a watch or a log while following: the session ends with it. */
  private refusal: ClusterError | undefined
  private readonly signal: AbortSignal

  constructor(
    private readonly source: LogSource,
    private readonly request: LogsRequest,
    private readonly output: LogOutput,
    private readonly stop: AbortController,
  ) {
    this.signal = stop.signal
    this.selector = new PodSelector(source, request)
  }

  private refuse(error: ClusterError): void {
    this.refusal ??= error
    this.stop.abort(error)
  }

  async readOnce(): Promise<LogsOutcome> {
    const [pods, events] = await Promise.all([this.source.list('Pod', this.request.namespace), this.request.events ? this.source.list('Event', this.request.namespace) : Promise.resolve([])])
    for (const pod of pods) this.onPod('add', pod)
    this.queuedEvents = events
    await this.readBacklog()
    return this.outcome()
  }

  async follow(): Promise<LogsOutcome> {
    await Promise.all([
      this.source.watch(
        'Pod',
        this.request.namespace,
        {},
        (event, pod) => this.onPod(event, pod),
        this.signal,
        (error) => this.refuse(error),
      ),
      this.request.events
        ? this.source.watch(
            'Event',
            this.request.namespace,
            {},
            (event, object) => this.onEvent(event, object),
            this.signal,
            (error) => this.refuse(error),
          )
        : undefined,
    ])
    await this.readBacklog()
    this.phase = 'live'
    for (const tail of this.backlog) this.startFollowing(tail)
    this.backlog = []
    for (const entry of this.pods.values()) this.checkPod(entry)
    void this.showLiveEvents(this.queuedEvents.splice(0))
    await new Promise<void>((resolve) => (this.signal.aborted ? resolve() : this.signal.addEventListener('abort', () => resolve(), {once: true})))
    await Promise.all(this.following)
    if (this.refusal) throw this.refusal
    return this.outcome()
  }

  private outcome(): LogsOutcome {
    let pods = 0
    let containers = 0
    for (const entry of this.pods.values()) {
      if (entry.tails.size === 0) continue
      pods += 1
      containers += new Set([...entry.tails.values()].map((tail) => tail.instance.container)).size
    }
    return {pods, containers, problems: this.problems}
  }

  /** Wait until every pod seen so far has been checked (owner lookups) and given its tails. */
  private async settled(): Promise<void> {
    while (this.selections.size > 0) await Promise.all(this.selections)
  }

  /** Read what the pods found at the start have printed (and their events), as one timeline. */
  private async readBacklog(): Promise<void> {
    await this.settled()
    this.phase = 'backlog'
    if (![...this.pods.values()].some((entry) => entry.isSelected)) {
      const {release, namespace, follow, components} = this.request
      const known = this.selector.components()
      // A component asked for by name that nothing matches is a typo far more often than a pod yet to come.
      if (components.length > 0 && known.length > 0) {
        throw new UsageError(`No pod of release ${release} matches ${components.map((c) => JSON.stringify(c)).join(' or ')}: it is no component and no part of a pod name.`, {
          hint: `Components in namespace ${namespace}: ${known.join(', ')}. Run \`devctl logs COMPONENT\`, or \`devctl logs\` for every pod.`,
        })
      }
      this.output.warn(`No pods of release ${release} in namespace ${namespace} match${follow ? ' yet; waiting for them' : ''}.`)
    }
    const events = this.eventsToShow(this.queuedEvents.splice(0))
    const sources = this.backlog.map((tail) => tail.read(false, this.signal))
    if (events.length > 0) sources.push(eventsInTimeOrder(events))
    await mergeInTimeOrder(sources, (batches) => this.output.write(batches), this.signal)
  }

  private onPod(event: WatchEvent, pod: V1Pod): void {
    const key = podKey(pod)
    let entry = this.pods.get(key)
    if (event === 'delete') {
      // Its tails end on their own (the kubelet drops the logs); nothing new will come for it.
      if (entry) entry.gone = true
      this.pods.delete(key)
      this.selector.forget(pod)
      return
    }
    if (!entry) {
      entry = {pod, gone: false, selected: this.selector.selects(pod), isSelected: false, tails: new Map()}
      this.pods.set(key, entry)
    } else entry.pod = newestPod(entry.pod, pod) ?? pod
    this.checkPod(entry)
  }

  /** Once the pod is known to be selected, give its new container runs their tails. */
  private checkPod(entry: PodEntry): void {
    const settle = entry.selected.then(
      (selected) => {
        entry.isSelected = selected
        if (selected) this.addTails(entry)
      },
      (error: unknown) => this.trouble(`could not tell whether pod ${entry.pod.metadata?.name} belongs to the release: ${(error as Error).message}`),
    )
    this.selections.add(settle)
    void settle.finally(() => this.selections.delete(settle))
  }

  /** Give every container run of the pod that has no tail yet its own. */
  private addTails(entry: PodEntry): void {
    if (this.phase === 'backlog') return
    const name = entry.pod.metadata?.name ?? ''
    for (const instance of instancesOf(entry.pod)) {
      if (entry.tails.has(instance.containerID)) continue
      if (this.request.container && !this.request.container.test(instance.container)) continue
      const live = this.phase === 'live'
      const tail = new ContainerTail(name, instance, this.tailContext(entry), live ? {} : firstReadOf(this.request), componentOf(entry.pod))
      entry.tails.set(instance.containerID, tail)
      if (live) this.startFollowing(tail)
      else this.backlog.push(tail)
    }
  }

  private tailContext(entry: PodEntry): TailContext {
    const {request, source} = this
    return {
      source,
      namespace: request.namespace,
      pod: () => (entry.gone ? undefined : entry.pod),
      refreshPod: async () => {
        const fresh = await source.get('Pod', request.namespace, entry.pod.metadata?.name ?? '').catch(() => entry.pod)
        if (!fresh || fresh.metadata?.uid !== entry.pod.metadata?.uid) entry.gone = true
        else entry.pod = newestPod(entry.pod, fresh) ?? fresh
      },
      keep: (message: string) => this.keep(message),
      trouble: (message: string) => this.trouble(message),
    }
  }

  private keep(message: string): boolean {
    return (!this.request.grep || this.request.grep.test(message)) && !this.request.exclude?.test(message)
  }

  private trouble(message: string): void {
    if (!this.request.follow) this.problems.push(message)
    this.output.warn(message)
  }

  private startFollowing(tail: ContainerTail): void {
    const run = (async () => {
      for await (const batch of tail.read(true, this.signal)) await this.output.write([batch])
    })().catch((error: unknown) => {
      if (error instanceof ApiRefusedError) this.refuse(error)
      else this.trouble(`following ${tail.pod}/${tail.instance.container} failed: ${(error as Error).message}`)
    })
    this.following.add(run)
    void run.finally(() => this.following.delete(run))
  }

  /** Events about the selected pods and their owners, since --since, with --grep/--exclude applied. */
  private eventsToShow(events: V1Event[]): EventLine[] {
    const cutoff = sinceCutoff(this.request)
    const lines: EventLine[] = []
    for (const event of events) {
      const line = eventLine(event)
      if (line && line.time >= cutoff && !this.shownEvents.has(line.key) && this.eventSelected(line)) {
        this.shownEvents.add(line.key)
        lines.push(line)
      }
    }
    return lines
  }

  private eventSelected(line: EventLine): boolean {
    const {kind, name} = line.involved
    if (line.container && this.request.container && !this.request.container.test(line.container)) return false
    if (!this.keep(line.batch.messages[0] ?? '')) return false
    if (kind !== 'Pod') return this.selector.selectedOwners.has(`${kind}/${name}`)
    return [...this.pods.values()].some((entry) => entry.isSelected && entry.pod.metadata?.name === name)
  }

  private onEvent(event: WatchEvent, object: V1Event): void {
    if (event === 'delete') return
    if (this.phase === 'live') void this.showLiveEvents([object])
    else this.queuedEvents.push(object)
  }

  private async showLiveEvents(events: V1Event[]): Promise<void> {
    // The pod an event is about may still be being checked.
    await this.settled()
    const lines = this.eventsToShow(events).sort(byTime)
    if (lines.length > 0) await this.output.write(lines.map((line) => line.batch))
  }
}

/** Stream the request's logs into `output` until done (without follow) or `signal` aborts. */
export async function streamLogs(source: LogSource, request: LogsRequest, output: LogOutput, signal: AbortSignal): Promise<LogsOutcome> {
  // Every container's requests listen on one signal: as many listeners as containers is no leak.
  const stop = new AbortController()
  setMaxListeners(0, stop.signal)
  if (signal.aborted) stop.abort(signal.reason)
  else signal.addEventListener('abort', () => stop.abort(signal.reason), {once: true})
  const session = new LogSession(source, request, output, stop)
  return request.follow ? session.follow() : session.readOnce()
}
