/**
 * Where devctl reaches the team's data, and how: Postgres and Redis in their pods (the tools of
 * the image, run through Kubernetes exec with the credentials the pod was started with, so no
 * password crosses a command line), or an external database through the configured host with
 * this machine's client tools (psql, pg_dump, pg_restore, redis-cli). Every operation the data
 * commands need is here once per place; what to do with them (snapshots, restore, reset) is
 * decided in src/workflows/db.ts.
 */
import {PassThrough, Writable, type Readable} from 'node:stream'

import type {DevctlConfig} from '../config/schema.js'
import {isPodReady} from '../diagnose/pod.js'
import {ClusterError, PrerequisiteError, UsageError} from '../errors.js'
import type {ExecIO, KubeClient} from '../kube/client.js'
import {passwordFromEnv, publicFacts} from '../services/facts.js'
import {POSTGRES, REDIS} from '../services/naming.js'
import {runAllowingFailure, runAttached, runStreaming} from '../tools/process.js'
import type {ResolvedNames} from '../config/load.js'

export type DataService = 'postgres' | 'redis'

/** The user's terminal (or pipes), for an interactive client. */
export interface Terminal {
  stdin: Readable
  stdout: Writable
  stderr: Writable
  /** A person types: a TTY in the pod, keys passed through as they are pressed. */
  tty: boolean
}

/** What a dump produced, beside the bytes: the checksum computed where the dump was made (in the pod), to compare after the transfer. */
export interface DumpResult {
  sha256AtSource?: string
}

export interface PostgresAccess {
  service: 'postgres'
  /** "pod devctl-postgres-0", or "db.example.com:5432" for an external database. */
  where: string
  database: string
  user: string
  external: boolean
  /** psql with `sql` on its standard input (psql variables `:"name"` from `variables`), connected to `database` (default: the app's); its output. */
  sql(sql: string, options: {database?: string; variables?: Record<string, string>}, signal: AbortSignal): Promise<string>
  /** pg_dump of the app's database in the custom format, streamed into `output`. */
  dump(output: Writable, signal: AbortSignal): Promise<DumpResult>
  /** pg_restore of a custom-format dump from `input` into `database`, in one transaction. */
  restore(input: Readable, database: string, signal: AbortSignal): Promise<void>
  /** psql with `args`, on the user's terminal; its exit code. */
  shell(args: string[], terminal: Terminal, signal: AbortSignal): Promise<number>
}

export interface RedisAccess {
  service: 'redis'
  where: string
  external: boolean
  /** The RDB file (`redis-cli --rdb -`), streamed into `output`. */
  dump(output: Writable, signal: AbortSignal): Promise<DumpResult>
  /** Replace the whole dataset with the RDB file read from `input`. */
  restore(input: Readable, signal: AbortSignal): Promise<void>
  shell(args: string[], terminal: Terminal, signal: AbortSignal): Promise<number>
}

/** A failed database command: what it said, secrets masked (they are registered). */
function commandFailed(what: string, where: string, exitCode: number, stderr: string): ClusterError {
  const lines = stderr
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(Boolean)
  return new ClusterError(`${what} failed in ${where} (exit code ${exitCode}).`, {details: lines.slice(-15)})
}

/** Text written to a stream, collected (a database command's messages, never its data). */
function collector(): Writable & {text(): string} {
  const chunks: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk)
      done()
    },
  }) as Writable & {text(): string}
  stream.text = () => Buffer.concat(chunks).toString('utf8')
  return stream
}

/**
 * A dump streamed out of the pod with a checksum made beside it: the exec transport has been
 * seen to truncate output and still report success (kubernetes#124571), so devctl compares.
 * The checksum and the dump's exit status go to stderr as `devctl-...` lines.
 */
function checksummed(command: string): string {
  return [
    'fifo="${TMPDIR:-/tmp}/devctl-dump-$$"',
    'rm -f "$fifo" && mkfifo "$fifo" || exit 1',
    'sha256sum < "$fifo" | sed "s/^/devctl-sha256=/" >&2 &',
    'summer=$!',
    `{ ${command}; echo "devctl-exit=$?" >&2; } | tee "$fifo"`,
    'wait "$summer"',
    'rm -f "$fifo"',
  ].join('\n')
}

