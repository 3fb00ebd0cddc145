/**
 * The chart's two scripts, exactly as helm renders them into their ConfigMaps, run with the env
 * the chart gives their containers, against a REAL Postgres (migrate.sh) and Redis (worker.sh)
 * on loopback. Skipped, saying why, on a machine without those servers (Debian: postgresql,
 * redis-server).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {chmod, chown, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'

import type {V1ConfigMap, V1Container, V1Deployment, V1Job} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {findObject, helms, renderChart, requireHelmBinaries, run, type Helm} from './helm-chart.js'

const postgresBinDir = ['/usr/lib/postgresql']
  .flatMap((base) => (existsSync(base) ? readdirSync(base).map((version) => join(base, version, 'bin')) : []))
  .find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')))
const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path))
const hasRedisCli = ['/usr/bin/redis-cli', '/usr/local/bin/redis-cli'].some((path) => existsSync(path))

// Postgres refuses to run as root; the Debian package's postgres user runs it then.
const asRoot = userInfo().uid === 0
function asServerUser(command: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
}

function envOf(container: V1Container): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']))
}

/** Writes a ConfigMap's data as the files a volume mount would show. */
async function mountConfigMap(configMap: V1ConfigMap, dir: string): Promise<void> {
  await mkdir(dir, {recursive: true})
  for (const [file, content] of Object.entries(configMap.data ?? {})) await writeFile(join(dir, file), content)
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise))
  const address = server.address()
  await new Promise((resolvePromise) => server.close(resolvePromise))
  if (address === null || typeof address === 'string') throw new Error('no TCP port')
  return address.port
}

/** What a process printed so far, and a wait for the moment it prints something. */
function watchOutput(child: ChildProcess) {
  const output = {stdout: '', stderr: ''}
  const waiters = new Set<() => void>()
  for (const name of ['stdout', 'stderr'] as const) {
    child[name]?.setEncoding('utf8').on('data', (chunk: string) => {
      output[name] += chunk
      for (const waiter of waiters) waiter()
    })
  }
  child.on('exit', () => {
    for (const waiter of waiters) waiter()
  })
  /** Resolves once `stream` contains `text`; fails saying `what` when the process exits first or 15 s pass. */
  const printed = (stream: 'stdout' | 'stderr', text: string, what: string) =>
    new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => settle(new Error(`gave up waiting for ${what}; it printed:\n${output.stdout}${output.stderr}`)), 15_000)
      const settle = (error?: Error) => {
        clearTimeout(timer)
        waiters.delete(check)
        if (error) reject(error)
        else resolvePromise()
      }
      const check = () => {
        if (output[stream].includes(text)) settle()
        else if (child.exitCode !== null || child.signalCode !== null) settle(new Error(`${what}: the process exited first; it printed:\n${output.stdout}${output.stderr}`))
      }
      waiters.add(check)
      check()
    })
  return {output, printed}
}

const appliedLines = (stdout: string) => stdout.split('\n').filter((line) => line.endsWith(' applied'))

