/**
 * `devctl up` end to end: the built CLI as a subprocess against the cluster simulator, through
 * the stand-in k3d/docker and the real helm — the happy path on helm 3 and 4, re-runs, and every
 * failure a new team member is likely to meet, each with its exit code and explanation.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, readdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import type {DevctlConfigInput} from '../../src/config/schema.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {freePort, helmDeploys, k3dCluster, output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import type {KubeObject} from '../sim/apiserver/contract.js'

const ANSI = /\u001B\[/

let env: TestEnvironment | undefined
afterEach(async () => {
  await env?.stop()
  env = undefined
})

async function editConfig(dir: string, edit: (config: DevctlConfigInput) => void): Promise<void> {
  const path = join(dir, 'devctl.yaml')
  const config = parse(await readFile(path, 'utf8')) as DevctlConfigInput
  edit(config)
  await writeFile(path, stringify(config))
}

/** Run a stand-in tool (e.g. `k3d cluster stop demo`) as the user would, from a shell. */
function tool(env: TestEnvironment, command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env: {...process.env, ...env.sim.env}, stdio: 'ignore'})
    child.on('error', reject)
    child.on('close', (code) => resolve(code ?? 1))
  })
}

function api(env: TestEnvironment) {
  const cluster = env.sim.cluster('demo')
  if (!cluster) throw new Error('no cluster demo')
  return cluster
}

function pods(env: TestEnvironment): KubeObject[] {
  return env.sim.cluster('demo')?.list('v1', 'Pod', 'demo') ?? []
}

function helmUpgrades(env: TestEnvironment): number {
  return helmDeploys(env.sim).length
}

async function expectNoSecrets(env: TestEnvironment, text: string): Promise<void> {
  for (const secret of await env.secrets()) expect(text).not.toContain(secret)
}

describe.each([3, 4] as const)('devctl up with helm %i', (helmVersion) => {
  it('brings every pod to Ready, streams the migration, and a re-run calls no helm', async () => {
    // The migration takes a moment (0.3 s), as a real one does: helm deletes its hook Job once it
    // succeeded, and no client can read the log of a pod that is gone.
    env = await startEnvironment({helmVersion, scenario: {rules: [{match: {workload: '*-migrate'}, runFor: '30s'}]}})
    const first = await env.devctl(['up', '--debug'], {env: {NO_COLOR: '1'}})
    expect(first.exitCode).toBe(0)
    // --debug echoes every command devctl runs, and nothing else goes to stderr.
    const echoed = first.stderr.trimEnd().split('\n')
    expect(echoed.every((line) => line.startsWith('$ '))).toBe(true)
    expect(echoed).toContainEqual(
      expect.stringMatching(
        /^\$ helm upgrade --install demo \S+\/chart --namespace demo -f \S+values\.dev\.yaml --timeout 5m --labels devctl\.dev\/fingerprint=\w+ --kubeconfig \S+ --kube-context k3d-demo$/,
      ),
    )
    expect(first.stdout).not.toMatch(ANSI)
    expect(first.stdout).toMatch(/✔ Cluster demo created/)
    expect(first.stdout).toMatch(/✔ Postgres ready/)
    expect(first.stdout).toMatch(/✔ Redis ready/)
    expect(first.stdout).toMatch(/│ demo-web-worker-migrate-\w+\/migrate: applying 001_create_jobs \.\.\. ok/)
    expect(first.stdout).toMatch(/✔ Migration \(hook Job demo-web-worker-migrate .*\) complete/)
    expect(first.stdout).toMatch(/✔ demo is up in/)
    const running = pods(env).filter((p) => (p.metadata.labels ?? {})['app.kubernetes.io/instance'] === 'demo')
    expect(running.length).toBeGreaterThanOrEqual(2)
    for (const pod of running) {
      const conditions = (pod.status as {conditions?: Array<{type: string; status: string}>}).conditions ?? []
      expect(conditions.find((c) => c.type === 'Ready')?.status).toBe('True')
    }
    expect(helmUpgrades(env)).toBe(1)

    const again = await env.devctl(['up', '--json'])
    expect(again.exitCode).toBe(0)
    const lines = again.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as {type: string; [key: string]: unknown})
    const result = lines.at(-1)!
    expect(result).toMatchObject({type: 'result', command: 'up', status: 'ok', result: {release: {name: 'demo', deployed: false, previousRevision: 1}, cluster: {action: 'reused'}}})
    expect(lines.filter((l) => l.type === 'result')).toHaveLength(1)
    expect(lines.some((l) => l.type === 'step:end' && l.step === 'deploy' && l.status === 'skipped')).toBe(true)
    expect(helmUpgrades(env)).toBe(1)
    await expectNoSecrets(env, output(first) + output(again))
  })
})

