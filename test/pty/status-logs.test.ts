/**
 * `status`, `status --watch` and `logs -f` in a terminal, at 120 and 60 columns, on one
 * environment brought up once: what the screen shows, and Ctrl-C as the normal way out of a
 * stream (no error, nothing "to force", exit 130, and no error record ending a --json stream).
 */
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CLI, TOOLS} from '../helpers/cli.js'
import {startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {devctlInTerminal, expectNoProcessesLeft, KEYS, startPty, type PtyRun, type Screen} from '../helpers/pty.js'

const TEST_TIMEOUT_MS = 120_000

let env: TestEnvironment

beforeAll(async () => {
  env = await startEnvironment()
  const up = await env.devctl(['up', '--quiet'])
  if (up.exitCode !== 0) throw new Error(`devctl up failed (${up.exitCode}):\n${up.stderr}`)
}, TEST_TIMEOUT_MS)
afterAll(() => env?.stop())

/** The real kubectl against the simulated cluster, with the kubeconfig devctl wrote. */
async function kubectl(...args: string[]): Promise<string> {
  const {stdout} = await promisify(execFile)(TOOLS.kubectl, ['--kubeconfig', join(env.dir, '.devctl', 'kubeconfig'), '--context', 'k3d-demo', '-n', 'demo', ...args])
  return stdout
}

/** The terminal never had to break a line itself: devctl wrapped it on a word boundary, under its text. */
function expectFitted(screen: Screen): void {
  expect(screen.overflowing, screen.text).toEqual([])
}

/** Ctrl-C, as a person leaves a stream: exit 130, nothing a stop should not end with, no process left. */
async function expectQuietCtrlC(run: PtyRun): Promise<void> {
  run.press(KEYS.ctrlC)
  const {exitCode, screen} = await run.exited()
  expect(exitCode).toBe(130)
  expect(screen.text).not.toMatch(/Error:|Stopping…|press Ctrl-C again|\n\s+at /)
  await expectNoProcessesLeft('DEVCTL_SIM_DAEMON', env.sim.daemonUrl)
}

describe.each([120, 60])('status at %i columns', (cols) => {
  it(
    'shows every part with human times, the images running, plain plurals, wrapped on words',
    async () => {
      const {exitCode, screen} = await devctlInTerminal(env, ['status'], {cols}).exited()
      expect(exitCode).toBe(0)
      expect(screen.rows[0]).toBe('demo — namespace demo')
      expect(screen.text).toMatch(/^● cluster {4}k3d demo: running, 1\/1 node ready$/m)
      expect(screen.text).toMatch(/^● release {4}demo revision 1 deployed (just now|\d+ s ago|\d+ min ago),/m)
      expect(screen.text).toMatch(/^● migration {2}hook-job demo-web-worker-migrate/m)
      // Read as one text, the rows a part was wrapped onto joined back.
      expect(screen.text.replace(/\n +/g, ' ')).toMatch(/image ghcr\.io\/stefanprodan\/podinfo:6\.7\.1/)
      expect(screen.text).toMatch(/AllReady: 2 workloads ready/)
      // No machine timestamps and no "(s)" plurals for a person to decode.
      expect(screen.text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:|\(s\)/)
      // The pods of every workload in one set of aligned columns, each with its mark.
      const podRows = screen.rows.filter((row) => /^ {4}✔ demo-web-worker-\S+ +Running/.test(row))
      expect(podRows).toHaveLength(2)
      if (cols === 120) expect(new Set(podRows.map((row) => row.indexOf('Running'))).size).toBe(1)
      // Every row is a heading, a part (mark first), or indented under the text it continues.
      const stray = screen.rows.slice(1).filter((row) => row !== '' && !/^(?:[●○!] |Workloads$|Conditions$| )/.test(row))
      expect(stray, screen.text).toEqual([])
      expectFitted(screen)
    },
    TEST_TIMEOUT_MS,
  )
})

it(
  'status in a terminal that reports 0 columns: wrapped as if it had 80',
  async () => {
    // `stty cols 0` in the terminal, then devctl in it, as some consoles and CI runners report themselves.
    const zeroColumns = `require('node:child_process').execSync('stty cols 0 rows 0', {stdio: 'inherit'}); process.exitCode = require('node:child_process').spawnSync(process.execPath, [${JSON.stringify(CLI)}, ...process.argv.slice(1)], {stdio: 'inherit'}).status`
    const {exitCode, screen} = await startPty(['status'], {program: ['-e', zeroColumns], cwd: env.dir, env: env.sim.env, cols: 120}).exited()
    expect(exitCode, screen.text).toBe(0)
    expect(
      screen.rows.filter((row) => row.length > 80),
      screen.text,
    ).toEqual([])
    // The release line is longer than 80: it continues under its text.
    expect(screen.rows[screen.find(/^● release/) + 1], screen.text).toMatch(/^ {13}\S/)
  },
  TEST_TIMEOUT_MS,
)

describe.each([120, 60])('logs -f at %i columns', (cols) => {
  it(
    'prefixes each line with a short component/pod-suffix label, then Ctrl-C leaves quietly',
    async () => {
      const run = devctlInTerminal(env, ['logs'], {cols})
      const screen = await run.waitFor("the worker's heartbeat and the api's requests", (s) => s.has(/worker: heartbeat \d+/) && s.has(/request started/))
      // stern's style: component and the pod name's last part, not a 40-character pod name.
      expect(screen.lines.find((line) => line.includes('worker: heartbeat'))).toMatch(/^worker-\w{5} worker: heartbeat \d+$/)
      expect(screen.lines.find((line) => line.includes('request started'))).toMatch(/^api-\w{5} \{/)
      const worker = screen.find(/^worker-\w{5} /)
      const api = screen.find(/^api-\w{5} /)
      // A colour per pod.
      const workerColor = screen.colorAt(worker, 'worker-')
      expect(workerColor).toBeDefined()
      expect(screen.colorAt(api, 'api-')).not.toBe(workerColor)
      await expectQuietCtrlC(run)
    },
    TEST_TIMEOUT_MS,
  )
})

it(
  'logs -f --json: stopped by Ctrl-C, the stream ends on its result record saying so, not an error record',
  async () => {
    const run = devctlInTerminal(env, ['logs', '--json'], {cols: 120})
    await run.waitFor('a heartbeat line', (s) => s.has(/"message":"worker: heartbeat \d+"/))
    run.press(KEYS.ctrlC)
    const {exitCode, screen} = await run.exited()
    expect(exitCode).toBe(130)
    // The terminal echoes the key as ^C where the cursor is, and drops the output it still held:
    // that one line is cut, except for what devctl wrote after the echo on the same line (the
    // result record, when the cursor stood at the start of a line). Every line after it is whole.
    const cut = screen.lines.findIndex((line) => line.includes('^C'))
    const afterEcho = cut < 0 ? '' : screen.lines[cut]!.slice(screen.lines[cut]!.lastIndexOf('^C') + 2)
    const lines = screen.lines.map((line, index) => (index === cut ? afterEcho : line))
    const records = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(records.filter((record) => record.type === 'log').length).toBeGreaterThan(0)
    expect(records.at(-1)).toMatchObject({type: 'result', command: 'logs', status: 'stopped'})
    expect(records.filter((record) => record.status === 'error')).toEqual([])
  },
  TEST_TIMEOUT_MS,
)

it(
  'logs nosuch: lists the components there are, and exits non-zero',
  async () => {
    const {exitCode, screen} = await devctlInTerminal(env, ['logs', 'nosuch', '--no-follow'], {cols: 60}).exited()
    expect(exitCode).toBe(2)
    expect(screen.text).toMatch(/Error: No pod of release demo matches "nosuch"/)
    expect(screen.text).toMatch(/api, worker/)
    expectFitted(screen)
  },
  TEST_TIMEOUT_MS,
)

describe.each([120, 60])('status --watch at %i columns', (cols) => {
  it(
    'redraws in place when a pod changes (told by a watch event, not a poll), then Ctrl-C leaves quietly',
    async () => {
      // An hour between refreshes: whatever changes on screen came from a watch event.
      const run = devctlInTerminal(env, ['status', '--watch', '--interval', '3600'], {cols})
      const first = await run.waitFor('the status', (s) => s.has('WorkloadsReady'))
      const workerPod = /demo-web-worker-worker-\w+-\w+/.exec(first.text)![0]
      await kubectl('delete', 'pod', workerPod, '--wait=false')
      const replaced = await run.waitFor('a new worker pod, ready, in place of the deleted one', (s) => !s.has(workerPod) && s.has(/demo-web-worker-worker-\w+-\w+ +Running/) && s.has(/AllReady/))
      // Drawn over itself: one status on screen, no screen clears.
      expect(replaced.rows.filter((row) => row === 'Conditions')).toHaveLength(1)
      expect(replaced.text).toMatch(/Watching for changes; Ctrl-C to stop\./)
      expect(run.raw()).not.toContain('\u001B[2J')
      expectFitted(replaced)
      await expectQuietCtrlC(run)
    },
    TEST_TIMEOUT_MS,
  )
})

it(
  'status after a failed upgrade: the failure and its rollback, from helm history',
  async () => {
    await env.sim.setScenario('migration-fails')
    const failed = await env.devctl(['upgrade', '--set', 'replicaCount=2', '--yes', '--quiet'])
    expect(failed.exitCode).toBe(7)
    await env.sim.setScenario('happy')
    const {screen} = await devctlInTerminal(env, ['status'], {cols: 120}).exited()
    // The part's text, its continuation rows joined back.
    expect(screen.text.replace(/\n {13}/g, ' ')).toMatch(
      /^! last fail {2}revision 2 failed (just now|\d+ s ago|\d+ min ago): .+; rolled back to revision 1 by revision 3 (just now|\d+ s ago|\d+ min ago)$/m,
    )
    expect(screen.text).toMatch(/^● release {4}demo revision 3 deployed/m)
  },
  TEST_TIMEOUT_MS,
)
