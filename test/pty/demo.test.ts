/**
 * `npm run demo` (after its build): the simulator, `devctl init`, `devctl up` with the live view,
 * `devctl status`, then nothing left behind — also when the person presses Ctrl-C halfway.
 */
import {access} from 'node:fs/promises'
import {join} from 'node:path'

import {afterEach, expect, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'
import {KEYS, showsRunning, startPty, type PtyRun, type Screen} from '../helpers/pty.js'

const TEST_TIMEOUT_MS = 180_000
const DEMO = [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO_ROOT, 'scripts', 'demo.ts')]

let run: PtyRun | undefined
afterEach(() => run?.kill())

function projectDir(screen: Screen): string {
  const dir = /project in (\S+)/.exec(screen.text)?.[1]
  if (!dir) throw new Error(`the demo did not say where its project is:\n${screen.text}`)
  return dir
}

async function expectGone(path: string): Promise<void> {
  await expect(access(path)).rejects.toThrow(/ENOENT/)
}

it(
  'brings a scratch project up on the simulator with the live view, shows status, and cleans up',
  async () => {
    run = startPty(['--time-factor', '0.05'], {program: DEMO, cwd: REPO_ROOT, cols: 100})
    await run.waitFor('the live task list', (s) => s.has(/^[✔⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Prerequisites/))
    const {exitCode, screen} = await run.exited(TEST_TIMEOUT_MS)
    expect(exitCode, screen.text).toBe(0)
    expect(screen.has(/^✔ devctl is set up for demo/)).toBe(true)
    expect(screen.has(/^✔ demo is up in /)).toBe(true)
    expect(screen.has(/^\$ devctl status$/)).toBe(true)
    expect(screen.has(/WorkloadsReady +True/)).toBe(true)
    expect(screen.has('Cleaning up: the simulated cluster and the scratch project.')).toBe(true)
    await expectGone(projectDir(screen))
  },
  TEST_TIMEOUT_MS,
)

it(
  'on Ctrl-C during up, stops devctl and still cleans up',
  async () => {
    run = startPty(['--time-factor', '1'], {program: DEMO, cwd: REPO_ROOT, cols: 100})
    await run.waitFor('the cluster being created', (s) => showsRunning(s, 'Cluster demo'))
    run.press(KEYS.ctrlC)
    const {exitCode, screen} = await run.exited(TEST_TIMEOUT_MS)
    expect(exitCode, screen.text).toBe(130)
    expect(screen.has('Cleaning up: the simulated cluster and the scratch project.')).toBe(true)
    await expectGone(projectDir(screen))
  },
  TEST_TIMEOUT_MS,
)
