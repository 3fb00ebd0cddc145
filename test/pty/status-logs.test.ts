/**
 * `status`, `status --watch` and `logs -f` in a terminal, at 120 and 60 columns, on one
 * environment brought up once: what the screen shows, and Ctrl-C as the normal way out of a
 * stream (no error, nothing "to force", exit 130, and no error record ending a --json stream).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {devctlInTerminal, expectNoProcessesLeft, KEYS, type Screen} from '../helpers/pty.js'

let env: TestEnvironment

beforeAll(async () => {
  env = await startEnvironment()
  const up = await env.devctl(['up', '--quiet'])
  if (up.exitCode !== 0) throw new Error(`devctl up failed (${up.exitCode}):\n${up.stderr}`)
}, 120_000)
afterAll(() => env?.stop())

/** What a stream must not end with when the user stopped it. */
function expectQuietStop(screen: Screen): void {
  expect(screen.text).not.toMatch(/Error:|Stopping…|press Ctrl-C again|\n\s+at /)
}

describe.each([120, 60])('at %i columns', (cols) => {
  it('status --watch: Ctrl-C leaves quietly', async () => {
    const run = devctlInTerminal(env, ['status', '--watch'], {cols})
    await run.waitFor('the status', (s) => s.has('WorkloadsReady'))
    run.press(KEYS.ctrlC)
    const {exitCode, screen} = await run.exited()
    expect(exitCode).toBe(130)
    expectQuietStop(screen)
    await expectNoProcessesLeft('DEVCTL_SIM_DAEMON', env.sim.daemonUrl)
  }, 120_000)

  it('logs -f: Ctrl-C leaves quietly', async () => {
    const run = devctlInTerminal(env, ['logs'], {cols})
    await run.waitFor('the worker\'s heartbeat', (s) => s.has(/worker: heartbeat \d+/))
    run.press(KEYS.ctrlC)
    const {exitCode, screen} = await run.exited()
    expect(exitCode).toBe(130)
    expectQuietStop(screen)
  }, 120_000)
})

it('logs -f --json: stopped by Ctrl-C, the stream ends on a log line, not an error record', async () => {
  const run = devctlInTerminal(env, ['logs', '--json'], {cols: 120})
  await run.waitFor('a heartbeat line', (s) => s.has(/"message":"worker: heartbeat \d+"/))
  run.press(KEYS.ctrlC)
  const {exitCode, screen} = await run.exited()
  expect(exitCode).toBe(130)
  const records = screen.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
  expect(records.length).toBeGreaterThan(0)
  expect(records.at(-1)).toHaveProperty('message')
  expect(records.filter((record) => record.status === 'error')).toEqual([])
}, 120_000)
