/**
 * After `up`: `upgrade`, `status` and `down`, end to end on the simulator (built CLI as a
 * subprocess, stand-in k3d, the real helm). The main suite shares one environment through a day
 * of use — each `up` costs seconds — but no test relies on another: each starts from the project
 * files init wrote, brings the environment up as they say if an earlier test left it otherwise,
 * and expects revisions and helm calls relative to what it found.
 */
import {execFile, spawn} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {parse, stringify} from 'yaml'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {helmUpgradeInFlight, output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import type {StatusResult} from '../../src/workflows/status.js'
import type {KubeObject} from '../sim/apiserver/contract.js'
import {eventually} from '../sim/apiserver/test-support.js'
import {resultRecord} from '../helpers/cli.js'
import {realServersAvailable} from '../sim/apiserver/backends.js'

let env: TestEnvironment

function api(env: TestEnvironment) {
  const cluster = env.sim.cluster('demo')
  if (!cluster) throw new Error('no cluster demo')
  return cluster
}

/** helm commands of a verb that change the release: an upgrade's plan renders with `helm upgrade --dry-run`, which changes nothing. */
function helmCalls(env: TestEnvironment, verb: string): number {
  return env.sim.commands('helm').filter((c) => c.argv[0] === verb && !c.argv.some((arg) => arg.startsWith('--dry-run'))).length
}

function releaseStatus(env: TestEnvironment): Array<{revision: number; status: string}> {
  return api(env)
    .list('v1', 'Secret', 'demo')
    .filter((s) => s.metadata.labels?.owner === 'helm')
    .map((s) => ({revision: Number(s.metadata.labels?.version), status: s.metadata.labels?.status ?? ''}))
    .sort((a, b) => a.revision - b.revision)
}

function latestRevision(env: TestEnvironment): number {
  return releaseStatus(env).at(-1)?.revision ?? 0
}

/** The chart as the project has it now (a test may move its version). */
async function chartLabel(env: TestEnvironment): Promise<string> {
  const chart = parse(await readFile(join(env.dir, 'chart', 'Chart.yaml'), 'utf8')) as {name: string; version: string}
  return `${chart.name}-${chart.version}`
}

/** "53ms", "1.5s", "12s", "1m3s", "2m" (formatDuration) in ms. */
function durationMs(text: string): number {
  const [, minutes = '0', seconds = '0', ms = '0'] = /^(?:(\d+)m)?(?:([\d.]+)s)?(?:(\d+)ms)?$/.exec(text) ?? []
  return Number(minutes) * 60_000 + Number(seconds) * 1000 + Number(ms)
}

/** The times at the start of the plain view's lines ("[ 1.2s] ▸ Rollout"), in order. */
function stamps(stdout: string): number[] {
  return [...stdout.matchAll(/^\[ *(\S+)\] /gm)].map((match) => durationMs(match[1]!))
}

/** `status --json` of a deployed environment: it has a release. */
type Status = StatusResult & {release: {revision: number}}

async function status(env: TestEnvironment): Promise<Status> {
  const result = await env.devctl(['status', '--json'])
  expect(result.exitCode, result.stderr).toBe(0)
  return resultRecord<Status>(result.stdout).result
}

/**
 * The environment as a successful `devctl up` of the project as it is leaves it, whatever an
 * earlier test did to it: `up` deploys devctl.yaml again where the release differs from it (a
 * no-op where it does not), and `up --force` when `status` still finds anything not well (no
 * cluster, a failed deploy or migration). Returns the status that says all is well.
 */
async function healthy(env: TestEnvironment): Promise<Status> {
  if ((await env.devctl(['up', '--quiet'])).exitCode === 0) {
    const found = await status(env)
    if (found.conditions.every((c) => c.status === 'True')) return found
  }
  const up = await env.devctl(['up', '--quiet', '--force'])
  if (up.exitCode !== 0) throw new Error(`devctl up failed (${up.exitCode}):\n${up.stderr}`)
  return status(env)
}

/** The files tests edit (an upgrade keeps its flags in devctl.yaml, --image-tag in the values): each test starts from init's. */
const PROJECT_FILES = ['devctl.yaml', 'values.dev.yaml', join('chart', 'Chart.yaml')]

async function readProjectFiles(env: TestEnvironment): Promise<Map<string, string>> {
  return new Map(await Promise.all(PROJECT_FILES.map(async (file) => [file, await readFile(join(env.dir, file), 'utf8')] as const)))
}

function apiImage(env: TestEnvironment): string | undefined {
  const deployment = api(env).get('apps/v1', 'Deployment', 'demo', 'demo-web-worker') as (KubeObject & {spec: {template: {spec: {containers: Array<{image: string}>}}}}) | undefined
  return deployment?.spec.template.spec.containers[0]?.image
}

describe('one environment through a day: status, upgrade, recovery, down', () => {
  let initial: Map<string, string>
  beforeAll(async () => {
    env = await startEnvironment()
    initial = await readProjectFiles(env)
  })
  afterAll(() => env.stop())
  afterEach(async () => {
    await env.sim.setScenario('default')
    for (const [file, text] of initial) await writeFile(join(env.dir, file), text)
  })

  it('status --json gives the whole environment, typed', async () => {
    const status = await healthy(env)
    expect(status).toMatchObject({
      project: 'demo',
      namespace: 'demo',
      cluster: {provider: 'k3d', name: 'demo', state: 'running', nodes: {ready: 1, total: 1}},
      release: {name: 'demo', revision: latestRevision(env), status: 'deployed', chart: await chartLabel(env), appVersion: '6.7.1'},
      migration: {kind: 'hook-job', name: 'demo-web-worker-migrate', result: 'succeeded'},
    })
    expect(status.services).toEqual([
      {name: 'postgres', mode: 'in-cluster', ready: true, endpoint: 'devctl-postgres.demo.svc:5432'},
      {name: 'redis', mode: 'in-cluster', ready: true, endpoint: 'devctl-redis.demo.svc:6379'},
    ])
    expect(status.workloads.map((w: {name: string; ready: boolean}) => [w.name, w.ready])).toEqual([
      ['demo-web-worker', true],
      ['demo-web-worker-worker', true],
    ])
    expect(status.conditions.map((c: {type: string; status: string}) => `${c.type}=${c.status}`)).toEqual([
      'ClusterReady=True',
      'ServicesReady=True',
      'ReleaseDeployed=True',
      'MigrationSucceeded=True',
      'WorkloadsReady=True',
    ])
  })

  it('upgrade says nothing changed and calls no helm when nothing did', async () => {
    await healthy(env)
    const upgrades = helmCalls(env, 'upgrade')
    const result = await env.devctl(['upgrade', '--yes'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`demo: nothing changed since revision ${latestRevision(env)}; helm was not called\\.`))
    expect(helmCalls(env, 'upgrade')).toBe(upgrades)
  })

  it('upgrade needs --yes when it cannot ask, and changes nothing without it', async () => {
    await healthy(env)
    const upgrades = helmCalls(env, 'upgrade')
    const result = await env.devctl(['upgrade', '--set', 'replicaCount=2'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/^Error: --yes is required when devctl cannot prompt/m)
    expect(result.stderr).toMatch(/→ Pass --yes, or run in a terminal to be asked\./)
    expect(helmCalls(env, 'upgrade')).toBe(upgrades)

    // helm's --set syntax: list indices, several pairs per flag, escaped dots.
    const indexed = await env.devctl(['upgrade', '--set', 'imagePullSecrets[0].name=regcred,logLevel=debug', '--set', 'podAnnotations.prometheus\\.io/path=/metrics'])
    expect(indexed.exitCode).toBe(2)
    expect(indexed.stdout).toContain('  imagePullSecrets[0].name: (unset) → regcred\n  podAnnotations.prometheus\\.io/path: (unset) → /metrics\n  migration:')
    expect(helmCalls(env, 'upgrade')).toBe(upgrades)

    // What the chart receives, from its defaults: a value set to its default is no change.
    const memory = await env.devctl(['upgrade', '--set', 'resources.requests.memory=64Gi,replicaCount=1'])
    expect(memory.exitCode).toBe(2)
    expect(memory.stdout).toContain('\n  resources.requests.memory: 32Mi → 64Gi\n  migration:')
    const unchanged = await env.devctl(['upgrade', '--set', 'replicaCount=1'])
    expect(unchanged.stdout).toContain('\n  values: what the chart receives is unchanged\n')
  })

  it('upgrade --image-tag sets the shared anchor: every alias follows, the plan shows the change', async () => {
    const before = (await healthy(env)).release.revision
    const result = await env.devctl(['upgrade', '--image-tag', '6.7.2', '--yes'])
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain(`Upgrade of demo (revision ${before} → ${before + 1})`)
    // Once, where the chart reads it: not also at its anchor under shared:.
    expect(result.stdout).toMatch(/^ {2}image\.tag: 6\.7\.1 → 6\.7\.2$/m)
    expect(result.stdout).not.toMatch(/shared\.image\.tag/)
    expect(result.stdout).toMatch(/Migration \(hook Job demo-web-worker-migrate .*\) complete/)
    // One view, one clock: from the plan's first step to the last step after it.
    const times = stamps(result.stdout)
    expect(result.stdout).toMatch(/^\[ *\S+\] ✔ Upgrade demo: /m)
    expect(result.stdout).toMatch(/^\[ *\S+\] ✔ Saved the new image tag/m)
    expect(times, result.stdout).toEqual([...times].sort((a, b) => a - b))
    const values = await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')
    expect(values).toContain('tag: &imageTag "6.7.2"')
    expect(values).toMatch(/^ {2}tag: \*imageTag$/m)
    expect(apiImage(env)).toBe('ghcr.io/stefanprodan/podinfo:6.7.2')
    expect(releaseStatus(env).at(-1)).toEqual({revision: before + 1, status: 'deployed'})
  })

  it('rolls back when the pre-upgrade migration fails, verifies it, and warns about the migration: exit 7', async () => {
    const before = (await healthy(env)).release.revision
    const rollbacks = helmCalls(env, 'rollback')
    await env.sim.setScenario('migration-fails')
    const result = await env.devctl(['upgrade', '--set', 'replicaCount=2,env.API_TOKEN=tok-s3cr3t-42', '--yes'])
    expect(result.exitCode).toBe(7)
    expect(result.stderr).toMatch(/^Error: The migration Job demo-web-worker-migrate failed: BackoffLimitExceeded/m)
    expect(result.stderr).toContain(`rolled back to revision ${before} and verified: every workload is ready again.`)
    // A rollback does not undo the migration; the snapshot taken before it can (where Postgres is real), and the error says how.
    if (realServersAvailable().available) expect(result.stderr).toMatch(/the database is as the migration left it; `devctl db restore auto-\d{8}-\d{6}` puts back the data from before it/)
    else expect(result.stderr).toContain('A rollback does not undo a database migration')
    // What to run again is the command that failed, exactly (its secret masked), not `devctl up`, which would drop the --set.
    expect(result.stderr).toContain('→ Fix the migration (its log is above), then run `devctl upgrade --set replicaCount=2,env.API_TOKEN=******** --yes` again;')
    expect(output(result)).not.toMatch(/run `devctl up`|tok-s3cr3t-42/)
    expect(helmCalls(env, 'rollback')).toBe(rollbacks + 1)
    expect(releaseStatus(env).slice(-3)).toEqual([
      {revision: before, status: 'superseded'},
      {revision: before + 1, status: 'failed'},
      {revision: before + 2, status: 'deployed'},
    ])
  })

  it('--no-rollback leaves the failed release for inspection, and status says so with hints', async () => {
    const before = (await healthy(env)).release.revision
    const rollbacks = helmCalls(env, 'rollback')
    await env.sim.setScenario('migration-fails')
    const result = await env.devctl(['upgrade', '--set', 'replicaCount=2', '--yes', '--no-rollback'])
    expect(result.exitCode).toBe(7)
    expect(helmCalls(env, 'rollback')).toBe(rollbacks)
    expect(releaseStatus(env).at(-1)).toEqual({revision: before + 1, status: 'failed'})
    const {conditions} = await status(env)
    expect(conditions.find((c) => c.type === 'MigrationSucceeded')).toMatchObject({status: 'False', reason: 'Failed', hint: expect.stringMatching(/fix the cause/)})
    expect(conditions.find((c) => c.type === 'ReleaseDeployed')).toMatchObject({status: 'False', reason: 'Failed', hint: 'Fix the cause (see `devctl logs`), then `devctl upgrade`.'})

    // Which revision it left, and how to roll back by hand: the command given works as it is.
    expect(result.stderr).toContain(`--no-rollback: release demo is left at revision ${before + 1} (failed) for inspection; revision ${before} is the last one that worked.`)
    const byHand = /Roll back by hand with `(helm rollback demo \d+ [^`]+)`, or fix the cause and run `devctl upgrade --set replicaCount=2 --yes --no-rollback` again\./.exec(
      result.stderr.replace(/\n\s+/g, ' '),
    )?.[1]
    expect(byHand, result.stderr).toBe(`helm rollback demo ${before} --namespace demo --kubeconfig .devctl/kubeconfig --kube-context k3d-demo`)
    // Asynchronously: the simulator answers helm from this very process.
    await promisify(execFile)('sh', ['-c', byHand!], {cwd: env.dir, env: {...process.env, ...env.sim.env}})
    expect(releaseStatus(env).at(-1)).toEqual({revision: before + 2, status: 'deployed'})
  })

  it('recovers a release left pending-upgrade by a killed helm, with consent', async () => {
    const before = (await healthy(env)).release.revision
    // A migration that takes a while, and the real helm killed while it waits on it (SIGKILL:
    // no chance to clean up), leave the release pending, as helm itself left it.
    await env.sim.setScenario({rules: [{match: {container: '*migrat*'}, behavior: 'complete', runFor: '600s'}]})
    const {helm, closed} = helmUpgradeInFlight(env, 'replicaCount=2')
    await eventually(() => releaseStatus(env).at(-1)?.status === 'pending-upgrade', {timeoutMs: 60_000, what: 'helm to start the upgrade'})
    helm.kill('SIGKILL')
    await closed
    await env.sim.setScenario('default')
    expect(releaseStatus(env).at(-1)).toEqual({revision: before + 1, status: 'pending-upgrade'})

    const {conditions} = await status(env)
    expect(conditions.find((c) => c.type === 'ReleaseDeployed')).toMatchObject({reason: 'Pending', hint: '`devctl upgrade` recovers a stuck release.'})

    // --yes agrees to the upgrade, never to dropping a release record: that needs --recover (or a yes in a terminal).
    const refused = await env.devctl(['upgrade', '--set', 'replicaCount=2', '--yes'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/--recover is required/)
    expect(releaseStatus(env).at(-1)).toEqual({revision: before + 1, status: 'pending-upgrade'})

    const result = await env.devctl(['upgrade', '--set', 'replicaCount=2', '--yes', '--recover'])
    expect(result.exitCode).toBe(0)
    expect(output(result)).toContain(`Recovered release demo: dropped the unfinished revision ${before + 1} (pending-upgrade)`)
    expect(releaseStatus(env).at(-1)).toEqual({revision: before + 1, status: 'deployed'})
  })

  it('reinstalls when the chart crosses breakingVersion, keeping Postgres and its data', async () => {
    await healthy(env)
    const uninstalls = helmCalls(env, 'uninstall')
    const pvcBefore = api(env).get('v1', 'PersistentVolumeClaim', 'demo', 'data-devctl-postgres-0')?.metadata.uid
    expect(pvcBefore).toBeDefined()
    const configPath = join(env.dir, 'devctl.yaml')
    const config = parse(await readFile(configPath, 'utf8')) as {app: Record<string, unknown>}
    config.app.breakingVersion = '0.2.0'
    await writeFile(configPath, stringify(config))
    const chartPath = join(env.dir, 'chart', 'Chart.yaml')
    await writeFile(chartPath, (await readFile(chartPath, 'utf8')).replace(/^version: 0\.1\.0$/m, 'version: 0.2.0'))

    const result = await env.devctl(['upgrade', '--yes'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/chart version: 0\.1\.0 → 0\.2\.0/)
    expect(result.stdout).toMatch(/crosses devctl\.yaml's breakingVersion/)
    expect(helmCalls(env, 'uninstall')).toBe(uninstalls + 1)
    expect(releaseStatus(env)).toEqual([{revision: 1, status: 'deployed'}])
    expect(api(env).get('v1', 'PersistentVolumeClaim', 'demo', 'data-devctl-postgres-0')?.metadata.uid).toBe(pvcBefore)
  })

  it('down --keep-data keeps the Postgres/Redis volumes, and the next up finds them', async () => {
    await healthy(env)
    const uid = api(env).get('v1', 'PersistentVolumeClaim', 'demo', 'data-devctl-postgres-0')?.metadata.uid
    const down = await env.devctl(['down', '--keep-data'])
    expect(down.exitCode).toBe(0)
    expect(down.stdout).toMatch(/✔ removed release demo/)
    expect(down.stdout).toMatch(/kept volume data-devctl-postgres-0 \(--keep-data\)/)
    expect(down.stdout).toMatch(/stopped; `devctl up` starts it with the data/)

    const up = await env.devctl(['up'])
    expect(up.exitCode).toBe(0)
    expect(up.stdout).toMatch(/✔ Cluster demo started/)
    expect(api(env).get('v1', 'PersistentVolumeClaim', 'demo', 'data-devctl-postgres-0')).toMatchObject({metadata: {uid}, status: {phase: 'Bound'}})
  })

  it('down tears everything down, and running it twice is fine', async () => {
    await healthy(env)
    const first = await env.devctl(['down'])
    expect(first.exitCode).toBe(0)
    // It says what went with the cluster, and how to keep it next time.
    expect(first.stdout).toMatch(/✔ removed release demo\n✔ removed k3d cluster demo and everything in it: the Postgres and Redis data \(`devctl down --keep-data` keeps it\)/)
    expect(env.sim.cluster('demo')).toBeUndefined()
    const second = await env.devctl(['down'])
    expect(second.exitCode).toBe(0)
    expect(second.stdout).toMatch(/kept cluster demo \(there was none\)/)
    expect(second.stdout).toMatch(/Nothing to remove: the environment was already down\./)
  })

  it('down --purge asks first, needs --yes without a terminal, then removes .devctl/', async () => {
    const refused = await env.devctl(['down', '--purge'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/--yes is required/)
    const purged = await env.devctl(['down', '--purge', '--yes'])
    expect(purged.exitCode).toBe(0)
    expect(purged.stdout).toMatch(/removed \.devctl\/ \(generated passwords and local state\)/)
  })
})

describe('devctl status on a broken environment', () => {
  afterAll(() => env.stop())

  it('gives a hint for each thing that is wrong', async () => {
    env = await startEnvironment()
    const missing = await env.devctl(['status'])
    expect(missing.exitCode).toBe(0)
    expect(missing.stdout).toMatch(/ClusterReady {8}False ClusterMissing/)
    expect(missing.stdout).toMatch(/→ Run `devctl up` to create it\./)

    await env.sim.setScenario('crash-loop')
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(8)
    const crashing = await env.devctl(['status'])
    expect(crashing.stdout).toMatch(/WorkloadsReady {6}False CrashLoopBackOff: .*pod demo-web-worker-\w+-\w+: CrashLoopBackOff/)
    // status prints no log lines, so its advice names the command that shows them.
    expect(crashing.stdout).toMatch(/→ read its last log lines \(`devctl logs --no-follow --tail 20 demo-web-worker-\w+-\w+`\); fix the crash/)

    expect(await new Promise((resolve) => spawn('k3d', ['cluster', 'stop', 'demo'], {env: {...process.env, ...env.sim.env}}).on('close', resolve))).toBe(0)
    const stopped = await env.devctl(['status'])
    expect(stopped.stdout).toMatch(/ClusterReady {8}False ClusterStopped/)
    expect(stopped.stdout).toMatch(/→ Run `devctl up` to start it \(data is kept\)\./)

    // Piped, --watch prints the status again when it changes: here, once the cluster is started.
    const conditionsShown = (stdout: string) => stdout.match(/^Conditions$/gm)?.length ?? 0
    let starting = false
    const watching = await env.devctl(['status', '--watch', '--interval', '1'], {
      interruptWhen: (stdout) => {
        if (!starting && conditionsShown(stdout) === 1) {
          starting = true
          spawn('k3d', ['cluster', 'start', 'demo'], {env: {...process.env, ...env.sim.env}, stdio: 'ignore'})
        }
        return conditionsShown(stdout) >= 2
      },
    })
    expect(watching.exitCode).toBe(130)
    expect(watching.stderr).toBe('')
    const [before, after] = watching.stdout.split(/^Conditions$/m).slice(1)
    expect(before).toMatch(/ClusterReady {8}False ClusterStopped/)
    expect(after).toMatch(/ClusterReady {8}True {2}NodesReady/)
  })
})
