/**
 * One container run's log (stern's "tail"): read it to the end, or follow it while it runs.
 * Every request asks for timestamps; when a connection drops the read resumes with
 * `sinceTime=<last timestamp>` and skips what it already had, so nothing is lost or repeated.
 * When a followed stream ends, the pod is read again to tell "the container stopped" (read
 * what is left and finish) from "the connection ended early" (follow again).
 */
import {ApiRefusedError} from '../kube/api-failure.js'
import type {LogOptions} from '../kube/client.js'
import type {V1Pod} from '../kube/types.js'
import {sleep} from '../system/sleep.js'
import {BatchBuilder, type LineSource, LineSplitter, type LogBatch, ReadPosition} from './lines.js'
import {type ContainerInstance, type InstancePlace, locateInstance, type LogSource} from './pods.js'

/** Where the first read of a log starts (later reads resume from the last line read). */
export interface FirstRead {
  tailLines?: number
  sinceSeconds?: number
  sinceTime?: string
}

export interface TailContext {
  source: LogSource
  namespace: string
  /** The freshest version of the pod known; undefined once it is gone. */
  pod(): V1Pod | undefined
  /** Read the pod again from the API. */
  refreshPod(): Promise<void>
  /** Lines whose message passes --grep/--exclude. */
  keep(message: string): boolean
  /** A read that keeps failing (shown as a warning). */
  trouble(message: string): void
}

// Lines handed on at a time: small batches keep the memory held while merging small.
const BATCH_LINES = 256
// Retry delays: quick for a dropped connection, capped so a stopped cluster is not hammered.
const FIRST_RETRY_MS = 50
const MAX_RETRY_MS = 2000
// Without --follow a log that cannot be read is reported after this many tries.
const READ_ATTEMPTS = 5
// A followed log failing this many times in a row is worth a warning (once).
const WARN_AFTER_FAILURES = 5

export class ContainerTail {
  readonly source: LineSource
  private readonly position = new ReadPosition()
  private readonly builder: BatchBuilder
  /** The log was read to its end after the container stopped: nothing more will come. */
  private finished = false

  constructor(
    readonly pod: string,
    readonly instance: ContainerInstance,
    private readonly context: TailContext,
    private readonly firstRead: FirstRead,
    component?: string,
  ) {
    this.source = {pod, container: instance.container, stream: 'log', component}
    this.builder = new BatchBuilder(this.source)
  }

