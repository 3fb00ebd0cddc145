/**
 * The live task list (listr2) for a terminal. listr2 only draws: the workflow runs on its own
 * and this view turns its events into task states — each step a task, Postgres and Redis side
 * by side, one line per pod under the step that waits on it, the latest log lines of a
 * migration, and each step's elapsed time.
 */
import type {ChalkInstance} from 'chalk'
import {figures, Listr, ListrDefaultRendererLogLevels, type ListrTask} from 'listr2'

import type {PodSummary} from '../diagnose/pod.js'
import type {EventOf, WorkflowEvent} from '../workflows/events.js'
import {formatDuration} from '../workflows/pipeline.js'
import type {StepOutline} from '../workflows/pipeline.js'
import {podLine, podMark, type ProgressView} from './progress.js'
import {forDisplay} from './untrusted-text.js'
import {wrapLine} from './wrap.js'

const LOG_LINES = 6

interface StepState {
  started: Promise<EventOf<'step:start'>>
  ended: Promise<EventOf<'step:end'>>
  start(event: EventOf<'step:start'>): void
  end(event: EventOf<'step:end'>): void
  title?: string
  note?: string
  /** The first Ctrl-C's notice, under the step that is running when it comes. */
  stopping?: string
  running: boolean
  /** 0 for a step, 1 for a step of a group: how far listr2 indents its rows. */
  level: number
  logs: string[]
  pods: Map<string, PodSummary>
  render?: () => void
}

function stepState(): StepState {
  let start!: (e: EventOf<'step:start'>) => void
  let end!: (e: EventOf<'step:end'>) => void
  const started = new Promise<EventOf<'step:start'>>((resolve) => (start = resolve))
  const ended = new Promise<EventOf<'step:end'>>((resolve) => (end = resolve))
  return {started, ended, start, end, logs: [], pods: new Map(), running: false, level: 0}
}

/**
 * The lines under a step's title, each fitted to the terminal (`columns`) on word boundaries:
 * listr2 would wrap them too, but flush with the title, not under the text they continue.
 */
function output(state: StepState, columns: number | undefined): string {
  const lines = [...state.pods.values()].map((pod) => `  ${podMark(pod)} ${podLine(pod)}`)
  lines.push(...state.logs.map((line) => `  │ ${line}`))
  if (state.note) lines.push(`  › ${state.note}`)
  if (state.stopping) lines.push(`  ${state.stopping}`)
  // listr2 puts a title's further lines two columns in from the step's own indentation.
  const width = columns === undefined ? undefined : columns - state.level * 2 - 2
  // Cluster text made safe first, so what is wrapped is what the terminal shows.
  return lines.map((line) => wrapLine(forDisplay(line), width)).join('\n')
}

/** Every step of an outline, groups' members included. */
function everyStep(steps: StepOutline[]): StepOutline[] {
  return steps.flatMap((step) => [step, ...everyStep(step.children ?? [])])
}

/**
 * `outline`: the steps listed from the start; steps announced later (an `outline` event) are
 * drawn as a list of their own under it, once it is done, so the list can stop for a question
 * (`pause`) and go on with the steps that follow. `write` prints under the list once it is
 * done; `columns`: the terminal's width.
 */
