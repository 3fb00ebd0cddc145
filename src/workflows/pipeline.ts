/**
 * A workflow is a pipeline of named steps, run in the order the workflow calls them. Each step
 * takes what it needs as its input and returns what it produced, so the compiler checks that a
 * step runs only after the ones it depends on. The runner owns what every step needs the same
 * way: events, timing, per-step time limits, Ctrl-C, explaining a failure (the step's
 * onFailure: diagnose, or roll back), and groups of steps that run side by side.
 */
import {DevctlError, InterruptedError, StepTimeoutError} from '../errors.js'
import type {PodSummary} from '../diagnose/pod.js'
import {fileSystemError} from '../system/files.js'
import type {Emit, StepStatus} from './events.js'
import type {Project} from './project.js'

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
  /** The step's title from now on; the last one set is the title it ends with. */
  title(title: string): void
  note(message: string): void
  log(source: string, line: string): void
  pod(pod: PodSummary): void
  podGone(name: string): void
  warn(message: string): void
  /** The step found, once running, that it does not apply: it ends as skipped, for this reason, when it returns. */
  skip(reason: string): void
}

/** What a step's title may depend on: it is shown before the step runs. */
export type TitleContext = Pick<Project, 'config' | 'names'>

/** A step or group as listed before anything runs. */
export interface Titled {
  id: string
  title: (project: TitleContext) => string
}

export interface Step<I, O> extends Titled {
  timeoutMs?: (input: I) => number | undefined
  /** Do the work and return what it produced. */
  execute(input: I, run: StepRun): Promise<O>
  /** Explain (and possibly roll back) a failure; may return a better error to report. */
  onFailure?(input: I, run: StepRun, error: DevctlError): Promise<DevctlError | void>
}

/** Steps run side by side: the first failure stops the others. */
export interface StepGroup extends Titled {
  steps: Titled[]
}

export interface StepOutcome {
  id: string
  title: string
  status: StepStatus
  durationMs: number
  message?: string
}

export interface StepOutline {
  id: string
  title: string
  children?: StepOutline[]
}

export interface PipelineOptions {
  emit: Emit
  signal: AbortSignal
  forceSignal: AbortSignal
}

/** The steps' titles and nesting, for a view that lists them before they run. */
export function outlineOf(project: TitleContext, steps: Array<Titled | StepGroup>): StepOutline[] {
  return steps.map((step) => ({
    id: step.id,
    title: step.title(project),
    children: 'steps' in step ? outlineOf(project, step.steps) : undefined,
  }))
}

export class Pipeline {
  /** What each step ended as, in the order they ended. */
  readonly outcomes: StepOutcome[] = []
  private readonly inFlight = new Set<Promise<unknown>>()
  private firstFailure?: DevctlError
  /** Inside a group: tells the group a member failed, so it can stop the others. */
  private onFailure?: (error: DevctlError) => void

  constructor(
    readonly project: Project,
    private readonly options: PipelineOptions,
    /** `cancel`: a sibling failed (inside a group). `running`: every step running now, shared with groups. */
    private readonly scope: {parent?: string; cancel: AbortSignal; running: Set<StepRun>} = {cancel: new AbortController().signal, running: new Set()},
  ) {}

  /** A note for every step running now: news that is not one step's own (the API is busy, retrying). */
  noteRunning(message: string): void {
    for (const run of this.scope.running) run.note(message)
  }

  /** Run one step with its input; returns what it produced, or throws its failure (already explained). */
  run<I, O>(step: Step<I, O>, input: I): Promise<O> {
    const running = this.runStep(step, input)
    this.inFlight.add(running)
    void running.then(
      () => this.inFlight.delete(running),
      () => this.inFlight.delete(running),
    )
    return running
  }

  /** The steps that run next, only those that apply: a live view lists them before they start. */
  announce(steps: Array<Titled | StepGroup>): void {
    this.options.emit({type: 'outline', steps: outlineOf(this.project, steps)})
  }

  /** Record a step that does not apply this time, and why. */
  skip(step: Titled, reason: string): void {
    const title = step.title(this.project)
    this.options.emit({type: 'step:start', step: step.id, title, parent: this.scope.parent})
    this.options.emit({type: 'step:end', step: step.id, status: 'skipped', title, durationMs: 0, message: reason})
    this.outcomes.push({id: step.id, title, status: 'skipped', durationMs: 0, message: reason})
  }

  /**
   * Run a group's steps side by side: `start` runs them on the group's own pipeline. The first
   * real failure cancels the others; the group ends when every one of them has ended.
   */
  async group<T>(group: StepGroup, start: (members: Pipeline) => Promise<T>): Promise<T> {
    const {emit} = this.options
    const started = Date.now()
    const title = group.title(this.project)
    this.throwIfStopped()
    emit({type: 'step:start', step: group.id, title, parent: this.scope.parent})
    const failed = new AbortController()
    const members = new Pipeline(this.project, this.options, {parent: group.id, cancel: AbortSignal.any([this.scope.cancel, failed.signal]), running: this.scope.running})
    members.onFailure = (error) => {
      // A sibling's real failure stops the others; a Ctrl-C reaches each on its own terms
      // (a helm command in flight is let finish).
      if (!(error instanceof InterruptedError)) failed.abort(error)
    }
    let result: {ok: true; value: T} | {ok: false; error: unknown}
    try {
      result = {ok: true, value: await start(members)}
    } catch (error) {
      result = {ok: false, error}
    }
    await members.settled()
    this.outcomes.push(...members.outcomes)
    const durationMs = Date.now() - started
    if (!result.ok) {
      // The first member to fail is the group's failure, whichever promise `start` awaited first.
      const error = members.firstFailure ?? toDevctlError(result.error)
      this.failed({id: group.id, title, status: 'failed', durationMs, message: error.message}, error)
      throw error instanceof UnexpectedStepError ? error.original : error
    }
    emit({type: 'step:end', step: group.id, status: 'done', title, durationMs})
    this.outcomes.push({id: group.id, title, status: 'done', durationMs})
    return result.value
  }

  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  private failed(outcome: StepOutcome, error: DevctlError): void {
    this.options.emit({type: 'step:end', step: outcome.id, status: 'failed', title: outcome.title, durationMs: outcome.durationMs, message: outcome.message})
    this.outcomes.push(outcome)
    this.firstFailure ??= error
    this.onFailure?.(error)
  }

