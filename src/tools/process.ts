/**
 * The only module that starts external processes (execa). Everything devctl runs (k3d,
 * helm, docker, lifecycle hooks) goes through `run`, which gives every call the same
 * behaviour: secrets masked in --debug echoes and captured output, AbortSignal support,
 * and no child outliving devctl.
 */
import {execa, type ResultPromise} from 'execa'

import {DevctlError, InterruptedError, PrerequisiteError} from '../errors.js'
import {redact} from '../secrets/redact.js'
import {echoCommand} from './debug-echo.js'

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  input?: string
  /** Aborting kills the process (SIGTERM, then SIGKILL after a grace period). */
  signal?: AbortSignal
  /**
   * Put the process in its own process group so a Ctrl-C at the terminal does not reach it;
   * used for helm mutations that must finish (or be killed on a second Ctrl-C) rather than
   * leave a release pending. `signal` still kills it.
   */
  shieldFromTerminalSignals?: boolean
  /** Run through /bin/sh (lifecycle hooks from devctl.yaml are shell commands). */
  shell?: boolean
  onStdoutLine?: (line: string) => void
  onStderrLine?: (line: string) => void
}

export interface RunResult {
  /** The command line as shown to users, secrets masked. */
  command: string
  exitCode: number
  stdout: string
  stderr: string
}

/** A process ran and exited non-zero. Output is already redacted. */
export class ProcessError extends DevctlError {
  readonly kind = 'unexpected'
  constructor(
    readonly result: RunResult,
    message = `\`${result.command}\` exited with code ${result.exitCode}.`,
  ) {
    super(message, {details: tail(result.stderr || result.stdout, 20)})
  }
}

/** The executable is not installed (or not on PATH). */
export class ToolNotFoundError extends PrerequisiteError {
  constructor(readonly tool: string) {
    super(`\`${tool}\` was not found on your PATH.`, {hint: `Install ${tool} (\`devctl doctor\` shows how), then run this again.`})
  }
}


const liveShielded = new Set<ResultPromise>()
let exitHookInstalled = false

function trackShielded(child: ResultPromise): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    // Shielded children are not covered by execa's own cleanup; never leave one behind.
    process.once('exit', () => {
      for (const c of liveShielded) c.kill('SIGKILL')
    })
  }
  liveShielded.add(child)
  void child.finally(() => liveShielded.delete(child)).catch(() => {})
}

export function formatCommand(file: string, args: readonly string[]): string {
  return redact([file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' '))
}

function lineHandler(callback: ((line: string) => void) | undefined) {
  if (!callback) return 'pipe' as const
  return [
    function* (line: unknown) {
      callback(redact(String(line)))
      yield line
    },
    'pipe',
  ] as const
}

/** Run a command and return its output; throws ProcessError when it exits non-zero. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await runAllowingFailure(file, args, options)
  if (result.exitCode !== 0) throw new ProcessError(result)
  return result
}

/** Run a command and return its output and exit code, whatever the exit code. */
export async function runAllowingFailure(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const command = options.shell ? redact(file) : formatCommand(file, args)
  echoCommand(command)
  if (options.signal?.aborted) throw new InterruptedError()

  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    shell: options.shell ?? false,
    cancelSignal: options.signal,
    forceKillAfterDelay: 5000,
    detached: options.shieldFromTerminalSignals ?? false,
    cleanup: true,
    reject: false,
    stripFinalNewline: true,
    stdout: lineHandler(options.onStdoutLine),
    stderr: lineHandler(options.onStderrLine),
  })
  if (options.shieldFromTerminalSignals) trackShielded(child)
  const result = await child

  // SIGINT comes from the terminal's Ctrl-C, which reaches the tools in its process group
  // before devctl's own handler has aborted anything: the tool was interrupted, not broken.
  if (result.isCanceled || result.signal === 'SIGINT') throw new InterruptedError(`Interrupted while running \`${command}\`.`)
  const error = result as {code?: string}
  if (result.failed && error.code === 'ENOENT') throw new ToolNotFoundError(file)
  const stdout = joinLines(result.stdout)
  const stderr = joinLines(result.stderr)
  return {
    command,
    exitCode: result.exitCode ?? (result.signal ? 128 : 1),
    stdout: redact(stdout),
    stderr: redact(stderr),
  }
}

function joinLines(output: unknown): string {
  if (Array.isArray(output)) return output.join('\n')
  return typeof output === 'string' ? output : ''
}


export function tail(text: string, lines: number): string[] {
  const all = text.split('\n').filter((l) => l.trim() !== '')
  return all.slice(-lines)
}