  /**
   * The log's lines in batches, from where the last read stopped. Without `follow`, ends at
   * what the container has printed so far; with it, ends when the container stopped and its
   * last line was read, or the pod is gone, or `signal` aborts.
   */
  async *read(follow: boolean, signal: AbortSignal): AsyncGenerator<LogBatch> {
    let failures = 0
    let delay = FIRST_RETRY_MS
    const retry = async (why: string): Promise<boolean> => {
      failures += 1
      if (!follow && failures >= READ_ATTEMPTS) {
        this.context.trouble(`could not read the log of ${this.pod}/${this.instance.container}: ${why}`)
        return false
      }
      if (failures === WARN_AFTER_FAILURES) this.context.trouble(`the log of ${this.pod}/${this.instance.container} keeps failing (${why}); still trying`)
      await sleep(delay, signal)
      delay = Math.min(delay * 2, MAX_RETRY_MS)
      return !signal.aborted
    }

    while (!this.finished && !signal.aborted) {
      const pod = this.context.pod()
      const place = pod && locateInstance(pod, this.instance)
      // The kubelet no longer keeps this run's log (the pod is gone, or two restarts went by).
      if (!place) return
      const following = follow && place.running
      let answer: Awaited<ReturnType<LogSource['openLog']>>
      try {
        answer = await this.context.source.openLog(this.context.namespace, this.pod, this.requestOptions(place, following), signal)
      } catch (error) {
        // Not allowed to read logs (403), or credentials gone (401): asking again cannot help.
        if (error instanceof ApiRefusedError) throw error
        if (signal.aborted || !(await retry((error as Error).message))) return
        continue
      }
      if (!answer.ok) {
        if (answer.status === 404) return
        // 400: the container is not (or no longer) where the status said; look again.
        if (answer.status === 400) await this.context.refreshPod()
        if (!(await retry(answer.message))) return
        continue
      }

      // The kubelet picks the run by container name and `previous` as the request arrives, and the
      // pod read before may be a restart behind. A run only moves on (current, previous, gone), so
      // if it is still where it was, the kubelet served this run; else ask again where it is now.
      // A pod deleted meanwhile (a finished hook) keeps the answer: it is the last word on its log.
      await this.context.refreshPod()
      const now = this.context.pod()
      if (now && locateInstance(now, this.instance)?.previous !== place.previous) {
        answer.body.destroy()
        continue
      }

      const splitter = new LineSplitter()
      const alreadyRead = this.position.alreadyRead()
      const accept = (stamp: string, message: string): boolean => {
        if (alreadyRead(stamp)) return false
        this.position.advance(stamp)
        return this.context.keep(message)
      }
      let completed = false
      let received = false
      try {
        for await (const chunk of answer.body) {
          received = true
          const text = splitter.push(chunk as Buffer)
          for (let at = 0; at < text.length;) {
            const {batch, next} = this.builder.build(text, at, BATCH_LINES, accept)
            at = next
            if (batch.messages.length > 0) yield batch
          }
        }
        const last = this.builder.build(splitter.end(), 0, Infinity, accept).batch
        if (last.messages.length > 0) yield last
        completed = true
      } catch (error) {
        if (signal.aborted) return
        if (!received && !(await retry((error as Error).message))) return
      } finally {
        answer.body.destroy()
      }
      if (received) {
        failures = 0
        delay = FIRST_RETRY_MS
      }
      if (!completed) continue
      if (!following) {
        this.finished = !place.running
        return
      }
      // A followed log ended: the container stopped (read the rest), or the stream was cut.
      await this.context.refreshPod()
      if (!received && !(await retry('the log stream ended at once'))) return
    }
  }

  private requestOptions(place: InstancePlace, follow: boolean): LogOptions {
    const base = {container: this.instance.container, follow, previous: place.previous, timestamps: true}
    const last = this.position.lastStamp
    return last === undefined ? {...base, ...this.firstRead} : {...base, sinceTime: last}
  }
}

/**
 * Follow one container run to its end, line by line: the same resume-without-loss reads as
 * `devctl logs`, for a workflow step that shows a container's output as it runs (the
 * migration). `pod` gives the freshest version of the pod the caller knows.
 */
export async function followContainerRun(
  source: LogSource,
  namespace: string,
  podName: string,
  instance: ContainerInstance,
  pod: () => V1Pod | undefined,
  output: {line(message: string): void; trouble(message: string): void},
  signal: AbortSignal,
): Promise<void> {
  let fetched: V1Pod | undefined
  const context: TailContext = {
    source,
    namespace,
    pod: () => newestPod(fetched, pod()),
    refreshPod: async () => {
      fetched = (await source.get('Pod', namespace, podName).catch(() => fetched)) ?? undefined
    },
    keep: () => true,
    trouble: (message) => output.trouble(message),
  }
  for await (const batch of new ContainerTail(podName, instance, context, {}).read(true, signal)) for (const message of batch.messages) output.line(message)
}

/**
 * The newer of a known version of a pod and one that just arrived: the arrival, unless the known
 * one is strictly newer (resourceVersions are etcd revisions: numbers in practice).
 */
export function newestPod(known: V1Pod | undefined, arrived: V1Pod | undefined): V1Pod | undefined {
  if (!known || !arrived) return arrived ?? known
  const [k, a] = [Number(known.metadata?.resourceVersion), Number(arrived.metadata?.resourceVersion)]
  return Number.isFinite(k) && Number.isFinite(a) && k > a ? known : arrived
}
