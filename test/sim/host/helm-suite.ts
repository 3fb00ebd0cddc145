import {resolve} from 'node:path'
import {gunzipSync} from 'node:zlib'

import {execa} from 'execa'
import {afterAll, beforeAll, expect, it} from 'vitest'

import type {KubeObject} from '../apiserver/contract.js'
import {type Simulator, startSimulator} from '../index.js'
import {run, spawnTool} from './testing.js'

const chart = resolve(import.meta.dirname, '../fixtures/charts/demo')
const presetChart = resolve(import.meta.dirname, '../../../presets/web-worker/chart')
const tools = resolve(import.meta.dirname, '../../../.tools')

function releaseSecret(sim: Simulator, name: string, version: number): KubeObject | undefined {
  return sim.cluster('demo')?.get('v1', 'Secret', 'default', `sh.helm.release.v1.${name}.v${version}`)
}

function decodeRecord(secret: KubeObject): Record<string, unknown> {
  const encoded = Buffer.from((secret.data as {release: string}).release, 'base64').toString('utf8')
  return JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8')) as Record<string, unknown>
}

/** What the workloads of this suite's releases do (scenario rules match the owning workload). */
const scenario = {
  rules: [
    {match: {workload: 'hooked-migrate'}, behavior: 'run'},
    {match: {workload: 'cancelled-migrate'}, behavior: 'run'},
    {match: {workload: 'stuck-migrate'}, behavior: 'run'},
    {match: {workload: 'broken*-migrate'}, behavior: 'fail'},
    {match: {workload: 'flaky-migrate', image: 'bad:*'}, behavior: 'fail'},
    {match: {workload: 'slow-web'}, behavior: 'neverReady'},
  ],
}

interface WatchedEvent {
  type: string
  object: KubeObject
}

/** Every event of a collection from now on, until stopped (for ordering by resourceVersion). */
function watchCollection(url: string): {events: WatchedEvent[]; stop: () => void} {
  const events: WatchedEvent[] = []
  const controller = new AbortController()
  void fetch(`${url}?watch=true`, {signal: controller.signal})
    .then(async (response) => {
      let buffered = ''
      for await (const chunk of response.body ?? []) {
        buffered += Buffer.from(chunk as Uint8Array).toString('utf8')
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines.filter(Boolean)) events.push(JSON.parse(line) as WatchedEvent)
      }
    })
    .catch(() => undefined)
  return {events, stop: () => controller.abort()}
}

function revision(event: WatchedEvent): number {
  return Number(event.object.metadata.resourceVersion)
}

