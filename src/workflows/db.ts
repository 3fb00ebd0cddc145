/**
 * The team's data: "snapshot Postgres and Redis into .devctl/snapshots", "restore a snapshot:
 * the database recreated, so tables a later migration added are gone too", "reset: drop the
 * database, create it empty and run the migration again". The snapshot and restore steps are
 * also what `upgrade` runs around a migration (see upgrade.ts).
 */
import type {LoadedConfig} from '../config/load.js'
import {postgresAccess, redisAccess, type DataContext, type DataService, type PostgresAccess, type Terminal} from '../data/access.js'
import type {ForwardEvent} from '../data/forward.js'
import {automaticName, SnapshotStore, type Snapshot, type SnapshotPart} from '../data/snapshots.js'
import {latestRelease} from '../chart/release-record.js'
import {readMigrationRecord} from '../chart/migration-record.js'
import {InterruptedError, UsageError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {passwordFromEnv} from '../services/facts.js'
import {readSecrets, registerProjectSecrets} from '../secrets/store.js'
import {lockEnvironment} from '../state/lock.js'
import {count, formatBytes} from '../text.js'
import {connectEnvironment} from './connect.js'
import {formatDuration, outlineOf, Pipeline, type Step, type StepOutcome, type StepOutline, type StepRun} from './pipeline.js'
import {startForwarding, type ForwardSession} from './forward.js'
import {createProject, type Project, type RunControls} from './project.js'
import {up, upOutline, type UpResult} from './up.js'

/** The services a snapshot covers: Postgres and Redis where devctl.yaml enables them, or those asked for. */
export function snapshotServices(project: Project, only?: DataService[]): DataService[] {
  const enabled = (['postgres', 'redis'] as const).filter((service) => project.config.services[service].enabled)
  const chosen = only ? enabled.filter((service) => only.includes(service)) : enabled
  if (chosen.length === 0)
    throw new UsageError(`There is nothing to snapshot: ${only ? `${only.join(' and ')} ${only.length === 1 ? 'is' : 'are'} not enabled` : 'Postgres and Redis are both disabled'} in devctl.yaml.`)
  return chosen
}

/** Does `upgrade` snapshot Postgres before it lets this migration run? */
export function snapshotsBeforeMigration(project: Pick<Project, 'config'>, migrationKind: string): boolean {
  const {postgres} = project.config.services
  return postgres.enabled && migrationKind !== 'none' && (postgres.snapshots.beforeMigration ?? postgres.external === undefined)
}

function dataContext(project: Project, kube: KubeClient | undefined): DataContext {
  return {config: project.config, names: project.names, kube}
}

/**
 * Progress in a step's notes, at most every half second: bytes moved, and of how many when
 * known (a restore); a dump's size is not known before it ends, so it shows beside what it comes from.
 */
function progressNotes(run: StepRun, what: string, scale: {total?: number; of?: string} = {}): (bytes: number) => void {
  let last = 0
  return (bytes) => {
    const now = Date.now()
    if (now - last < 500) return
    last = now
    const share = scale.total ? ` of ${formatBytes(scale.total)} (${Math.min(100, Math.round((bytes / scale.total) * 100))}%)` : ''
    run.note(`${what}: ${formatBytes(bytes)}${share}${scale.of ? ` (${scale.of})` : ''}`)
  }
}

async function databaseSize(access: PostgresAccess, signal: AbortSignal): Promise<number | undefined> {
  const answer = await access.sql('SELECT pg_database_size(current_database());', {}, signal).catch(() => '')
  const size = Number(answer.trim())
  return Number.isFinite(size) && size > 0 ? size : undefined
}

export interface SnapshotInput {
  project: Project
  kube?: KubeClient
  name: string
  replace: boolean
  services: DataService[]
  automatic: boolean
  reason?: string
}

export interface TakenSnapshot {
  snapshot: Snapshot
  /** Older automatic snapshots removed to keep the configured number. */
  pruned: string[]
}

function partsSummary(parts: SnapshotPart[]): string {
  return parts.map((part) => `${part.service} ${formatBytes(part.bytes)} in ${formatDuration(part.durationMs)}`).join(', ')
}

/** Take a snapshot: each service streamed to disk, checked, then listed; nothing of it stays when it fails or is stopped. */
export const snapshotStep: Step<SnapshotInput, TakenSnapshot> = {
  id: 'snapshot',
  title: () => 'Snapshot the data',
  async execute(input, run) {
    const {project, kube, name} = input
    const store = new SnapshotStore(project.stateDir)
    const writer = await store.begin(name, {replace: input.replace})
    try {
      const context = dataContext(project, kube)
      for (const service of input.services) {
        if (service === 'postgres') {
          const access = await postgresAccess(context)
          run.title(`Snapshot ${name}: Postgres database ${access.database} (${access.where})`)
          const size = await databaseSize(access, run.signal)
          await writer.part('postgres', (output) => access.dump(output, run.signal), progressNotes(run, 'pg_dump', {of: size ? `database ${formatBytes(size)}` : undefined}), access.database)
        } else {
          const access = await redisAccess(context)
          run.title(`Snapshot ${name}: Redis (${access.where})`)
          await writer.part('redis', (output) => access.dump(output, run.signal), progressNotes(run, 'RDB'))
        }
      }
      const revision = kube ? (await latestRelease(kube, project.names.namespace, project.names.release))?.revision : undefined
      const snapshot = await writer.commit({automatic: input.automatic, reason: input.reason, release: project.names.release, revision})
      const pruned = input.automatic ? (await store.prune(project.config.services.postgres.snapshots.keep)).map((s) => s.name) : []
      run.title(`Snapshot ${name}: ${partsSummary(snapshot.parts)}${pruned.length ? `; removed ${count(pruned.length, 'older automatic snapshot')}` : ''}`)
      return {snapshot, pruned}
    } catch (error) {
      await writer.abandon()
      throw error
    }
  },
}

/** The name of the scratch database a restore goes into first; Postgres cuts names at 63 bytes. */
function scratchDatabase(database: string): string {
  const suffix = '__devctl_restore'
  return `${Buffer.from(database)
    .subarray(0, 63 - suffix.length)
    .toString('utf8')}${suffix}`
}

/**
 * Restore into a scratch database and only then swap it in: a dump that fails to restore leaves
 * the database as it was. The swap drops the database (WITH FORCE: its sessions are ended) and
 * renames the scratch one: everything a later migration added is gone, which `pg_restore
 * --clean` would have kept.
 */
async function restorePostgres(access: PostgresAccess, store: SnapshotStore, part: SnapshotPart, run: StepRun): Promise<void> {
  const scratch = scratchDatabase(access.database)
  const maintenance = {database: 'postgres', variables: {db: access.database, scratch}}
  await access.sql('DROP DATABASE IF EXISTS :"scratch" WITH (FORCE);\nCREATE DATABASE :"scratch";\n', maintenance, run.signal)
  try {
    await access.restore(store.openPart(part, progressNotes(run, 'pg_restore', {total: part.bytes})), scratch, run.signal)
  } catch (error) {
    // Not under the (maybe aborted) step signal: the scratch database must go either way.
    await access.sql('DROP DATABASE IF EXISTS :"scratch" WITH (FORCE);\n', maintenance, AbortSignal.timeout(30_000)).catch(() => undefined)
    throw error
  }
  await access.sql('DROP DATABASE IF EXISTS :"db" WITH (FORCE);\nALTER DATABASE :"scratch" RENAME TO :"db";\n', maintenance, run.signal)
}

export interface RestoreInput {
  project: Project
  kube?: KubeClient
  snapshot: Snapshot
  services: DataService[]
}

export interface RestoredSnapshot {
  name: string
  services: DataService[]
  durationMs: number
}

export const restoreStep: Step<RestoreInput, RestoredSnapshot> = {
  id: 'restore',
  title: () => 'Restore the data',
  async execute({project, kube, snapshot, services}, run) {
    const started = Date.now()
    const store = new SnapshotStore(project.stateDir)
    const parts = snapshot.parts.filter((part) => services.includes(part.service))
    if (parts.length === 0) throw new UsageError(`Snapshot ${snapshot.name} holds ${snapshot.parts.map((p) => p.service).join(' and ')}, not ${services.join(' or ')}.`)
    run.title(`Restore ${snapshot.name}: checking its files`)
    for (const part of parts) await store.verify(snapshot, part)
    const context = dataContext(project, kube)
    for (const part of parts) {
      if (part.service === 'postgres') {
        const access = await postgresAccess(context)
        run.title(`Restore ${snapshot.name}: Postgres database ${access.database} (${access.where}), recreated`)
        await restorePostgres(access, store, part, run)
      } else {
        const access = await redisAccess(context)
        run.title(`Restore ${snapshot.name}: Redis (${access.where})`)
        await access.restore(store.openPart(part, progressNotes(run, 'RDB', {total: part.bytes})), run.signal)
      }
    }
    const durationMs = Date.now() - started
    run.title(`Restored ${snapshot.name} (${parts.map((p) => p.service).join(', ')}) in ${formatDuration(durationMs)}`)
    return {name: snapshot.name, services: parts.map((p) => p.service), durationMs}
  },
}

const resetStep: Step<{project: Project; kube?: KubeClient}, {database: string; where: string}> = {
  id: 'reset',
  title: () => 'Drop and recreate the database',
  async execute({project, kube}, run) {
    const access = await postgresAccess(dataContext(project, kube))
    run.title(`Drop and recreate database ${access.database} (${access.where})`)
    await access.sql('DROP DATABASE IF EXISTS :"db" WITH (FORCE);\nCREATE DATABASE :"db";\n', {database: 'postgres', variables: {db: access.database}}, run.signal)
    run.title(`Database ${access.database} dropped and created empty (${access.where})`)
    return {database: access.database, where: access.where}
  },
}

/**
 * The cluster, unless every service asked for is external (then none is needed, and none is
 * reached: a snapshot of an external database works with the cluster stopped).
 */
async function clusterFor(project: Project, services: DataService[], signal: AbortSignal): Promise<KubeClient | undefined> {
  const inCluster = services.some((service) => project.config.services[service].external === undefined)
  if (!inCluster) return undefined
  return (await connectEnvironment(project, signal)).kube
}

export interface SnapshotResult {
  snapshot: Snapshot
  pruned: string[]
  steps: StepOutcome[]
}

export async function snapshotData(loaded: LoadedConfig, options: {name?: string; replace: boolean; only?: DataService[]}, controls: RunControls): Promise<SnapshotResult> {
  const project = createProject(loaded, controls.kubeModule)
  const services = snapshotServices(project, options.only)
  const lock = await lockEnvironment(project.stateDir, 'db snapshot')
  try {
    const pipeline = new Pipeline(project, controls)
    const kube = await clusterFor(project, services, controls.signal)
    const taken = await pipeline.run(snapshotStep, {project, kube, name: options.name ?? automaticName(), replace: options.replace, services, automatic: false})
    return {...taken, steps: pipeline.outcomes}
  } finally {
    await lock.release()
  }
}

export interface SnapshotListing {
  directory: string
  snapshots: Snapshot[]
}

export async function listSnapshots(loaded: LoadedConfig): Promise<SnapshotListing> {
  const store = new SnapshotStore(createProject(loaded).stateDir)
  return {directory: store.dir, snapshots: await store.list()}
}

/** The snapshot to restore and what of it, read before the question is asked. */
export async function findSnapshot(loaded: LoadedConfig, name: string, only?: DataService[]): Promise<{snapshot: Snapshot; services: DataService[]}> {
  const snapshot = await new SnapshotStore(createProject(loaded).stateDir).get(name)
  const held = snapshot.parts.map((part) => part.service)
  const services = only ? held.filter((service) => only.includes(service)) : held
  if (services.length === 0) throw new UsageError(`Snapshot ${name} holds ${held.join(' and ')} only.`, {hint: `Leave out --only, or pick ${held.join(' or ')}.`})
  return {snapshot, services}
}

export interface RestoreResult {
  restored: RestoredSnapshot
  steps: StepOutcome[]
}

/** Restore `snapshot` (the command asked first). */
export async function restoreData(loaded: LoadedConfig, target: {snapshot: Snapshot; services: DataService[]}, controls: RunControls): Promise<RestoreResult> {
  const project = createProject(loaded, controls.kubeModule)
  const lock = await lockEnvironment(project.stateDir, 'db restore')
  try {
    const pipeline = new Pipeline(project, controls)
    const kube = await clusterFor(project, target.services, controls.signal)
    const restored = await pipeline.run(restoreStep, {project, kube, ...target})
    return {restored, steps: pipeline.outcomes}
  } finally {
    await lock.release()
  }
}

export interface ResetResult {
  database: string
  where: string
  /** The snapshot taken first, to undo the reset with `devctl db restore`. */
  snapshot?: Snapshot
  up: UpResult
  steps: StepOutcome[]
}

/**
 * `db reset` (after consent): a snapshot first (unless told not to), the database dropped and
 * created empty, then the migration run again by redeploying (`up --force`): a hook Job runs on
 * every deploy; a plain Job is deleted first so helm creates it again; an init container runs
 * again in pods started afresh.
 */
export async function resetDatabase(loaded: LoadedConfig, options: {snapshot: boolean}, controls: RunControls): Promise<ResetResult> {
  const project = createProject(loaded, controls.kubeModule)
  const pipeline = new Pipeline(project, controls)
  const lock = await lockEnvironment(project.stateDir, 'db reset')
  let taken: TakenSnapshot | undefined
  let reset: {database: string; where: string}
  try {
    const {kube} = await connectEnvironment(project, controls.signal)
    if (options.snapshot) {
      taken = await pipeline.run(snapshotStep, {project, kube, name: automaticName(), replace: false, services: ['postgres'], automatic: true, reason: 'before db reset'})
    }
    reset = await pipeline.run(resetStep, {project, kube})
    await prepareMigrationRerun(project, kube)
  } finally {
    await lock.release()
  }
  if (controls.signal.aborted) throw new InterruptedError()
  const redeployed = await up(loaded, {force: true, adopt: false}, controls)
  return {...reset, snapshot: taken?.snapshot, up: redeployed, steps: [...pipeline.outcomes, ...redeployed.steps]}
}

/** What makes the last migration run again on the next deploy (read from its record in the namespace). */
async function prepareMigrationRerun(project: Project, kube: KubeClient): Promise<void> {
  const {namespace} = project.names
  const last = await readMigrationRecord(kube, namespace)
  if (last?.kind === 'job') await kube.delete('Job', namespace, last.name)
  if (last?.kind === 'init-container') {
    const workload = last.name.split('/')[0] ?? ''
    for (const kind of ['Deployment', 'StatefulSet'] as const) {
      const found = await kube.get(kind, namespace, workload)
      const labels = found?.spec?.selector?.matchLabels
      if (!labels) continue
      const selector = Object.entries(labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(',')
      for (const pod of await kube.list('Pod', namespace, {labelSelector: selector})) await kube.delete('Pod', namespace, pod.metadata?.name ?? '')
    }
  }
}

export interface DataShell {
  service: DataService
  where: string
  /** The client runs on this machine, on the user's terminal (an external database). */
  local: boolean
  /** psql or redis-cli with `args`; its exit code. */
  run(args: string[], terminal: Terminal, signal: AbortSignal): Promise<number>
}

/** psql (or redis-cli) where the data is, signed in with devctl's credentials. */
export async function dataShell(loaded: LoadedConfig, service: DataService, controls: Pick<RunControls, 'signal' | 'kubeModule'>): Promise<DataShell> {
  const project = createProject(loaded, controls.kubeModule)
  // Anything the client or the API says about a failure passes through redaction.
  await registerProjectSecrets(project.dir, project.config)
  const kube = await clusterFor(project, [service], controls.signal)
  const access = service === 'postgres' ? await postgresAccess(dataContext(project, kube)) : await redisAccess(dataContext(project, kube))
  return {service, where: access.where, local: access.external, run: (args, terminal, signal) => access.shell(args, terminal, signal)}
}

export interface DatabaseUrl {
  /** postgresql://user[:password]@host:port/database */
  url: string
  host: string
  port: number
  database: string
  user: string
  /** The URL holds the password (--show-password). */
  withPassword: boolean
  /** A local port-forward carries it (the Postgres devctl runs); it works while devctl runs. */
  forwarding?: ForwardSession
}

function postgresUrl(parts: {user: string; password?: string; host: string; port: number; database: string}): string {
  const credentials = `${encodeURIComponent(parts.user)}${parts.password ? `:${encodeURIComponent(parts.password)}` : ''}`
  return `postgresql://${credentials}@${parts.host}:${parts.port}/${encodeURIComponent(parts.database)}`
}

/**
 * A URL a GUI client or a script on this machine can use: through a local port-forward to the
 * Postgres devctl runs, or straight to an external one. The password only when asked for.
 */
export async function databaseUrl(
  loaded: LoadedConfig,
  options: {showPassword: boolean; port?: number},
  controls: Pick<RunControls, 'signal' | 'kubeModule'>,
  onEvent: (event: ForwardEvent) => void,
): Promise<DatabaseUrl> {
  const project = createProject(loaded, controls.kubeModule)
  const {postgres} = project.config.services
  if (!postgres.enabled) throw new UsageError('services.postgres.enabled is false in devctl.yaml: there is no database to connect to.')
  const database = postgres.external?.database ?? project.names.database
  const user = postgres.external?.user ?? project.names.databaseUser
  const password = !options.showPassword ? undefined : postgres.external ? passwordFromEnv(postgres.external.passwordEnv, 'Postgres') : (await readSecrets(project.dir))?.postgres?.password
  if (postgres.external) {
    const {host, port} = postgres.external
    return {url: postgresUrl({user, password, host, port, database}), host, port, database, user, withPassword: Boolean(password)}
  }
  const forwarding = await startForwarding(loaded, {only: ['postgres'], ports: options.port ? {postgres: options.port} : undefined}, controls, onEvent)
  const forward = forwarding.forwards[0]!
  return {
    url: postgresUrl({user, password, host: forward.address, port: forward.localPort, database}),
    host: forward.address,
    port: forward.localPort,
    database,
    user,
    withPassword: Boolean(password),
    forwarding,
  }
}

/** The steps each data command shows before they run. */
export function dataOutline(loaded: LoadedConfig, command: 'snapshot' | 'restore' | 'reset', options: {snapshot?: boolean} = {}): StepOutline[] {
  const context = {config: loaded.config, names: loaded.resolved}
  if (command === 'snapshot') return outlineOf(context, [snapshotStep])
  if (command === 'restore') return outlineOf(context, [restoreStep])
  return [...outlineOf(context, [...(options.snapshot ? [snapshotStep] : []), resetStep]), ...upOutline(loaded)]
}
