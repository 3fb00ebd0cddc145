/**
 * devctl deletes or rewrites only what this checkout created: a namespace someone else made is
 * used as it is and left by `down`; a second checkout with the same project name does not take
 * the first one's cluster (or rotate its passwords); `down --context` tears down what
 * `up --context` deployed; and passwords a running database was initialised with win over a
 * lost or replaced .devctl/secrets.yaml.
 */
import {execFile} from 'node:child_process'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {parse} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import {runCli, tempDir, TOOLS} from '../helpers/cli.js'
import {freePort, helmDeploys, output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'

const execute = promisify(execFile)
let env: TestEnvironment | undefined
afterEach(async () => {
  await env?.stop()
  env = undefined
})

/** kubectl as the simulator's admin (the default kubeconfig). */
function kubectl(environment: TestEnvironment, ...args: string[]) {
  return execute(TOOLS.kubectl, args, {env: {...process.env, ...environment.sim.env}})
}

/** A second checkout of the same project (`init --name demo` in another directory). */
async function secondCheckout(environment: TestEnvironment): Promise<(args: string[]) => ReturnType<typeof runCli>> {
  const dir = await tempDir('devctl-e2e-second-')
  const devctl = (args: string[]) => runCli(args, {cwd: dir, env: environment.sim.env})
  const init = await devctl(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input', '--port', `${await freePort()}:80`])
  expect(init.exitCode, init.stderr).toBe(0)
  return devctl
}

describe('a namespace devctl did not create', () => {
  it("is used as it is, said aloud, never relabelled, and left in place by down with everything of the user's in it", async () => {
    env = await startEnvironment()
    await env.sim.createCluster('team')
    const cluster = env.sim.cluster('team')!
    await kubectl(env, '--context', 'k3d-team', 'create', 'namespace', 'demo-root')
    await kubectl(env, '--context', 'k3d-team', '-n', 'demo-root', 'create', 'configmap', 'mine', '--from-literal=keep=me')
    await kubectl(env, '--context', 'k3d-team', '-n', 'demo-root', 'create', 'secret', 'generic', 'my-secret', '--from-literal=token=x')

    const up = await env.devctl(['up', '--context', 'k3d-team'], {env: {USER: 'root'}})
    expect(up.exitCode, output(up)).toBe(0)
    expect(output(up)).toMatch(/Using the existing namespace demo-root, which devctl did not create/)
    const namespace = cluster.get('v1', 'Namespace', undefined, 'demo-root')!
    expect(namespace.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined()

    const down = await env.devctl(['down', '--context', 'k3d-team'], {env: {USER: 'root'}})
    expect(down.exitCode, output(down)).toBe(0)
    expect(down.stdout).toMatch(/^Context k3d-team, namespace demo-root:$/m)
    expect(down.stdout).toMatch(/kept namespace demo-root \(it belongs to something other than devctl/)
    expect(cluster.get('v1', 'Namespace', undefined, 'demo-root')).toBeDefined()
    expect(cluster.get('v1', 'ConfigMap', 'demo-root', 'mine')).toBeDefined()
    expect(cluster.get('v1', 'Secret', 'demo-root', 'my-secret')).toBeDefined()
    // What devctl did put there is gone.
    expect(cluster.list('apps/v1', 'StatefulSet', 'demo-root')).toEqual([])
    expect(cluster.list('apps/v1', 'Deployment', 'demo-root')).toEqual([])
  })

  it('a namespace devctl created is deleted by down', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('team')
    expect((await env.devctl(['up', '--context', 'k3d-team'], {env: {USER: 'ann'}})).exitCode).toBe(0)
    const cluster = env.sim.cluster('team')!
    expect(cluster.get('v1', 'Namespace', undefined, 'demo-ann')?.metadata.annotations?.['devctl.dev/owner']).toMatch(/^[0-9a-f-]{36}$/)
    const down = await env.devctl(['down', '--context', 'k3d-team'], {env: {USER: 'ann'}})
    expect(down.exitCode, output(down)).toBe(0)
    expect(down.stdout).toMatch(/removed namespace demo-ann/)
    // The cluster is someone else's: it is never deleted.
    expect(env.sim.cluster('team')).toBeDefined()
  })
})

describe('two checkouts with the same project name', () => {
  it("the second one neither reuses the first one's cluster nor rotates its passwords, and says how out; --adopt uses it but never deletes it", async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const [firstPassword] = await env.secrets()
    const second = await secondCheckout(env)

    const refused = await second(['up'])
    expect(refused.exitCode, output(refused)).toBe(5)
    expect(refused.stderr).toMatch(/^Error: The k3d cluster demo already exists, and it belongs to another checkout of devctl \(created from \S+\)/m)
    expect(refused.stderr).toMatch(/another `project:`.*or take the cluster over with `devctl up --adopt`/s)
    expect(helmDeploys(env.sim)).toHaveLength(1)

    const adopted = await second(['up', '--adopt'])
    expect(adopted.exitCode, output(adopted)).toBe(0)
    // The database keeps the password it was initialised with: the second checkout now holds it too.
    expect(output(adopted)).toMatch(/The cluster's Postgres( and Redis)? password differs from \.devctl\/secrets\.yaml/)
    const postgres = env.sim.cluster('demo')!.get('v1', 'Secret', 'demo', 'devctl-postgres')!
    expect(Buffer.from((postgres as unknown as {data: Record<string, string>}).data.PGPASSWORD!, 'base64').toString()).toBe(firstPassword)

    const down = await second(['down'])
    expect(down.exitCode, output(down)).toBe(0)
    expect(down.stdout).toMatch(/kept cluster demo \(it belongs to another checkout/)
    expect(env.sim.cluster('demo')).toBeDefined()
  })
})

describe('credentials stay in step with what the databases were initialised with', () => {
  it('a lost secrets.yaml is recovered from the cluster, not regenerated over a running database', async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const [postgres, redis] = await env.secrets()
    await rm(join(env.dir, '.devctl', 'secrets.yaml'))

    const again = await env.devctl(['up'])
    expect(again.exitCode, output(again)).toBe(0)
    expect(output(again)).toMatch(/The cluster's Postgres and Redis password differs from \.devctl\/secrets\.yaml/)
    expect(await env.secrets()).toEqual([postgres, redis])
    expect(output(again)).not.toContain(postgres!)
  })

  it("a replaced secrets.yaml does not rotate the running database's password", async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const [postgres] = await env.secrets()
    const path = join(env.dir, '.devctl', 'secrets.yaml')
    const replaced = (await readFile(path, 'utf8')).replace(postgres!, 'another-password-of-32-characters')
    await writeFile(path, replaced, {mode: 0o600})

    const again = await env.devctl(['up', '--force'])
    expect(again.exitCode, output(again)).toBe(0)
    expect(output(again)).toMatch(/The cluster's Postgres password differs/)
    expect((await env.secrets())[0]).toBe(postgres)
    expect(await readFile(`${path}.bak`, 'utf8')).toContain('another-password-of-32-characters')
  })

  it('a data volume whose password is gone from both places stops up and says why', async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    await rm(join(env.dir, '.devctl', 'secrets.yaml'))
    await kubectl(env, '--context', 'k3d-demo', '-n', 'demo', 'delete', 'secret', 'devctl-postgres')

    const blocked = await env.devctl(['up'])
    expect(blocked.exitCode, output(blocked)).toBe(3)
    expect(blocked.stderr).toMatch(/Postgres's data volume data-devctl-postgres-0 exists from an earlier run, but the password it was initialised with is gone/)
  })
})

describe('down after up --context', () => {
  it('tears down what was deployed into that context, not a k3d cluster', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('team')
    expect((await env.devctl(['up', '--context', 'k3d-team'], {env: {USER: 'ann'}})).exitCode).toBe(0)
    const down = await env.devctl(['down', '--context', 'k3d-team'], {env: {USER: 'ann'}})
    expect(down.exitCode, output(down)).toBe(0)
    expect(down.stdout).toMatch(/removed release demo/)
    expect(env.sim.commands('k3d').filter((c) => c.argv[1] === 'delete')).toEqual([])
    const config = parse(await readFile(join(env.dir, 'devctl.yaml'), 'utf8')) as {cluster: {provider: string}}
    expect(config.cluster.provider).toBe('k3d')
  })
})
