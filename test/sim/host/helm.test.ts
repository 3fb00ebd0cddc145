/**
 * The real helm 3.17 and 4.1 against the simulator, the way devctl runs them: `helm` from the
 * simulator's PATH (bin/helm, which records the call and then becomes the real binary). The
 * simulated cluster must answer helm as a real one does, hooks, waiting and release records
 * included; anything helm does here is helm's own behaviour.
 */
import {readlink, realpath} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {resolve} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KubeObject} from '../apiserver/contract.js'
import {type Simulator, startSimulator} from '../index.js'
import {run, spawnTool} from './testing.js'

const chart = resolve(import.meta.dirname, '../fixtures/charts/demo')
const realHelm = (version: 3 | 4): string => resolve(import.meta.dirname, `../../../.tools/helm${version}/helm`)

describe('bin/helm', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({helmVersion: 3})
  })
  afterAll(() => sim.stop())

  it('records what helm was asked, then is the real helm: its output and exit code', async () => {
    const args = ['template', 'not a name', chart, '--set', 'image=nginx:été']
    const dir = tmpdir()
    const result = await run(sim, 'helm', args, {cwd: dir})
    const real = await execa(realHelm(3), args, {reject: false, stripFinalNewline: false})
    expect(result).toMatchObject({exitCode: 1, stdout: real.stdout, stderr: real.stderr})
    await expect.poll(() => sim.commands('helm')).toEqual([{tool: 'helm', argv: args, cwd: dir, startedAt: expect.any(String), endedAt: expect.any(String)}])
  })

  it('is not a parent of helm: the process the caller started is helm, so a kill leaves nothing behind', async () => {
    // Reading values from a stdin that stays open keeps helm waiting.
    const child = execa('helm', ['template', 'x', chart, '-f', '-'], {env: sim.env, extendEnv: false, stdin: 'pipe', reject: false})
    const helm = await realpath(realHelm(3))
    await expect.poll(() => readlink(`/proc/${child.pid}/exe`).catch(() => '')).toBe(helm)
    child.kill('SIGKILL')
    expect((await child).signal).toBe('SIGKILL')
    // The daemon's connection closes only when no process holds it any more.
    await expect.poll(() => sim.commands('helm').at(-1)?.endedAt).toBeDefined()
  })
})

