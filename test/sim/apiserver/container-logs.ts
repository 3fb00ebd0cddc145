/**
 * What containers print when a scenario does not say: the real startup sequences of postgres
 * and redis, migration steps for migration jobs, and a few startup lines then slow request
 * logs for everything else. Lines are rendered when printed, so embedded timestamps are real.
 */
import type {Container} from './types.js'

export type Line = (time: Date) => string

export interface LogScript {
  /** Printed as the container starts. */
  start: Line[]
  /** Printed when the container becomes ready (or, for one that exits, spread over its run). */
  progress: Line[]
  /** Printed every `everyMs` (simulated) while the container keeps running. */
  periodic?: {everyMs: number; render: (index: number) => string}
  /** Printed just before a successful exit. */
  success: Line[]
  /** Printed just before a failing exit. */
  failure: Line[]
}

const literal =
  (text: string): Line =>
  () =>
    text

function imageTag(image: string): string {
  const last = image.split('/').at(-1) ?? image
  const colon = last.indexOf(':')
  return colon < 0 ? 'latest' : last.slice(colon + 1)
}

function postgresTime(time: Date): string {
  return time.toISOString().replace('T', ' ').replace('Z', ' UTC')
}

function postgresVersion(image: string): string {
  const match = /^(\d+)(?:\.(\d+))?/.exec(imageTag(image))
  return match ? `${match[1]}.${match[2] ?? '4'}` : '16.4'
}

function postgresScript(image: string): LogScript {
  const version = postgresVersion(image)
  const log =
    (pid: number, text: string): Line =>
    (time) =>
      `${postgresTime(time)} [${pid}] LOG:  ${text}`
  return {
    start: [
      'The files belonging to this database system will be owned by user "postgres".',
      'This user must also own the server process.',
      '',
      'The database cluster will be initialized with locale "en_US.utf8".',
      'The default database encoding has accordingly been set to "UTF8".',
      'The default text search configuration will be set to "english".',
      '',
      'Data page checksums are disabled.',
      '',
      'fixing permissions on existing directory /var/lib/postgresql/data ... ok',
      'creating subdirectories ... ok',
      'selecting dynamic shared memory implementation ... posix',
      'selecting default max_connections ... 100',
      'selecting default shared_buffers ... 128MB',
      'selecting default time zone ... Etc/UTC',
      'creating configuration files ... ok',
      'running bootstrap script ... ok',
      'performing post-bootstrap initialization ... ok',
      'syncing data to disk ... ok',
      '',
      '',
      'Success. You can now start the database server using:',
      '',
      '    pg_ctl -D /var/lib/postgresql/data -l logfile start',
      '',
    ]
      .map(literal)
      .concat([
        (time) =>
          `waiting for server to start....${postgresTime(time)} [48] LOG:  starting PostgreSQL ${version} (Debian ${version}-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit`,
        log(48, 'listening on Unix socket "/var/run/postgresql/.s.PGSQL.5432"'),
        (time) => `${postgresTime(time)} [51] LOG:  database system was shut down at ${postgresTime(time)}`,
        log(48, 'database system is ready to accept connections'),
        literal(' done'),
        literal('server started'),
        literal('CREATE DATABASE'),
        literal(''),
        literal(''),
        literal('/usr/local/bin/docker-entrypoint.sh: ignoring /docker-entrypoint-initdb.d/*'),
        literal(''),
        (time) => `waiting for server to shut down....${postgresTime(time)} [48] LOG:  received fast shutdown request`,
        log(48, 'aborting any active transactions'),
        log(48, 'database system is shut down'),
        literal(' done'),
        literal('server stopped'),
        literal(''),
        literal('PostgreSQL init process complete; ready for start up.'),
        literal(''),
        log(1, `starting PostgreSQL ${version} (Debian ${version}-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit`),
        log(1, 'listening on IPv4 address "0.0.0.0", port 5432'),
        log(1, 'listening on IPv6 address "::", port 5432'),
        log(1, 'listening on Unix socket "/var/run/postgresql/.s.PGSQL.5432"'),
      ]),
    progress: [(time) => `${postgresTime(time)} [64] LOG:  database system was shut down at ${postgresTime(time)}`, log(1, 'database system is ready to accept connections')],
    success: [log(1, 'received fast shutdown request'), log(1, 'database system is shut down')],
    failure: [literal('FATAL:  could not start server')],
  }
}

function redisTime(time: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0')
  return `${pad(time.getUTCDate())} ${months[time.getUTCMonth()]} ${time.getUTCFullYear()} ${pad(time.getUTCHours())}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())}.${pad(time.getUTCMilliseconds(), 3)}`
}