/** The dump's own outcome from a `checksummed` run's stderr: its exit status, its checksum, and what else it said. */
export function readChecksummed(stderr: string): {exitCode: number; sha256?: string; messages: string} {
  const exit = /^devctl-exit=(\d+)$/m.exec(stderr)
  const sha = /^devctl-sha256=([0-9a-f]{64})\b/m.exec(stderr)
  const messages = stderr
    .split('\n')
    .filter((line) => !line.startsWith('devctl-'))
    .join('\n')
  return {exitCode: exit ? Number(exit[1]) : 1, sha256: sha?.[1], messages}
}

/** libpq's variables from what the postgres image was started with: no password on a command line. */
const PG_FROM_POD_ENV = 'PGUSER="$POSTGRES_USER" PGDATABASE="$POSTGRES_DB" PGPASSWORD="$POSTGRES_PASSWORD"; export PGUSER PGDATABASE PGPASSWORD'

interface PodPlace {
  kube: KubeClient
  namespace: string
  pod: string
  container: string
}

async function runInPod(place: PodPlace, script: string, args: string[], io: ExecIO, signal: AbortSignal): Promise<number> {
  return place.kube.exec(place.namespace, place.pod, place.container, ['sh', '-c', script, 'devctl', ...args], io, signal)
}

/** A command in the pod whose output is small text; fails with what it said on stderr. */
async function textInPod(place: PodPlace, what: string, script: string, args: string[], input: string | undefined, signal: AbortSignal): Promise<string> {
  const stdout = collector()
  const stderr = collector()
  const stdin = input === undefined ? undefined : new PassThrough()
  stdin?.end(input)
  const exitCode = await runInPod(place, script, args, {stdin, stdout, stderr}, signal)
  if (exitCode !== 0) throw commandFailed(what, `pod ${place.pod}`, exitCode, stderr.text())
  return stdout.text()
}

function variableArgs(variables: Record<string, string> = {}): string[] {
  return Object.entries(variables).flatMap(([name, value]) => ['-v', `${name}=${value}`])
}

function podPostgres(place: PodPlace, facts: {database: string; user: string}): PostgresAccess {
  const where = `pod ${place.pod}`
  return {
    service: 'postgres',
    where,
    external: false,
    ...facts,
    sql: (sql, options, signal) =>
      textInPod(place, 'psql', `${PG_FROM_POD_ENV}; exec psql -X -q -At -v ON_ERROR_STOP=1 "$@"`, ['-d', options.database ?? facts.database, ...variableArgs(options.variables)], sql, signal),
    async dump(output, signal) {
      const stderr = collector()
      await runInPod(place, `${PG_FROM_POD_ENV}\n${checksummed('pg_dump --format=custom')}`, [], {stdout: output, stderr}, signal)
      const outcome = readChecksummed(stderr.text())
      if (outcome.exitCode !== 0) throw commandFailed('pg_dump', where, outcome.exitCode, outcome.messages)
      return {sha256AtSource: outcome.sha256}
    },
    async restore(input, database, signal) {
      const stderr = collector()
      const exitCode = await runInPod(
        place,
        `${PG_FROM_POD_ENV}; exec pg_restore --exit-on-error --single-transaction --no-owner --dbname="$1"`,
        [database],
        {stdin: input, stdout: collector(), stderr},
        signal,
      )
      if (exitCode !== 0) throw commandFailed('pg_restore', where, exitCode, stderr.text())
    },
    shell: (args, terminal, signal) =>
      runInPod(place, `${PG_FROM_POD_ENV}; exec psql "$@"`, args, {stdin: terminal.stdin, stdout: terminal.stdout, stderr: terminal.tty ? undefined : terminal.stderr, tty: terminal.tty}, signal),
  }
}

