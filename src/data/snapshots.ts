/**
 * Snapshots of the team's data, kept in .devctl/snapshots/ (private: the directory 0700, every
 * file 0600). A snapshot is a manifest (NAME.json) and one file per service: Postgres in
 * pg_dump's custom format (NAME.postgres.dump), Redis as its RDB file (NAME.redis.rdb). Files
 * are written under temporary names and renamed only once complete and checked; the manifest
 * is written last, so a snapshot that is listed is whole, and Ctrl-C or a crash never leaves a
 * half-written one behind (its temporary files are removed, or swept by the next snapshot).
 */
import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {createReadStream, createWriteStream} from 'node:fs'
import {chmod, lstat, mkdir, readdir, readFile, rename, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {Transform, Writable, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import * as z from 'zod'

import {ClusterError, FileConflictError, UsageError} from '../errors.js'
import {writeFileAtomic} from '../system/files.js'
import type {DataService, DumpResult} from './access.js'

export const SNAPSHOTS_DIR = 'snapshots'
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const EXTENSIONS: Record<DataService, string> = {postgres: 'postgres.dump', redis: 'redis.rdb'}
/** What each format starts with: a file that does not is not a dump at all. */
const MAGIC: Record<DataService, string> = {postgres: 'PGDMP', redis: 'REDIS'}

const partSchema = z.object({
  service: z.enum(['postgres', 'redis']),
  file: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Postgres: the database it was taken from. */
  database: z.string().optional(),
  durationMs: z.number().nonnegative(),
})

const manifestSchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  /** Taken by devctl itself (before a migration, before a reset): pruned to the last N. */
  automatic: z.boolean(),
  reason: z.string().optional(),
  release: z.string(),
  /** The release revision deployed when it was taken. */
  revision: z.number().int().optional(),
  parts: z.array(partSchema).min(1),
})

export type SnapshotPart = z.output<typeof partSchema>
export type Snapshot = z.output<typeof manifestSchema> & {bytes: number}

/** A snapshot name as the user gives it: a file name, nothing that walks out of the directory. */
export function checkSnapshotName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(`"${name}" is not a usable snapshot name: use letters, digits, ".", "_" and "-" (up to 64, starting with a letter or digit).`, {
      hint: 'For example `devctl db snapshot before-demo`.',
    })
  }
  return name
}

/** "auto-20250131-142501": sortable, and unique to the second. */
export function automaticName(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replaceAll(/[-:]/g, '')
    .replace('T', '-')
  return `auto-${stamp}`
}

/** A file sink that hashes and counts what it is given, passing back the disk's backpressure. */
async function fileSink(path: string, progress: (bytes: number) => void): Promise<{stream: Writable; finished: () => Promise<{bytes: number; sha256: string; head: Buffer}>}> {
  // `flush`: on disk (fsync) before it is closed, and so before it is renamed into place.
  const file = createWriteStream(path, {flags: 'wx', mode: 0o600, flush: true})
  await once(file, 'open')
  const hash = createHash('sha256')
  let bytes = 0
  let head = Buffer.alloc(0)
  const stream = new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)])
      bytes += chunk.length
      progress(bytes)
      if (file.write(chunk)) done()
      else file.once('drain', () => done())
    },
    final(done) {
      file.end(() => done())
    },
  })
  file.on('error', (error) => stream.destroy(error))
  stream.on('close', () => {
    if (!file.writableFinished) file.destroy()
  })
  const finished = new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve)
    stream.once('error', reject)
    // Destroyed (the dump failed): there will be no 'finish'.
    stream.once('close', () => reject(new Error('the snapshot file was not completed')))
  })
  return {
    stream,
    async finished() {
      stream.end()
      try {
        await finished
      } finally {
        if (!file.closed) await once(file, 'close')
      }
      return {bytes, sha256: hash.digest('hex'), head}
    },
  }
}

/** A snapshot being written: its parts under temporary names until `commit`. */
export class SnapshotWriter {
  private readonly parts: Array<SnapshotPart & {temporary: string}> = []
  private readonly temporaries = new Set<string>()

  constructor(
    private readonly store: SnapshotStore,
    readonly name: string,
  ) {}

  /**
   * Write one service's part: `dump` streams it into the sink it is given. The bytes are hashed
   * on the way to disk and checked against the source's checksum and the format's signature.
   */
  async part(service: DataService, dump: (output: Writable) => Promise<DumpResult>, progress: (bytes: number) => void, database?: string): Promise<SnapshotPart> {
    const started = Date.now()
    const file = `${this.name}.${EXTENSIONS[service]}`
    const temporary = join(this.store.dir, `.${file}.${randomBytes(4).toString('hex')}.tmp`)
    this.temporaries.add(temporary)
    const sink = await fileSink(temporary, progress)
    let source: DumpResult
    try {
      source = await dump(sink.stream)
    } catch (error) {
      sink.stream.destroy()
      await sink.finished().catch(() => undefined)
      throw error
    }
    const written = await sink.finished()
    if (source.sha256AtSource && source.sha256AtSource !== written.sha256) {
      throw new ClusterError(`The ${service} dump arrived damaged: ${written.bytes} bytes whose checksum differs from the one computed in the pod (the connection lost data).`, {
        hint: "Run the snapshot again; if it keeps happening, check the cluster's health with `devctl status`.",
      })
    }
    if (!written.head.toString('latin1').startsWith(MAGIC[service])) {
      throw new ClusterError(`The ${service} dump is not a ${service === 'postgres' ? 'pg_dump custom-format archive' : 'Redis RDB file'} (${written.bytes} bytes).`, {
        hint: 'Run the snapshot again with --debug to see the commands devctl ran.',
      })
    }
    const part = {service, file, bytes: written.bytes, sha256: written.sha256, durationMs: Date.now() - started, ...(database ? {database} : {}), temporary}
    this.parts.push(part)
    const {temporary: _, ...recorded} = part
    return recorded
  }

