/**
 * Real database servers behind simulated pods: a container a scenario marks `backend: postgres`
 * or `backend: redis` is a real PostgreSQL or Redis server on this machine (Debian's
 * `postgresql` and `redis-server`), listening on a loopback address of its own with the port the
 * container declares, initialised the way the official images initialise themselves
 * (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; Redis with the container's own arguments).
 * Its data lives in a directory per PersistentVolumeClaim, so it survives pod restarts and goes
 * with the claim, as on a real volume.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {appendFile, chmod, chown, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir, userInfo} from 'node:os'
import {delimiter, join} from 'node:path'

export type BackendKind = 'postgres' | 'redis'

/** Where the real servers are; undefined when this machine has none. */
export const serverBinaries = {
  postgres: ['/usr/lib/postgresql']
    .flatMap((base) =>
      existsSync(base)
        ? readdirSync(base)
            .sort()
            .reverse()
            .map((version) => join(base, version, 'bin'))
        : [],
    )
    .find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))),
  redis: ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path)),
}

/** The client tools a process "in" such a container finds on its PATH (psql, pg_dump, redis-cli, ...). */
export function hostTool(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, name))
    .find((path) => existsSync(path))
}

export function realServersAvailable(): {available: boolean; missing: string[]} {
  const missing = [
    ...(serverBinaries.postgres && hostTool('psql') && hostTool('pg_dump') ? [] : ['PostgreSQL (Debian: apt-get install postgresql)']),
    ...(serverBinaries.redis && hostTool('redis-cli') ? [] : ['Redis (Debian: apt-get install redis-server)']),
  ]
  return {available: missing.length === 0, missing}
}

// PostgreSQL refuses to run as root; Debian's package has a postgres user for it.
const asRoot = userInfo().uid === 0

async function serverUser(): Promise<{uid: number; gid: number} | undefined> {
  if (!asRoot) return undefined
  const ids = await new Promise<string>((resolve, reject) => {
    const child = spawn('id', ['postgres'], {stdio: ['ignore', 'pipe', 'ignore']})
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error('there is no postgres user to run PostgreSQL as (it refuses root)'))))
  })
  const uid = Number(/uid=(\d+)/.exec(ids)?.[1])
  const gid = Number(/gid=(\d+)/.exec(ids)?.[1])
  return {uid, gid}
}

function asServerUser(command: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
}

/** A loopback address nobody listens on at `port`: every backend keeps its container's own port. */
async function freeLoopbackAddress(port: number, taken: Set<string>): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const address = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 256)}.${2 + Math.floor(Math.random() * 250)}`
    if (taken.has(address)) continue
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer()
      probe.once('error', () => resolve(false))
      probe.listen({port, host: address, exclusive: true}, () => probe.close(() => resolve(true)))
    })
    if (free) {
      taken.add(address)
      return address
    }
  }
  throw new Error(`no free loopback address for port ${port}`)
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`))))
  })
}

