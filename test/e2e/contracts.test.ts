/**
 * Contracts between devctl's parts, end to end: consent comes before any change (an upgrade's
 * plan only reads), and `up` and `doctor` give the same answer about host ports.
 */
import {execFile} from 'node:child_process'
import {createServer, type Server} from 'node:net'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {resultRecord, TOOLS} from '../helpers/cli.js'
import {freePort, helmDeploys, startEnvironment, type TestEnvironment} from '../helpers/environment.js'

const run = promisify(execFile)

describe("an upgrade's plan changes nothing before consent", () => {
  let env: TestEnvironment
  beforeAll(async () => {
    env = await startEnvironment()
    const up = await env.devctl(['up', '--quiet'])
    if (up.exitCode !== 0) throw new Error(`devctl up failed (${up.exitCode}):\n${up.stderr}`)
  })
  afterAll(() => env.stop())

  const kubectl = (...args: string[]) => run(TOOLS.kubectl, ['--kubeconfig', join(env.dir, '.devctl', 'kubeconfig'), '--context', 'k3d-demo', '-n', 'demo', ...args])

  it('does not re-create a deleted credential Secret when the upgrade is refused for want of --yes', async () => {
    await kubectl('delete', 'secret', 'devctl-redis')
    const refused = await env.devctl(['upgrade', '--set', 'replicaCount=3'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/--yes is required/)
    const secrets = (await kubectl('get', 'secrets', '-o', 'name')).stdout
    expect(secrets).not.toContain('secret/devctl-redis')
    expect(helmDeploys(env.sim)).toHaveLength(1)
    // The apply phase, after consent, puts it back.
    const upgraded = await env.devctl(['upgrade', '--set', 'replicaCount=3', '--yes'])
    expect(upgraded.exitCode).toBe(0)
    expect((await kubectl('get', 'secrets', '-o', 'name')).stdout).toContain('secret/devctl-redis')
  })

  it('reports an unchanged upgrade as such, in --json too, without an apply phase', async () => {
    const result = await env.devctl(['upgrade', '--set', 'replicaCount=3', '--yes', '--json'])
    expect(result.exitCode).toBe(0)
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as {type?: string; step?: string})
    expect(resultRecord<{outcome: string}>(result.stdout).result.outcome).toBe('unchanged')
    const steps = new Set(lines.filter((l) => l.type === 'step:start').map((l) => l.step))
    expect([...steps]).toEqual(['prerequisites', 'connect', 'plan'])
  })
})

describe('up and doctor agree on the host ports a stopped cluster binds', () => {
  let env: TestEnvironment
  let holder: Server | undefined
  beforeAll(async () => {
    env = await startEnvironment()
  })
  afterAll(async () => {
    await new Promise((resolve) => (holder ? holder.close(resolve) : resolve(undefined)))
    await env.stop()
  })

  it('both fail on the old port the stopped cluster was created with, after devctl.yaml moved to a new one', async () => {
    const up = await env.devctl(['up', '--quiet'])
    expect(up.exitCode).toBe(0)
    const config = await readFile(join(env.dir, 'devctl.yaml'), 'utf8')
    const oldPort = Number(/host: (\d+)/.exec(config)![1])
    await env.devctl(['down', '--keep-data'])
    await writeFile(join(env.dir, 'devctl.yaml'), config.replace(`host: ${oldPort}`, `host: ${await freePort()}`))
    holder = createServer()
    await new Promise<void>((resolve) => holder!.listen(oldPort, '0.0.0.0', resolve))

    const doctor = await env.devctl(['doctor', '--json'])
    const ports = resultRecord<{checks: Array<{id: string; status: string; message: string}>}>(doctor.stdout).result.checks.find((c) => c.id === 'ports')
    expect(ports).toMatchObject({status: 'fail', message: expect.stringContaining(`Host port ${oldPort}`)})
    expect(doctor.exitCode).toBe(11)

    const blocked = await env.devctl(['up'])
    expect(blocked.exitCode).toBe(4)
    expect(blocked.stderr).toContain(`Host port ${oldPort}`)
  })
})

describe('the file system at the edge', () => {
  let env: TestEnvironment
  beforeAll(async () => {
    env = await startEnvironment()
  })
  afterAll(() => env.stop())

  it('a .devctl that is a file: up fails with the path and what to do (exit 4), doctor --fix reports instead of crashing', async () => {
    await rm(join(env.dir, '.devctl'), {recursive: true, force: true})
    await writeFile(join(env.dir, '.devctl'), 'not a directory')
    const up = await env.devctl(['up'])
    expect(up.exitCode, up.stderr).toBe(4)
    // It fails taking the environment's lock, before any step starts; a step never ends half-drawn.
    if (up.stdout.includes('▸ Prerequisites')) expect(up.stdout).toMatch(/✖ Prerequisites/)
    expect(up.stderr).toMatch(/^Error: \S+\/\.devctl (is in the way|cannot be used)/m)
    expect(up.stderr).toMatch(/→ Move it away/)
    expect(up.stderr).not.toMatch(/bug in devctl/)

    const doctor = await env.devctl(['doctor', '--fix', '--yes'])
    expect(doctor.exitCode, doctor.stderr).toBe(11)
    expect(doctor.stderr).not.toMatch(/bug in devctl|EEXIST|ENOTDIR/)
  })
})