/** Redis loads an RDB file only at start or on DEBUG RELOAD; devctl's Redis allows DEBUG from inside its pod (--enable-debug-command local). */
const REDIS_RESTORE = [
  'set -eu',
  'if [ "$(redis-cli CONFIG GET enable-debug-command | tail -n 1)" = no ]; then echo "devctl-needs-debug" >&2; exit 3; fi',
  'dir="$(redis-cli CONFIG GET dir | tail -n 1)"',
  'file="$(redis-cli CONFIG GET dbfilename | tail -n 1)"',
  'cat > "$dir/devctl-restore.tmp"',
  'mv "$dir/devctl-restore.tmp" "$dir/$file"',
  'answer="$(redis-cli DEBUG RELOAD NOSAVE)"',
  'if [ "$answer" != OK ]; then echo "$answer" >&2; exit 1; fi',
  // With the append-only file on, it (not the RDB) is what Redis loads at its next start: rewrite it from what is loaded now.
  'if [ "$(redis-cli CONFIG GET appendonly | tail -n 1)" = yes ]; then',
  '  redis-cli BGREWRITEAOF >/dev/null',
  '  while redis-cli INFO persistence | grep -Eq "^aof_rewrite_(in_progress|scheduled):1"; do sleep 0.2; done',
  'fi',
].join('\n')

function podRedis(place: PodPlace): RedisAccess {
  const where = `pod ${place.pod}`
  return {
    service: 'redis',
    where,
    external: false,
    async dump(output, signal) {
      const stderr = collector()
      await runInPod(place, checksummed('redis-cli --rdb -'), [], {stdout: output, stderr}, signal)
      const outcome = readChecksummed(stderr.text())
      if (outcome.exitCode !== 0) throw commandFailed('redis-cli --rdb', where, outcome.exitCode, outcome.messages)
      return {sha256AtSource: outcome.sha256}
    },
    async restore(input, signal) {
      const stderr = collector()
      const exitCode = await runInPod(place, REDIS_RESTORE, [], {stdin: input, stdout: collector(), stderr}, signal)
      if (stderr.text().includes('devctl-needs-debug')) {
        throw new ClusterError(`Redis in ${where} was started without DEBUG allowed from inside its pod, which devctl needs to load a snapshot into it.`, {
          hint: 'Run `devctl up` once (it restarts Redis with --enable-debug-command local, data kept), then restore again.',
        })
      }
      if (exitCode !== 0) throw commandFailed('loading the RDB file', where, exitCode, stderr.text())
    },
    shell: (args, terminal, signal) =>
      runInPod(place, 'exec redis-cli "$@"', args, {stdin: terminal.stdin, stdout: terminal.stdout, stderr: terminal.tty ? undefined : terminal.stderr, tty: terminal.tty}, signal),
  }
}

/** The local client tools, for an external database: install hints when they are missing. */
function clientToolsMissing(tool: string): PrerequisiteError {
  const pg = tool !== 'redis-cli'
  return new PrerequisiteError(`\`${tool}\` was not found on your PATH: devctl reaches the external ${pg ? 'Postgres' : 'Redis'} with this machine's own client tools.`, {
    hint: pg
      ? 'Install the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq), then run this again.'
      : 'Install redis-cli (Debian/Ubuntu: apt-get install redis-tools; macOS: brew install redis), then run this again.',
  })
}

async function local<T>(tool: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if ((error as {tool?: string}).tool === tool) throw clientToolsMissing(tool)
    throw error
  }
}

function externalPostgres(facts: {host: string; port: number; database: string; user: string; password: string}): PostgresAccess {
  const where = `${facts.host}:${facts.port}`
  const env = {PGHOST: facts.host, PGPORT: String(facts.port), PGUSER: facts.user, PGDATABASE: facts.database, PGPASSWORD: facts.password}
  return {
    service: 'postgres',
    where,
    external: true,
    database: facts.database,
    user: facts.user,
    async sql(sql, options, signal) {
      const result = await local('psql', () =>
        runAllowingFailure('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', options.database ?? facts.database, ...variableArgs(options.variables)], {env, input: sql, signal}),
      )
      if (result.exitCode !== 0) throw commandFailed('psql', where, result.exitCode, result.stderr)
      return result.stdout
    },
    async dump(output, signal) {
      const result = await local('pg_dump', () => runStreaming('pg_dump', ['--format=custom'], {env, stdout: output, signal}))
      if (result.exitCode !== 0) throw commandFailed('pg_dump', where, result.exitCode, result.stderr)
      return {}
    },
    async restore(input, database, signal) {
      const result = await local('pg_restore', () =>
        runStreaming('pg_restore', ['--exit-on-error', '--single-transaction', '--no-owner', `--dbname=${database}`], {env, stdin: input, stdout: collector(), signal}),
      )
      if (result.exitCode !== 0) throw commandFailed('pg_restore', where, result.exitCode, result.stderr)
    },
    shell: (args) => local('psql', () => runAttached('psql', args, {env})),
  }
}

