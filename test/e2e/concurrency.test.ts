/**
 * Runs that overlap or are cut short: a second devctl on the same environment stops at once
 * saying which one holds it; a cluster that vanishes under a running `up` is reported in
 * seconds, not after the step's time limit; an upgrade stopped after helm deployed a new image
 * tag leaves that tag in the values file.
 */
import {execFile, spawn} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {parse, stringify} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import type {DevctlConfigInput} from '../../src/config/schema.js'
import {CLI} from '../helpers/cli.js'
import {helmUpgradeInFlight, output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {eventually} from '../sim/apiserver/test-support.js'

const execute = promisify(execFile)
let env: TestEnvironment | undefined
afterEach(async () => {
  await env?.stop()
  env = undefined
})

interface Running {
  stdout(): string
  stderr(): string
  exited: Promise<number | null>
  interrupt(): void
}

function start(environment: TestEnvironment, args: string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], {cwd: environment.dir, env: {...process.env, NO_COLOR: '1', CI: '', ...environment.sim.env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return {stdout: () => stdout, stderr: () => stderr, exited: new Promise((resolve) => child.on('close', resolve)), interrupt: () => child.kill('SIGINT')}
}

async function editConfig(environment: TestEnvironment, edit: (config: DevctlConfigInput) => void): Promise<void> {
  const path = join(environment.dir, 'devctl.yaml')
  const config = parse(await readFile(path, 'utf8')) as DevctlConfigInput
  edit(config)
  await writeFile(path, stringify(config))
}

describe('one devctl at a time per environment', () => {
  it('a second up, down or upgrade while up runs stops at once (exit 12) saying which devctl holds it; the first one finishes', async () => {
    env = await startEnvironment()
    // The first up waits in a prerequisites hook until the test lets it go on.
    await editConfig(env, (config) => (config.hooks = {prerequisites: ['echo waiting; while [ ! -f go ]; do sleep 0.05; done']}))
    const first = start(env, ['up'])
    await eventually(() => first.stdout().includes('hook: waiting'), {timeoutMs: 30_000, what: `the first up to wait in its hook:\n${first.stdout()}`})

    for (const args of [['up'], ['down'], ['upgrade', '--yes']]) {
      const second = await env.devctl(args)
      expect(second.exitCode, output(second)).toBe(12)
      expect(second.stderr).toMatch(/^Error: Another devctl is changing this environment: `devctl up` \(pid \d+, \S+@\S+\), started \d+ s ago\.$/m)
      expect(second.stderr).toMatch(/→ Wait for it to finish and run this again/)
    }
    expect(env.sim.commands('k3d').filter((c) => c.argv[1] === 'create')).toEqual([])

    await writeFile(join(env.dir, 'go'), '')
    expect(await first.exited, first.stderr()).toBe(0)
    // Released: the next command gets in.
    const status = await env.devctl(['down', '--keep-cluster'])
    expect(status.exitCode, output(status)).toBe(0)
  })
})

describe('a cluster that vanishes under a running up', () => {
  it("is reported within seconds as not answering (exit 5), not after the step's time limit", async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    // A new pod that takes long to become ready keeps the rollout waiting.
    await env.sim.setScenario({defaults: {ready: '5000s'}})
    await editConfig(env, (config) => (config.app.set = {replicaCount: 2}))
    const run = start(env, ['up'])
    await eventually(() => run.stdout().includes('▸ Rollout'), {timeoutMs: 60_000, what: `the rollout to start:\n${run.stdout()}`})
    const stoppedAt = Date.now()
    await execute('k3d', ['cluster', 'stop', 'demo'], {env: {...process.env, ...env.sim.env}})
    const code = await run.exited
    expect(code, run.stderr()).toBe(5)
    expect(Date.now() - stoppedAt).toBeLessThan(60_000)
    expect(run.stderr()).toMatch(/is it running\?/)
    expect(run.stderr()).not.toMatch(/not done after/)
  })
})

describe('an upgrade stopped after helm deployed', () => {
  it('keeps the values file in step with the image tag helm deployed', async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    await env.sim.setScenario({defaults: {ready: '5000s'}})
    const run = start(env, ['upgrade', '--image-tag', '6.7.9', '--yes'])
    await eventually(() => run.stdout().includes('helm upgrade --install demo: done'), {timeoutMs: 60_000, what: `helm to finish:\n${run.stdout()}`})
    run.interrupt()
    expect(await run.exited, run.stderr()).toBe(130)
    expect(output({exitCode: 130, stdout: run.stdout(), stderr: run.stderr()})).toMatch(/saved at &imageTag in values\.dev\.yaml, so the next `devctl up` keeps it/)
    expect(await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')).toContain('tag: &imageTag "6.7.9"')
  })
})

describe('a release left pending while its helm still runs', () => {
  it('is not dropped under that helm, even with --recover, and devctl says which helm works on it', async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    // A devctl killed outright leaves its helm running: here, a helm upgrade waiting on a long
    // migration — longer (its deadline and helm's timeout too) than a loaded machine takes to get
    // devctl to the point of recovering, or helm would have given up and the release be pending no more.
    await env.sim.setScenario({rules: [{match: {container: '*migrat*'}, behavior: 'complete', runFor: '60000s'}]})
    const {helm, closed} = helmUpgradeInFlight(env, 'replicaCount=2,migrations.activeDeadlineSeconds=600000', ['--timeout', '1000h'])
    try {
      const release = () =>
        env!.sim
          .cluster('demo')!
          .list('v1', 'Secret', 'demo')
          .filter((s) => s.metadata.labels?.owner === 'helm')
          .map((s) => s.metadata.labels?.status)
      await eventually(() => release().includes('pending-upgrade'), {timeoutMs: 60_000, what: 'helm to start the upgrade'})
      const refused = await env.devctl(['upgrade', '--set', 'replicaCount=3', '--yes', '--recover'])
      expect(refused.exitCode, output(refused)).toBe(6)
      expect(refused.stderr).toMatch(new RegExp(`A helm \\(pid ${helm.pid}\\) is still working on it`))
      expect(release()).toContain('pending-upgrade')
    } finally {
      helm.kill('SIGKILL')
      await closed
    }
  })
})