  private throwIfStopped(): void {
    for (const signal of [this.options.signal, this.scope.cancel]) if (signal.aborted) throw toDevctlError(signal.reason)
  }

  private async runStep<I, O>(step: Step<I, O>, input: I): Promise<O> {
    const {emit} = this.options
    const started = Date.now()
    let title = step.title(this.project)
    this.throwIfStopped()
    emit({type: 'step:start', step: step.id, title, parent: this.scope.parent})

    const timeoutMs = step.timeoutMs?.(input)
    const timeout = new AbortController()
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => timeout.abort(new StepTimeoutError(`${title}: not done after ${formatDuration(timeoutMs)}.`)), timeoutMs)
    const cancel = AbortSignal.any([this.scope.cancel, timeout.signal])
    const signal = AbortSignal.any([this.options.signal, cancel])
    let skipped: string | undefined
    const run: StepRun = {
      id: step.id,
      signal,
      mustFinishSignal: AbortSignal.any([this.options.forceSignal, cancel]),
      title: (t) => {
        title = t
        emit({type: 'step:title', step: step.id, title: t})
      },
      note: (message) => emit({type: 'step:note', step: step.id, message}),
      log: (source, line) => emit({type: 'step:log', step: step.id, source, line}),
      pod: (pod) => emit({type: 'pod', step: step.id, pod}),
      podGone: (name) => emit({type: 'pod:gone', step: step.id, name}),
      warn: (message) => emit({type: 'warning', message}),
      skip: (reason) => (skipped = reason),
    }

    this.scope.running.add(run)
    try {
      const output = await step.execute(input, run)
      const durationMs = Date.now() - started
      const status = skipped === undefined ? 'done' : 'skipped'
      emit({type: 'step:end', step: step.id, status, title, durationMs, message: skipped})
      this.outcomes.push({id: step.id, title, status, durationMs, message: skipped})
      return output
    } catch (thrown) {
      // A sibling failed first and this step was stopped for it: the failure is the sibling's,
      // reported once (by the group); this step neither explains it again nor counts as failed.
      if (this.scope.cancel.aborted && !timeout.signal.aborted && !this.options.signal.aborted) {
        const message = 'stopped: another step failed'
        const durationMs = Date.now() - started
        emit({type: 'step:end', step: step.id, status: 'skipped', title, durationMs, message})
        this.outcomes.push({id: step.id, title, status: 'skipped', durationMs, message})
        throw toDevctlError(this.scope.cancel.reason)
      }
      // A timeout or interruption shows up as whatever the step was awaiting; name it properly.
      let error = signal.aborted && !(thrown instanceof DevctlError && thrown.kind !== 'interrupted') ? toDevctlError(signal.reason) : toDevctlError(thrown)
      if (step.onFailure && !(error instanceof InterruptedError)) {
        error = (await explainFailure(step, input, {...run, signal: this.options.signal}, error)) ?? error
      }
      // An unexpected error is still this step's failure: shown as failed, reported as a bug.
      this.failed({id: step.id, title, status: 'failed', durationMs: Date.now() - started, message: error.message}, error)
      throw error instanceof UnexpectedStepError ? error.original : error
    } finally {
      this.scope.running.delete(run)
      if (timer) clearTimeout(timer)
    }
  }
}

/** A step's onFailure that itself fails must not hide the failure it was explaining. */
async function explainFailure<I, O>(step: Step<I, O>, input: I, run: StepRun, error: DevctlError): Promise<DevctlError | void> {
  try {
    return await step.onFailure?.(input, run, error)
  } catch (diagnosisError) {
    return error.explain({details: [`(devctl could not diagnose this failure further: ${diagnosisError instanceof Error ? diagnosisError.message : String(diagnosisError)})`]})
  }
}

/**
 * An error no step expected (a bug, or a failure devctl does not classify yet): the step is
 * shown as failed with its message, and the original error goes on to the command, which
 * reports it as a bug (with the stack under --debug).
 */
class UnexpectedStepError extends DevctlError {
  readonly kind = 'unexpected'
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original))
  }
}

function toDevctlError(error: unknown): DevctlError {
  if (error instanceof DevctlError) return error
  if (error instanceof Error && (error.name === 'AbortError' || (error as {code?: string}).code === 'ABORT_ERR')) return new InterruptedError()
  return fileSystemError(error) ?? new UnexpectedStepError(error)
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1000)
  return seconds ? `${minutes}m${seconds}s` : `${minutes}m`
}