describe.each([3, 4] as const)('the real helm %i against the simulator', (helmVersion) => {
  let sim: Simulator
  beforeAll(async () => {
    // The migrations of releases "slow-*" take 3000 s of simulated time (30 s here).
    sim = await startSimulator({helmVersion, scenario: {rules: [{match: {workload: 'slow-*-migrate'}, behavior: 'complete', runFor: '3000s'}]}})
    await sim.createCluster('demo')
  })
  afterAll(() => sim.stop())

  const helm = (args: string[]) => run(sim, 'helm', args)
  const api = () => {
    const cluster = sim.cluster('demo')
    if (!cluster) throw new Error('no cluster demo')
    return cluster
  }
  const releaseStatuses = (name: string): string[] =>
    api()
      .list('v1', 'Secret', 'default')
      .filter((s) => s.metadata.labels?.owner === 'helm' && s.metadata.labels.name === name)
      .sort((a, b) => Number(a.metadata.labels?.version) - Number(b.metadata.labels?.version))
      .map((s) => s.metadata.labels?.status ?? '')
  const podSpec = (name: string) =>
    (api().get('apps/v1', 'Deployment', 'default', `${name}-web`) as KubeObject & {spec: {template: {spec: {containers: Array<{image: string; env?: unknown[]}>}}}}).spec.template.spec
  const replicaSets = (name: string): string[] =>
    api()
      .list('apps/v1', 'ReplicaSet', 'default')
      .filter((rs) => rs.metadata.name.startsWith(`${name}-web-`))
      .map((rs) => rs.metadata.name)
  const podUids = (name: string): string[] =>
    api()
      .list('v1', 'Pod', 'default')
      .filter((p) => p.metadata.name.startsWith(`${name}-web-`))
      .map((p) => p.metadata.uid ?? '')

  it('installs with its hook, upgrades, rolls back and uninstalls, waiting on the workloads', async () => {
    const installed = await helm(['upgrade', '--install', 'app', chart, '--wait', '--timeout', '60s'])
    expect(installed.exitCode, installed.stderr).toBe(0)
    expect(installed.stdout).toMatch(/^STATUS: deployed$/m)
    expect(api().get('apps/v1', 'Deployment', 'default', 'app-web')?.status).toMatchObject({readyReplicas: 1})
    expect(
      api()
        .list('v1', 'Event', 'default')
        .some((e) => (e.involvedObject as {name?: string} | undefined)?.name === 'app-migrate' && e.reason === 'Completed'),
    ).toBe(true)

    const upgraded = await helm(['upgrade', 'app', chart, '--set', 'image=nginx:1.28', '--wait', '--timeout', '60s'])
    expect(upgraded.exitCode, upgraded.stderr).toBe(0)
    expect(podSpec('app').containers[0]?.image).toBe('nginx:1.28')

    const rolledBack = await helm(['rollback', 'app', '1', '--wait', '--timeout', '60s'])
    expect(rolledBack.exitCode, rolledBack.stderr).toBe(0)
    expect(podSpec('app').containers[0]?.image).toBe('nginx:1.27')
    const history = JSON.parse((await helm(['history', 'app', '-o', 'json'])).stdout) as Array<{revision: number; status: string; description: string}>
    expect(history.map((r) => [r.revision, r.status, r.description])).toEqual([
      [1, 'superseded', 'Install complete'],
      [2, 'superseded', 'Upgrade complete'],
      [3, 'deployed', 'Rollback to 1'],
    ])

    const uninstalled = await helm(['uninstall', 'app', '--wait', '--timeout', '60s'])
    expect(uninstalled.exitCode, uninstalled.stderr).toBe(0)
    expect(uninstalled.stdout).toBe('release "app" uninstalled\n')
    expect(releaseStatuses('app')).toEqual([])
    expect(api().get('apps/v1', 'Deployment', 'default', 'app-web')).toBeUndefined()
  })

  it('keeps the pods when an upgrade changes only replicas, and a rollback returns to the earlier ReplicaSet', async () => {
    expect((await helm(['install', 'steady', chart, '--wait', '--timeout', '60s'])).exitCode).toBe(0)
    const [first] = replicaSets('steady')
    const [firstPod] = podUids('steady')
    const scaled = await helm(['upgrade', 'steady', chart, '--set', 'replicas=2', '--wait', '--timeout', '60s'])
    expect(scaled.exitCode, scaled.stderr).toBe(0)
    expect(replicaSets('steady')).toEqual([first])
    expect(podUids('steady')).toContain(firstPod)

    const limited = await helm(['upgrade', 'steady', chart, '--set', 'resources.limits.memory=256Mi', '--wait', '--timeout', '60s'])
    expect(limited.exitCode, limited.stderr).toBe(0)
    const [second] = replicaSets('steady').filter((name) => name !== first)
    // Revision 1's template (limits: null, which is no limits) is the first ReplicaSet's: the
    // rollback scales that one up again rather than creating a third.
    const rolledBack = await helm(['rollback', 'steady', '1', '--wait', '--timeout', '60s'])
    expect(rolledBack.exitCode, rolledBack.stderr).toBe(0)
    const replicas = (name: string) => (api().get('apps/v1', 'ReplicaSet', 'default', name)?.spec as {replicas: number}).replicas
    expect(replicaSets('steady').sort()).toEqual([first, second].sort())
    expect([replicas(first ?? ''), replicas(second ?? '')]).toEqual([1, 0])
  })

  it('removes an env var the chart no longer sets, and the pod starts without it', async () => {
    expect((await helm(['install', 'envs', chart, '--wait', '--timeout', '60s'])).exitCode).toBe(0)
    const upgraded = await helm(['upgrade', 'envs', chart, '--set', 'secretEnv=false', '--wait', '--timeout', '60s'])
    expect(upgraded.exitCode, upgraded.stderr).toBe(0)
    expect(podSpec('envs').containers[0]?.env).toEqual([{name: 'GREETING', value: 'hello'}])
    expect(api().get('apps/v1', 'Deployment', 'default', 'envs-web')?.status).toMatchObject({updatedReplicas: 1, readyReplicas: 1})
  })

  it('leaves the release pending-upgrade when killed during its pre-upgrade hook, and refuses the next upgrade', async () => {
    expect((await helm(['install', 'slow-killed', chart, '--no-hooks'])).exitCode).toBe(0)
    const upgrade = spawnTool(sim, 'helm', ['upgrade', 'slow-killed', chart, '--set', 'image=nginx:1.28'])
    await expect.poll(() => api().get('batch/v1', 'Job', 'default', 'slow-killed-migrate'), {timeout: 20_000}).toBeDefined()
    expect(releaseStatuses('slow-killed')).toEqual(['deployed', 'pending-upgrade'])
    upgrade.kill('SIGKILL')
    await upgrade
    expect(releaseStatuses('slow-killed')).toEqual(['deployed', 'pending-upgrade'])
    expect(podSpec('slow-killed').containers[0]?.image).toBe('nginx:1.27')
    const again = await helm(['upgrade', 'slow-killed', chart])
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toContain('another operation (install/upgrade/rollback) is in progress')
  })

  it('marks the release failed when stopped with SIGTERM during its pre-upgrade hook', async () => {
    // devctl relies on this when it must stop helm: a failed release, not a pending one.
    expect((await helm(['install', 'slow-stopped', chart, '--no-hooks'])).exitCode).toBe(0)
    const upgrade = spawnTool(sim, 'helm', ['upgrade', 'slow-stopped', chart, '--set', 'image=nginx:1.28'])
    await expect.poll(() => api().get('batch/v1', 'Job', 'default', 'slow-stopped-migrate'), {timeout: 20_000}).toBeDefined()
    upgrade.kill('SIGTERM')
    const result = await upgrade
    expect(result.exitCode, String(result.stderr)).toBe(1)
    expect(releaseStatuses('slow-stopped')).toEqual(['deployed', 'failed'])
  })
})
