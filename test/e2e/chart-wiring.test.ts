/**
 * Charts we did not write, wired by `devctl init --preset bring-your-own` and brought up by
 * `devctl up` without a hook (issue 10): Secrets in the chart's own shape (there before its
 * pre-install hook runs), values devctl composes and keeps in step, a strict values schema,
 * Redis without a password, `--wire` paths, and no password generated that nothing uses.
 * The built CLI against the simulator, with helm 3 and helm 4.
 */
import {access, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import {startChartEnvironment} from '../helpers/chart-environment.js'
import {output, type TestEnvironment} from '../helpers/environment.js'
import type {KubeObject} from '../sim/apiserver/contract.js'

let env: TestEnvironment | undefined
afterEach(async () => {
  await env?.stop()
  env = undefined
})

function object(env: TestEnvironment, apiVersion: string, kind: string, name: string): KubeObject {
  const found = env.sim.cluster('demo')?.get(apiVersion, kind, 'demo', name)
  if (!found) throw new Error(`no ${kind} ${name} in namespace demo`)
  return found
}

function secretData(env: TestEnvironment, name: string): Record<string, string> {
  const data = (object(env, 'v1', 'Secret', name).data ?? {}) as Record<string, string>
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]))
}

type Container = {name: string; args?: string[]; env?: Array<{name: string; value?: string}>}

function containers(workload: KubeObject): Container[] {
  return (workload.spec as {template: {spec: {containers: Container[]}}}).template.spec.containers
}

function envOf(container: Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]))
}