/** The whole helm stand-in against one simulated cluster, for one helm major version. */
export function helmSuite(helmVersion: 3 | 4): void {
  let sim: Simulator
  const unreachable = helmVersion === 3 ? 'Kubernetes cluster unreachable' : 'kubernetes cluster unreachable'
  beforeAll(async () => {
    sim = await startSimulator({helmVersion, scenario})
    await sim.createCluster('demo')
  })
  afterAll(async () => sim.stop())

  const helm = (args: string[], input?: string) => run(sim, 'helm', args, {input})

  it('prints the real binary\'s version', async () => {
    const real = await execa(resolve(tools, `helm${helmVersion}`, 'helm'), ['version', '--short'])
    const stand = await helm(['version', '--short'])
    expect(stand.exitCode).toBe(0)
    expect(stand.stdout).toBe(`${real.stdout}\n`)
  })

  it('runs the commands that need no cluster with the real binary', async () => {
    const real = await execa(resolve(tools, `helm${helmVersion}`, 'helm'), ['template', 'x', chart, '--set', 'replicas=4'], {env: sim.env})
    const stand = await helm(['template', 'x', chart, '--set', 'replicas=4'])
    expect(stand.exitCode).toBe(0)
    expect(stand.stdout).toBe(`${real.stdout}\n`)
    expect((await helm(['lint', chart])).stdout).toContain('1 chart(s) linted, 0 chart(s) failed')
  })

  it('installs a release with real helm\'s output and a Secret release record', async () => {
    const installed = await helm(['upgrade', '--install', 'plain', chart, '--no-hooks', '--set', 'replicas=2', '--labels', 'team=web', '--description', 'first'])
    expect(installed.exitCode).toBe(0)
    expect(installed.stdout).toMatch(/^Release "plain" does not exist\. Installing it now\.\nNAME: plain\nLAST DEPLOYED: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nNAMESPACE: default\nSTATUS: deployed\nREVISION: 1\n/)
    expect(installed.stdout).toContain('NOTES:\nplain is installed in default.\n')

    const secret = releaseSecret(sim, 'plain', 1)
    expect(secret?.type).toBe('helm.sh/release.v1')
    expect(secret?.metadata.labels).toMatchObject({owner: 'helm', name: 'plain', status: 'deployed', version: '1', team: 'web'})
    const record = decodeRecord(secret as KubeObject)
    expect(record).toMatchObject({name: 'plain', namespace: 'default', version: 1, config: {replicas: 2}, info: {status: 'deployed', description: 'first'}})
    expect((record.chart as {metadata: {name: string; version: string}}).metadata).toMatchObject({name: 'demo', version: '0.1.0'})
    expect(record.manifest).toMatch(/^---\n# Source: demo\/templates\/service\.yaml\n/)
    expect(sim.cluster('demo')?.get('apps/v1', 'Deployment', 'default', 'plain-web')?.metadata.labels).toMatchObject({'app.kubernetes.io/managed-by': 'Helm'})
  })

  it('upgrades to revision 2 and supersedes revision 1 (values from stdin)', async () => {
    const upgraded = await helm(['upgrade', 'plain', chart, '--no-hooks', '-f', '-'], 'replicas: 3\n')
    expect(upgraded.exitCode).toBe(0)
    expect(upgraded.stdout).toMatch(/^Release "plain" has been upgraded\. Happy Helming!\nNAME: plain\n/)
    expect(releaseSecret(sim, 'plain', 1)?.metadata.labels?.status).toBe('superseded')
    expect(releaseSecret(sim, 'plain', 2)?.metadata.labels).toMatchObject({status: 'deployed', version: '2', team: 'web'})
    expect(sim.cluster('demo')?.get('apps/v1', 'Deployment', 'default', 'plain-web')?.spec).toMatchObject({replicas: 3})
  })

  it('shows status and history as JSON in helm\'s shapes', async () => {
    const status = JSON.parse((await helm(['status', 'plain', '-o', 'json'])).stdout) as {name: string; version: number; info: {status: string; notes: string}; config: unknown; chart: unknown}
    expect(status).toMatchObject({name: 'plain', version: 2, info: {status: 'deployed'}, config: {replicas: 3}})
    const history = JSON.parse((await helm(['history', 'plain', '-o', 'json'])).stdout) as unknown[]
    expect(history).toEqual([
      {revision: 1, updated: expect.any(String), status: 'superseded', chart: 'demo-0.1.0', app_version: '1.0.0', description: 'first'},
      {revision: 2, updated: expect.any(String), status: 'deployed', chart: 'demo-0.1.0', app_version: '1.0.0', description: 'Upgrade complete'},
    ])
    const list = JSON.parse((await helm(['list', '-o', 'json'])).stdout) as unknown[]
    expect(list).toEqual([{name: 'plain', namespace: 'default', revision: '2', updated: expect.any(String), status: 'deployed', chart: 'demo-0.1.0', app_version: '1.0.0'}])
    expect(JSON.parse((await helm(['get', 'values', 'plain', '-o', 'json'])).stdout)).toEqual({replicas: 3})
    expect(JSON.parse((await helm(['get', 'values', 'plain', '--all', '-o', 'json'])).stdout)).toMatchObject({replicas: 3, image: 'nginx:1.27', service: {port: 80}})
    expect((await helm(['get', 'manifest', 'plain'])).stdout).toContain('# Source: demo/templates/deployment.yaml\n')
  })

  it('rolls back to a revision as a new revision', async () => {
    const rolled = await helm(['rollback', 'plain', '1'])
    expect(rolled.exitCode).toBe(0)
    expect(rolled.stdout).toBe('Rollback was a success! Happy Helming!\n')
    expect(decodeRecord(releaseSecret(sim, 'plain', 3) as KubeObject)).toMatchObject({version: 3, info: {status: 'deployed', description: 'Rollback to 1'}})
    expect(releaseSecret(sim, 'plain', 2)?.metadata.labels?.status).toBe('superseded')
    expect(sim.cluster('demo')?.get('apps/v1', 'Deployment', 'default', 'plain-web')?.spec).toMatchObject({replicas: 2})
  })

  it('fetches charts it does not have with the real helm, failing as it does', async () => {
    const fromRepo = await helm(['upgrade', '--install', 'remote', 'web', '--repo', 'http://127.0.0.1:9/charts', '--version', '1.0.0'])
    expect(fromRepo.exitCode).toBe(1)
    expect(fromRepo.stderr).toBe('Error: looks like "http://127.0.0.1:9/charts" is not a valid chart repository or cannot be reached: Get "http://127.0.0.1:9/charts/index.yaml": dial tcp 127.0.0.1:9: connect: connection refused\n')
    expect((await helm(['install', 'remote', './no-such-chart'])).stderr).toBe('Error: INSTALLATION FAILED: path "./no-such-chart" not found\n')
  })

  it('fails an upgrade of a release that does not exist', async () => {
    const result = await helm(['upgrade', 'missing', chart])
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toBe('Error: UPGRADE FAILED: "missing" has no deployed releases\n')
  })

  it('rejects the other version\'s flags as the real helm does', async () => {
    if (helmVersion === 3) {
      expect((await helm(['upgrade', '--install', 'x', chart, '--rollback-on-failure'])).stderr).toBe('Error: unknown flag: --rollback-on-failure\n')
      expect((await helm(['upgrade', '--install', 'x', chart, '--wait=watcher'])).stderr).toBe('Error: invalid argument "watcher" for "--wait" flag: strconv.ParseBool: parsing "watcher": invalid syntax\n')
    } else {
      const atomic = await helm(['upgrade', '--install', 'plain', chart, '--no-hooks', '--atomic', '--dry-run'])
      expect(atomic.stderr).toMatch(/^Flag --atomic has been deprecated, use --rollback-on-failure instead\n/)
      expect(atomic.exitCode).toBe(0)
      expect((await helm(['upgrade', '--install', 'x', chart, '--wait=bad'])).stderr).toBe('Error: invalid argument "bad" for "--wait" flag: invalid wait input "bad". Valid inputs are watcher, hookOnly, and legacy\n')
    }
  })

  it('blocks on the pre-upgrade hook Job before touching resources; a killed upgrade stays pending-upgrade', async () => {
    await helm(['upgrade', '--install', 'hooked', chart, '--no-hooks'])
    const child = spawnTool(sim, 'helm', ['upgrade', 'hooked', chart, '--set', 'image=nginx:1.28'])
    const api = sim.cluster('demo')
    await expect.poll(() => api?.get('batch/v1', 'Job', 'default', 'hooked-migrate'), {timeout: 10_000}).toBeDefined()
    expect(releaseSecret(sim, 'hooked', 2)?.metadata.labels?.status).toBe('pending-upgrade')
    const deployment = api?.get('apps/v1', 'Deployment', 'default', 'hooked-web') as unknown as {spec: {template: {spec: {containers: Array<{image: string}>}}}}
    expect(deployment.spec.template.spec.containers[0]?.image).toBe('nginx:1.27')

    child.kill('SIGKILL')
    await child
    await expect.poll(() => sim.commands('helm').at(-1)?.outcome).toEqual({abandoned: true})
    expect(releaseSecret(sim, 'hooked', 2)?.metadata.labels?.status).toBe('pending-upgrade')
    const again = await helm(['upgrade', 'hooked', chart])
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toBe('Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n')
  })

  it('runs the pre-install hook Job to completion before it creates the Deployment', async () => {
    const api = sim.cluster('demo')?.url ?? ''
    const jobs = watchCollection(`${api}/apis/batch/v1/namespaces/default/jobs`)
    const deployments = watchCollection(`${api}/apis/apps/v1/namespaces/default/deployments`)
    try {
      const installed = await helm(['install', 'ordered', chart, '--wait'])
      expect(installed.exitCode).toBe(0)
    } finally {
      jobs.stop()
      deployments.stop()
    }
    const complete = jobs.events.find((e) => e.object.metadata.name === 'ordered-migrate' && (e.object.status as {conditions?: Array<{type: string; status: string}>} | undefined)?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'))
    const created = deployments.events.find((e) => e.type === 'ADDED' && e.object.metadata.name === 'ordered-web')
    expect(complete).toBeDefined()
    expect(created).toBeDefined()
    expect(revision(complete as WatchedEvent)).toBeLessThan(revision(created as WatchedEvent))
    const record = decodeRecord(releaseSecret(sim, 'ordered', 1) as KubeObject) as {hooks: Array<{name: string; last_run: {phase: string}}>}
    expect(record.hooks.map((h) => [h.name, h.last_run.phase])).toEqual([['ordered-migrate', 'Succeeded']])
  })

  it('fails an install whose pre-install hook Job fails, with helm\'s message', async () => {
    const failure =
      helmVersion === 3
        ? 'failed pre-install: 1 error occurred:\n\t* job broken-migrate failed: BackoffLimitExceeded\n\n'
        : 'failed pre-install: resource Job/default/broken-migrate not ready. status: Failed, message: Job Failed. failed: 1/1'
    const installed = await helm(['install', 'broken', chart])
    expect(installed.exitCode).toBe(1)
    expect(installed.stderr).toBe(`Error: INSTALLATION FAILED: ${failure}\n`)
    expect(releaseSecret(sim, 'broken', 1)?.metadata.labels?.status).toBe('failed')
    expect(sim.cluster('demo')?.get('apps/v1', 'Deployment', 'default', 'broken-web')).toBeUndefined()
    // Through `upgrade --install` the same failure is reported without the prefix.
    const viaUpgrade = await helm(['upgrade', '--install', 'broken2', chart])
    expect(viaUpgrade.stderr).toBe(`Error: ${failure.replaceAll('broken-migrate', 'broken2-migrate')}\n`)
    // With --atomic (helm 4: --rollback-on-failure) the failed release is uninstalled again.
    const atomic = await helm(['install', 'broken3', chart, helmVersion === 3 ? '--atomic' : '--rollback-on-failure'])
    const flag = helmVersion === 3 ? 'atomic' : 'rollback-on-failure'
    expect(atomic.stderr).toBe(`Error: INSTALLATION FAILED: release broken3 failed, and has been uninstalled due to ${flag} being set: ${failure.replaceAll('broken-migrate', 'broken3-migrate')}\n`)
    expect(releaseSecret(sim, 'broken3', 1)).toBeUndefined()
  })

  it('fails an upgrade whose pre-upgrade hook fails and keeps the previous revision deployed', async () => {
    expect((await helm(['install', 'flaky', chart])).exitCode).toBe(0)
    const upgraded = await helm(['upgrade', 'flaky', chart, '--set', 'image=bad:1'])
    expect(upgraded.exitCode).toBe(1)
    if (helmVersion === 3) {
      expect(upgraded.stderr).toBe('Error: UPGRADE FAILED: pre-upgrade hooks failed: 1 error occurred:\n\t* job flaky-migrate failed: BackoffLimitExceeded\n\n\n')
    } else {
      const failure = 'pre-upgrade hooks failed: resource Job/default/flaky-migrate not ready. status: Failed, message: Job Failed. failed: 1/1'
      expect(upgraded.stderr).toBe(`level=WARN msg="upgrade failed" name=flaky error="${failure}"\nError: UPGRADE FAILED: ${failure}\n`)
    }
    expect(releaseSecret(sim, 'flaky', 1)?.metadata.labels?.status).toBe('deployed')
    expect(decodeRecord(releaseSecret(sim, 'flaky', 2) as KubeObject)).toMatchObject({info: {status: 'failed', description: expect.stringMatching(/^Upgrade "flaky" failed: pre-upgrade hooks failed: /)}})
  })

  it('times out a hook Job that never finishes', async () => {
    const installed = await helm(['install', 'stuck', chart, '--timeout', '30s'])
    expect(installed.exitCode).toBe(1)
    expect(installed.stderr).toBe(
      helmVersion === 3
        ? 'Error: INSTALLATION FAILED: failed pre-install: 1 error occurred:\n\t* timed out waiting for the condition\n\n\n'
        : 'Error: INSTALLATION FAILED: failed pre-install: resource Job/default/stuck-migrate not ready. status: InProgress, message: Job in progress\ncontext deadline exceeded\n',
    )
    expect(releaseSecret(sim, 'stuck', 1)?.metadata.labels?.status).toBe('failed')
  })

  it('times out --wait on a Deployment that never becomes ready', async () => {
    const installed = await helm(['install', 'slow', chart, '--no-hooks', '--wait', '--timeout', '20s'])
    expect(installed.exitCode).toBe(1)
    if (helmVersion === 3) expect(installed.stderr).toBe('Error: INSTALLATION FAILED: context deadline exceeded\n')
    else expect(installed.stderr).toMatch(/^Error: INSTALLATION FAILED: resource Deployment\/default\/slow-web not ready\. status: InProgress, message: (Available|Ready): 0\/1\ncontext deadline exceeded\n$/)
    expect(releaseSecret(sim, 'slow', 1)?.metadata.labels?.status).toBe('failed')
  })

  it('installs the web-worker preset chart: hooks by weight, hook-succeeded Job deleted, rollout waited for', async () => {
    const installed = await helm(['upgrade', '--install', 'app', presetChart, '--namespace', 'dev', '--create-namespace', '--wait'])
    expect(installed.exitCode).toBe(0)
    expect(installed.stdout).toContain('STATUS: deployed\n')
    const api = sim.cluster('demo')
    expect(api?.get('apps/v1', 'Deployment', 'dev', 'app-web-worker')?.status).toMatchObject({readyReplicas: 1})
    expect(api?.get('apps/v1', 'Deployment', 'dev', 'app-web-worker-worker')).toBeDefined()
    expect(api?.get('batch/v1', 'Job', 'dev', 'app-web-worker-migrate')).toBeUndefined()
    expect(api?.get('v1', 'ConfigMap', 'dev', 'app-web-worker-migrations')).toBeDefined()
    const record = decodeRecord(api?.get('v1', 'Secret', 'dev', 'sh.helm.release.v1.app.v1') as KubeObject) as {hooks: Array<{name: string; weight?: number; last_run: {phase: string}}>}
    expect(record.hooks.map((h) => [h.name, h.weight ?? 0, h.last_run.phase])).toEqual([
      ['app-web-worker-migrations', -10, 'Succeeded'],
      ['app-web-worker-migrate', -5, 'Succeeded'],
    ])
  })

  it('cancels an install on Ctrl-C like real helm: failed record, "context canceled"', async () => {
    const child = spawnTool(sim, 'helm', ['install', 'cancelled', chart])
    await expect.poll(() => sim.cluster('demo')?.get('batch/v1', 'Job', 'default', 'cancelled-migrate'), {timeout: 10_000}).toBeDefined()
    child.kill('SIGINT')
    const result = await child
    expect(result.exitCode).toBe(1)
    expect(String(result.stdout)).toContain('Release cancelled has been cancelled.\n')
    expect(String(result.stderr)).toBe('Error: INSTALLATION FAILED: context canceled\n')
    expect(releaseSecret(sim, 'cancelled', 1)?.metadata.labels?.status).toBe('failed')
  })

  it('keeps an uninstalled release\'s history with --keep-history and installs over it again', async () => {
    await helm(['install', 'kept', chart, '--no-hooks'])
    const uninstalled = await helm(['uninstall', 'kept', '--keep-history', '--wait'])
    expect(uninstalled.stdout).toBe('release "kept" uninstalled\n')
    expect(sim.cluster('demo')?.get('apps/v1', 'Deployment', 'default', 'kept-web')).toBeUndefined()
    expect(decodeRecord(releaseSecret(sim, 'kept', 1) as KubeObject)).toMatchObject({info: {status: 'uninstalled', description: 'Uninstallation complete', deleted: expect.stringMatching(/^\d{4}-/)}})
    expect((await helm(['list', '-q'])).stdout).not.toContain('kept')
    const again = await helm(['upgrade', '--install', 'kept', chart, '--no-hooks'])
    expect(again.stdout).toMatch(/^Release "kept" does not exist\. Installing it now\.\n[^]*REVISION: 2\n/)
    expect(releaseSecret(sim, 'kept', 1)?.metadata.labels?.status).toBe('superseded')
  })

  it('uninstalls, removing resources and records', async () => {
    const result = await helm(['uninstall', 'plain'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toBe('release "plain" uninstalled\n')
    expect(sim.cluster('demo')?.get('apps/v1', 'Deployment', 'default', 'plain-web')).toBeUndefined()
    expect(releaseSecret(sim, 'plain', 1)).toBeUndefined()
    expect((await helm(['status', 'plain'])).stderr).toBe('Error: release: not found\n')
  })

  it('reports an unreachable cluster with client-go\'s error', async () => {
    const port = sim.cluster('demo')?.port
    await run(sim, 'k3d', ['cluster', 'stop', 'demo'])
    try {
      const result = await helm(['list'])
      expect(result.exitCode).toBe(1)
      expect(result.stderr).toBe(`Error: ${unreachable}: Get "http://127.0.0.1:${port}/version": dial tcp 127.0.0.1:${port}: connect: connection refused\n`)
    } finally {
      await run(sim, 'k3d', ['cluster', 'start', 'demo'])
    }
  })
}
