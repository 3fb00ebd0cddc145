/**
 * Run the BUILT devctl in a pseudo-terminal, as a person at a terminal would, and read what
 * they see: the bytes go through a headless xterm, so tests assert on screen rows (after
 * cursor movement, redraws and wrapping at the terminal's width), not on the byte stream.
 *
 *   const run = startPty(['up'], {cwd, env: sim.env, cols: 60})
 *   await run.waitFor('the chart step', (s) => s.has('Chart'))
 *   run.press(KEYS.ctrlC)
 *   const {exitCode, screen} = await run.exited()
 *
 * Every wait has a deadline and fails with the screen as it was; nothing sleeps a fixed time.
 */
import {readdir, readFile} from 'node:fs/promises'

import pty from '@lydell/node-pty'
import xterm from '@xterm/headless'

import {realServersAvailable} from '../sim/apiserver/backends.js'
import {CLI} from './cli.js'
import type {TestEnvironment} from './environment.js'

export const KEYS = {ctrlC: '\u0003', enter: '\r', up: '\u001B[A', down: '\u001B[B'} as const

/** Generous: the machine has two cores and other tests run beside these. */
export const SCREEN_DEADLINE_MS = 60_000

export interface Screen {
  /** Every row a person can scroll through (scrollback, then the window), trailing spaces trimmed, trailing blank rows dropped. */
  readonly rows: string[]
  /** The rows of the window right now (the last `rows` of the terminal), trimmed the same way. */
  readonly window: string[]
  /** Rows the terminal had to continue on the next row itself (the line was wider than the terminal). */
  readonly overflowing: string[]
  /** The rows with the terminal's own wrapping undone: one entry per line devctl wrote (for --json). */
  readonly lines: string[]
  readonly text: string
  /** Some row, or some line across the rows it wrapped onto, contains `text` (or matches it). */
  has(text: string | RegExp): boolean
  /** Index of the first row containing `text` (or matching it), -1 if none. */
  find(text: string | RegExp, from?: number): number
  /** The foreground colour of the cell where `text` starts on `row` (undefined: the default colour). */
  colorAt(row: number, text: string): number | undefined
}

export interface PtyExit {
  exitCode: number
  signal?: number
  screen: Screen
}

export interface PtyRun {
  readonly pid: number
  readonly cols: number
  screen(): Promise<Screen>
  /** Resolves with the screen once `predicate` holds; fails at the deadline (or when devctl exits first) showing the screen. */
  waitFor(what: string, predicate: (screen: Screen) => boolean, timeoutMs?: number): Promise<Screen>
  /** Type keys, as a person would (KEYS.ctrlC, answers to prompts). */
  press(keys: string): void
  /** Everything devctl wrote, for the few facts a screen cannot show (a full-screen clear). */
  raw(): string
  exited(timeoutMs?: number): Promise<PtyExit>
  /** Kill devctl (SIGKILL) if it is still running; for cleanup after a failed test. */
  kill(): void
}

export interface PtyOptions {
  cwd: string
  /** What to run with node instead of the built CLI (a script and its first arguments). */
  program?: string[]
  env?: Record<string, string | undefined>
  cols?: number
  rows?: number
}

type Row = xterm.IBufferLine

function trimmed(lines: string[]): string[] {
  const rows = lines.map((line) => line.trimEnd())
  while (rows.length > 0 && rows.at(-1) === '') rows.pop()
  return rows
}

function snapshot(term: xterm.Terminal): Screen {
  const buffer = term.buffer.active
  const lines: Row[] = []
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i)
    if (line) lines.push(line)
  }
  const texts = lines.map((line) => line.translateToString(true))
  const rows = trimmed(texts)
  const logical: string[] = []
  lines.forEach((line, index) => {
    if (line.isWrapped && logical.length > 0) logical[logical.length - 1] += line.translateToString(true)
    else logical.push(texts[index]!)
  })
  const window = trimmed(texts.slice(buffer.baseY, buffer.baseY + term.rows))
  const matches = (row: string, text: string | RegExp) => (typeof text === 'string' ? row.includes(text) : text.test(row))
  return {
    rows,
    window,
    lines: trimmed(logical),
    overflowing: texts.filter((_text, index) => lines[index + 1]?.isWrapped),
    text: rows.join('\n'),
    has: (text) => rows.some((row) => matches(row, text)) || logical.some((line) => matches(line, text)),
    find: (text, from = 0) => rows.findIndex((row, index) => index >= from && matches(row, text)),
    colorAt(row, text) {
      const line = lines[row]
      const column = texts[row]?.indexOf(text) ?? -1
      const cell = column >= 0 ? line?.getCell(column) : undefined
      if (!cell || cell.isFgDefault()) return undefined
      return cell.getFgColor()
    },
  }
}

export function describeScreen(screen: Screen): string {
  return screen.rows.map((row, index) => `${String(index).padStart(3)} │${row}`).join('\n')
}

