/**
 * The team's data end to end: the built devctl against the simulator, whose Postgres and Redis
 * pods are REAL servers on loopback (wherever those are installed) and whose migration Job runs
 * a real script against them. A table is created and filled, snapshotted, dropped by a failing
 * migration, and read back row for row after the restore. Skipped, saying so, on a machine
 * without Debian's postgresql and redis-server. `devctl forward` needs no real server: the app's
 * pods answer HTTP on their ports.
 */
import {execFile} from 'node:child_process'
import {get} from 'node:http'
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import type {DevctlConfigInput} from '../../src/config/schema.js'
import {resultRecord, startCli} from '../helpers/cli.js'
import {freePort, output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {realServersAvailable} from '../sim/apiserver/backends.js'

const servers = realServersAvailable()

/** The migration Job runs `script` for real (psql reaches devctl-postgres, a real server where one is installed). */
function withMigration(script: string) {
  return {rules: [{match: {container: 'migrate'}, run: script}]}
}

const CREATE_JOBS = `psql -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE IF NOT EXISTS jobs (id serial PRIMARY KEY, name text NOT NULL)" && echo "migrate: 001_jobs applied"`
const DESTRUCTIVE_AND_BROKEN = `echo "migrate: 002_drop_jobs applying"; psql -X -q -c "DROP TABLE IF EXISTS jobs" -c "CREATE TABLE IF NOT EXISTS jobs_v2 (id int)"; echo "migrate: 003_broken: ERROR: syntax error at or near SELEKT" >&2; exit 1`

/** One request on a connection of its own: a kept-alive one to a pod that is gone is closed, as it should be. */
function getJson(port: number): Promise<{hostname: string}> {
  return new Promise((resolve, reject) => {
    get({host: '127.0.0.1', port, path: '/', agent: false}, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve(JSON.parse(body) as {hostname: string}))
    }).on('error', reject)
  })
}

async function editConfig(dir: string, edit: (config: DevctlConfigInput) => void): Promise<void> {
  const path = join(dir, 'devctl.yaml')
  const config = parse(await readFile(path, 'utf8')) as DevctlConfigInput
  edit(config)
  await writeFile(path, stringify(config))
}

