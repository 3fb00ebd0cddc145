/**
 * Log lines as devctl carries them: batches (one per chunk the API sent), each line with the
 * timestamp the kubelet stamped on it (`timestamps=true`), which orders lines across pods and
 * lets a dropped stream resume exactly where it stopped.
 */
import {StringDecoder} from 'node:string_decoder'

/** Where lines come from: a container of a pod, or a Kubernetes object's events. */
export interface LineSource {
  pod: string
  /** The pod's app.kubernetes.io/component (or app.kubernetes.io/name), for short labels. */
  component?: string
  container: string
  stream: 'log' | 'event'
}

export interface LogBatch {
  source: LineSource
  /** RFC 3339 timestamps as the API printed them. */
  stamps: string[]
  /** The same, as epoch milliseconds, for ordering. */
  times: number[]
  messages: string[]
}

export function emptyBatch(source: LineSource): LogBatch {
  return {source, stamps: [], times: [], messages: []}
}

export function sliceBatch(batch: LogBatch, from: number, to: number): LogBatch {
  if (from === 0 && to === batch.messages.length) return batch
  return {source: batch.source, stamps: batch.stamps.slice(from, to), times: batch.times.slice(from, to), messages: batch.messages.slice(from, to)}
}

/**
 * Cuts a byte stream at line ends: each push gives the text of the lines it completed (a line
 * cut across chunks, even inside a UTF-8 character, is joined); the end gives the last line
 * even without its newline.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private partial = ''

  push(chunk: Buffer): string {
    const text = this.partial + this.decoder.write(chunk)
    const end = text.lastIndexOf('\n') + 1
    this.partial = text.slice(end)
    return text.slice(0, end)
  }

  end(): string {
    const rest = this.partial + this.decoder.end()
    this.partial = ''
    return rest ? `${rest}\n` : ''
  }
}

/**
 * A timestamp as a string that sorts like the time it names: the fraction padded to
 * nanoseconds ("…:05Z" and "…:05.5Z" do not sort as text).
 */
export function stampKey(stamp: string): string {
  const dot = stamp.indexOf('.')
  const end = stamp.length - 1
  const fraction = dot < 0 ? '' : stamp.slice(dot + 1, end)
  return `${dot < 0 ? stamp.slice(0, end) : stamp.slice(0, dot)}.${fraction.padEnd(9, '0')}`
}

/**
 * How far a container's log has been read: the last timestamp and how many lines carried it.
 * Resuming asks for `sinceTime=<last>` and drops what was already read, so a dropped
 * connection neither loses nor repeats a line (several lines may share one timestamp).
 */
export class ReadPosition {
  private stamp: string | undefined
  private countAtStamp = 0

  get lastStamp(): string | undefined {
    return this.stamp
  }

  advance(stamp: string): void {
    if (stamp === this.stamp) this.countAtStamp += 1
    else {
      this.stamp = stamp
      this.countAtStamp = 1
    }
  }

  /** For one resumed read: says, line by line, whether it was read before. */
  alreadyRead(): (stamp: string) => boolean {
    const last = this.stamp
    if (last === undefined) return () => false
    const lastKey = stampKey(last)
    let repeatsLeft = this.countAtStamp
    let resumed = false
    return (stamp) => {
      if (resumed) return false
      const key = stampKey(stamp)
      if (key < lastKey) return true
      if (key === lastKey && repeatsLeft > 0) {
        repeatsLeft -= 1
        return true
      }
      resumed = true
      return false
    }
  }
}

/**
 * Turns the kubelet's "<timestamp> <message>" lines into batches, keeping the ones `accept`
 * takes. A chunk of text is read a few lines at a time, so what waits to be printed stays
 * small however large the chunks the API sends.
 */
export class BatchBuilder {
  private lastStamp = ''
  private lastTime = 0

  constructor(private readonly source: LineSource) {}

  /** Lines of `text` (complete lines, newline-terminated) from `from`, at most `maxLines`; `next` is where to go on. */
  build(text: string, from: number, maxLines: number, accept: (stamp: string, message: string) => boolean): {batch: LogBatch; next: number} {
    const batch = emptyBatch(this.source)
    let at = from
    for (let count = 0; count < maxLines && at < text.length; count++) {
      const found = text.indexOf('\n', at)
      const newline = found < 0 ? text.length : found
      const end = newline > at && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline
      const space = text.indexOf(' ', at)
      const hasMessage = space >= 0 && space < end
      const stamp = text.slice(at, hasMessage ? space : end)
      const message = hasMessage ? text.slice(space + 1, end) : ''
      at = newline + 1
      if (!accept(stamp, message)) continue
      if (stamp !== this.lastStamp) {
        this.lastStamp = stamp
        this.lastTime = Date.parse(stamp)
      }
      batch.stamps.push(stamp)
      batch.times.push(this.lastTime)
      batch.messages.push(message)
    }
    return {batch, next: at}
  }
}