/** Resolves once the server printed `ready`; rejects with what it printed when it exits first. */
function readyWhen(child: ChildProcess, ready: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = ''
    const seen = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(ready)) {
        child.stdout?.off('data', seen)
        child.stderr?.off('data', seen)
        resolve()
      }
    }
    child.stdout?.on('data', seen)
    child.stderr?.on('data', seen)
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready:\n${output.trim()}`)))
    child.once('error', reject)
  })
}

export interface RunningBackend {
  kind: BackendKind
  /** The loopback address it listens on, with the container's port. */
  address: string
  port: number
  /** What a process in the container sees as its own "localhost" server (PGHOST for psql, the redis-cli wrapper's host). */
  localEnv: Record<string, string>
  /** Stops it (fast shutdown; the data stays). */
  stop(): Promise<void>
  /** Resolves when the server exits, for whatever reason. */
  exited: Promise<void>
}

export interface BackendStart {
  kind: BackendKind
  /** One directory per volume: the data survives pod restarts. */
  dataKey: string
  port: number
  env: Readonly<Record<string, string>>
  /** The container's arguments, `$(NAME)` already expanded (Redis honours them: --requirepass, --appendonly, ...). */
  args: string[]
}

export class Backends {
  private root: Promise<string> | undefined
  private readonly addresses = new Set<string>()
  private readonly running = new Set<RunningBackend>()
  /** Servers still starting: closing waits for them, so their directory is not removed under them. */
  private readonly starting = new Set<Promise<unknown>>()

  private directory(): Promise<string> {
    this.root ??= mkdtemp(join(tmpdir(), 'devctl-sim-data-')).then(async (dir) => {
      // The postgres user must reach its data and socket directories.
      await chmod(dir, 0o755)
      return dir
    })
    return this.root
  }

  start(options: BackendStart): Promise<RunningBackend> {
    const started = this.startIn(options)
    this.starting.add(started)
    void started.then(
      () => this.starting.delete(started),
      () => this.starting.delete(started),
    )
    return started
  }

  private async startIn(options: BackendStart): Promise<RunningBackend> {
    const root = await this.directory()
    const dataDir = join(root, options.dataKey.replaceAll(/[^\w.-]/g, '_'))
    const address = await freeLoopbackAddress(options.port, this.addresses)
    try {
      const backend = options.kind === 'postgres' ? await startPostgres(dataDir, address, options) : await startRedis(dataDir, address, options)
      this.running.add(backend)
      void backend.exited.then(() => {
        this.running.delete(backend)
        this.addresses.delete(address)
      })
      return backend
    } catch (error) {
      this.addresses.delete(address)
      throw error
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.starting])
    await Promise.all([...this.running].map((backend) => backend.stop()))
    if (this.root) await rm(await this.root, {recursive: true, force: true})
  }
}

function supervise(child: ChildProcess, kind: BackendKind, address: string, port: number, localEnv: Record<string, string>, stopSignal: NodeJS.Signals): RunningBackend {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  return {
    kind,
    address,
    port,
    localEnv,
    exited,
    async stop() {
      if (child.pid !== undefined) {
        try {
          // The group: runuser and the server itself.
          process.kill(-child.pid, stopSignal)
        } catch {
          // already gone
        }
      }
      await exited
    },
  }
}

async function startPostgres(dataDir: string, address: string, options: BackendStart): Promise<RunningBackend> {
  const bin = serverBinaries.postgres
  if (!bin) throw new Error('PostgreSQL is not installed on this machine (Debian: apt-get install postgresql)')
  const owner = await serverUser()
  const socketDir = `${dataDir}-socket`
  await mkdir(socketDir, {recursive: true})
  if (owner) await chown(socketDir, owner.uid, owner.gid)
  const user = options.env.POSTGRES_USER || 'postgres'
  const password = options.env.POSTGRES_PASSWORD ?? ''
  const database = options.env.POSTGRES_DB || user
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'))
  if (fresh) {
    // The official image's entrypoint: initdb as POSTGRES_USER with POSTGRES_PASSWORD, trust on the socket, passwords over TCP.
    await mkdir(dataDir, {recursive: true, mode: 0o700})
    const passwordFile = `${dataDir}-password`
    await writeFile(passwordFile, `${password}\n`, {mode: 0o600})
    if (owner) {
      await chown(dataDir, owner.uid, owner.gid)
      await chown(passwordFile, owner.uid, owner.gid)
    }
    try {
      await run(
        ...asServerUser(join(bin, 'initdb'), ['-D', dataDir, `--username=${user}`, `--pwfile=${passwordFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '--encoding=UTF8']),
      )
    } finally {
      await rm(passwordFile, {force: true})
    }
    await appendFile(join(dataDir, 'pg_hba.conf'), '\nhost all all all scram-sha-256\n')
  }
  const [command, args] = asServerUser(join(bin, 'postgres'), [
    '-D',
    dataDir,
    '-k',
    socketDir,
    '-c',
    `listen_addresses=${address}`,
    '-c',
    `port=${options.port}`,
    '-c',
    'fsync=off',
    '-c',
    'full_page_writes=off',
  ])
  const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe'], detached: true})
  const backend = supervise(child, 'postgres', address, options.port, {PGHOST: socketDir, PGPORT: String(options.port)}, 'SIGINT')
  try {
    await readyWhen(child, 'database system is ready to accept connections')
    if (fresh && database !== 'postgres') await createDatabase(socketDir, options.port, user, database)
  } catch (error) {
    await backend.stop()
    throw error
  }
  return backend
}

/** `CREATE DATABASE :"db"` (psql interpolates variables only in what it reads, not in -c). */
function createDatabase(socketDir: string, port: number, user: string, database: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', user, '-d', 'postgres', '-v', `db=${database}`], {stdio: ['pipe', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`creating database ${database} failed: ${stderr.trim()}`))))
    child.stdin.end('CREATE DATABASE :"db";\n')
  })
}

async function startRedis(dataDir: string, address: string, options: BackendStart): Promise<RunningBackend> {
  const server = serverBinaries.redis
  if (!server) throw new Error('Redis is not installed on this machine (Debian: apt-get install redis-server)')
  await mkdir(dataDir, {recursive: true, mode: 0o700})
  // The container's own arguments, then where this one listens and keeps its files (the image's WORKDIR /data).
  const args = [...options.args.filter((arg, index) => !(index === 0 && arg.endsWith('redis-server'))), '--bind', address, '--port', String(options.port), '--dir', dataDir, '--daemonize', 'no']
  const child = spawn(server, args, {stdio: ['ignore', 'pipe', 'pipe'], detached: true})
  const backend = supervise(child, 'redis', address, options.port, {DEVCTL_SIM_LOCALHOST: address}, 'SIGTERM')
  try {
    await readyWhen(child, 'Ready to accept connections')
  } catch (error) {
    await backend.stop()
    throw error
  }
  return backend
}