export function taskListView(outline: StepOutline[], t: ChalkInstance, write: (line: string) => void, columns?: number): ProgressView {
  const states = new Map<string, StepState>()
  // Printed under the list once it is done: listr2 redraws everything above its last line.
  const warnings: string[] = []
  const state = (id: string) => {
    let s = states.get(id)
    if (!s) states.set(id, (s = stepState()))
    return s
  }

  /** `group`: the state of the group a member belongs to. */
  const toTask = (step: StepOutline, level: number, group?: StepState): ListrTask => {
    const s = state(step.id)
    return {
      title: step.title,

      task: async (_ctx, task) => {
        s.level = level
        const start = await s.started
        task.title = start.title
        // The live lines go in the title: listr2 redraws a title in place, whereas task output
        // accumulates as history.
        s.render = () => {
          const detail = output(s, columns)
          task.title = detail ? `${s.title ?? start.title}\n${detail}` : (s.title ?? start.title)
        }
        // Pods and notes that came before listr2 reached this task are drawn now, not at the next event.
        s.render()
        if (step.children) {
          // A group either ends skipped, or its children start.
          const first = await Promise.race([s.ended, ...step.children.map((c) => state(c.id).started)])
          if (first.type === 'step:end' && first.status === 'skipped') return task.skip(`${first.title} — skipped: ${first.message ?? ''}`)
          // A member that failed fails the group (✖, not listr2's ⚠ "done with failed subtasks").
          return task.newListr(
            step.children.map((child) => toTask(child, level + 1, s)),
            {concurrent: true, exitOnError: true},
          )
        }
        const end = await s.ended
        s.render = undefined
        if (end.status === 'skipped') return task.skip(`${end.title} — skipped: ${end.message ?? ''}`)
        // The workflow's own timing (listr only sees when it started drawing the task); the pods
        // stay listed under a finished step, the notes and logs go.
        s.note = undefined
        s.logs = []
        const pods = output(s, columns)
        task.title = `${end.title} (${formatDuration(end.durationMs)})${pods ? `\n${pods}` : ''}`
        if (end.status !== 'failed') return
        // Only once every member has ended: the first failure ends the group's list.
        await group?.ended
        throw new Error(forDisplay(end.message ?? 'failed'))
      },
    }
  }

  let drawing = false
  /** The steps of the list drawn last (or next). */
  let shown: StepOutline[] = []
  /** Lists are drawn one after another, each once the one before is done. */
  let lists = Promise.resolve()

  const flushWarnings = () => {
    for (const warning of warnings.splice(0)) write(`${t.yellow('!')} ${warning}`)
  }

  /** Steps the workflow never reached (it failed or was interrupted) end as not run. */
  const endUnreached = () => {
    for (const step of everyStep(shown)) {
      const s = state(step.id)
      const title = s.title ?? step.title
      s.start({type: 'step:start', step: step.id, title})
      s.end({type: 'step:end', step: step.id, status: 'skipped', title, durationMs: 0, message: 'not run'})
    }
  }

  const show = (steps: StepOutline[]) => {
    endUnreached()
    shown = steps
    // Each list's steps are its own, even under an id an earlier list had.
    for (const step of everyStep(steps)) states.set(step.id, stepState())
    const list = new Listr(
      steps.map((step) => toTask(step, 0)),
      {
        concurrent: false,
        exitOnError: true,
        // Ctrl-C belongs to the command (base-command.ts): listr2's own handler exits at once (127),
        // killing a helm command that must be let finish and leaving the release pending.
        registerSignalListeners: false,
        rendererOptions: {
          collapseSubtasks: false,
          collapseSkips: true,
          collapseErrors: false,
          showErrorMessage: false,
          // A failed group is marked as failed (listr2 marks it ❯, as if it still ran).
          icon: {[ListrDefaultRendererLogLevels.FAILED_WITH_FAILED_SUBTASKS]: figures.cross},
        },
      },
    )
    lists = lists.then(async () => {
      drawing = true
      await list.run().catch(() => {})
      drawing = false
      flushWarnings()
    })
  }

  const settle = async () => {
    endUnreached()
    shown = []
    await lists
    flushWarnings()
  }

  if (outline.length > 0) show(outline)

  return {
    notice(message) {
      // listr2 holds stderr back while it draws, so the notice goes under the steps still running.
      if (!drawing) {
        process.stderr.write(`\n${message}\n`)
        return
      }
      for (const step of shown) {
        const s = state(step.id)
        if (!s.running) continue
        s.stopping = t.yellow(`› ${message}`)
        s.render?.()
      }
    },
    emit(event: WorkflowEvent) {
      if (event.type === 'outline') {
        show(event.steps)
        return
      }
      if (event.type === 'warning') {
        warnings.push(forDisplay(event.message))
        return
      }
      const s = state(event.step)
      switch (event.type) {
        case 'step:start':
          s.running = true
          s.start(event)
          return
        case 'step:end':
          s.running = false
          if (s.stopping) {
            s.stopping = undefined
            s.render?.()
          }
          s.end(event)
          return
        case 'step:title':
          s.title = event.title
          break
        case 'step:note':
          s.note = event.message
          break
        case 'step:log':
          s.logs = [...s.logs, `${event.source}: ${event.line}`].slice(-LOG_LINES)
          break
        case 'pod':
          s.pods.set(event.pod.name, event.pod)
          break
        case 'pod:gone':
          s.pods.delete(event.name)
          break
      }
      s.render?.()
    },
    pause: settle,
    close: settle,
  }
}