describe.skipIf(!servers.available)(`devctl db with real Postgres and Redis${servers.available ? '' : ` (skipped: needs ${servers.missing.join(' and ')})`}`, () => {
  let env: TestEnvironment
  let secrets: string[]
  const rows = async () => (await env.devctl(['db', 'shell', '-X', '-At', '-c', "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM jobs"])).stdout.trim()

  beforeAll(async () => {
    env = await startEnvironment({scenario: withMigration(CREATE_JOBS)})
    const up = await env.devctl(['up'])
    if (up.exitCode !== 0) throw new Error(`up failed:\n${output(up)}`)
    secrets = await env.secrets()
    const seeded = await env.devctl(['db', 'shell', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', "INSERT INTO jobs (name) VALUES ('send-welcome-mail'), ('rebuild-search-index'), ('charge-card')"])
    if (seeded.exitCode !== 0) throw new Error(`seeding failed:\n${output(seeded)}`)
  }, 180_000)

  afterAll(async () => {
    await env?.stop()
  })

  it('db shell runs psql in the Postgres pod with every argument passed through, and ends with its exit code', async () => {
    const count = await env.devctl(['db', 'shell', '-c', 'select count(*) from jobs'])
    expect(count.exitCode).toBe(0)
    expect(count.stdout).toMatch(/count\s*\n-+\s*\n\s*3\s*\n\(1 row\)/)
    const bad = await env.devctl(['db', 'shell', '-c', 'select nope'])
    expect(bad.exitCode).toBe(1)
    expect(bad.stderr).toContain('column "nope" does not exist')
    const piped = await env.devctl(['db', 'shell', '-X', '-At'], {input: "select 'from stdin';\n"})
    expect(piped.stdout.trim()).toBe('from stdin')
    for (const result of [count, bad, piped]) for (const secret of secrets) expect(output(result)).not.toContain(secret)
  })

  it('redis shell runs redis-cli in the Redis pod, signed in', async () => {
    expect((await env.devctl(['redis', 'shell', 'set', 'greeting', 'hello'])).stdout.trim()).toBe('OK')
    const got = await env.devctl(['redis', 'shell', 'get', 'greeting'])
    expect({exitCode: got.exitCode, stdout: got.stdout.trim()}).toEqual({exitCode: 0, stdout: 'hello'})
  })

  it('db url forwards a local port to Postgres and prints a URL that works, the password only with --show-password', async () => {
    const plain = startCli(['db', 'url'], {cwd: env.dir, env: env.sim.env})
    await plain.waitFor('the URL', (stdout) => stdout.includes('postgresql://'))
    expect(plain.output().stdout.trim()).toMatch(/^postgresql:\/\/demo@127\.0\.0\.1:\d+\/demo$/)
    plain.interrupt()
    expect((await plain.exited).exitCode).toBe(130)

    const port = await freePort()
    const withPassword = startCli(['db', 'url', '--show-password', '--port', String(port)], {cwd: env.dir, env: env.sim.env})
    await withPassword.waitFor('the URL', (stdout) => stdout.includes('postgresql://'))
    const url = withPassword.output().stdout.trim()
    expect(url).toBe(`postgresql://demo:${encodeURIComponent(secrets[0]!)}@127.0.0.1:${port}/demo`)
    const answer = await new Promise<string>((resolve) => execFile('psql', [url, '-X', '-At', '-c', 'select count(*) from jobs'], (_error, stdout, stderr) => resolve(stdout + stderr)))
    expect(answer.trim()).toBe('3')
    withPassword.interrupt()
    expect((await withPassword.exited).exitCode).toBe(130)
  })

  it('snapshot → destructive change → restore gives back exactly the rows, and drops what came later; files are private, no secret is printed', async () => {
    const before = await rows()
    expect(before).toBe('1:send-welcome-mail,2:rebuild-search-index,3:charge-card')
    const taken = await env.devctl(['db', 'snapshot', 'seeded'])
    expect(taken.exitCode).toBe(0)
    expect(taken.stdout).toMatch(/Snapshot seeded: postgres [\d.]+ (B|KiB) in \d+ms, redis [\d.]+ (B|KiB) in [\d.]+m?s \(release revision 1\)/)
    const directory = join(env.dir, '.devctl', 'snapshots')
    expect((await stat(directory)).mode & 0o777).toBe(0o700)
    const files = await readdir(directory)
    expect(files.sort()).toEqual(['seeded.json', 'seeded.postgres.dump', 'seeded.redis.rdb'])
    for (const file of files) expect((await stat(join(directory, file))).mode & 0o777).toBe(0o600)
    expect((await readFile(join(directory, 'seeded.postgres.dump'))).subarray(0, 5).toString()).toBe('PGDMP')

    await env.devctl(['db', 'shell', '-X', '-q', '-c', "DELETE FROM jobs WHERE id = 2; INSERT INTO jobs (name) VALUES ('oops'); CREATE TABLE added_later (x int)"])
    await env.devctl(['redis', 'shell', 'flushall'])
    const refused = await env.devctl(['db', 'restore', 'seeded'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toContain('--yes is required')
    const restored = await env.devctl(['db', 'restore', 'seeded', '--yes'])
    expect(restored.exitCode).toBe(0)
    expect(restored.stdout).toMatch(/Restored seeded \(postgres and redis\) in [\d.]+m?s\./)
    expect(await rows()).toBe(before)
    expect((await env.devctl(['db', 'shell', '-X', '-At', '-c', "select to_regclass('added_later') is null"])).stdout.trim()).toBe('t')
    expect((await env.devctl(['redis', 'shell', 'get', 'greeting'])).stdout.trim()).toBe('hello')

    const listed = await env.devctl(['db', 'snapshots'])
    expect(listed.stdout).toMatch(/^seeded\s+[\d.]+ KiB\s+(just now|\d+ s ago)\s+1\s+postgres\+redis\s+by you$/m)
    for (const result of [taken, restored, listed]) for (const secret of secrets) expect(output(result)).not.toContain(secret)
    const json = resultRecord<{snapshots: Array<{name: string; revision: number; parts: unknown[]}>}>((await env.devctl(['db', 'snapshots', '--json'])).stdout).result
    expect(json.snapshots.find((s) => s.name === 'seeded')).toMatchObject({revision: 1, parts: [{service: 'postgres', database: 'demo'}, {service: 'redis'}]})
  }, 120_000)

  it('Ctrl-C during a snapshot of a large database leaves no file behind and no snapshot listed', async () => {
    await env.devctl(['db', 'shell', '-X', '-q', '-c', 'CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS payload FROM generate_series(1, 400000) g'])
    const run = startCli(['db', 'snapshot', 'interrupted', '--only', 'postgres'], {cwd: env.dir, env: env.sim.env})
    await run.waitFor('the dump to be under way', (stdout) => /pg_dump: [\d.]+ (KiB|MiB)/.test(stdout))
    run.interrupt()
    const result = await run.exited
    expect(result.exitCode).toBe(130)
    const files = await readdir(join(env.dir, '.devctl', 'snapshots'))
    expect(files.filter((f) => f.includes('interrupted'))).toEqual([])
    expect((await env.devctl(['db', 'snapshots'])).stdout).not.toContain('interrupted')
    await env.devctl(['db', 'shell', '-X', '-q', '-c', 'DROP TABLE bulk'])
  }, 120_000)

  it('a failed upgrade whose migration dropped a table ends, with --restore-data, with the table and its rows back, and says so', async () => {
    const before = await rows()
    await env.sim.setScenario(withMigration(DESTRUCTIVE_AND_BROKEN))
    const upgrade = await env.devctl(['upgrade', '--set', 'replicaCount=2', '--yes', '--restore-data'])
    expect(upgrade.exitCode).toBe(7)
    const all = output(upgrade)
    expect(all).toContain('data: Postgres is snapshotted before the migration')
    expect(all).toMatch(/Snapshot (auto-\d{8}-\d{6}): postgres [\d.]+ KiB in \d+ms/)
    expect(all).toContain('migrate: 003_broken: ERROR: syntax error')
    expect(all).toMatch(/restored the database from snapshot auto-\d{8}-\d{6}, taken before the migration, in [\d.]+m?s: code and data are back at revision 1\./)
    // What to run again is the command that failed, as it was given.
    expect(all).toContain('run `devctl upgrade --set replicaCount=2 --yes --restore-data` again: it starts from the same data')
    expect(all).not.toContain('A rollback does not undo a database migration')
    expect(await rows()).toBe(before)
    expect((await env.devctl(['db', 'shell', '-X', '-At', '-c', "select to_regclass('jobs_v2') is null"])).stdout.trim()).toBe('t')
    for (const secret of secrets) expect(all).not.toContain(secret)
  }, 180_000)

  it('without consent (no terminal, no --restore-data) the data is left as the migration left it, and the error names the snapshot to restore', async () => {
    const before = await rows()
    const upgrade = await env.devctl(['upgrade', '--set', 'replicaCount=3', '--yes'])
    expect(upgrade.exitCode).toBe(7)
    const snapshot = /the database is as the migration left it; `devctl db restore (auto-\d{8}-\d{6})` puts back the data from before it/.exec(output(upgrade))?.[1]
    expect(snapshot).toBeDefined()
    expect((await env.devctl(['db', 'shell', '-X', '-At', '-c', "select to_regclass('jobs') is null"])).stdout.trim()).toBe('t')
    const restored = await env.devctl(['db', 'restore', snapshot!, '--yes'])
    expect(restored.exitCode).toBe(0)
    expect(await rows()).toBe(before)
  }, 180_000)

  it('keeps only the last services.postgres.snapshots.keep automatic snapshots, never the named ones', async () => {
    await editConfig(env.dir, (config) => {
      config.services = {...config.services, postgres: {...config.services?.postgres, snapshots: {keep: 1}}}
    })
    const upgrade = await env.devctl(['upgrade', '--set', 'replicaCount=4', '--yes', '--no-restore-data'])
    expect(upgrade.exitCode).toBe(7)
    const listing = resultRecord<{snapshots: Array<{name: string; automatic: boolean}>}>((await env.devctl(['db', 'snapshots', '--json'])).stdout).result
    expect(listing.snapshots.filter((s) => s.automatic)).toHaveLength(1)
    expect(listing.snapshots.map((s) => s.name)).toContain('seeded')
    await env.devctl(['db', 'restore', 'seeded', '--yes', '--only', 'postgres'])
  }, 180_000)

  it('db reset drops the database, creates it empty and runs the migration again, after consent', async () => {
    await env.sim.setScenario(withMigration(CREATE_JOBS))
    const refused = await env.devctl(['db', 'reset'])
    expect(refused.exitCode).toBe(2)
    const reset = await env.devctl(['db', 'reset', '--yes'])
    expect(reset.exitCode).toBe(0)
    expect(reset.stdout).toMatch(/Database demo \(pod devctl-postgres-0\) was recreated empty and the migration ran again/)
    expect(reset.stdout).toMatch(/Its data before the reset is in snapshot auto-\d{8}-\d{6}/)
    expect((await env.devctl(['db', 'shell', '-X', '-At', '-c', 'select count(*) from jobs'])).stdout.trim()).toBe('0')
  }, 180_000)
})

describe('devctl forward', () => {
  let env: TestEnvironment | undefined
  afterEach(async () => {
    await env?.stop()
    env = undefined
  })

  it('forwards the app and devctl services to local ports (pinned ones from devctl.yaml), survives a pod restart, and stops cleanly on Ctrl-C', async () => {
    env = await startEnvironment()
    const pinned = await freePort()
    await editConfig(env.dir, (config) => {
      config.forward = {ports: {'demo-web-worker': pinned, nosuch: 1}}
    })
    expect((await env.devctl(['up'])).exitCode).toBe(0)
    const forward = startCli(['forward'], {cwd: env.dir, env: env.sim.env})
    await forward.waitFor('the table', (stdout) => stdout.includes('demo-web-worker'))
    const table = forward.output().stdout
    expect(table).toMatch(/^\s+postgres\s+127\.0\.0\.1:\d+\s+devctl-postgres:5432\s+devctl-postgres-0$/m)
    expect(table).toMatch(/^\s+redis\s+127\.0\.0\.1:\d+\s+devctl-redis:6379\s+devctl-redis-0$/m)
    const app = new RegExp(`^\\s+demo-web-worker\\s+127\\.0\\.0\\.1:${pinned}\\s+demo-web-worker:80\\s+(demo-web-worker-\\S+)$`, 'm').exec(table)
    expect(app).not.toBeNull()
    expect(table).toContain('forward.ports.nosuch in devctl.yaml matches nothing forwarded here')
    const first = await getJson(pinned)
    expect(first.hostname).toBe(app![1])

    const api = env.sim.cluster('demo')!
    const deleted = await fetch(`${api.url}/api/v1/namespaces/demo/pods/${first.hostname}`, {method: 'DELETE'})
    expect(deleted.ok).toBe(true)
    await forward.waitFor('the new pod', (stdout) => /new connections go to pod demo-web-worker-\S+/.test(stdout.slice(table.length)))
    const second = await getJson(pinned)
    expect(second.hostname).not.toBe(first.hostname)
    expect(second.hostname).toMatch(/^demo-web-worker-/)

    forward.interrupt()
    const result = await forward.exited
    expect(result.exitCode).toBe(130)
    expect(result.stderr).toBe('')
    await expect(getJson(pinned)).rejects.toThrow(/ECONNREFUSED/)
  }, 180_000)
})