  /** Every part is in: move them into place, then write the manifest that makes the snapshot exist. */
  async commit(details: {automatic: boolean; reason?: string; release: string; revision?: number}): Promise<Snapshot> {
    const manifest = {name: this.name, createdAt: new Date().toISOString(), ...details, parts: this.parts.map(({temporary: _, ...part}) => part)}
    for (const part of this.parts) {
      await rename(part.temporary, join(this.store.dir, part.file))
      this.temporaries.delete(part.temporary)
    }
    await writeFileAtomic(join(this.store.dir, `${this.name}.json`), `${JSON.stringify(manifest, null, 2)}\n`, 0o600)
    return {...manifest, bytes: manifest.parts.reduce((sum, part) => sum + part.bytes, 0)}
  }

  /** Stopped or failed: nothing of it stays. */
  async abandon(): Promise<void> {
    await Promise.all([...this.temporaries].map((path) => rm(path, {force: true})))
    this.temporaries.clear()
  }
}

export class SnapshotStore {
  readonly dir: string

  constructor(stateDir: string) {
    this.dir = join(stateDir, SNAPSHOTS_DIR)
  }

  private async ensure(): Promise<void> {
    await mkdir(this.dir, {recursive: true, mode: 0o700})
    const info = await lstat(this.dir)
    if (info.isSymbolicLink() || !info.isDirectory())
      throw new UsageError(`${this.dir} is not a directory of its own; devctl keeps snapshots only in one.`, {hint: 'Move it away, then run this again.'})
    if (info.mode & 0o077) await chmod(this.dir, 0o700)
  }

  async list(): Promise<Snapshot[]> {
    const entries = await readdir(this.dir).catch(() => [] as string[])
    const snapshots = await Promise.all(entries.filter((entry) => entry.endsWith('.json') && !entry.startsWith('.')).map((entry) => this.read(entry.slice(0, -'.json'.length)).catch(() => undefined)))
    return snapshots.filter((s): s is Snapshot => s !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt))
  }

  private async read(name: string): Promise<Snapshot> {
    const parsed = manifestSchema.parse(JSON.parse(await readFile(join(this.dir, `${name}.json`), 'utf8')))
    return {...parsed, bytes: parsed.parts.reduce((sum, part) => sum + part.bytes, 0)}
  }

  /** The snapshot called `name`; a usage error listing the ones there are when there is none. */
  async get(name: string): Promise<Snapshot> {
    checkSnapshotName(name)
    const found = await this.read(name).catch(() => undefined)
    if (found) return found
    const names = (await this.list()).map((s) => s.name)
    throw new UsageError(`There is no snapshot called "${name}" in ${this.dir}.`, {
      hint: names.length ? `Snapshots: ${names.join(', ')} (\`devctl db snapshots\` lists them).` : 'Take one with `devctl db snapshot NAME`.',
    })
  }

  /** Start writing snapshot `name`; one of that name exists already: refused unless `replace`. */
  async begin(name: string, options: {replace: boolean}): Promise<SnapshotWriter> {
    checkSnapshotName(name)
    await this.ensure()
    // Left by a devctl that was killed mid-snapshot (only one devctl runs here at a time).
    for (const entry of await readdir(this.dir)) if (entry.startsWith('.') && entry.endsWith('.tmp')) await rm(join(this.dir, entry), {force: true})
    if (!options.replace && (await this.read(name).catch(() => undefined))) {
      throw new FileConflictError(`A snapshot called "${name}" exists already.`, {hint: `Pick another name, or replace it with \`devctl db snapshot ${name} --force\`.`})
    }
    return new SnapshotWriter(this, name)
  }

  /** Read a part back, checked against the checksum it was saved with, before anything is replaced with it. */
  async verify(snapshot: Snapshot, part: SnapshotPart): Promise<void> {
    const hash = createHash('sha256')
    await pipeline(createReadStream(join(this.dir, part.file)), hash)
    if (hash.digest('hex') !== part.sha256) {
      throw new ClusterError(`Snapshot "${snapshot.name}" is damaged: ${part.file} no longer matches the checksum it was saved with.`, {hint: 'Restore another snapshot (`devctl db snapshots`).'})
    }
  }

  /** A part's bytes, counted as they are read (for progress). */
  openPart(part: SnapshotPart, progress: (bytes: number) => void): Readable {
    let bytes = 0
    return createReadStream(join(this.dir, part.file)).pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length
          progress(bytes)
          done(null, chunk)
        },
      }),
    )
  }

  async remove(snapshot: Snapshot): Promise<void> {
    // The manifest first: a snapshot half-removed is not listed.
    await rm(join(this.dir, `${snapshot.name}.json`), {force: true})
    await Promise.all(snapshot.parts.map((part) => rm(join(this.dir, part.file), {force: true})))
  }

  /** Keep the newest `keep` automatic snapshots; the ones a person named are never removed. Returns the removed ones. */
  async prune(keep: number): Promise<Snapshot[]> {
    const automatic = (await this.list()).filter((s) => s.automatic)
    const old = automatic.slice(0, Math.max(0, automatic.length - keep))
    for (const snapshot of old) await this.remove(snapshot)
    return old
  }
}