async function expectNoSecrets(env: TestEnvironment, text: string): Promise<void> {
  const passwords = await env.secrets()
  expect(passwords.length).toBeGreaterThan(0)
  for (const password of passwords) expect(text).not.toContain(password)
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

const CUSTOM_SECRET_WIRING = [
  '--wire-secret',
  'shop-db/db-password={{postgres.password}}',
  '--wire-secret',
  'shop-db/connection={{postgres.url}}?sslmode=disable',
  '--wire-value',
  'cache.address={{redis.host}}:{{redis.port}}',
]

describe.each([3, 4] as const)('charts wired in their own shape, helm %i', (helmVersion) => {
  it('creates the Secret the chart names, with its keys, before its pre-install hook reads it; passwords never shown', async () => {
    env = await startChartEnvironment('custom-secret', CUSTOM_SECRET_WIRING, {helmVersion})
    const [postgresPassword] = await env.secrets()
    const dryRun = await env.devctl(['up', '--dry-run'])
    expect(dryRun.exitCode).toBe(0)
    expect(dryRun.stdout).toMatch(/name: shop-db\n/)
    expect(dryRun.stdout).toMatch(/connection: "?\*{8}\?sslmode=disable"?/)
    await expectNoSecrets(env, output(dryRun))

    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/Secrets devctl-postgres, devctl-redis, shop-db/)
    // The hook Job read shop-db/connection: had the Secret come after helm, its pod could not start.
    expect(result.stdout).toMatch(/✔ Migration \(hook Job demo-migrate.*\) complete/)
    expect(secretData(env, 'shop-db')).toEqual({
      'db-password': postgresPassword,
      connection: `postgresql://demo:${postgresPassword}@devctl-postgres:5432/demo?sslmode=disable`,
    })
    expect(object(env, 'v1', 'Secret', 'shop-db').metadata.labels).toMatchObject({'app.kubernetes.io/managed-by': 'devctl'})
    expect(envOf(containers(object(env, 'apps/v1', 'Deployment', 'demo-app'))[0]!).CACHE_ADDRESS).toBe('devctl-redis:6379')
    await expectNoSecrets(env, output(result))
  })

  it('keeps a composed value in step with devctl.yaml: up rewrites it, says what it was, and deploys it', async () => {
    env = await startChartEnvironment('custom-secret', CUSTOM_SECRET_WIRING, {helmVersion})
    expect((await env.devctl(['up'])).exitCode).toBe(0)
    const configPath = join(env.dir, 'devctl.yaml')
    await writeFile(configPath, (await readFile(configPath, 'utf8')).replace('cache.address: "{{redis.host}}:{{redis.port}}"', 'cache.address: "tcp://{{redis.host}}:{{redis.port}}"'))
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(output(result)).toMatch(
      /values\.dev\.yaml:\d+:\d+: cache\.address was "devctl-redis:6379"; devctl set it to "tcp:\/\/devctl-redis:6379", as app\.wiring\.values in devctl\.yaml composes it/,
    )
    expect(await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')).toContain('address: tcp://devctl-redis:6379 # set by devctl from app.wiring.values in devctl.yaml')
    expect(envOf(containers(object(env, 'apps/v1', 'Deployment', 'demo-app'))[0]!).CACHE_ADDRESS).toBe('tcp://devctl-redis:6379')
  })

  it('stops, exit 3, instead of overwriting a Secret of that name it did not create', async () => {
    env = await startChartEnvironment('custom-secret', CUSTOM_SECRET_WIRING, {helmVersion})
    expect((await env.devctl(['up'])).exitCode).toBe(0)
    const api = env.sim.cluster('demo')!
    const response = await fetch(`${api.url}/api/v1/namespaces/demo/secrets/shop-db`, {
      method: 'PUT',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({
        ...object(env, 'v1', 'Secret', 'shop-db'),
        metadata: {name: 'shop-db', namespace: 'demo', labels: {'app.kubernetes.io/managed-by': 'Helm'}, annotations: {'meta.helm.sh/release-name': 'other'}},
      }),
    })
    expect(response.status).toBe(200)
    const result = await env.devctl(['up', '--force'])
    expect(result.exitCode).toBe(3)
    expect(result.stderr).toMatch(
      /^Error: Secret shop-db already exists in namespace demo and helm created it \(release other\), so the chart makes this Secret itself; devctl does not overwrite a Secret it does not own\.\n→ If the chart creates it, remove shop-db from app\.wiring\.secrets in devctl\.yaml\./,
    )
    expect(secretData(env, 'shop-db')['db-password']).toBe((await env.secrets())[0])
  })

  it('wires a chart whose values schema forbids unknown keys: no shared: block, anchors at their first use', async () => {
    env = await startChartEnvironment('strict-schema', ['--no-redis'], {helmVersion})
    const values = await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')
    expect(parse(values)).not.toHaveProperty('shared')
    expect(values).toMatch(/host: &dbHost devctl-postgres/)
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(envOf(containers(object(env, 'apps/v1', 'Deployment', 'demo-app'))[0]!)).toMatchObject({DB_HOST: 'devctl-postgres', DB_PORT: '5432', DB_NAME: 'demo', DB_USER: 'demo'})
  })

  it('runs Redis without a password for a chart that cannot send one, and generates none', async () => {
    env = await startChartEnvironment('no-redis-password', ['--no-postgres', '--redis-auth', 'none'], {helmVersion})
    expect(await exists(join(env.dir, '.devctl', 'secrets.yaml'))).toBe(false)
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/✔ Redis ready/)
    expect(containers(object(env, 'apps/v1', 'StatefulSet', 'devctl-redis'))[0]!.args).toEqual(['--appendonly', 'yes', '--enable-debug-command', 'local', '--repl-diskless-sync-delay', '0'])
    expect(secretData(env, 'devctl-redis')).toEqual({REDIS_HOST: 'devctl-redis', REDIS_PORT: '6379', REDIS_URL: 'redis://devctl-redis:6379/0', REDIS_PASSWORD: ''})
    // init found redis.host/redis.port in the chart's values.yaml and wired them.
    expect(envOf(containers(object(env, 'apps/v1', 'Deployment', 'demo-app'))[0]!).REDIS_URL).toBe('redis://devctl-redis:6379/0')
    expect(await exists(join(env.dir, '.devctl', 'secrets.yaml'))).toBe(false)
  })

  it('--no-postgres --no-redis: no password generated by init or up', async () => {
    env = await startChartEnvironment('no-redis-password', ['--no-postgres', '--no-redis'], {helmVersion})
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/Secrets \(none needed\)/)
    expect(result.stdout).not.toMatch(/generated/)
    expect(await exists(join(env.dir, '.devctl', 'secrets.yaml'))).toBe(false)
  })

  it('--wire: a path the chart has, "-" for the rest, and no guessed externalDatabase keys; its migration reads devctl\'s Secret', async () => {
    env = await startChartEnvironment('plain-job', ['--no-redis', '--wire', 'dbSecret=database.secret', '--wire', 'dbHost=-'], {helmVersion})
    const values = parse(await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')) as Record<string, unknown>
    expect(Object.keys(values).sort()).toEqual(['database', 'shared'])
    expect(values.database).toEqual({secret: 'devctl-postgres'})
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/✔ Migration \(Job demo-migrate-1.*\) complete/)
  })
})
