/**
 * Every migration run's log, kept on disk under `.devctl/migrations/` as it streams: a hook Job
 * that deletes itself (hook-delete-policy hook-failed) takes its pods and their logs with it,
 * and a terminal's live view clears a step's lines when it ends. `devctl logs --migration`
 * prints the last one. The newest few runs are kept; lines are masked like every other output.
 */
import {createWriteStream, type WriteStream} from 'node:fs'
import {mkdir, readdir, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {redact} from '../secrets/redact.js'

export const MIGRATION_LOG_DIR = 'migrations'
/** Runs kept: enough to compare a failure with the runs before it, bounded so .devctl/ does not grow. */
export const MIGRATION_LOGS_KEPT = 10

export interface MigrationLogHeader {
  /** What ran, in words ("hook Job demo-migrate (pre-install,pre-upgrade)"). */
  migration: string
  revision: number
  startedAt: Date
}

export interface MigrationLog {
  /** The log file's path. */
  readonly path: string
  line(source: string, text: string): void
  /** Write the outcome and close the file. */
  close(outcome: string): Promise<void>
  /** Nothing ran after all: no file is left behind. */
  discard(): Promise<void>
}

/** "2025-01-31T14:00:00.123Z" → "20250131T140000123Z": sorts in time order, safe in a file name. */
function stamp(date: Date): string {
  return date.toISOString().replaceAll(/[-:.]/g, '')
}

async function logFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  return names.filter((name) => name.endsWith('.log')).sort()
}

/** Start a run's log file in `stateDir`, removing the oldest so that at most MIGRATION_LOGS_KEPT remain. */
export async function openMigrationLog(stateDir: string, header: MigrationLogHeader): Promise<MigrationLog> {
  const dir = join(stateDir, MIGRATION_LOG_DIR)
  await mkdir(dir, {recursive: true, mode: 0o700})
  const existing = await logFiles(dir)
  await Promise.all(existing.slice(0, Math.max(0, existing.length - (MIGRATION_LOGS_KEPT - 1))).map((name) => rm(join(dir, name), {force: true})))
  const path = join(dir, `${stamp(header.startedAt)}-r${header.revision}.log`)
  const stream: WriteStream = createWriteStream(path, {flags: 'w', mode: 0o600})
  // A disk error must not fail the migration it records: it is reported when the file closes.
  let failure: Error | undefined
  stream.on('error', (error) => (failure ??= error))
  stream.write(`# ${redact(header.migration)}, revision ${header.revision}, started ${header.startedAt.toISOString()}\n`)
  const end = (last: string) => new Promise<void>((resolve, reject) => stream.end(last, () => (failure ? reject(failure) : resolve())))
  return {
    path,
    line(source, text) {
      if (!stream.writableEnded) stream.write(`${source}: ${redact(text)}\n`)
    },
    async close(outcome) {
      if (!stream.writableEnded) await end(`# ${redact(outcome)}\n`)
    },
    async discard() {
      if (!stream.writableEnded) await end('')
      await rm(path, {force: true})
    },
  }
}

/** The last migration run's log: its path and text; undefined when none was kept. */
export async function lastMigrationLog(stateDir: string): Promise<{path: string; text: string} | undefined> {
  const dir = join(stateDir, MIGRATION_LOG_DIR)
  const last = (await logFiles(dir)).at(-1)
  if (!last) return undefined
  const path = join(dir, last)
  return {path, text: await readFile(path, 'utf8')}
}
