/**
 * How log lines look: `label message`, the label short in a terminal (`api-k9lxj`) and the full
 * `pod/container` when piped, in a colour of its pod's own (plain when NO_COLOR), or with --json one object per line
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
  /**
   * For a person at a terminal: stern-style labels, the component and the pod name's last part
   * (`api-k9lxj`, `worker-ggqtw/init-db`), each pod in its own colour. Piped, the full
   * `pod/container` names are kept for grep and scripts.
   */
  short: boolean
}

export type LogFormatter = (batches: LogBatch[]) => string

const PALETTE = ['cyan', 'green', 'yellow', 'blue', 'magenta', 'red', 'cyanBright', 'greenBright', 'yellowBright', 'blueBright', 'magentaBright', 'redBright'] as const

export function jsonLine(source: LineSource, stamp: string, message: string): string {
  return escapeJsonControls(JSON.stringify({type: 'log', ts: stamp, pod: source.pod, container: source.container, stream: source.stream, message: redact(message)}))
}

/** `api-k9lxj` for container api of pod demo-web-worker-5999c67489-k9lxj (component api); `/container` when it is not the component. */
export function shortLabel(pod: string, container: string, component: string | undefined): string {
  // Events about an owner are labelled "deployment/demo-web-worker": already short and telling.
  if (pod.includes('/')) return pod
  const base = component ?? container ?? pod
  const label = `${base}-${/-([^-]+)$/.exec(pod)?.[1] ?? pod}`
  return container && container !== base ? `${label}/${container}` : label
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
  // Colours go to pods in the order they first appear: the first twelve pods never share one.
  const colors = new Map<string, (typeof PALETTE)[number]>()
  const colorOf = (pod: string) => {
    let color = colors.get(pod)
    if (!color) colors.set(pod, (color = PALETTE[colors.size % PALETTE.length]!))
    return color
  }
  // Events carry no labels: they take the component their pod's log lines told.
  const components = new Map<string, string>()
  const prefixes = new Map<string, string>()
  const prefixOf = (source: LineSource): string => {
    if (source.component) components.set(source.pod, source.component)
    const key = `${source.stream}\0${source.pod}\0${source.container}`
    let prefix = prefixes.get(key)
    if (prefix === undefined) {
      const text = options.short ? shortLabel(source.pod, source.container, components.get(source.pod)) : source.container ? `${source.pod}/${source.container}` : source.pod
      const label = t[colorOf(source.pod)](text)
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
