/**
 * `devctl dev` on screen. In a terminal: the first `up` as its live task list, then one live
 * line at the bottom — what is watched, or the cycle running now with its current step — and
 * above it, printed once, a line per cycle with its durations, the replaced pods' logs,
 * warnings, and a failed cycle's explanation. Piped (CI, files): timestamped plain lines for
 * every step, as `up` prints them. --json: every event, one object per line.
 */
import type {ChalkInstance} from 'chalk'
import {createLogUpdate} from 'log-update'

import type {CycleFailure, DevEvent} from '../workflows/dev.js'
import type {WorkflowEvent} from '../workflows/events.js'
import {formatDuration, type StepOutline} from '../workflows/pipeline.js'
import {shortLabel} from './log-view.js'
import {eventJson, plainView, type ProgressMode, type ProgressView} from './progress.js'
import {forDisplay} from './untrusted-text.js'
import {terminalWidth, wrapLine, wrapText} from './wrap.js'

export interface DevView {
  emit(event: DevEvent): void
  close(): Promise<void>
}

const STOPPED = 'Stopped watching. The environment is still up: `devctl status` shows it, `devctl down` removes it.'

function isWorkflowEvent(event: DevEvent): event is WorkflowEvent {
  return !['cycle:start', 'cycle:end', 'watching', 'log'].includes(event.type)
}

/** The lines that explain a failed cycle, and that the watching goes on. */
function failureLines(cycle: number, failure: CycleFailure, t: ChalkInstance): string[] {
  return [
    `${t.red('✖')} cycle ${cycle} failed: ${forDisplay(failure.message)}`,
    ...failure.details.map((detail) => `    ${forDisplay(detail)}`),
    ...(failure.hint ? [`  ${t.cyan('→')} ${forDisplay(failure.hint)}`] : []),
    t.dim('  Still watching: save a fix and the cycle runs again.'),
  ]
}

function cycleLine(event: Extract<DevEvent, {type: 'cycle:end'}>, t: ChalkInstance): string[] {
  if (event.status === 'failed' && event.error) return failureLines(event.cycle, event.error, t)
  const mark = event.status === 'done' ? t.green('✔') : t.dim('=')
  const lines = [`${mark} cycle ${event.cycle}: ${event.summary} ${t.dim(`(${formatDuration(event.durationMs)})`)}`]
  for (const endpoint of event.result?.endpoints ?? []) lines.push(`  ${endpoint.name}: ${endpoint.url ? t.cyan(endpoint.url) : t.dim(endpoint.command ?? '')}`)
  return lines
}

function watchingLine(paths: string[], t: ChalkInstance): string {
  return `${t.cyan('●')} watching ${paths.join(', ')} ${t.dim('— save to rebuild and redeploy; Ctrl-C stops watching (the environment stays up)')}`
}

function logLine(event: Extract<DevEvent, {type: 'log'}>, t: ChalkInstance): string {
  return `${t.dim(shortLabel(event.pod, event.container, event.component))} ${t.dim('│')} ${forDisplay(event.line)}`
}

function changesOf(event: Extract<DevEvent, {type: 'cycle:start'}>): string {
  if (event.trigger === 'start') return 'devctl up'
  const shown = event.changes.slice(0, 3).join(', ')
  return `${shown}${event.changes.length > 3 ? ` (+${event.changes.length - 3})` : ''} changed${event.trigger === 'retry' ? ', after a failed up: up again' : event.trigger === 'config' ? ': up again' : ''}`
}

/** Piped output (and --quiet): plain lines; the steps of each cycle too, unless quiet. */
function plainDevView(print: (line: string) => void, t: ChalkInstance, quiet: boolean): DevView {
  const columns = terminalWidth()
  const steps: ProgressView | undefined = quiet ? undefined : plainView(print, t, columns)
  const write = (line: string) => print(wrapLine(line, columns))
  return {
    emit(event) {
      switch (event.type) {
        case 'cycle:start':
          if (event.cycle > 0) write(`${t.cyan('⟳')} cycle ${event.cycle}: ${changesOf(event)}`)
          return
        case 'cycle:end':
          for (const line of cycleLine(event, t)) write(line)
          return
        case 'watching':
          write(watchingLine(event.paths, t))
          return
        case 'log':
          write(logLine(event, t))
          return
        default:
          if (event.type === 'warning' && quiet) write(`${t.yellow('!')} ${forDisplay(event.message)}`)
          steps?.emit(event)
      }
    },
    async close() {
      process.stderr.write(`${STOPPED}\n`)
    },
  }
}

