/**
 * The only module that starts external processes (execa). Everything devctl runs (k3d,
 * helm, docker, lifecycle hooks) goes through `run`, which gives every call the same
 * behaviour: secrets masked in --debug echoes and captured output, AbortSignal support,
 * and no child outliving devctl. execa is loaded on the first run: a command that finds all
 * it needs without a process (`status` on a running cluster) never pays for its ~100 modules.
 */

import {DevctlError, InterruptedError, PrerequisiteError} from '../errors.js'
import {redact} from '../secrets/redact.js'
import {formatCommand} from './command-line.js'
import {echoCommand} from './debug-echo.js'

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  input?: string
  /** Aborting kills the process (SIGTERM, then SIGKILL after a grace period). */
  signal?: AbortSignal
  /**
   * Run it in a process group of its own. A Ctrl-C at the terminal does not reach it: helm
   * mutations and k3d's deletes must finish (or be killed on a second Ctrl-C) rather than stop
   * half-way. And devctl ends the whole group, not just the process: on abort, when the process
   * exits (the background jobs of a shell hook), and when devctl exits — a shell's children
   * would otherwise live on, holding devctl's pipes open.
   */
  ownProcessGroup?: boolean
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

/** How long a process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5000
const liveGroups = new Set<number>()
let exitHookInstalled = false

/** Signals every process of the group; false when none is left. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

/** Ends the child's process group on abort and once the child exits; returns the clean-up. */
function superviseGroup(pid: number, signal: AbortSignal | undefined, exited: Promise<unknown>): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    // execa's own clean-up does not cover detached children: never leave a group behind.
    process.once('exit', () => {
      for (const group of liveGroups) signalGroup(group, 'SIGKILL')
    })
  }
  liveGroups.add(pid)
  let killer: NodeJS.Timeout | undefined
  const end = () => {
    if (killer) return
    signalGroup(pid, 'SIGTERM')
    killer = setTimeout(() => {
      signalGroup(pid, 'SIGKILL')
      liveGroups.delete(pid)
    }, KILL_GRACE_MS)
    killer.unref()
  }
  signal?.addEventListener('abort', end, {once: true})
  void exited.then(end, end)
  return () => {
    signal?.removeEventListener('abort', end)
    end()
    // Something that ignored SIGTERM is still there: the SIGKILL (or devctl's exit) ends it.
    if (signalGroup(pid, 0)) return
    clearTimeout(killer)
    liveGroups.delete(pid)
  }
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
  const {execa} = await import('execa')
  if (options.signal?.aborted) throw new InterruptedError()

  const group = options.ownProcessGroup ?? false
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    shell: options.shell ?? false,
    // A group is ended as a whole (superviseGroup); execa would signal only its leader.
    cancelSignal: group ? undefined : options.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    detached: group,
    cleanup: true,
    reject: false,
    stripFinalNewline: true,
    stdout: lineHandler(options.onStdoutLine),
    stderr: lineHandler(options.onStderrLine),
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const endSupervision = group && child.pid !== undefined ? superviseGroup(child.pid, options.signal, exited) : undefined
  const result = await child.finally(() => endSupervision?.())

  // SIGINT comes from the terminal's Ctrl-C, which reaches the tools in its process group
  // before devctl's own handler has aborted anything: the tool was interrupted, not broken.
  if (result.isCanceled || result.signal === 'SIGINT' || (group && options.signal?.aborted)) throw new InterruptedError(`Interrupted while running \`${command}\`.`)
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

export interface StreamingOptions {
  env?: Record<string, string | undefined>
  /** Read to its end as the command's standard input (none: the command's input is closed). */
  stdin?: NodeJS.ReadableStream
  /** Where its output goes (not buffered here: a dump can be larger than memory); backpressure applies. */
  stdout: NodeJS.WritableStream
  signal?: AbortSignal
}

/**
 * Run a command whose output is data, not text (pg_dump to a file, pg_restore from one): streamed
 * both ways with backpressure, stderr kept (redacted) for the error. Resolves with the exit code
 * and stderr once the output is written.
 */
export async function runStreaming(file: string, args: readonly string[], options: StreamingOptions): Promise<{exitCode: number; stderr: string}> {
  const command = formatCommand(file, args)
  echoCommand(command)
  if (options.signal?.aborted) throw new InterruptedError()
  const {execa} = await import('execa')
  const child = execa(file, args, {
    env: options.env,
    extendEnv: true,
    stdin: options.stdin ? 'pipe' : 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    encoding: 'buffer',
    // Never a copy of the data in memory: only stderr is kept.
    buffer: {stdout: false, stderr: true},
    cancelSignal: options.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    cleanup: true,
    reject: false,
  })
  if (options.stdin && child.stdin) options.stdin.pipe(child.stdin)
  // The caller's stream stays open: it decides whether what was written is kept.
  child.stdout?.pipe(options.stdout, {end: false})
  const result = await child
  if (result.isCanceled) throw new InterruptedError(`Interrupted while running \`${command}\`.`)
  if (result.failed && (result as {code?: string}).code === 'ENOENT') throw new ToolNotFoundError(file)
  return {exitCode: result.exitCode ?? 1, stderr: redact(Buffer.from(result.stderr).toString('utf8'))}
}

/**
 * Run an interactive program (psql, redis-cli) on the user's own terminal: it reads the
 * keyboard and writes the screen itself. Resolves with its exit code.
 */
export async function runAttached(file: string, args: readonly string[], options: {env?: Record<string, string | undefined>} = {}): Promise<number> {
  echoCommand(formatCommand(file, args))
  const {execa} = await import('execa')
  const result = await execa(file, args, {env: options.env, extendEnv: true, stdio: 'inherit', cleanup: true, reject: false})
  if (result.failed && (result as {code?: string}).code === 'ENOENT') throw new ToolNotFoundError(file)
  return result.exitCode ?? (result.signal ? 128 : 1)
}

function joinLines(output: unknown): string {
  if (Array.isArray(output)) return output.join('\n')
  return typeof output === 'string' ? output : ''
}

export function tail(text: string, lines: number): string[] {
  const all = text.split('\n').filter((l) => l.trim() !== '')
  return all.slice(-lines)
}
