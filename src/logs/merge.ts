/**
 * Merging finished logs into one timeline: every source is a sequence of batches already in
 * time order (a container's log, the events), and the output is in time order across all of
 * them. Only one batch per source is held, so memory does not grow with the logs' length; a
 * source whose next line is not yet known is waited for (the sources end, nothing follows).
 */
import {type LogBatch, sliceBatch} from './lines.js'

export type BatchSink = (batches: LogBatch[]) => void | Promise<void>

interface Head {
  order: number
  source: AsyncIterator<LogBatch>
  batch: LogBatch
  index: number
}

// Output is handed on in groups of about this many lines (fewer writes, same order).
const FLUSH_LINES = 4096

async function advance(head: Head): Promise<boolean> {
  for (;;) {
    const next = await head.source.next()
    if (next.done) return false
    if (next.value.messages.length > 0) {
      head.batch = next.value
      head.index = 0
      return true
    }
  }
}

/** Before `other` in the timeline (ties keep the sources' order, so a source's own order holds). */
function before(time: number, order: number, other: Head): boolean {
  const otherTime = other.batch.times[other.index]!
  return time < otherTime || (time === otherTime && order < other.order)
}

export async function mergeInTimeOrder(sources: Array<AsyncIterator<LogBatch>>, write: BatchSink, signal: AbortSignal): Promise<void> {
  const heads: Head[] = []
  try {
    const started = await Promise.all(
      sources.map(async (source, order) => {
        const head: Head = {order, source, batch: {source: {pod: '', container: '', stream: 'log'}, stamps: [], times: [], messages: []}, index: 0}
        return (await advance(head)) ? head : undefined
      }),
    )
    for (const head of started) if (head) heads.push(head)
    let pending: LogBatch[] = []
    let pendingLines = 0
    while (heads.length > 0 && !signal.aborted) {
      // The source whose next line is earliest, and the earliest among the others.
      let first = heads[0]!
      for (const head of heads) if (before(head.batch.times[head.index]!, head.order, first)) first = head
      let runner: Head | undefined
      for (const head of heads) if (head !== first && (!runner || before(head.batch.times[head.index]!, head.order, runner))) runner = head
      // Take every line of `first` that comes before the runner-up's next line.
      const {batch} = first
      let end = first.index + 1
      if (runner) while (end < batch.times.length && before(batch.times[end]!, first.order, runner)) end += 1
      else end = batch.times.length
      pending.push(sliceBatch(batch, first.index, end))
      pendingLines += end - first.index
      first.index = end
      if (pendingLines >= FLUSH_LINES || (first.index >= batch.times.length && heads.length > 1)) {
        await write(pending)
        pending = []
        pendingLines = 0
      }
      if (first.index >= batch.times.length && !(await advance(first))) heads.splice(heads.indexOf(first), 1)
    }
    if (pending.length > 0 && !signal.aborted) await write(pending)
  } finally {
    // Sources left unfinished (an abort, a closed pipe) release their connections.
    await Promise.all(sources.map(async (source) => source.return?.()))
  }
}