describe.skipIf(!postgresBinDir)('migrate.sh against a real Postgres (needs Debian postgresql)', () => {
  let scratch = ''
  let socketDir = ''
  let server: ChildProcess | undefined
  const pgBin = postgresBinDir ?? ''

  beforeAll(async () => {
    requireHelmBinaries()
    scratch = await mkdtemp(join(tmpdir(), 'devctl-chart-pg-'))
    await chmod(scratch, 0o755)
    const dataDir = join(scratch, 'data')
    socketDir = join(scratch, 'socket')
    await mkdir(socketDir)
    if (asRoot) await chown(socketDir, ...(await postgresIds()))
    if (asRoot) await chown(scratch, ...(await postgresIds()))
    const [initdb, initdbArgs] = asServerUser(join(pgBin, 'initdb'), ['-D', dataDir, '-U', 'app', '--auth=trust', '--no-sync'])
    const init = await run(initdb, initdbArgs)
    if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr}`)
    const [postgres, postgresArgs] = asServerUser(join(pgBin, 'postgres'), ['-D', dataDir, '-k', socketDir, '-c', 'listen_addresses=', '-c', 'fsync=off'])
    server = spawn(postgres, postgresArgs, {stdio: ['ignore', 'ignore', 'pipe']})
    await watchOutput(server).printed('stderr', 'database system is ready to accept connections', 'postgres to accept connections')
  })

  afterAll(async () => {
    if (server?.pid !== undefined) {
      const exited = new Promise((resolvePromise) => server?.once('exit', resolvePromise))
      // runuser passes SIGTERM on to postgres: a smart shutdown.
      server.kill('SIGTERM')
      await exited
    }
    if (scratch) await rm(scratch, {recursive: true, force: true})
  })

  async function postgresIds(): Promise<[number, number]> {
    const ids = await run('id', ['-u', 'postgres'])
    const gid = await run('id', ['-g', 'postgres'])
    return [Number(ids.stdout.trim()), Number(gid.stdout.trim())]
  }

  function psql(database: string, sql: string) {
    return run('psql', ['-X', '-tA', '-h', socketDir, '-U', 'app', '-d', database, '-c', sql])
  }

  describe.each(helms)('rendered by $name', (helm: Helm) => {
    const database = `shop_${helm.name}`

    /** Renders the chart with devctl-like DATABASE_* env and mounts its migrations ConfigMap. */
    async function migration(sql: Record<string, string> = {}, extraValues: Record<string, unknown> = {}) {
      const env = {DATABASE_HOST: socketDir, DATABASE_PORT: 5432, DATABASE_NAME: database, DATABASE_USER: 'app'}
      const objects = await renderChart(helm, {values: {env, migrations: {sql, waitSeconds: 0}, ...extraValues}})
      const container = findObject<V1Job>(objects, 'Job', 'rel-web-worker-migrate').spec?.template.spec?.containers[0]
      if (!container) throw new Error('no migrate container')
      const mountDir = await mkdtemp(join(scratch, 'migrations-'))
      await mountConfigMap(findObject<V1ConfigMap>(objects, 'ConfigMap', 'rel-web-worker-migrations'), mountDir)
      const containerEnv = {...envOf(container), MIGRATIONS_DIR: mountDir}
      return (overrides: Record<string, string | undefined> = {}) => run('sh', [join(mountDir, 'migrate.sh')], {env: {PATH: `${pgBin}:${process.env.PATH}`, ...containerEnv, ...overrides}})
    }

    beforeAll(async () => {
      const created = await psql('postgres', `CREATE DATABASE ${database}`)
      if (created.exitCode !== 0) throw new Error(created.stderr)
    })

    it('applies each default migration once, in name order, then skips them on the next run', async () => {
      const migrate = await migration()
      const first = await migrate()
      expect(first.exitCode, first.stderr).toBe(0)
      expect(first.stdout.trim().split('\n')).toEqual(['migrate: 001_create_jobs applied', 'migrate: 002_index_jobs_status applied', 'migrate: done, 2 migrations recorded'])
      expect((await psql(database, 'SELECT version FROM schema_migrations ORDER BY applied_at, version')).stdout.trim().split('\n')).toEqual(['001_create_jobs', '002_index_jobs_status'])
      expect((await psql(database, "SELECT to_regclass('jobs_status_created_at_idx') IS NOT NULL")).stdout.trim()).toBe('t')

      const second = await migrate()
      expect(second.exitCode, second.stderr).toBe(0)
      expect(second.stdout.trim().split('\n')).toEqual([
        'migrate: 001_create_jobs skipped (already applied)',
        'migrate: 002_index_jobs_status skipped (already applied)',
        'migrate: done, 2 migrations recorded',
      ])
    })

    it('applies only a newly added file, and rolls back and stops at one that fails', async () => {
      const added = {'003_add_priority.sql': 'ALTER TABLE jobs ADD COLUMN IF NOT EXISTS priority int NOT NULL DEFAULT 0;'}
      const broken = {'004_broken.sql': 'CREATE TABLE half_done (id int);\nSELECT 1 / 0;'}
      const migrate = await migration({...added, ...broken})
      const result = await migrate()
      expect(result.exitCode).not.toBe(0)
      expect(appliedLines(result.stdout)).toEqual(['migrate: 003_add_priority applied'])
      expect(result.stderr).toContain('division by zero')
      expect((await psql(database, "SELECT version FROM schema_migrations WHERE version >= '003' ORDER BY version")).stdout.trim()).toBe('003_add_priority')
      expect((await psql(database, "SELECT to_regclass('half_done') IS NULL")).stdout.trim()).toBe('t')
    })

    it('lets concurrent runs (several init containers) apply each file exactly once', async () => {
      const migrate = await migration({'005_concurrent.sql': 'CREATE TABLE concurrent_once (id int);'})
      const runs = await Promise.all([migrate(), migrate(), migrate()])
      for (const result of runs) expect(result.exitCode, result.stderr).toBe(0)
      expect(runs.flatMap((result) => appliedLines(result.stdout))).toEqual(['migrate: 005_concurrent applied'])
    })

    it('fails with a plain message when Postgres never answers or PGHOST is missing', async () => {
      const migrate = await migration()
      const unreachable = await migrate({PGHOST: join(scratch, 'no-such-socket-dir')})
      expect(unreachable.exitCode).toBe(1)
      expect(unreachable.stderr).toMatch(/did not accept connections within 0s/)

      const unset = await migrate({PGHOST: undefined})
      expect(unset.exitCode).toBe(1)
      expect(unset.stderr).toContain('PGHOST is not set')
    })
  })
})

describe.skipIf(!redisServer || !hasRedisCli)('worker.sh against a real Redis (needs Debian redis-server)', () => {
  const password = 'worker-test-password'
  let port = 0
  let server: ChildProcess | undefined

  beforeAll(async () => {
    requireHelmBinaries()
    port = await freePort()
    server = spawn(redisServer ?? '', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', '', '--appendonly', 'no'], {stdio: ['ignore', 'pipe', 'ignore']})
    await watchOutput(server).printed('stdout', 'Ready to accept connections', 'redis to accept connections')
  })

  afterAll(async () => {
    if (server?.pid === undefined) return
    const exited = new Promise((resolvePromise) => server?.once('exit', resolvePromise))
    server.kill('SIGTERM')
    await exited
  })

  function redisCli(...args: string[]) {
    return run('redis-cli', ['-p', String(port), ...args], {env: {...process.env, REDISCLI_AUTH: password}})
  }

  /** Starts the rendered worker script with the rendered container env plus devctl's Secret. */
  async function startWorker(helm: Helm, queue: string, auth: string) {
    const values = {worker: {queue, heartbeatSeconds: 1}, env: {REDIS_HOST: '127.0.0.1', REDIS_PORT: port}}
    const objects = await renderChart(helm, {values})
    const container = findObject<V1Deployment>(objects, 'Deployment', 'rel-web-worker-worker').spec?.template.spec?.containers[0]
    if (!container) throw new Error('no worker container')
    const scriptDir = await mkdtemp(join(tmpdir(), 'devctl-chart-worker-'))
    await mountConfigMap(findObject<V1ConfigMap>(objects, 'ConfigMap', 'rel-web-worker-worker'), scriptDir)
    // Its own process group, so stopping it also ends the redis-cli it is waiting on.
    const child = spawn('sh', [join(scriptDir, 'worker.sh')], {detached: true, env: {PATH: process.env.PATH, ...envOf(container), REDISCLI_AUTH: auth}})
    const group = child.pid
    const {output, printed} = watchOutput(child)
    const stop = async () => {
      const exited = new Promise((resolvePromise) => child.once('exit', resolvePromise))
      if (group !== undefined) process.kill(-group, 'SIGTERM')
      await exited
      await rm(scriptDir, {recursive: true, force: true})
    }
    return {output, printed, stop}
  }

  describe.each(helms)('rendered by $name', (helm: Helm) => {
    it('logs one line per job it pops from the queue, and a heartbeat', async () => {
      const queue = `jobs:${helm.name}`
      const worker = await startWorker(helm, queue, password)
      try {
        await worker.printed('stdout', `consuming list ${queue} on 127.0.0.1:${port}`, 'the worker to start')
        await redisCli('LPUSH', queue, '{"id":1}', 'second job')
        await worker.printed('stdout', 'job 2:', 'both jobs to be logged')
        await worker.printed('stdout', 'heartbeat', 'a heartbeat')
        const jobLines = worker.output.stdout.split('\n').filter((line) => line.includes(': job '))
        expect(jobLines).toEqual(['worker: job 1: {"id":1}', 'worker: job 2: second job'])
        expect((await redisCli('LLEN', queue)).stdout.trim()).toBe('0')
      } finally {
        await worker.stop()
      }
    })

    it('reports a wrong password instead of taking the error reply for a job', async () => {
      const queue = `denied:${helm.name}`
      const worker = await startWorker(helm, queue, 'not-the-password')
      try {
        await worker.printed('stderr', 'WRONGPASS', 'the auth failure to be reported')
        expect(worker.output.stdout).not.toContain(': job ')
      } finally {
        await worker.stop()
      }
    })
  })
})
