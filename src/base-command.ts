/**
 * The base of every devctl command: global flags, the terminal's abilities, Ctrl-C handling,
 * and the mapping of errors to a short message and an exit code (never a stack trace unless
 * --debug). Commands stay thin: parse flags, call a workflow, render, return a typed result.
 */
import {Command, Errors, Flags, type Interfaces} from '@oclif/core'

import {DevctlError, ExitCode, InterruptedError, UsageError, isAbortError} from './errors.js'
import {redact} from './secrets/redact.js'
import {fileSystemError} from './system/files.js'
import {formatCommand} from './tools/command-line.js'
import {setDebugSink} from './tools/debug-echo.js'
import {noInputPrompter, terminalPrompter} from './ui/prompter.js'
import {colorEnabled, createTheme, detectTerminal, type TerminalInfo} from './ui/terminal.js'
import {createProgressView, type ProgressMode, type ProgressView} from './ui/progress.js'
import {escapeJsonControls, forDisplay} from './ui/untrusted-text.js'
import {terminalWidth, wrapText} from './ui/wrap.js'
import type {StepOutline} from './workflows/pipeline.js'
import type {Confirm, KubeModule} from './workflows/project.js'

/**
 * The last line of every command's --json output (after any stream of events or log records):
 * `ok` with the command's result; `error` with what went wrong (and a result, when the failure
 * still has one to show, like doctor's report); `stopped` when the user ended a stream.
 */