/** Start the built CLI in a pseudo-terminal of `cols` × `rows` (default 120 × 40). */
export function startPty(args: string[], options: PtyOptions): PtyRun {
  const cols = options.cols ?? 120
  const rows = options.rows ?? 40
  const term = new xterm.Terminal({cols, rows, scrollback: 5000, allowProposedApi: true})
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries({...process.env, TERM: 'xterm-256color', FORCE_COLOR: '1', NO_COLOR: undefined, CI: undefined, ...options.env})) {
    if (value !== undefined) env[name] = value
  }
  const child = pty.spawn(process.execPath, [...(options.program ?? [CLI]), ...args], {name: 'xterm-256color', cols, rows, cwd: options.cwd, env})

  let raw = ''
  let written = Promise.resolve()
  const waiters = new Set<() => void>()
  const settle = () => {
    for (const check of waiters) check()
  }
  child.onData((data) => {
    raw += data
    written = new Promise<void>((resolve) => term.write(data, () => resolve())).then(settle)
  })
  // The terminal's answers to devctl's questions (cursor position, ...) go back as typed input.
  term.onData((data) => child.write(data))

  let exit: {exitCode: number; signal?: number} | undefined
  const exitedPromise = new Promise<{exitCode: number; signal?: number}>((resolve) => {
    child.onExit(({exitCode, signal}) => {
      exit = {exitCode, signal: signal || undefined}
      // Anything still being parsed lands first.
      void written.then(() => {
        resolve(exit!)
        settle()
      })
    })
  })

  const screen = async () => {
    await written
    return snapshot(term)
  }

  const failure = (message: string) => new Error(`${message}\n--- screen at ${cols} columns${exit ? ` (devctl exited ${exit.exitCode})` : ''} ---\n${describeScreen(snapshot(term))}\n---`)

  return {
    pid: child.pid,
    cols,
    screen,
    waitFor(what, predicate, timeoutMs = SCREEN_DEADLINE_MS) {
      return new Promise((resolve, reject) => {
        const done = (error?: Error) => {
          waiters.delete(check)
          clearTimeout(timer)
          if (error) reject(error)
          else resolve(snapshot(term))
        }
        const check = () => {
          let holds = false
          try {
            holds = predicate(snapshot(term))
          } catch (error) {
            return done(error as Error)
          }
          if (holds) done()
          else if (exit) done(failure(`devctl exited before the screen showed ${what}`))
        }
        const timer = setTimeout(() => done(failure(`timed out after ${timeoutMs / 1000}s waiting for the screen to show ${what}`)), timeoutMs)
        waiters.add(check)
        void written.then(check)
      })
    },
    press(keys) {
      child.write(keys)
    },
    raw: () => raw,
    async exited(timeoutMs = SCREEN_DEADLINE_MS) {
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(failure(`devctl did not exit within ${timeoutMs / 1000}s`)), timeoutMs)
      })
      try {
        const result = await Promise.race([exitedPromise, deadline])
        return {...result, screen: await screen()}
      } finally {
        clearTimeout(timer)
      }
    },
    kill() {
      if (!exit) child.kill('SIGKILL')
    },
  }
}

/**
 * Processes still running that were started with this environment variable value (devctl, the
 * tools it ran, their children — a detached helm included, whatever its process group). Linux:
 * read from /proc.
 */
export async function processesWithEnv(name: string, value: string): Promise<Array<{pid: number; command: string}>> {
  const needle = `${name}=${value}\0`
  const found: Array<{pid: number; command: string}> = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const [environ, cmdline, stat] = await Promise.all(['environ', 'cmdline', 'stat'].map((file) => readFile(`/proc/${entry}/${file}`, 'utf8').catch(() => '')))
    // A zombie has exited already; its parent just has not reaped it yet.
    if (!environ?.includes(needle) || /\) Z /.test(stat ?? '')) continue
    found.push({pid: Number(entry), command: (cmdline ?? '').replaceAll('\0', ' ').trim()})
  }
  return found
}

/**
 * Wait until no process started with `name=value` is left, and fail listing them if some
 * still run at the deadline (a process killed on devctl's exit takes a moment to go).
 */
export async function expectNoProcessesLeft(name: string, value: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = await processesWithEnv(name, value)
    if (left.length === 0) return
    if (Date.now() > deadline) throw new Error(`processes left behind by devctl:\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** devctl in a terminal against a test environment's simulator, in its project directory. */
export function devctlInTerminal(env: TestEnvironment, args: string[], options: {cols?: number; rows?: number; env?: Record<string, string | undefined>} = {}): PtyRun {
  return startPty(args, {cwd: env.dir, env: {...env.sim.env, ...options.env}, cols: options.cols, rows: options.rows})
}

/** After a terminal test: devctl killed if it still runs, then the environment it ran in stopped. */
export async function endTerminalTest(run: PtyRun | undefined, env: TestEnvironment | undefined): Promise<void> {
  run?.kill()
  await env?.stop()
}

/** A spinner (running step) or a ❯ (running group) before `title` on some row. */
export function showsRunning(screen: Screen, title: string | RegExp): boolean {
  const pattern = new RegExp(`^\\s*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏❯] ${typeof title === 'string' ? title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : title.source}`)
  return screen.rows.some((row) => pattern.test(row))
}

/**
 * Yes to `upgrade`'s question; then, where devctl's Postgres is a real server (so a snapshot is
 * taken before the migration), Enter (yes) to whether to restore it if the upgrade fails. Both
 * come before the live view. Returns the screen as the last question was asked.
 */
export async function consentToUpgrade(run: PtyRun): Promise<Screen> {
  const first = await run.waitFor('the consent question', (s) => s.has(/Upgrade demo now\? \(Y\/n\)/))
  run.press(`y${KEYS.enter}`)
  if (!realServersAvailable().available) return first
  const last = await run.waitFor('the question about the data', (s) => s.has('restore the database from its snapshot? (Y/n)'))
  run.press(KEYS.enter)
  return last
}
