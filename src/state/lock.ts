/**
 * One devctl at a time per environment. A command that changes the environment (up, upgrade,
 * down, doctor --fix) holds .devctl/lock while it runs: a second one fails at once, saying
 * which command holds it, where and since when. A lock whose holder is gone (its process died
 * on this machine, or it stopped renewing it) is stale and taken over.
 */
import {mkdir, readFile, rename, rm, rmdir, stat, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {readFileSync, rmSync} from 'node:fs'

import * as z from 'zod'

import {EnvironmentBusyError} from '../errors.js'
import {isAlive} from '../system/processes.js'
import {osUserName} from '../system/user.js'
import {ensureStateDir} from '../system/files.js'

export const LOCK_FILE = 'lock'
/** The holder rewrites the lock this often; one not rewritten for STALE_MS is abandoned. */
const RENEW_MS = 10_000
const STALE_MS = 60_000

const holderSchema = z.object({
  pid: z.number(),
  host: z.string(),
  user: z.string(),
  command: z.string(),
  startedAt: z.string(),
  renewedAt: z.string(),
})

export type LockHolder = z.output<typeof holderSchema>

/** Is this holder gone? Its process died (same machine), or it stopped renewing the lock. */
export function isStale(holder: LockHolder, now = Date.now(), here = hostname(), alive = isAlive): boolean {
  if (holder.host === here && !alive(holder.pid)) return true
  return now - Date.parse(holder.renewedAt) > STALE_MS
}

/** "`devctl up` (pid 4242, ann@laptop), started 12 s ago". */
export function describeHolder(holder: LockHolder, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(holder.startedAt)) / 1000))
  const ago = seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`
  return `\`devctl ${holder.command}\` (pid ${holder.pid}, ${holder.user}@${holder.host}), started ${ago} ago`
}

export interface EnvironmentLock {
  release(): Promise<void>
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  try {
    const parsed = holderSchema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/**
 * Take a stale lock over. Two devctls may find the same stale lock: a directory created next to
 * it (mkdir is atomic) lets one of them replace it; the other finds the new holder.
 */
async function takeOver(path: string, stale: LockHolder | undefined): Promise<void> {
  const guard = `${path}.takeover`
  try {
    await mkdir(guard)
  } catch {
    // Another devctl is taking it over; a guard left by one that died is cleared after a while.
    const info = await stat(guard).catch(() => undefined)
    if (info && Date.now() - info.mtimeMs > STALE_MS) await rmdir(guard).catch(() => {})
    return
  }
  try {
    const current = await readHolder(path)
    if (JSON.stringify(current) === JSON.stringify(stale)) await rm(path, {force: true})
  } finally {
    await rmdir(guard).catch(() => {})
  }
}

export async function lockEnvironment(stateDir: string, command: string): Promise<EnvironmentLock> {
  await ensureStateDir(stateDir)
  const path = join(stateDir, LOCK_FILE)
  const now = new Date().toISOString()
  const holder: LockHolder = {pid: process.pid, host: hostname(), user: osUserName() ?? '?', command, startedAt: now, renewedAt: now}
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, JSON.stringify(holder), {flag: 'wx', mode: 0o600})
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const current = await readHolder(path)
    // An unreadable lock is being written (or was cut short): stale only once it is old.
    const stale = current ? isStale(current) : await olderThan(path, STALE_MS)
    if (!stale || attempt >= 3) {
      throw new EnvironmentBusyError(`Another devctl is changing this environment: ${current ? describeHolder(current) : 'a devctl whose lock cannot be read'}.`, {
        hint: `Wait for it to finish and run this again. (A devctl that died leaves ${join('.devctl', LOCK_FILE)} behind; it is taken over once its process is gone, or after ${STALE_MS / 1000} s without renewal.)`,
      })
    }
    await takeOver(path, current)
  }
  return holdLock(path, holder)
}

function holdLock(path: string, holder: LockHolder): EnvironmentLock {
  const ours = async () => {
    const current = await readHolder(path)
    return current?.pid === holder.pid && current.startedAt === holder.startedAt
  }
  const renewal = setInterval(() => {
    void (async () => {
      if (!(await ours())) return
      const temp = `${path}.${process.pid}.tmp`
      await writeFile(temp, JSON.stringify({...holder, renewedAt: new Date().toISOString()}), {mode: 0o600})
      await rename(temp, path)
    })().catch(() => {})
  }, RENEW_MS)
  renewal.unref()
  // Whatever way the process ends, the lock goes with it (a synchronous last chance), if still ours.
  const onExit = () => {
    try {
      const current = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>
      if (current.pid === holder.pid && current.startedAt === holder.startedAt) rmSync(path, {force: true})
    } catch {
      // gone, or not ours to judge
    }
  }
  process.once('exit', onExit)
  return {
    async release() {
      clearInterval(renewal)
      process.off('exit', onExit)
      if (await ours()) await rm(path, {force: true})
    },
  }
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined)
  return info === undefined || Date.now() - info.mtimeMs > ms
}
