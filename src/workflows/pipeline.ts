/**
 * A workflow is a pipeline of named steps. Each step has the lifecycle of
 * ../shared/seeds/helm-chart-lifecycles.txt: check prerequisites → prepare → execute →
 * (on failure: diagnose / roll back) → verify. The runner owns what every step needs the same
 * way: events, timing, per-step timeouts, Ctrl-C, and concurrency for groups of steps.
 */
import {DevctlError, InterruptedError, StepTimeoutError} from '../errors.js'
import type {PodSummary} from '../diagnose/pod.js'
import type {Emit, StepStatus} from './events.js'

/** What a running step can do: report progress, and know when to stop. */
export interface StepRun {
  readonly id: string
  /** Aborted on Ctrl-C, on the step's timeout, or when a sibling step failed. */
  readonly signal: AbortSignal
  /**
   * For commands that must not be cut short by the first Ctrl-C (helm): aborted on a second
   * Ctrl-C, on the step's timeout, or when a sibling step failed.
   */
  readonly mustFinishSignal: AbortSignal
  title(title: string): void
  note(message: string): void
  log(source: string, line: string): void
  pod(pod: PodSummary): void
  podGone(name: string): void
  warn(message: string): void
}

interface StepBase<C> {
  id: string
  title: string | ((ctx: C) => string)
  /** A reason to skip the step (shown), or undefined to run it. */
  skip?: (ctx: C) => string | undefined | Promise<string | undefined>
}

export interface LeafStep<C> extends StepBase<C> {
  timeoutMs?: (ctx: C) => number | undefined
  /** What this step needs before it acts (fail here, before anything changes). */
  check?: (ctx: C, run: StepRun) => Promise<void>
  prepare?: (ctx: C, run: StepRun) => Promise<void>
  /** Do the work; may return the step's final title ("Cluster demo reused"). */
  execute: (ctx: C, run: StepRun) => Promise<string | void>
  /** Explain (and possibly roll back) a failure; may return a better error to report. */
  onFailure?: (ctx: C, run: StepRun, error: DevctlError) => Promise<DevctlError | void>
  /** Confirm the result is really there. */
  verify?: (ctx: C, run: StepRun) => Promise<void>
}

export interface GroupStep<C> extends StepBase<C> {
  /** Run side by side; the first failure stops the others. */
  concurrent: Array<Step<C>>
}

export type Step<C> = LeafStep<C> | GroupStep<C>

export interface StepOutcome {
  id: string
  title: string
  status: StepStatus
  durationMs: number
  message?: string
}

export interface PipelineOptions {
  emit: Emit
  signal: AbortSignal
  forceSignal: AbortSignal
}

/** Run steps in order; returns their outcomes, or throws the first failure (already explained). */
export async function runPipeline<C>(steps: Array<Step<C>>, ctx: C, options: PipelineOptions): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = []
  for (const step of steps) {
    outcomes.push(...(await runStep(step, ctx, options, undefined, {interrupt: options.signal, cancel: new AbortController().signal})))
  }
  return outcomes
}

/** `interrupt`: the user's Ctrl-C. `cancel`: a sibling failed or a timeout ran out. */
interface Signals {
  interrupt: AbortSignal
  cancel: AbortSignal
}

