/**
 * No process outlives devctl. Ctrl-C (to devctl alone, or to its whole process group as a
 * terminal sends it), SIGTERM and a closed terminal (SIGHUP) stop a hook and everything it
 * started at once; a hook that runs past its time limit is stopped with a timeout (exit 9);
 * a Ctrl-C during `down` lets k3d finish deleting and ends in exit 130, not a k3d failure.
 * Every process devctl starts inherits a marker in its environment, which is how the test
 * finds any left behind.
 */
import {spawn} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {DevctlConfigInput} from '../../src/config/schema.js'
import {CLI} from '../helpers/cli.js'
import {startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {eventually} from '../sim/apiserver/test-support.js'

/** Live processes (zombies aside) whose environment holds `mark`. */
async function processesMarked(mark: string): Promise<string[]> {
  const found: string[] = []
  for (const pid of (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry))) {
    const [environ, stat, cmdline] = await Promise.all(['environ', 'stat', 'cmdline'].map((file) => readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => '')))
    const state = stat!.slice(stat!.lastIndexOf(')') + 2, stat!.lastIndexOf(')') + 3)
    if (environ!.split('\0').includes(`DEVCTL_TEST_MARK=${mark}`) && state !== 'Z') found.push(`${pid} ${cmdline!.replaceAll('\0', ' ').trim()}`)
  }
  return found
}

interface Running {
  pid: number
  stdout(): string
  stderr(): string
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  mark: string
}

/** devctl in a process group of its own, as a shell runs a foreground job: `-pid` is the terminal's target. */
function start(env: TestEnvironment, args: string[]): Running {
  const mark = randomUUID()
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: env.dir,
    env: {...process.env, NO_COLOR: '1', CI: '', FORCE_COLOR: undefined, ...env.sim.env, DEVCTL_TEST_MARK: mark},
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.on('close', (code, signal) => resolve({code, signal})))
  return {pid: child.pid!, stdout: () => stdout, stderr: () => stderr, exited, mark}
}

async function nothingLeftBehind(run: Running): Promise<void> {
  // Processes that were just killed may take a moment to be reaped.
  await eventually(async () => (await processesMarked(run.mark)).length === 0, {what: 'no process started by devctl to be left'}).catch(async (error: unknown) => {
    throw new Error(`${(error as Error).message}\nstill running:\n${(await processesMarked(run.mark)).join('\n')}`)
  })
}

async function editConfig(env: TestEnvironment, edit: (config: DevctlConfigInput) => void): Promise<void> {
  const path = join(env.dir, 'devctl.yaml')
  const config = parse(await readFile(path, 'utf8')) as DevctlConfigInput
  edit(config)
  await writeFile(path, stringify(config))
}

describe('devctl and the processes it starts', () => {
  let env: TestEnvironment
  beforeAll(async () => {
    env = await startEnvironment()
    // A hook whose shell starts a child of its own: killing only the shell would orphan `sleep`.
    await editConfig(env, (config) => (config.hooks = {validate: ['echo hook started; sleep 313; echo never']}))
  })
  afterAll(() => env?.stop())

  it.each([
    ['SIGINT to devctl alone (kill -INT)', 'SIGINT', false],
    ['SIGINT to its process group (Ctrl-C at the terminal)', 'SIGINT', true],
    ['SIGTERM', 'SIGTERM', false],
    ['SIGHUP to its process group (the terminal closed)', 'SIGHUP', true],
  ] as const)('%s while a hook runs: exit 130 at once, the hook and its children ended', async (_what, signal, group) => {
    const run = start(env, ['up'])
    await eventually(() => run.stdout().includes('hook: hook started'), {timeoutMs: 60_000, what: `the validate hook to start; output so far:\n${run.stdout()}`})
    process.kill(group ? -run.pid : run.pid, signal)
    const {code} = await run.exited
    expect(code, run.stderr()).toBe(130)
    expect(run.stderr()).toMatch(new RegExp(`^Error: Interrupted( \\(${signal}\\))?`, 'm'))
    expect(run.stderr()).not.toMatch(/\n\s+at /)
    expect(run.stdout()).not.toContain('never')
    await nothingLeftBehind(run)
  })

  it('a background job a hook leaves behind ends with the hook', async () => {
    await editConfig(env, (config) => (config.hooks = {validate: ['sleep 300 >/dev/null 2>&1 & echo hook done']}))
    const run = start(env, ['up'])
    const {code} = await run.exited
    expect(code, run.stderr()).toBe(0)
    expect(run.stdout()).toContain('hook: hook done')
    await nothingLeftBehind(run)
  })

  it('a hook running past app.timeouts.hook is stopped with what it started: exit 9', async () => {
    await editConfig(env, (config) => {
      config.app.timeouts = {hook: '2s'}
      config.hooks = {validate: ['echo hook started; sleep 20; echo never']}
    })
    const run = start(env, ['up'])
    const {code} = await run.exited
    expect(code, run.stderr()).toBe(9)
    expect(run.stderr()).toMatch(/^Error: The validate hook `echo hook started; sleep 20; echo never` did not finish within 2\.0s; devctl stopped it and what it started\.$/m)
    expect(run.stderr()).toContain('  hook started')
    expect(run.stderr()).toContain('→ Make it finish sooner, or give hooks more time with app.timeouts.hook in devctl.yaml')
    await nothingLeftBehind(run)
  })

  it('a terminal Ctrl-C during down: k3d finishes deleting, exit 130 saying what was removed', async () => {
    // k3d's delete hangs (a slow Docker) until the Ctrl-C has been sent.
    await env.sim.injectFault({type: 'hang-command', tool: 'k3d', argv: ['cluster', 'delete']})
    const run = start(env, ['down'])
    await eventually(() => env.sim.commands('k3d').some((c) => c.argv[0] === 'cluster' && c.argv[1] === 'delete'), {timeoutMs: 30_000, what: 'k3d cluster delete to start'})
    process.kill(-run.pid, 'SIGINT')
    await eventually(() => run.stderr().includes('Stopping…'), {what: 'devctl to take the Ctrl-C'})
    await env.sim.injectFault({type: 'resume-commands'})
    const {code} = await run.exited
    expect(code, run.stderr()).toBe(130)
    // The release was uninstalled first (its pre-delete hooks need the cluster), then the cluster went.
    expect(run.stderr()).toMatch(/^Error: Interrupted after removing release demo, k3d cluster demo and everything in it: the Postgres and Redis data \(`devctl down --keep-data` keeps it\)\.$/m)
    expect(run.stderr()).toContain('→ Run `devctl down` again to finish.')
    expect(run.stderr()).not.toMatch(/k3d.*(failed|exited)/i)
    expect(env.sim.cluster('demo')).toBeUndefined()
    await nothingLeftBehind(run)
  })
})
