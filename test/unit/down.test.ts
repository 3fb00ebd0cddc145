/**
 * `down`'s branches against a fake cluster and fake helm/k3d: what it deletes on a k3d cluster
 * and on an existing one, for a namespace this checkout created, took over (--adopt), found, or
 * another checkout owns; --keep-cluster, --keep-data, --delete-namespace, --purge.
 */
import {stat} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it, vi} from 'vitest'

import type {LoadedConfig} from '../../src/config/load.js'
import {environmentIdentity, OWNER_DIR_KEY, OWNER_KEY, recordAdoption, type EnvironmentIdentity} from '../../src/state/identity.js'
import {MANAGED_BY_LABEL} from '../../src/services/naming.js'
import {down, type DownOptions} from '../../src/workflows/down.js'
import {FakeEnvironment, fakeProject} from './workflow-fake.js'

const fake = vi.hoisted((): {tools: unknown} => ({tools: undefined}))
vi.mock('../../src/workflows/project.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/workflows/project.js')>()
  return {...original, createProject: (...args: Parameters<typeof original.createProject>) => ({...original.createProject(...args), tools: fake.tools})}
})

const OTHER = {[OWNER_KEY]: 'another-checkout-id', [OWNER_DIR_KEY]: '/home/ann/shop'}
const managed = {labels: {...MANAGED_BY_LABEL}}

interface Setup {
  env: FakeEnvironment
  loaded: LoadedConfig
  identity: EnvironmentIdentity
  namespace: string
}

/** A project whose environment is up: the release, Postgres with its Secret and volume, and the app's own Secret. */
async function environment(devctlYaml: string, namespaceMark: 'ours' | 'other' | 'adopted' | 'unmarked' = 'ours'): Promise<Setup> {
  const env = new FakeEnvironment()
  fake.tools = env.tools
  const loaded = await fakeProject(devctlYaml)
  let identity = await environmentIdentity(join(loaded.dir, '.devctl'), loaded.dir)
  const namespace = loaded.resolved.namespace
  if (namespaceMark === 'adopted') identity = await recordAdoption(join(loaded.dir, '.devctl'), identity, `namespace ${namespace}`, OTHER[OWNER_KEY])
  const annotations: Record<string, string> = {ours: {[OWNER_KEY]: identity.id}, other: OTHER, adopted: OTHER, unmarked: {}}[namespaceMark]
  const {kube} = env
  kube.put('Namespace', {metadata: {name: namespace, annotations}})
  kube.putRevision(namespace, 'demo', 1, 'deployed')
  kube.put('StatefulSet', {metadata: {name: 'devctl-postgres', namespace, ...managed}})
  kube.put('Service', {metadata: {name: 'devctl-postgres', namespace, ...managed}})
  kube.put('Secret', {metadata: {name: 'devctl-postgres', namespace, ...managed}})
  kube.put('PersistentVolumeClaim', {metadata: {name: 'data-devctl-postgres-0', namespace, ...managed}})
  kube.put('Secret', {metadata: {name: 'app-settings', namespace}})
  return {env, loaded, identity, namespace}
}

const K3D = 'app:\n  chart: {path: ./chart}\n  values: [values.dev.yaml]\n'
const EXISTING = `${K3D}cluster: {provider: existing, context: team}\n`

