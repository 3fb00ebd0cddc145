/** The migration runs' logs kept on disk, and how a Job's attempts read live. */
import {mkdtemp, readdir, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {lastMigrationLog, MIGRATION_LOGS_KEPT, openMigrationLog} from '../../src/chart/migration-log.js'
import {clearSecrets, registerSecret} from '../../src/secrets/redact.js'
import type {V1Job, V1Pod} from '../../src/kube/types.js'
import {attemptNote} from '../../src/workflows/steps/migration.js'

describe('migration logs on disk', () => {
  it('keeps every line of a run, masked, with what ran and how it ended; `last` is the newest run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devctl-migration-log-'))
    registerSecret('s3cr3t-password')
    const log = await openMigrationLog(dir, {migration: 'hook Job demo-migrate (pre-install)', revision: 3, startedAt: new Date('2025-01-31T14:00:00Z')})
    log.line('demo-migrate-x/migrate', 'connecting with s3cr3t-password')
    log.line('demo-migrate-x/migrate', 'ERROR: relation missing')
    await log.close('failed: BackoffLimitExceeded')
    clearSecrets()
    const last = await lastMigrationLog(dir)
    expect(last?.path).toBe(join(dir, 'migrations', '20250131T140000000Z-r3.log'))
    expect(last?.text).toBe(
      '# hook Job demo-migrate (pre-install), revision 3, started 2025-01-31T14:00:00.000Z\n' +
        'demo-migrate-x/migrate: connecting with ********\n' +
        'demo-migrate-x/migrate: ERROR: relation missing\n' +
        '# failed: BackoffLimitExceeded\n',
    )
  })

  it(`keeps the newest ${MIGRATION_LOGS_KEPT} runs, and leaves nothing for a run that did not happen`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devctl-migration-log-'))
    for (let revision = 1; revision <= MIGRATION_LOGS_KEPT + 3; revision++) {
      const log = await openMigrationLog(dir, {migration: 'Job migrate', revision, startedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, revision))})
      await log.close('ended')
    }
    const files = await readdir(join(dir, 'migrations'))
    expect(files).toHaveLength(MIGRATION_LOGS_KEPT)
    expect(files.sort()[0]).toMatch(/-r4\.log$/)
    const skipped = await openMigrationLog(dir, {migration: 'Job migrate', revision: 99, startedAt: new Date(Date.UTC(2026, 0, 1))})
    await skipped.discard()
    expect((await lastMigrationLog(dir))?.path).toMatch(/-r13\.log$/)
    expect(await readFile((await lastMigrationLog(dir))!.path, 'utf8')).toContain('# ended')
  })

  it('says when there is none', async () => {
    expect(await lastMigrationLog(await mkdtemp(join(tmpdir(), 'devctl-migration-log-')))).toBeUndefined()
  })
})

describe("a Job migration's attempts, live", () => {
  const job: V1Job = {metadata: {name: 'demo-migrate'}, spec: {backoffLimit: 2, template: {}}}
  const attempt = (name: string, created: string, phase: string, finishedAt?: string): V1Pod => ({
    metadata: {name, creationTimestamp: new Date(created)},
    spec: {containers: [{name: 'migrate'}]},
    status: {
      phase,
      containerStatuses: [
        {name: 'migrate', image: 'x', imageID: '', ready: false, restartCount: 0, state: finishedAt ? {terminated: {exitCode: 1, reason: 'Error', finishedAt: new Date(finishedAt)}} : {running: {}}},
      ],
    },
  })
  const now = Date.parse('2025-01-31T14:00:13Z')

  it('counts attempts against the backoffLimit and says when the next one comes', () => {
    expect(attemptNote(job, [], now)).toBe('Job demo-migrate: waiting for its first pod')
    expect(attemptNote(job, [attempt('a', '2025-01-31T14:00:00Z', 'Running')], now)).toBe('Job demo-migrate: attempt 1 of 3 running')
    expect(attemptNote(job, [attempt('a', '2025-01-31T14:00:00Z', 'Failed', '2025-01-31T14:00:03Z')], now)).toBe('Job demo-migrate: attempt 1 of 3 failed (exit code 1); next in ~1 s')
    const two = [attempt('a', '2025-01-31T14:00:00Z', 'Failed', '2025-01-31T14:00:01Z'), attempt('b', '2025-01-31T14:00:11Z', 'Failed', '2025-01-31T14:00:12Z')]
    expect(attemptNote(job, two, now)).toBe('Job demo-migrate: attempt 2 of 3 failed (exit code 1); next in ~19 s')
    expect(attemptNote(job, [...two, attempt('c', '2025-01-31T14:00:40Z', 'Running')], now)).toBe('Job demo-migrate: attempt 3 of 3 running (2 failed before)')
  })
})
