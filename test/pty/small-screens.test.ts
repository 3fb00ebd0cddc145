/**
 * The small things people notice in a terminal: what a question pre-selects, a typo'd command,
 * a destructive question that defaults to No, and doctor's report at 60 columns.
 */
import {access} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {tempDir} from '../helpers/cli.js'
import {startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {devctlInTerminal, KEYS, startPty} from '../helpers/pty.js'

const TEST_TIMEOUT_MS = 120_000

let env: TestEnvironment
beforeAll(async () => {
  env = await startEnvironment()
}, TEST_TIMEOUT_MS)
afterAll(() => env?.stop())

describe('in a terminal', () => {
  it(
    'init pre-selects the complete web-worker preset, not bring-your-own',
    async () => {
      const dir = await tempDir()
      const run = startPty(['init'], {cwd: dir, env: env.sim.env, cols: 80})
      const screen = await run.waitFor('the preset question', (s) => s.has('Which preset fits your project?'))
      expect(screen.text).toMatch(/^❯ web-worker$/m)
      run.press(KEYS.enter)
      await run.waitFor('the next question', (s) => s.has(/Project name/i))
      run.press(KEYS.ctrlC)
      expect((await run.exited()).exitCode).toBe(130)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    "a typo'd command gets the command it probably meant",
    async () => {
      const run = devctlInTerminal(env, ['stat'], {cols: 80})
      await run.waitFor('the suggestion', (s) => s.has(/Did you mean status\?/))
      run.press(`n${KEYS.enter}`)
      const {exitCode, screen} = await run.exited()
      expect(exitCode).not.toBe(0)
      expect(screen.text).toMatch(/stat is not a devctl command/)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'down --purge asks with No as the answer Enter gives, and Enter removes nothing',
    async () => {
      const run = devctlInTerminal(env, ['down', '--purge'], {cols: 80})
      await run.waitFor('the question', (s) => /Delete \.devctl\/ too\?.*\(y\/N\)/s.test(s.text))
      run.press(KEYS.enter)
      const {exitCode, screen} = await run.exited()
      expect(exitCode, screen.text).not.toBe(0)
      expect(screen.text).toMatch(/Nothing was removed/)
      await access(join(env.dir, '.devctl', 'secrets.yaml'))
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'doctor at 60 columns wraps each message on words, under its own column',
    async () => {
      const {screen} = await devctlInTerminal(env, ['doctor'], {cols: 60}).exited()
      expect(screen.has(/^✔ Node\.js/)).toBe(true)
      expect(screen.overflowing, screen.text).toEqual([])
      // Every row is a check (a mark first), a row under a check's message, or the summary.
      const messageColumn = screen.rows.find((row) => row.startsWith('✔ Node.js'))!.search(/ {2}\S/) + 2
      const stray = screen.rows.filter((row) => /^ +\S/.test(row) && /^ */.exec(row)![0].length < messageColumn)
      expect(stray, screen.text).toEqual([])
    },
    TEST_TIMEOUT_MS,
  )
})