function options(set: Partial<DownOptions> = {}): DownOptions {
  return {keepCluster: false, keepData: false, purge: false, deleteNamespace: false, ...set}
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

describe('down on a k3d cluster', () => {
  async function k3d(cluster: {running: boolean; owner: 'ours' | 'other' | 'adopted'} | undefined, namespaceMark: 'ours' | 'other' | 'adopted' = 'ours'): Promise<Setup> {
    const setup = await environment(K3D, namespaceMark)
    let {identity} = setup
    if (cluster?.owner === 'adopted') identity = await recordAdoption(join(setup.loaded.dir, '.devctl'), identity, 'cluster demo', OTHER[OWNER_KEY])
    if (cluster) setup.env.k3d.clusters.set('demo', {running: cluster.running, labels: cluster.owner === 'ours' ? {[OWNER_KEY]: identity.id} : OTHER})
    return {...setup, identity}
  }

  it("deletes this checkout's cluster after uninstalling the release: everything in it goes with it, and its kubeconfig", async () => {
    const {env, loaded} = await k3d({running: true, owner: 'ours'})
    const result = await down(loaded, options(), env.controls())
    expect(env.helm.calls).toEqual(['uninstall demo'])
    expect(env.k3d.calls).toEqual(['delete demo'])
    // Nothing deleted object by object: the cluster takes it all.
    expect(env.kube.writes).toEqual([])
    expect(await exists(join(loaded.dir, '.devctl', 'kubeconfig'))).toBe(false)
    expect(result.removed).toEqual(['release demo', 'k3d cluster demo and everything in it: the Postgres and Redis data (`devctl down --keep-data` keeps it)'])
    expect(result.target).toEqual({context: 'k3d-demo', namespace: 'demo', cluster: 'demo'})
  })

  it("--keep-cluster: removes devctl's objects (not the app's) and the namespace it created; the cluster stays", async () => {
    const {env, loaded} = await k3d({running: true, owner: 'ours'})
    const result = await down(loaded, options({keepCluster: true}), env.controls())
    expect(env.helm.calls).toEqual(['uninstall demo'])
    expect(env.k3d.calls).toEqual([])
    expect(env.kube.writes).toEqual([
      'delete StatefulSet demo/devctl-postgres',
      'delete Service demo/devctl-postgres',
      'delete Secret demo/devctl-postgres',
      'delete PersistentVolumeClaim demo/data-devctl-postgres-0',
      'delete Namespace demo',
    ])
    expect(result.kept).toEqual(['cluster demo (--keep-cluster)'])
  })

  it('--keep-data: keeps the volume and the passwords it needs, and the namespace; stops the cluster instead of deleting it', async () => {
    const {env, loaded} = await k3d({running: true, owner: 'ours'})
    const result = await down(loaded, options({keepData: true}), env.controls())
    expect(env.helm.calls).toEqual(['uninstall demo'])
    expect(env.kube.writes).toEqual(['delete StatefulSet demo/devctl-postgres', 'delete Service demo/devctl-postgres'])
    expect(env.kube.names('Secret', 'demo').sort()).toEqual(['app-settings', 'devctl-postgres'])
    expect(env.kube.find('Namespace', undefined, 'demo')).toBeDefined()
    expect(env.k3d.calls).toEqual(['stop demo'])
    expect(result.kept).toEqual(['volume data-devctl-postgres-0 (--keep-data)'])
    expect(result.removed).toContain('running cluster demo (stopped; `devctl up` starts it with the data)')
  })

  it('a stopped cluster: deleted without helm (its hooks would need it running), or with --keep-data left as it is', async () => {
    const stopped = await k3d({running: false, owner: 'ours'})
    await down(stopped.loaded, options(), stopped.env.controls())
    expect(stopped.env.helm.calls).toEqual([])
    expect(stopped.env.k3d.calls).toEqual(['delete demo'])

    const kept = await k3d({running: false, owner: 'ours'})
    const result = await down(kept.loaded, options({keepData: true}), kept.env.controls())
    expect([...kept.env.helm.calls, ...kept.env.k3d.calls, ...kept.env.kube.writes]).toEqual([])
    expect(result.kept).toEqual(['cluster demo (stopped; its data is kept)'])
  })

  it('no cluster: nothing to do, and it says so', async () => {
    const {env, loaded} = await k3d(undefined)
    const result = await down(loaded, options(), env.controls())
    expect([...env.helm.calls, ...env.k3d.calls, ...env.kube.writes]).toEqual([])
    expect(result).toMatchObject({removed: [], kept: ['cluster demo (there was none)']})
  })

  it("another checkout's cluster: nothing in it is touched, not its release nor its data", async () => {
    const {env, loaded} = await k3d({running: true, owner: 'other'}, 'other')
    const result = await down(loaded, options(), env.controls())
    expect([...env.helm.calls, ...env.k3d.calls, ...env.kube.writes]).toEqual([])
    expect(env.kube.revisions('demo', 'demo')).toEqual(['1 deployed'])
    expect(result.kept).toEqual(['cluster demo (it belongs to another checkout of devctl (created from /home/ann/shop); devctl changed nothing in it)'])
  })

  it('a cluster taken over with --adopt: what was deployed from here is removed, the cluster and its namespace are never deleted', async () => {
    const {env, loaded} = await k3d({running: true, owner: 'adopted'}, 'adopted')
    const result = await down(loaded, options(), env.controls())
    expect(env.helm.calls).toEqual(['uninstall demo'])
    expect(env.k3d.calls).toEqual([])
    expect(env.kube.writes).not.toContain('delete Namespace demo')
    expect(env.kube.writes).toContain('delete PersistentVolumeClaim demo/data-devctl-postgres-0')
    expect(result.kept).toEqual([
      'namespace demo (it belongs to another checkout (/home/ann/shop), taken over here with --adopt; --delete-namespace deletes it, asking first)',
      'cluster demo (it belongs to another checkout (/home/ann/shop), taken over here with --adopt)',
    ])
  })
})

describe('down on an existing cluster', () => {
  it("never touches k3d; holds the namespace's Lease; deletes the namespace this checkout created", async () => {
    const {env, loaded, namespace} = await environment(EXISTING)
    const result = await down(loaded, options(), env.controls())
    expect(env.k3d.calls).toEqual([])
    expect(env.helm.calls).toEqual(['uninstall demo'])
    expect(env.kube.writes[0]).toBe(`create Lease ${namespace}/devctl-lock`)
    expect(env.kube.writes).toContain(`delete Namespace ${namespace}`)
    expect(result.target).toEqual({context: 'team', namespace})
  })

  it('a namespace taken over with --adopt: its release and devctl objects go, the namespace stays', async () => {
    const {env, loaded, namespace} = await environment(EXISTING, 'adopted')
    const result = await down(loaded, options(), env.controls())
    expect(env.helm.calls).toEqual(['uninstall demo'])
    expect(env.kube.writes).toContain(`delete Secret ${namespace}/devctl-postgres`)
    expect(env.kube.writes).not.toContain(`delete Namespace ${namespace}`)
    expect(result.kept).toEqual([`namespace ${namespace} (it belongs to another checkout (/home/ann/shop), taken over here with --adopt; --delete-namespace deletes it, asking first)`])
  })

  it('a namespace devctl did not create: its devctl objects go; the namespace only with --delete-namespace and a yes', async () => {
    const unasked = await environment(EXISTING, 'unmarked')
    await down(unasked.loaded, options(), unasked.env.controls())
    expect(unasked.env.questions).toEqual([])
    expect(unasked.env.kube.writes).toContain(`delete Secret ${unasked.namespace}/devctl-postgres`)
    expect(unasked.env.kube.find('Namespace', undefined, unasked.namespace)).toBeDefined()
    expect(unasked.env.kube.find('Secret', unasked.namespace, 'app-settings')).toBeDefined()

    const declined = await environment(EXISTING, 'unmarked')
    const kept = await down(declined.loaded, options({deleteNamespace: true}), declined.env.controls())
    expect(declined.env.questions).toEqual([
      `Delete namespace ${declined.namespace}, which belongs to something other than devctl (or a devctl older than its ownership marks), with everything in it?`,
    ])
    expect(declined.env.kube.find('Namespace', undefined, declined.namespace)).toBeDefined()
    expect(kept.kept[0]).toMatch(/--delete-namespace deletes it, asking first\)$/)

    const agreed = await environment(EXISTING, 'unmarked')
    agreed.env.answers.push(true)
    const removed = await down(agreed.loaded, options({deleteNamespace: true}), agreed.env.controls())
    expect(agreed.env.kube.find('Namespace', undefined, agreed.namespace)).toBeUndefined()
    expect(removed.removed).toContain(`namespace ${agreed.namespace}`)
  })

  it("another checkout's namespace: nothing of it is removed, unless --delete-namespace and a yes delete it whole", async () => {
    const untouched = await environment(EXISTING, 'other')
    const result = await down(untouched.loaded, options(), untouched.env.controls())
    expect(untouched.env.helm.calls).toEqual([])
    expect(untouched.env.kube.writes.filter((write) => !write.includes('Lease'))).toEqual([])
    expect(result.kept).toEqual([`namespace ${untouched.namespace} (it belongs to another checkout of devctl (created from /home/ann/shop); --delete-namespace deletes it, asking first)`])

    const agreed = await environment(EXISTING, 'other')
    agreed.env.answers.push(true)
    await down(agreed.loaded, options({deleteNamespace: true}), agreed.env.controls())
    expect(agreed.env.helm.calls).toEqual([])
    expect(agreed.env.kube.find('Namespace', undefined, agreed.namespace)).toBeUndefined()
  })

  it('an account that may not read namespaces: devctl objects removed, the namespace left and said why', async () => {
    const {env, loaded, namespace} = await environment(EXISTING)
    env.kube.forbidden.add('Namespace')
    const result = await down(loaded, options(), env.controls())
    expect(env.kube.writes).toContain(`delete Secret ${namespace}/devctl-postgres`)
    expect(env.kube.writes).not.toContain(`delete Namespace ${namespace}`)
    expect(result.kept).toEqual([`namespace ${namespace} (this account may not read or delete namespaces)`])
  })
})

describe('down --purge', () => {
  it('removes .devctl/ (passwords, identity, kubeconfig) only when asked', async () => {
    const kept = await environment(EXISTING)
    await down(kept.loaded, options(), kept.env.controls())
    expect(await exists(join(kept.loaded.dir, '.devctl'))).toBe(true)

    const purged = await environment(EXISTING)
    const result = await down(purged.loaded, options({purge: true}), purged.env.controls())
    expect(await exists(join(purged.loaded.dir, '.devctl'))).toBe(false)
    expect(result.removed.at(-1)).toBe('.devctl/ (generated passwords and local state)')
  })
})