export interface ResultRecord {
  type: 'result'
  command: string
  status: 'ok' | 'error' | 'stopped'
  result?: unknown
  error?: {kind: string; exitCode: number; message: string; hint?: string; details: string[]}
  warnings: string[]
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof DevctlCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** Two signals: the first Ctrl-C stops waiting; the second also kills in-flight helm commands. */
export interface Interrupts {
  signal: AbortSignal
  forceSignal: AbortSignal
}

export abstract class DevctlCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    config: Flags.string({
      description: 'Path to devctl.yaml (default: found by walking up from the current directory).',
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({description: 'Echo the commands devctl runs (secrets masked) and show stack traces.', helpGroup: 'GLOBAL'}),
    'no-input': Flags.boolean({
      description: 'Never prompt; fail with a usage error when an answer is missing. Implied when not in a terminal or when CI is set.',
      helpGroup: 'GLOBAL',
    }),
  }

  /** Warnings the run gave (a recovered release, a cluster that kept its old settings): also in the --json result. */
  protected readonly warnings: string[] = []
  /** What a command that fails or is stopped still has to show (doctor's report, up's result while it forwards), for the --json result record. */
  protected partialResult?: unknown

  /** Everything but devctl's own flags goes to another program, as given (`devctl db shell -c 'select 1'`): see `passedThrough`. */
  static passThrough = false

  protected flags!: BaseFlags<T>
  /** With `passThrough`: the arguments for the other program, in order. */
  protected passedThrough: string[] = []
  protected args!: BaseArgs<T>
  /** Every positional argument, for commands that take any number (`logs api worker`). */
  protected positionals!: string[]
  protected terminal!: TerminalInfo
  protected interrupts!: Interrupts
  private removeSignalHandlers?: () => void

  override async init(): Promise<void> {
    await super.init()
    const passThrough = (this.ctor as unknown as typeof DevctlCommand).passThrough
    const {args, argv, flags, raw} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof DevctlCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: passThrough ? false : this.ctor.strict,
      // Unknown flags are another program's (psql -c): arguments, in the order given.
      ...(passThrough ? {'--': false} : {}),
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.positionals = argv as string[]
    if (passThrough) this.passedThrough = raw.flatMap((token) => (token.type === 'arg' ? [token.input] : []))
    this.terminal = detectTerminal({noInput: this.flags['no-input'] || this.jsonEnabled()})
    if (this.flags.debug) setDebugSink((line) => process.stderr.write(`${line}\n`))
    this.interrupts = this.installInterruptHandlers()
  }

  protected get theme() {
    // A flag that fails to parse ends init() before the terminal is known; its error still needs colours decided.
    return createTheme(this.terminal?.color ?? colorEnabled(process.stderr))
  }

  /**
   * Start loading the Kubernetes client (~170 ms) now, so it overlaps reading the config and
   * running the checks; commands await it when they first talk to the cluster.
   */
  protected startLoadingKubeClient(): Promise<KubeModule> {
    const module = import('./kube/client.js')
    // Awaited later; a failure must surface there, not as an unhandled rejection now.
    module.catch(() => {})
    return module
  }

  /** This command as the user ran it (quoted for a shell, secrets masked): what a hint tells them to run again. */
  protected get commandLine(): string {
    return formatCommand(this.config.bin, [...(this.id?.split(':') ?? []), ...this.argv])
  }

  /** Questions for a person at the terminal; where no one can answer, a usage error naming the flag. */
  protected get prompter() {
    return this.terminal.canPrompt ? terminalPrompter() : noInputPrompter()
  }

  /**
   * Consent for workflows: --yes answers yes; otherwise ask, or fail naming --yes when no one can
   * be asked. `suggestion`: what Enter answers (false for what cannot be undone).
   */
  protected confirmer(yes: boolean, suggestion?: boolean): Confirm {
    return async ({message, flag, details}) => {
      if (yes) return true
      if (details.length && !this.jsonEnabled()) process.stderr.write(`${forDisplay(details.join('\n'))}\n`)
      return this.prompter.confirm({flag, message, suggestion})
    }
  }

  /**
   * Ctrl-C is how a person leaves this run (`logs -f`, `status --watch`): it stops at once and
   * quietly, with nothing to force and no error, in text and in --json alike (exit 130).
   */
  protected stoppedByCtrlC(): boolean {
    return false
  }

  /**
   * An interactive program devctl started owns the terminal (psql on an external database): the
   * terminal's Ctrl-C is for it (cancel a query), not for devctl, which waits for it to exit.
   */
  protected terminalHandedOver = false

  /** Where the first Ctrl-C's notice goes; a live task list shows it itself (it holds stderr back while it draws). */
  protected stopNotice: (message: string) => void = (message) => {
    process.stderr.write(`\n${message}\n`)
  }

  /**
   * Ctrl-C, `kill` (SIGTERM) and a closed terminal (SIGHUP) all stop devctl the same way: the
   * first stops waiting and ends what devctl started, the second also kills what was let finish.
   */
  private installInterruptHandlers(): Interrupts {
    const first = new AbortController()
    const second = new AbortController()
    let count = 0
    const onSignal = (signal: NodeJS.Signals) => {
      if (signal === 'SIGINT' && this.terminalHandedOver) return
      count += 1
      if (signal === 'SIGHUP') {
        // The terminal is gone: what is still written to it must not end devctl before it has cleaned up.
        for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
      }
      const quiet = this.stoppedByCtrlC()
      if (count === 1) {
        if (!this.jsonEnabled() && !quiet && signal !== 'SIGHUP') this.stopNotice('Stopping… (press Ctrl-C again to force)')
        first.abort(new InterruptedError(`Interrupted (${signal}).`))
      } else if (count === 2 && !quiet) {
        second.abort(new InterruptedError(`Interrupted (${signal}).`))
      } else {
        process.exit(ExitCode.interrupted)
      }
    }
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
    for (const signal of signals) process.on(signal, onSignal)
    this.removeSignalHandlers = () => {
      for (const signal of signals) process.off(signal, onSignal)
    }
    return {signal: first.signal, forceSignal: second.signal}
  }

  override async finally(error: Error | undefined): Promise<void> {
    this.removeSignalHandlers?.()
    setDebugSink(undefined)
    await super.finally(error)
  }

  /** The one record every command's --json output ends with: what it produced, and the warnings it gave. */
  override toSuccessJson(result: unknown): ResultRecord {
    return {type: 'result', command: this.id ?? '', status: 'ok', result, warnings: this.warnings}
  }

  /**
   * The view of a workflow's progress for this run: --json events, nothing but the summary with
   * --quiet, the live task list in a terminal, else plain lines. It keeps the warnings for the
   * --json result, and takes over the first Ctrl-C's notice when it holds the terminal.
   */
  protected async progressView(outline: StepOutline[], options: {quiet?: boolean; live?: boolean} = {}): Promise<ProgressView> {
    const live = (options.live ?? true) && this.terminal.interactiveOutput
    const mode: ProgressMode = this.jsonEnabled() ? 'json' : options.quiet ? 'quiet' : live ? 'tasks' : 'plain'
    const view = await createProgressView(mode, outline, this.theme)
    if (view.notice) this.stopNotice = (message) => view.notice?.(message)
    return {
      ...view,
      emit: (event) => {
        if (event.type === 'warning') this.warnings.push(event.message)
        view.emit(event)
      },
      close: () => view.close(),
    }
  }

  /** Print machine output as one compact JSON line, so --json streams stay line-delimited. */
  override logJson(json: unknown): void {
    // Results carry messages from pods and tools: mask secrets here too, like every other output.
    process.stdout.write(`${escapeJsonControls(JSON.stringify(json, (_key, value: unknown) => (typeof value === 'string' ? redact(value) : value)))}\n`)
  }

  override async catch(error: Error & {exitCode?: number}): Promise<never> {
    if (error instanceof Errors.ExitError) throw error
    const devctlError = toDevctlError(error, this.interrupts?.signal)
    // The user stopped a stream: that is its normal end, not an error to report.
    if (devctlError?.kind === 'interrupted' && this.interrupts?.signal.aborted && this.stoppedByCtrlC()) {
      if (this.jsonEnabled())
        this.logJson({
          type: 'result',
          command: this.id ?? '',
          status: 'stopped',
          ...(this.partialResult === undefined ? {} : {result: this.partialResult}),
          warnings: this.warnings,
        } satisfies ResultRecord)
      throw new Errors.ExitError(ExitCode.interrupted)
    }
    const exitCode = devctlError?.exitCode ?? ExitCode.unexpected
    if (this.jsonEnabled()) {
      this.logJson({
        type: 'result',
        command: this.id ?? '',
        status: 'error',
        ...(this.partialResult === undefined ? {} : {result: this.partialResult}),
        error: {
          kind: devctlError?.kind ?? 'unexpected',
          exitCode,
          message: devctlError?.message ?? String(error.message),
          hint: devctlError?.hint,
          details: devctlError?.details ?? [],
        },
        warnings: this.warnings,
      } satisfies ResultRecord)
    } else {
      process.stderr.write(`${wrapText(this.formatError(devctlError, error), terminalWidth(process.stderr))}\n`)
    }
    if (this.flags?.debug && error.stack) process.stderr.write(`${forDisplay(error.stack)}\n`)
    // ExitError is oclif's "exit quietly with this code".
    throw new Errors.ExitError(exitCode)
  }

  /** Messages and details quote pods, events, helm and hooks: secrets masked, control sequences shown (plain mode too). */
  private formatError(devctlError: DevctlError | undefined, original: Error): string {
    const t = this.theme
    if (!devctlError) {
      return [`${t.red('Error:')} ${forDisplay(original.message)}`, t.dim('This is a bug in devctl. Run again with --debug for the stack trace and include it in a report.')].join('\n')
    }
    const lines = [`${t.red('Error:')} ${forDisplay(devctlError.message)}`]
    for (const detail of devctlError.details) lines.push(`  ${forDisplay(detail)}`)
    if (devctlError.hint) lines.push(`${t.cyan('→')} ${forDisplay(devctlError.hint)}`)
    return lines.join('\n')
  }
}

/**
 * Known failures become DevctlErrors; oclif's own flag-parsing errors become usage errors. After
 * a Ctrl-C whatever failed is the interruption (a tool the terminal's Ctrl-C reached exits
 * non-zero): exit 130, with what failed as a detail.
 */
function toDevctlError(error: Error & {oclif?: {exit?: number}}, signal: AbortSignal | undefined): DevctlError | undefined {
  if (signal?.aborted && !(error instanceof InterruptedError)) {
    const interrupted = signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError()
    if (error instanceof DevctlError) interrupted.details = [...interrupted.details, `while stopping: ${error.message}`]
    return interrupted
  }
  if (error instanceof DevctlError) return error
  if (isAbortError(error)) return new InterruptedError()
  if (error.name === 'ExitPromptError') return new InterruptedError('Prompt cancelled.')
  const fileError = fileSystemError(error)
  if (fileError) return fileError
  if (error instanceof Errors.CLIError) {
    // oclif's "Parsing --flag \n\tExpected ..." as one line: "--flag: Expected ...".
    const message = error.message.replace(/\nSee more help with --help$/, '').replace(/^Parsing (\S+)\s*\n\t/, '$1: ')
    return new UsageError(message, {hint: 'Run the command with --help to see its flags and examples.'})
  }
  return undefined
}
