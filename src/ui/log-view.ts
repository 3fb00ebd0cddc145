/**
 * How log lines look: `pod/container message`, the prefix in a colour that stays the same for
 * a pod (plain when not a terminal or NO_COLOR), or with --json one object per line
 * {ts, pod, container, stream, message}. Every line is redacted on its way out. The printer
 * passes the terminal's or pipe's backpressure back to the readers, and treats a closed pipe
 * (`devctl logs | head`) as the reader being done, not as an error.
 */
import type {ChalkInstance} from 'chalk'

import type {LogBatch, LineSource} from '../logs/lines.js'
import type {LogOutput} from '../logs/stream.js'
import {redact} from '../secrets/redact.js'
import {escapeControls, escapeJsonControls, forDisplay} from './untrusted-text.js'

export interface LogViewOptions {
  json: boolean
  timestamps: boolean
}

export type LogFormatter = (batches: LogBatch[]) => string

const PALETTE = ['cyan', 'green', 'yellow', 'blue', 'magenta', 'red', 'cyanBright', 'greenBright', 'yellowBright', 'blueBright', 'magentaBright', 'redBright'] as const

/** FNV-1a: the same pod name gets the same colour on every run and machine. */
export function colorIndex(name: string, colors = PALETTE.length): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % colors
}

export function jsonLine(source: LineSource, stamp: string, message: string): string {
  return escapeJsonControls(JSON.stringify({ts: stamp, pod: source.pod, container: source.container, stream: source.stream, message: redact(message)}))
}

export function createLogFormatter(options: LogViewOptions, t: ChalkInstance): LogFormatter {
  if (options.json) {
    return (batches) => {
      let text = ''
      for (const batch of batches) {
        for (let i = 0; i < batch.messages.length; i++) text += `${jsonLine(batch.source, batch.stamps[i]!, batch.messages[i]!)}\n`
      }
      return text
    }
  }
  const prefixes = new Map<string, string>()
  const prefixOf = (source: LineSource): string => {
    const key = `${source.stream}\0${source.pod}\0${source.container}`
    let prefix = prefixes.get(key)
    if (prefix === undefined) {
      const paint = t[PALETTE[colorIndex(source.pod)]!]
      const label = paint(source.container ? `${source.pod}/${source.container}` : source.pod)
      prefix = source.stream === 'event' ? `${label} ${t.dim('[event]')} ` : `${label} `
      prefixes.set(key, prefix)
    }
    return prefix
  }
  return (batches) => {
    let text = ''
    for (const batch of batches) {
      const prefix = prefixOf(batch.source)
      const warning = batch.source.stream === 'event'
      for (let i = 0; i < batch.messages.length; i++) {
        // What a container or an event says may hold terminal control sequences: shown, not run.
        const said = escapeControls(batch.messages[i]!)
        const message = warning && said.startsWith('Warning ') ? t.yellow(said) : said
        text += options.timestamps ? `${prefix}${t.dim(batch.stamps[i]!)} ${message}\n` : `${prefix}${message}\n`
      }
    }
    // One pass over the chunk: a secret never spans lines.
    return redact(text)
  }
}

/** Writes formatted lines to `stream`; `closed` resolves when the reader went away (EPIPE). */
export class LogPrinter implements LogOutput {
  readonly closed: Promise<void>
  private isClosed = false
  private drained: Promise<void> | undefined

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly format: LogFormatter,
    private readonly warnings: (message: string) => void,
  ) {
    this.closed = new Promise((resolve) => {
      stream.on('error', (error: NodeJS.ErrnoException) => {
        // The reader left (`| head`): stop quietly. Anything else is just as final for output.
        if (error.code !== 'EPIPE') this.warnings(`output failed: ${error.message}`)
        this.isClosed = true
        resolve()
      })
    })
  }

  write(batches: LogBatch[]): void | Promise<void> {
    if (this.isClosed) return
    const text = this.format(batches)
    if (!text || this.stream.write(text)) return
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done)
        this.stream.off('error', done)
        this.drained = undefined
        resolve()
      }
      this.stream.on('drain', done)
      this.stream.on('error', done)
    })
    return this.drained
  }

  warn(message: string): void {
    this.warnings(forDisplay(message))
  }
}