interface LiveStep {
  title: string
  note?: string
  logs: string[]
  running: boolean
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/** A terminal: the first `up` as its task list, then a live line under the printed history. */
async function liveDevView(outline: StepOutline[], t: ChalkInstance): Promise<DevView> {
  const {taskListView} = await import('./task-list.js')
  const out = (line: string) => process.stdout.write(`${line}\n`)
  let first: ProgressView | undefined = taskListView(outline, t, out, terminalWidth())
  const draw = createLogUpdate(process.stdout)
  let watching: string[] = []
  let running: {cycle: number; changes: string; steps: Map<string, LiveStep>} | undefined
  let frame = 0
  const ticker = setInterval(() => running && render(), 120)
  ticker.unref()

  const render = () => {
    const columns = terminalWidth()
    if (!running) return draw(watching.length > 0 ? wrapLine(watchingLine(watching, t), columns) : '')
    frame = (frame + 1) % SPINNER.length
    const lines = [`${t.cyan(SPINNER[frame]!)} cycle ${running.cycle}: ${running.changes}`]
    for (const step of [...running.steps.values()].filter((s) => s.running)) {
      lines.push(`  ${t.cyan('▸')} ${forDisplay(step.title)}`)
      for (const log of step.logs.slice(-3)) lines.push(`    ${t.dim('│')} ${forDisplay(log)}`)
      if (step.note) lines.push(`    ${t.dim(`› ${forDisplay(step.note)}`)}`)
    }
    draw(wrapText(lines.join('\n'), columns))
  }
  /** Lines printed for good above the live line. */
  const persist = (lines: string[]) => {
    draw.clear()
    process.stdout.write(`${wrapText(lines.join('\n'), terminalWidth())}\n`)
    render()
  }

  const cycleStep = (event: WorkflowEvent) => {
    if (!running || event.type === 'outline' || event.type === 'warning' || event.type === 'pod' || event.type === 'pod:gone') return
    const step = running.steps.get(event.step) ?? {title: '', logs: [], running: false}
    running.steps.set(event.step, step)
    if (event.type === 'step:start') Object.assign(step, {title: event.title, running: true})
    else if (event.type === 'step:title') step.title = event.title
    else if (event.type === 'step:note') step.note = event.message
    else if (event.type === 'step:log') step.logs = [...step.logs, `${event.source}: ${event.line}`].slice(-3)
    else if (event.type === 'step:end') step.running = false
    render()
  }

  const handle = (event: DevEvent) => {
    switch (event.type) {
      case 'cycle:start':
        running = {cycle: event.cycle, changes: changesOf(event), steps: new Map()}
        render()
        return
      case 'cycle:end':
        running = undefined
        persist(cycleLine(event, t))
        return
      case 'watching':
        watching = event.paths
        render()
        return
      case 'log':
        persist([logLine(event, t)])
        return
      case 'warning':
        persist([`${t.yellow('!')} ${forDisplay(event.message)}`])
        return
      default:
        cycleStep(event)
    }
  }
  // After the task list: events are drawn in order, once the list has finished drawing.
  let queue = Promise.resolve()

  return {
    emit(event) {
      if (first) {
        // The first `up`: its task list, until it ends.
        if (event.type !== 'cycle:end') {
          if (isWorkflowEvent(event)) first.emit(event)
          return
        }
        const list = first
        first = undefined
        queue = list.close().then(() => persist(cycleLine(event, t)))
        return
      }
      queue = queue.then(() => handle(event))
    },
    async close() {
      clearInterval(ticker)
      await first?.close()
      await queue
      draw.clear()
      draw.done()
      process.stdout.write(`${t.dim(STOPPED)}\n`)
    },
  }
}

export async function createDevView(mode: ProgressMode, outline: StepOutline[], t: ChalkInstance): Promise<DevView> {
  switch (mode) {
    case 'json':
      return {emit: (event) => process.stdout.write(`${eventJson(event)}\n`), close: async () => {}}
    case 'tasks':
      return liveDevView(outline, t)
    default:
      return plainDevView((line) => process.stdout.write(`${line}\n`), t, mode === 'quiet')
  }
}