function redisScript(image: string): LogScript {
  const tag = imageTag(image)
  const version = /^\d+\.\d+\.\d+/.exec(tag)?.[0] ?? (/^\d+\.\d+/.test(tag) ? `${tag}.0` : '7.4.1')
  const line =
    (role: string, mark: string, text: string): Line =>
    (time) =>
      `1:${role} ${redisTime(time)} ${mark} ${text}`
  return {
    start: [
      line('C', '*', 'oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo'),
      line('C', '*', `Redis version=${version}, bits=64, commit=00000000, modified=0, pid=1, just started`),
      line('C', '#', 'Warning: no config file specified, using the default config. In order to specify a config file use redis-server /path/to/redis.conf'),
      line('M', '*', 'monotonic clock: POSIX clock_gettime'),
      line('M', '*', 'Running mode=standalone, port=6379.'),
      line('M', '*', 'Server initialized'),
    ],
    progress: [line('M', '*', 'Ready to accept connections tcp')],
    success: [line('M', '#', 'User requested shutdown...'), line('M', '#', 'Redis is now ready to exit, bye bye...')],
    failure: [line('M', '#', "Fatal error, can't open config file")],
  }
}

const defaultMigrations = ['001_create_users', '002_add_email_index', '003_create_orders']

/** `names`: the migration files the container can see (from its mounted ConfigMaps), in order. */
function migrationScript(names: string[]): LogScript {
  const migrations = names.length > 0 ? names : defaultMigrations
  const failing = migrations.at(-1) ?? 'migration'
  return {
    start: [literal('Connecting to database...'), literal('Running migrations...')],
    progress: migrations.map((name) => literal(`applying ${name} ... ok`)),
    success: [literal(`Migrations complete: ${migrations.length} applied.`)],
    failure: [literal(`applying ${failing} ... FAILED`), literal('ERROR:  relation "orders_legacy" does not exist'), literal(`Migration failed; rolled back ${failing}.`)],
  }
}

function podinfoScript(container: Container): LogScript {
  const version = imageTag(container.image)
  const json =
    (level: string, caller: string, message: string, extra: Record<string, string> = {}): Line =>
    (time) =>
      JSON.stringify({level, ts: time.toISOString(), caller, msg: message, ...extra})
  return {
    start: [json('info', 'podinfo/main.go:153', 'Starting podinfo', {version, revision: 'simulated', port: '9898'})],
    progress: [json('info', 'http/server.go:204', 'Starting HTTP Server.', {addr: ':9898'})],
    periodic: {everyMs: 10_000, render: () => JSON.stringify({level: 'debug', caller: 'http/logging.go:35', msg: 'request started', proto: 'HTTP/1.1', uri: '/healthz', method: 'GET'})},
    success: [json('info', 'podinfo/main.go:200', 'Shutting down HTTP server')],
    failure: [json('fatal', 'podinfo/main.go:171', 'failed to start')],
  }
}

function appScript(container: Container): LogScript {
  const port = container.ports?.[0]?.containerPort
  return {
    start: [literal(`Starting ${container.name}`), literal(`Loaded configuration (${(container.env ?? []).length} environment variables)`)],
    progress: [literal(port ? `Listening on :${port}` : `${container.name}: ready`)],
    periodic: port
      ? {everyMs: 10_000, render: (index) => `GET /healthz 200 ${(0.3 + (index % 7) / 10).toFixed(1)}ms`}
      : {everyMs: 30_000, render: (index) => `${container.name}: heartbeat ${index + 1}`},
    success: [literal('Done.')],
    failure: [literal('Error: exiting with failure')],
  }
}

function helmInstallScript(container: Container): LogScript {
  const chart = (container.env ?? []).find((variable) => variable.name === 'NAME')?.value ?? 'chart'
  return {
    start: [literal('+ export HELM_HOST=127.0.0.1:44134'), literal(`+ helm_v3 install ${chart}`)],
    progress: [literal(`NAME: ${chart}`), literal('STATUS: deployed'), literal('REVISION: 1')],
    success: [],
    failure: [literal('Error: INSTALLATION FAILED')],
  }
}

/** Does this container run database migrations (by name, command or arguments)? */
export function isMigration(container: Container): boolean {
  const words = [container.name, ...(container.command ?? []), ...(container.args ?? [])].join(' ').toLowerCase()
  return words.includes('migrat') || (/\bpsql\b/.test(words) && /\.sql\b|migration/.test(words))
}

/** The image's own program runs (no command given, or the command starts it). */
function runsImageProgram(container: Container, programs: string[]): boolean {
  const command = [...(container.command ?? [])].join(' ')
  return command === '' || programs.some((program) => command.includes(program))
}

export function defaultLogScript(container: Container, migrations: string[] = []): LogScript {
  const image = container.image.toLowerCase()
  if (isMigration(container)) return migrationScript(migrations)
  if (/(^|\/)postgres(ql)?(:|@|$)/.test(image) && runsImageProgram(container, ['postgres', 'docker-entrypoint'])) return postgresScript(container.image)
  if (/(^|\/)redis(:|@|$)/.test(image) && runsImageProgram(container, ['redis-server', 'docker-entrypoint'])) return redisScript(container.image)
  if (image.includes('podinfo')) return podinfoScript(container)
  if (image.includes('klipper-helm')) return helmInstallScript(container)
  return appScript(container)
}