describe('devctl up', () => {
  it('starts a stopped cluster (after a reboot) instead of creating it', async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    expect(await tool(env, 'k3d', ['cluster', 'stop', 'demo'])).toBe(0)
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/✔ Cluster demo started/)
    expect(env.sim.commands('k3d').filter((c) => c.argv[1] === 'start')).toHaveLength(1)
    expect(env.sim.commands('k3d').filter((c) => c.argv[1] === 'create')).toHaveLength(1)
  })

  it('warns when devctl.yaml asks for cluster settings k3d cannot change on the existing cluster', async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    let before = ''
    const after = await freePort()
    await editConfig(env.dir, (config) => {
      const cluster = k3dCluster(config)
      const [mapping] = cluster.ports ?? []
      before = `${mapping!.host}:80`
      mapping!.host = after
      cluster.agents = 1
    })
    const result = await env.devctl(['up'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toContain(
      `! Cluster demo keeps the settings it was created with, and devctl.yaml now asks for others (port mappings 127.0.0.1:${before}@loadbalancer → 127.0.0.1:${after}:80@loadbalancer; agents 0 → 1)`,
    )
    expect(result.stdout).toMatch(/To apply them run `devctl down && devctl up`, which recreates the cluster and deletes the Postgres and Redis data in it\./)
    // The app is reached where the cluster maps it, not where devctl.yaml now asks.
    expect(result.stdout).toContain(`ingress demo-web-worker: http://demo.localhost:${before.split(':')[0]}/`)
    expect(env.sim.commands('k3d').filter((c) => c.argv[1] === 'create')).toHaveLength(1)

    // Stopped, it binds its old port again on start: that is the port that must be free.
    expect(await tool(env, 'k3d', ['cluster', 'stop', 'demo'])).toBe(0)
    const oldPort = Number(before.split(':')[0])
    const holder: Server = createServer()
    await new Promise<void>((resolve) => holder.listen(oldPort, '0.0.0.0', resolve))
    try {
      const blocked = await env.devctl(['up'])
      expect(blocked.exitCode).toBe(4)
      expect(blocked.stderr).toMatch(new RegExp(`^Error: Host port ${oldPort} \\(for port mapping 127\\.0\\.0\\.1:${oldPort}:80 of the stopped cluster demo\\) is already in use`, 'm'))
      expect(blocked.stderr).toContain('→ Stop what holds it: cluster demo was created with this port and binds it again when it starts.')
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
  })

  it('deploys into an existing cluster (--context) and a per-developer namespace, creating no cluster', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('team')
    const result = await env.devctl(['up', '--context', 'k3d-team'], {env: {USER: 'ann'}})
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/✔ Cluster: context k3d-team \(namespace demo-ann\)/)
    expect(env.sim.commands('k3d').filter((c) => c.argv[1] === 'create')).toEqual([])
    const team = env.sim.cluster('team')!
    expect(
      team
        .list('apps/v1', 'Deployment', 'demo-ann')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(['demo-web-worker', 'demo-web-worker-worker'])
  })

  it('fails fast when the migration Job fails: exit 7, its logs and the reason shown', async () => {
    env = await startEnvironment({scenario: 'migration-fails'})
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(7)
    expect(result.stderr).toMatch(/^Error: The migration Job demo-web-worker-migrate failed: BackoffLimitExceeded/m)
    // Retries show live, as they happen; the report says each fact once: the attempts counted, the last attempt's lines.
    expect(result.stdout).toMatch(/Job demo-web-worker-migrate: attempt 1 of 3 failed \(exit code 1\); next in ~\d+ s/)
    expect(result.stdout).toMatch(/Job demo-web-worker-migrate: attempt 2 of 3 failed \(exit code 1\); next in ~\d+ s/)
    expect(result.stderr).toMatch(/^ {2}3 of 3 attempts failed$/m)
    expect(result.stderr).toMatch(/last \d+ log lines? of demo-web-worker-migrate-\w+\/migrate:/)
    expect(result.stderr).toMatch(/\| .*applying/)
    expect(result.stderr.match(/relation "orders_legacy" does not exist/g)).toHaveLength(1)
    expect(result.stderr.match(/^ {2}pod /gm)).toBeNull()
    expect(result.stderr).toMatch(/→ Fix the migration/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    await expectNoSecrets(env, output(result))
  })

  it('waits on a migration run as an init container', async () => {
    env = await startEnvironment()
    await editConfig(env.dir, (c) => (c.app.set = {'migrations.hookEnabled': false, 'migrations.enabled': true}))
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/Migration \(init container migrate of Deployment demo-web-worker\) complete/)
    expect(result.stdout).toMatch(/\/migrate: applying 001_create_jobs \.\.\. ok/)
  })

  it('skips the migration step for a chart without one', async () => {
    env = await startEnvironment()
    await editConfig(env.dir, (c) => (c.app.set = {'migrations.hookEnabled': false}))
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/↓ Migration — skipped: the chart has no migration Job or migrate init container/)
  })

  it("explains a crash loop with the crashed container's last lines: exit 8", async () => {
    env = await startEnvironment({scenario: 'crash-loop'})
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(8)
    expect(result.stderr).toMatch(/CrashLoopBackOff/)
    expect(result.stderr).toMatch(/\| panic: cannot reach cache server/)
    expect(result.stderr).toMatch(/what to do: read its last log lines below/)
    // The crash loop is said by the pod's state, not again by a BackOff event.
    expect(result.stderr).not.toMatch(/BackOff: Back-off restarting/)
  })

  it('explains an image that cannot be pulled: exit 8 and what to do', async () => {
    env = await startEnvironment({scenario: 'image-pull-error'})
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(8)
    expect(result.stderr).toMatch(/(ImagePullBackOff|ErrImagePull)/)
    expect(result.stderr).toMatch(/what to do: check the image name and tag in your values/)
    // Each fact once: the registry's error appears in the pod's state, not again in the headline and the events.
    expect(result.stderr.match(/failed to resolve reference/g)).toHaveLength(1)
    expect(result.stderr).not.toMatch(/recent warnings:/)
  })

  it('names the exact missing Secret key of a bring-your-own chart, before creating anything: a wiring error, exit 3', async () => {
    env = await startEnvironment()
    const chart = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'charts', 'keyed')
    await editConfig(env.dir, (c) => {
      c.app.chart = {path: chart}
      c.app.set = {'externalDatabase.existingSecret': 'devctl-postgres', 'externalDatabase.existingSecretPasswordKey': 'DB_PASSWORD'}
    })
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(3)
    expect(result.stderr).toMatch(
      /^Error: The chart reads key "DB_PASSWORD" of Secret devctl-postgres \(Deployment demo-keyed, container app, env DB_PASSWORD\), but devctl's devctl-postgres has no such key\.$/m,
    )
    expect(result.stderr).toMatch(/^ {2}devctl provides Secret devctl-postgres: PGHOST, .*PGPASSWORD/m)
    expect(result.stderr).toMatch(/app\.wiring\.secrets: \{demo-db: \{DB_PASSWORD: "\{\{postgres\.password\}\}"\}\}`, and set .*externalDatabase\.existingSecret to demo-db/)
    expect(env.sim.commands('k3d').some((c) => c.argv.slice(0, 2).join(' ') === 'cluster create')).toBe(false)
  })

  it('explains a pod that does not fit on the node: exit 8', async () => {
    env = await startEnvironment()
    await editConfig(env.dir, (c) => (c.app.set = {'resources.requests.memory': '512Gi', 'resources.limits.memory': '512Gi'}))
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(8)
    expect(result.stderr).toMatch(/Unschedulable/)
    expect(result.stderr).toMatch(/Insufficient memory/)
    expect(result.stderr).toMatch(/lower resources\.requests/)
  })

  it('stops before touching anything when Docker is not running: exit 4', async () => {
    env = await startEnvironment({dockerRunning: false})
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(4)
    expect(result.stderr).toMatch(/^Error: Docker is installed but its daemon is not reachable/m)
    expect(result.stderr).toMatch(/→ Start Docker/)
    expect(env.sim.commands('k3d').filter((c) => c.argv[0] === 'cluster' && c.argv[1] === 'create')).toEqual([])
  })

  it('says how to install k3d when it is missing: exit 4', async () => {
    env = await startEnvironment()
    const bin = await mkdtemp(join(tmpdir(), 'devctl-path-'))
    for (const name of ['helm', 'docker']) await symlink(join(REPO_ROOT, 'test', 'sim', 'bin', name), join(bin, name))
    await symlink(process.execPath, join(bin, 'node'))
    const result = await env.devctl(['up'], {env: {PATH: `${bin}:/usr/bin:/bin`}})
    expect(result.exitCode).toBe(4)
    expect(result.stderr).toMatch(/^Error: `k3d` was not found on your PATH\./m)
    expect(result.stderr).toMatch(/→ Install k3d/)
  })

  it('names who holds a busy host port and suggests a free one: exit 4', async () => {
    env = await startEnvironment()
    const config = parse(await readFile(join(env.dir, 'devctl.yaml'), 'utf8')) as {cluster: {ports: Array<{host: number}>}}
    const port = config.cluster.ports[0]!.host
    const holder: Server = createServer()
    await new Promise<void>((resolve) => holder.listen(port, '0.0.0.0', resolve))
    try {
      const result = await env.devctl(['up'])
      expect(result.exitCode).toBe(4)
      expect(result.stderr).toMatch(new RegExp(`^Error: Host port ${port} \\(for port mapping ${port}:80\\) is already in use by node \\(pid ${process.pid}\\)\\.`, 'm'))
      expect(result.stderr).toMatch(/set cluster\.ports\[0\]\.host in devctl\.yaml to a free port such as \d+/)
    } finally {
      holder.close()
    }
  })

  it('says what was still not ready when a step times out: exit 9', async () => {
    env = await startEnvironment({scenario: 'never-ready'})
    await editConfig(env.dir, (c) => (c.app.timeouts = {rollout: '3s'}))
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(9)
    expect(result.stderr).toMatch(/^Error: Rollout: not done after 3\.0s\./m)
    expect(result.stderr).toMatch(/not ready: Deployment demo-web-worker: 0\/1 ready/)
    expect(result.stderr).toMatch(/readiness probe/)
  })

  it('--dry-run prints the plan with secrets masked and changes nothing', async () => {
    env = await startEnvironment()
    const before = await readdir(env.dir, {recursive: true})
    const result = await env.devctl(['up', '--dry-run'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/apiVersion: k3d\.io\/v1alpha5/)
    expect(result.stdout).toMatch(/PGPASSWORD: \*{8}/)
    expect(result.stdout).toMatch(/^helm upgrade --install demo /m)
    expect(result.stdout).toMatch(/^# migration: hook Job demo-web-worker-migrate \(pre-install,pre-upgrade\)$/m)
    await expectNoSecrets(env, output(result))
    // It only renders the chart (helm template reads, it changes nothing).
    expect(env.sim.commands().map((c) => `${c.tool} ${c.argv[0]}`)).toEqual(['helm template'])
    expect(await readdir(env.dir, {recursive: true})).toEqual(before)
  })

  it('on Ctrl-C during helm, lets helm finish so no release is left pending, then exits 130', async () => {
    // Simulated time: the migration takes 200s of helm's 5m hook timeout.
    env = await startEnvironment({scenario: {rules: [{match: {container: '*migrat*'}, behavior: 'complete', runFor: '200s'}]}})
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'up'], {cwd: env.dir, env: {...process.env, ...env.sim.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.stdout.resume()
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)))
    // Press Ctrl-C once helm waits on the slow migration hook: its Job exists.
    await expect.poll(() => env?.sim.cluster('demo')?.get('batch/v1', 'Job', 'demo', 'demo-web-worker-migrate'), {timeout: 60_000}).toBeDefined()
    child.kill('SIGINT')
    expect(await exited, stderr).toBe(130)
    expect(stderr).toMatch(/Stopping… \(press Ctrl-C again to force\)/)
    const records = api(env)
      .list('v1', 'Secret', 'demo')
      .filter((s) => s.metadata.labels?.owner === 'helm')
      .map((s) => s.metadata.labels?.status)
    expect(records).toEqual(['deployed'])
  })

  it('stops cleanly on Ctrl-C with exit 130', async () => {
    env = await startEnvironment({scenario: 'slow-start', timeFactor: 0.2})
    // Ctrl-C once the (slow) cluster step has started.
    const result = await env.devctl(['up'], {interruptWhen: (stdout) => /▸ Cluster demo$/m.test(stdout)})
    expect(result.exitCode).toBe(130)
    expect(result.stderr).toMatch(/Stopping… \(press Ctrl-C again to force\)/)
    expect(result.stderr).toMatch(/^Error: Interrupted/m)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })
})