function externalRedis(facts: {host: string; port: number; password: string}): RedisAccess {
  const where = `${facts.host}:${facts.port}`
  const env = facts.password ? {REDISCLI_AUTH: facts.password} : {}
  const address = ['-h', facts.host, '-p', String(facts.port)]
  return {
    service: 'redis',
    where,
    external: true,
    async dump(output, signal) {
      const result = await local('redis-cli', () => runStreaming('redis-cli', [...address, '--rdb', '-'], {env, stdout: output, signal}))
      if (result.exitCode !== 0) throw commandFailed('redis-cli --rdb', where, result.exitCode, result.stderr)
      return {}
    },
    async restore() {
      throw new UsageError(`devctl loads a snapshot only into the Redis it runs itself (it places the RDB file beside the server); ${where} is external.`, {
        hint: 'Restore the Postgres part alone with `devctl db restore NAME --only postgres`, and load the .rdb file into that Redis with its own tools.',
      })
    },
    shell: (args) => local('redis-cli', () => runAttached('redis-cli', [...address, ...args], {env})),
  }
}

/** The running pod of one of devctl's StatefulSets, or why it cannot be used. */
async function servicePod(kube: KubeClient, namespace: string, service: DataService): Promise<PodPlace> {
  const pod = `${service === 'postgres' ? POSTGRES.service : REDIS.service}-0`
  const found = await kube.get('Pod', namespace, pod)
  const name = service === 'postgres' ? 'Postgres' : 'Redis'
  if (!found) throw new ClusterError(`${name} is not running in namespace ${namespace} (there is no pod ${pod}).`, {hint: 'Run `devctl up` first.'})
  if (!isPodReady(found)) {
    throw new ClusterError(`${name} (pod ${pod}) is not ready: ${found.status?.phase ?? 'Pending'}.`, {hint: 'Wait for it (`devctl status`), or see why with `devctl logs --services`.'})
  }
  return {kube, namespace, pod, container: service}
}

export interface DataContext {
  config: DevctlConfig
  names: ResolvedNames
  /** The cluster, for the services devctl runs there (an external database needs none). */
  kube?: KubeClient
}

function clusterOf(context: DataContext): KubeClient {
  if (!context.kube) throw new Error('reaching a service in the cluster needs a cluster connection')
  return context.kube
}

function enabled(config: DevctlConfig, service: DataService): void {
  if (!config.services[service].enabled) {
    throw new UsageError(`services.${service}.enabled is false in devctl.yaml: there is no ${service === 'postgres' ? 'Postgres' : 'Redis'} for devctl to reach.`, {
      hint: `Enable it in devctl.yaml and run \`devctl up\`.`,
    })
  }
}

export async function postgresAccess(context: DataContext): Promise<PostgresAccess> {
  const {config, names} = context
  enabled(config, 'postgres')
  const facts = publicFacts(config, names)
  const database = String(facts.get('postgres.database'))
  const user = String(facts.get('postgres.user'))
  const external = config.services.postgres.external
  if (external) return externalPostgres({host: external.host, port: external.port, database, user, password: passwordFromEnv(external.passwordEnv, 'Postgres')})
  return podPostgres(await servicePod(clusterOf(context), names.namespace, 'postgres'), {database, user})
}

export async function redisAccess(context: DataContext): Promise<RedisAccess> {
  const {config, names} = context
  enabled(config, 'redis')
  const external = config.services.redis.external
  if (external) return externalRedis({host: external.host, port: external.port, password: external.passwordEnv ? passwordFromEnv(external.passwordEnv, 'Redis') : ''})
  return podRedis(await servicePod(clusterOf(context), names.namespace, 'redis'))
}
