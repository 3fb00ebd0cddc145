/** One devctl at a time: the lock file's rules (stale holders, who holds it) and its behaviour on disk. */
import {spawn} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {EnvironmentBusyError} from '../../src/errors.js'
import {describeHolder, isStale, lockEnvironment, type LockHolder} from '../../src/state/lock.js'
import {leaseExpired} from '../../src/state/lease.js'
import {tempDir} from '../helpers/cli.js'

const now = Date.parse('2026-12-04T12:00:00Z')
const holder = (overrides: Partial<LockHolder> = {}): LockHolder => ({
  pid: 4242,
  host: 'laptop',
  user: 'ann',
  command: 'up',
  startedAt: new Date(now - 12_000).toISOString(),
  renewedAt: new Date(now - 5_000).toISOString(),
  ...overrides,
})

describe('the environment lock', () => {
  it('is stale when its process died on this machine, or when it was not renewed for a minute', () => {
    expect(isStale(holder(), now, 'laptop', () => true)).toBe(false)
    expect(isStale(holder(), now, 'laptop', () => false)).toBe(true)
    // Another machine's process cannot be looked at: only its renewals tell.
    expect(isStale(holder(), now, 'desktop', () => false)).toBe(false)
    expect(isStale(holder({renewedAt: new Date(now - 61_000).toISOString()}), now, 'desktop', () => true)).toBe(true)
  })

  it('says who holds it and since when', () => {
    expect(describeHolder(holder(), now)).toBe('`devctl up` (pid 4242, ann@laptop), started 12 s ago')
  })

  it('lets one holder in at a time, and is free again once released', async () => {
    const dir = await tempDir()
    const first = await lockEnvironment(dir, 'up')
    const second = await lockEnvironment(dir, 'down').catch((error: unknown) => error)
    expect(second).toBeInstanceOf(EnvironmentBusyError)
    expect((second as Error).message).toMatch(/^Another devctl is changing this environment: `devctl up` \(pid \d+, \S+@\S+\), started \d+ s ago\.$/)
    await first.release()
    const third = await lockEnvironment(dir, 'down')
    await third.release()
  })

  it('takes over a lock whose process is gone', async () => {
    const dir = await tempDir()
    // A process that has exited: its pid is free (or reused by something that is not devctl's holder).
    const child = spawn(process.execPath, ['-e', ''])
    const pid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)))
    await writeFile(join(dir, 'lock'), JSON.stringify(holder({pid, host: hostname(), renewedAt: new Date().toISOString()})))
    const lock = await lockEnvironment(dir, 'up')
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8'))).toMatchObject({pid: process.pid, command: 'up'})
    await lock.release()
  })
})

describe('the Lease on a shared cluster', () => {
  it('has expired once it was not renewed within its duration', () => {
    const lease = (renewed: number) => ({spec: {holderIdentity: 'ann@laptop pid 1: devctl up', leaseDurationSeconds: 60, renewTime: new Date(renewed)}})
    expect(leaseExpired(lease(now - 30_000), now)).toBe(false)
    expect(leaseExpired(lease(now - 61_000), now)).toBe(true)
    expect(leaseExpired({spec: {}}, now)).toBe(true)
  })
})