async function runStep<C>(step: Step<C>, ctx: C, options: PipelineOptions, parent: string | undefined, signals: Signals): Promise<StepOutcome[]> {
  const {emit} = options
  const started = Date.now()
  let title = typeof step.title === 'function' ? step.title(ctx) : step.title
  emit({type: 'step:start', step: step.id, title, parent})
  for (const s of [signals.interrupt, signals.cancel]) if (s.aborted) throw toDevctlError(s.reason)

  const skipReason = await step.skip?.(ctx)
  if (skipReason) {
    const outcome: StepOutcome = {id: step.id, title, status: 'skipped', durationMs: Date.now() - started, message: skipReason}
    emit({type: 'step:end', step: step.id, status: 'skipped', title, durationMs: outcome.durationMs, message: skipReason})
    return [outcome]
  }

  if ('concurrent' in step) {
    const group = new AbortController()
    const childSignals = {interrupt: signals.interrupt, cancel: AbortSignal.any([signals.cancel, group.signal])}
    const results = await Promise.allSettled(
      step.concurrent.map((child) =>
        runStep(child, ctx, options, step.id, childSignals).catch((error: unknown) => {
          // A sibling's real failure stops the others; a Ctrl-C already reaches each of them on
          // its own terms (a helm command in flight is let finish).
          if (!(error instanceof InterruptedError)) group.abort(error)
          throw error
        }),
      ),
    )
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    const durationMs = Date.now() - started
    if (failure) {
      const error = toDevctlError(failure.reason)
      emit({type: 'step:end', step: step.id, status: 'failed', title, durationMs, message: error.message})
      throw error
    }
    emit({type: 'step:end', step: step.id, status: 'done', title, durationMs})
    return [{id: step.id, title, status: 'done', durationMs}, ...results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []))]
  }

  const timeoutMs = step.timeoutMs?.(ctx)
  const timeout = new AbortController()
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => timeout.abort(new StepTimeoutError(`${title}: not done after ${formatDuration(timeoutMs)}.`)), timeoutMs)
  const cancel = AbortSignal.any([signals.cancel, timeout.signal])
  const signal = AbortSignal.any([signals.interrupt, cancel])
  const run: StepRun = {
    id: step.id,
    signal,
    mustFinishSignal: AbortSignal.any([options.forceSignal, cancel]),
    title: (t) => {
      title = t
      emit({type: 'step:title', step: step.id, title: t})
    },
    note: (message) => emit({type: 'step:note', step: step.id, message}),
    log: (source, line) => emit({type: 'step:log', step: step.id, source, line}),
    pod: (pod) => emit({type: 'pod', step: step.id, pod}),
    podGone: (name) => emit({type: 'pod:gone', step: step.id, name}),
    warn: (message) => emit({type: 'warning', message}),
  }

  try {
    await step.check?.(ctx, run)
    await step.prepare?.(ctx, run)
    const finalTitle = await step.execute(ctx, run)
    if (finalTitle) title = finalTitle
    await step.verify?.(ctx, run)
  } catch (thrown) {
    // A timeout or interruption shows up as whatever the step was awaiting; name it properly.
    let error = signal.aborted && !(thrown instanceof DevctlError && thrown.kind !== 'interrupted') ? toDevctlError(signal.reason) : toDevctlError(thrown)
    if (step.onFailure && !(error instanceof InterruptedError)) {
      const diagnosisRun = {...run, signal: options.signal}
      error = (await step.onFailure(ctx, diagnosisRun, error).catch(() => undefined)) ?? error
    }
    emit({type: 'step:end', step: step.id, status: 'failed', title, durationMs: Date.now() - started, message: error.message})
    throw error
  } finally {
    if (timer) clearTimeout(timer)
  }
  const durationMs = Date.now() - started
  emit({type: 'step:end', step: step.id, status: 'done', title, durationMs})
  return [{id: step.id, title, status: 'done', durationMs}]
}

/** The steps' titles and nesting, for a view that lists them before they run. */
export function outlineOf<C>(steps: Array<Step<C>>, ctx: C): Array<{id: string; title: string; children?: Array<{id: string; title: string}>}> {
  return steps.map((step) => ({
    id: step.id,
    title: typeof step.title === 'function' ? step.title(ctx) : step.title,
    children: 'concurrent' in step ? outlineOf(step.concurrent, ctx) : undefined,
  }))
}

function toDevctlError(error: unknown): DevctlError {
  if (error instanceof DevctlError) return error
  if (error instanceof Error && (error.name === 'AbortError' || (error as {code?: string}).code === 'ABORT_ERR')) return new InterruptedError()
  throw error
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1000)
  return seconds ? `${minutes}m${seconds}s` : `${minutes}m`
}

