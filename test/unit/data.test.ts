/**
 * The data commands' parts that need no cluster: the snapshot store (private files, checks,
 * nothing half-written), what a dump run in a pod reports, what `forward` forwards and where,
 * and the settings in devctl.yaml.
 */
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {Writable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {validateConfig} from '../../src/config/load.js'
import {parseYamlText} from '../../src/config/yaml-file.js'
import {readChecksummed} from '../../src/data/access.js'
import {forwardSpecs, podPort, podsBehind} from '../../src/data/forward.js'
import {automaticName, checkSnapshotName, SnapshotStore} from '../../src/data/snapshots.js'
import {ClusterError, FileConflictError, UsageError} from '../../src/errors.js'
import type {V1Pod, V1Service} from '../../src/kube/types.js'
import {snapshotsBeforeMigration} from '../../src/workflows/db.js'
import {tempDir} from '../helpers/cli.js'

const DUMP = Buffer.concat([Buffer.from('PGDMP'), Buffer.alloc(100_000, 7)])

function writes(data: Buffer, chunk = 4096) {
  return async (output: Writable) => {
    for (let offset = 0; offset < data.length; offset += chunk) {
      if (!output.write(data.subarray(offset, offset + chunk))) await new Promise((resolve) => output.once('drain', resolve))
    }
    return {}
  }
}

describe('snapshot store', () => {
  it('writes parts privately under temporary names and lists a snapshot only once its manifest is written', async () => {
    const store = new SnapshotStore(await tempDir())
    const writer = await store.begin('seeded', {replace: false})
    const part = await writer.part('postgres', writes(DUMP), () => {}, 'shop')
    expect(part).toMatchObject({service: 'postgres', file: 'seeded.postgres.dump', bytes: DUMP.length, database: 'shop'})
    expect(await store.list()).toEqual([])
    expect((await readdir(store.dir)).every((f) => f.startsWith('.') && f.endsWith('.tmp'))).toBe(true)
    const snapshot = await writer.commit({automatic: false, release: 'shop', revision: 4})
    expect(snapshot).toMatchObject({name: 'seeded', revision: 4, bytes: DUMP.length})
    expect((await readdir(store.dir)).sort()).toEqual(['seeded.json', 'seeded.postgres.dump'])
    expect((await stat(store.dir)).mode & 0o777).toBe(0o700)
    for (const file of await readdir(store.dir)) expect((await stat(join(store.dir, file))).mode & 0o777).toBe(0o600)
    expect(await readFile(join(store.dir, 'seeded.postgres.dump'))).toEqual(DUMP)
    expect((await store.list()).map((s) => s.name)).toEqual(['seeded'])
    await store.verify(snapshot, snapshot.parts[0]!)
  })

  it('refuses a damaged transfer (checksum from the pod differs), something that is not a dump, and leaves nothing of either', async () => {
    const store = new SnapshotStore(await tempDir())
    const damaged = await store.begin('damaged', {replace: false})
    await expect(
      damaged.part(
        'postgres',
        async (output) => ({...(await writes(DUMP)(output)), sha256AtSource: 'f'.repeat(64)}),
        () => {},
      ),
    ).rejects.toThrow(/arrived damaged: 100005 bytes/)
    await damaged.abandon()
    const wrong = await store.begin('wrong', {replace: false})
    await expect(wrong.part('redis', writes(Buffer.from('not an rdb file')), () => {})).rejects.toThrow(ClusterError)
    await wrong.abandon()
    expect(await readdir(store.dir)).toEqual([])
  })

  it("a dump that fails midway leaves no file; a killed devctl's leftovers are swept by the next snapshot", async () => {
    const stateDir = await tempDir()
    const store = new SnapshotStore(stateDir)
    const writer = await store.begin('broken', {replace: false})
    await expect(
      writer.part(
        'postgres',
        async (output) => {
          output.write(DUMP.subarray(0, 1000))
          throw new ClusterError('pg_dump failed')
        },
        () => {},
      ),
    ).rejects.toThrow('pg_dump failed')
    await writer.abandon()
    expect(await readdir(store.dir)).toEqual([])
    await writeFile(join(store.dir, '.left.postgres.dump.0000.tmp'), 'half')
    await store.begin('next', {replace: false})
    expect(await readdir(store.dir)).toEqual([])
  })

  it('refuses to overwrite a snapshot unless told to, says which exist when one is missing, and detects a damaged file', async () => {
    const store = new SnapshotStore(await tempDir())
    const writer = await store.begin('keep', {replace: false})
    await writer.part('postgres', writes(DUMP), () => {})
    const snapshot = await writer.commit({automatic: false, release: 'shop'})
    await expect(store.begin('keep', {replace: false})).rejects.toBeInstanceOf(FileConflictError)
    await store.begin('keep', {replace: true})
    await expect(store.get('gone')).rejects.toThrow(/no snapshot called "gone".*/)
    await expect(store.get('gone')).rejects.toMatchObject({hint: expect.stringContaining('Snapshots: keep')})
    await writeFile(join(store.dir, 'keep.postgres.dump'), Buffer.concat([DUMP.subarray(0, 10), Buffer.from('x')]))
    await expect(store.verify(snapshot, snapshot.parts[0]!)).rejects.toThrow(/is damaged/)
  })

  it('prunes automatic snapshots to the newest N and never touches named ones', async () => {
    const store = new SnapshotStore(await tempDir())
    for (const [name, automatic] of [
      ['a1', true],
      ['mine', false],
      ['a2', true],
      ['a3', true],
    ] as const) {
      const writer = await store.begin(name, {replace: false})
      await writer.part('postgres', writes(DUMP), () => {})
      await writer.commit({automatic, release: 'shop'})
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect((await store.prune(2)).map((s) => s.name)).toEqual(['a1'])
    expect((await store.list()).map((s) => s.name)).toEqual(['mine', 'a2', 'a3'])
    expect(await readdir(store.dir)).not.toContain('a1.postgres.dump')
  })

  it('takes names that are plain file names only', () => {
    expect(checkSnapshotName('before-demo_2.1')).toBe('before-demo_2.1')
    for (const bad of ['../x', '.hidden', 'a/b', '', 'x'.repeat(65), 'with space']) expect(() => checkSnapshotName(bad)).toThrow(UsageError)
    expect(automaticName(new Date('2025-01-31T14:25:01.123Z'))).toBe('auto-20250131-142501')
  })
})

describe("a dump's report from the pod", () => {
  it('separates its exit status and checksum from what the tool said', () => {
    const sha = 'a'.repeat(64)
    expect(readChecksummed(`pg_dump: warning: x\ndevctl-exit=0\ndevctl-sha256=${sha}  -\n`)).toEqual({exitCode: 0, sha256: sha, messages: 'pg_dump: warning: x\n'})
    expect(readChecksummed('pg_dump: error: connection refused\ndevctl-exit=1\n')).toMatchObject({exitCode: 1, messages: 'pg_dump: error: connection refused\n'})
    // The stream was cut before the script could say anything: a failure, not a success.
    expect(readChecksummed('')).toMatchObject({exitCode: 1})
  })
})

function service(name: string, ports: Array<{name?: string; port: number; targetPort?: number | string}>, release?: string): V1Service {
  return {metadata: {name, annotations: release ? {'meta.helm.sh/release-name': release} : {}}, spec: {selector: {app: name}, ports}}
}

function pod(name: string, app: string, options: {ready?: boolean; created?: string; ports?: Array<{name: string; containerPort: number}>; deleting?: boolean} = {}): V1Pod {
  return {
    metadata: {name, labels: {app}, creationTimestamp: options.created as never, ...(options.deleting ? {deletionTimestamp: new Date()} : {})},
    spec: {containers: [{name: 'main', ports: options.ports}]},
    status: {phase: 'Running', conditions: [{type: 'Ready', status: options.ready === false ? 'False' : 'True'}]},
  }
}

describe('forward', () => {
  it("forwards devctl's services first, then the release's, each port named, pinned ports taken from devctl.yaml", () => {
    const services = [
      service('shop-api', [{port: 80, targetPort: 'http'}], 'shop'),
      service(
        'shop-admin',
        [
          {name: 'web', port: 80},
          {name: 'metrics', port: 9090},
        ],
        'shop',
      ),
      service('someone-else', [{port: 80}], 'other'),
      service('devctl-postgres', [{port: 5432}]),
      service('devctl-redis', [{port: 6379}]),
    ]
    const specs = forwardSpecs(services, {release: 'shop', own: ['devctl-postgres', 'devctl-redis'], pinned: {postgres: 15432, 'shop-admin:metrics': 19090}})
    expect(specs.map((s) => [s.name, s.service, s.port, s.targetPort, s.localPort])).toEqual([
      ['postgres', 'devctl-postgres', 5432, 5432, 15432],
      ['redis', 'devctl-redis', 6379, 6379, undefined],
      ['shop-admin:metrics', 'shop-admin', 9090, 9090, 19090],
      ['shop-admin:web', 'shop-admin', 80, 80, undefined],
      ['shop-api', 'shop-api', 80, 'http', undefined],
    ])
  })

  it('sends connections to a ready pod that is not going away, the oldest first, on the port its name means', () => {
    const api = service('api', [{port: 80, targetPort: 'http'}])
    const pods = [
      pod('api-new', 'api', {created: '2025-01-02T00:00:00Z'}),
      pod('api-old', 'api', {created: '2025-01-01T00:00:00Z', deleting: true}),
      pod('api-starting', 'api', {ready: false}),
      pod('api-first', 'api', {created: '2025-01-01T12:00:00Z', ports: [{name: 'http', containerPort: 9898}]}),
      pod('web', 'web'),
    ]
    expect(podsBehind(api, pods).map((p) => p.metadata?.name)).toEqual(['api-first', 'api-new'])
    expect(podPort('http', pods[3]!)).toBe(9898)
    expect(podPort(8080, pods[3]!)).toBe(8080)
    expect(podPort('metrics', pods[3]!)).toBeUndefined()
  })
})

const parseConfig = (text: string) => ({config: validateConfig(parseYamlText('/p/devctl.yaml', text))})

describe('devctl.yaml', () => {
  const base = 'apiVersion: devctl.dev/v1\nproject: shop\napp:\n  chart: {path: ./chart}\n'

  it('takes forward.ports and snapshot settings, and refuses one local port pinned twice', () => {
    const config = parseConfig(`${base}forward:\n  ports: {postgres: 15432, shop-api: 8081}\nservices:\n  postgres: {snapshots: {keep: 3}}\n`).config
    expect(config.forward.ports).toEqual({postgres: 15432, 'shop-api': 8081})
    expect(config.services.postgres.snapshots).toEqual({keep: 3})
    expect(() => parseConfig(`${base}forward:\n  ports: {postgres: 15432, redis: 15432}\n`)).toThrow(/forward\.ports\.redis.*15432, which forward\.ports\.postgres uses already/s)
  })

  it("snapshots before a migration by default only for the Postgres devctl runs (an external one is not devctl's)", () => {
    const inCluster = parseConfig(base).config
    const external = parseConfig(`${base}services:\n  postgres: {external: {host: db.example.com, database: shop, user: shop, passwordEnv: SHOP_DB_PASSWORD}}\n`).config
    const externalOptedIn = parseConfig(
      `${base}services:\n  postgres: {snapshots: {beforeMigration: true}, external: {host: db.example.com, database: shop, user: shop, passwordEnv: SHOP_DB_PASSWORD}}\n`,
    ).config
    expect(snapshotsBeforeMigration({config: inCluster}, 'hook-job')).toBe(true)
    expect(snapshotsBeforeMigration({config: inCluster}, 'none')).toBe(false)
    expect(snapshotsBeforeMigration({config: external}, 'hook-job')).toBe(false)
    expect(snapshotsBeforeMigration({config: externalOptedIn}, 'job')).toBe(true)
  })
})
