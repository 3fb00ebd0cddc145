/**
 * The consent boundary of `upgrade`, against a fake cluster and a fake helm: the plan only
 * reads (nothing is applied before the user says yes, not even a credential Secret that went
 * missing), a declined or unchanged upgrade ends there with its own outcome, and applying
 * starts only after consent.
 */
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it, vi} from 'vitest'

import type {LoadedConfig} from '../../src/config/load.js'
import {ensureSecrets, neededPasswords} from '../../src/secrets/store.js'
import {credentialSecrets} from '../../src/services/manifests.js'
import {environmentIdentity, OWNER_KEY} from '../../src/state/identity.js'
import {lockEnvironment} from '../../src/state/lock.js'
import {createProject} from '../../src/workflows/project.js'
import {deployFingerprint} from '../../src/workflows/steps/render.js'
import {deployRequest} from '../../src/workflows/steps/request.js'
import {applyUpgrade, planUpgrade, skipUpgrade, type UpgradeOptions} from '../../src/workflows/upgrade.js'
import {FakeEnvironment, fakeProject} from './workflow-fake.js'

const fake = vi.hoisted((): {tools: unknown} => ({tools: undefined}))
vi.mock('../../src/workflows/project.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/workflows/project.js')>()
  return {...original, createProject: (...args: Parameters<typeof original.createProject>) => ({...original.createProject(...args), tools: fake.tools})}
})

/** What the chart renders: no workloads, so a deploy is done once helm is. */
const CHART = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo-settings}\ndata: {mode: dev}\n'

/**
 * An environment `up` left on a shared cluster, revision 1 deployed from devctl.yaml as it is,
 * then the devctl-redis Secret deleted by hand (the reproduction).
 */
async function deployedEnvironment(): Promise<{env: FakeEnvironment; loaded: LoadedConfig; namespace: string}> {
  const env = new FakeEnvironment()
  fake.tools = env.tools
  env.helm.manifests = CHART
  env.helm.defaults = {replicaCount: 1}
  const loaded = await fakeProject('app:\n  chart: {path: ./chart}\n  values: [values.dev.yaml]\ncluster: {provider: existing, context: team}\n')
  const project = createProject(loaded, env.kube.module())
  const {namespace, release} = project.names
  const identity = await environmentIdentity(project.stateDir, project.dir)
  const {secrets} = await ensureSecrets(project.dir, neededPasswords(project.config))
  env.kube.put('Namespace', {metadata: {name: namespace, annotations: {[OWNER_KEY]: identity.id}}})
  for (const secret of credentialSecrets(project.config, project.names, secrets)) if (secret.metadata?.name !== 'devctl-redis') env.kube.put('Secret', secret)
  env.kube.putRevision(namespace, release, 1, 'deployed', {fingerprint: await deployFingerprint(project, 3, deployRequest(project)), chart: {name: 'web', version: '0.1.0'}})
  env.helm.suppliedValues.set(1, {replicaCount: 1})
  return {env, loaded, namespace}
}

function upgradeOptions(set: Partial<UpgradeOptions> = {}): UpgradeOptions {
  return {set: {}, valuesFiles: [], rollback: true, ...set}
}

describe('upgrade asks before it changes anything', () => {
  it('plans by reading only: nothing is applied before consent, not even a missing Secret; declined is its own outcome', async () => {
    const {env, loaded, namespace} = await deployedEnvironment()
    const devctlYaml = await readFile(loaded.path, 'utf8')
    const options = upgradeOptions({set: {replicaCount: 3}})
    const prepared = await planUpgrade(loaded, options, env.controls())
    expect(prepared.plan).toMatchObject({changed: true, fromRevision: 1, values: [{path: 'replicaCount', before: 1, after: 3}], reinstall: false, keeps: ['app.set.replicaCount=3']})
    expect(env.kube.writes).toEqual([])
    expect(env.kube.find('Secret', namespace, 'devctl-redis')).toBeUndefined()
    expect(env.helm.calls).toEqual(['upgrade --dry-run'])
    expect(env.stepsStarted()).toEqual(['prerequisites', 'connect', 'plan'])

    const declined = await skipUpgrade(prepared, 'declined')
    expect(declined.outcome).toBe('declined')
    expect(declined.steps.map((step) => step.id)).toEqual(['prerequisites', 'connect', 'plan'])
    expect(env.kube.writes).toEqual([])
    expect(env.kube.revisions(namespace, 'demo')).toEqual(['1 deployed'])
    // The flags are kept in devctl.yaml only by an upgrade that happened.
    expect(await readFile(loaded.path, 'utf8')).toBe(devctlYaml)
    // The environment is free again.
    await (await lockEnvironment(join(loaded.dir, '.devctl'), 'test')).release()
  })

  it('applies only after consent: the namespace and its Secrets first (the missing one back), then helm; the flags are kept', async () => {
    const {env, loaded, namespace} = await deployedEnvironment()
    const options = upgradeOptions({set: {replicaCount: 3}})
    const prepared = await planUpgrade(loaded, options, env.controls())
    expect(env.kube.writes).toEqual([])

    const result = await applyUpgrade(prepared, options, env.controls())
    expect(result.outcome).toBe('upgraded')
    expect(env.kube.writes.slice(0, 4)).toEqual([
      `create Lease ${namespace}/devctl-lock`,
      `apply Namespace ${namespace}`,
      `apply Secret ${namespace}/devctl-postgres`,
      `apply Secret ${namespace}/devctl-redis`,
    ])
    expect(env.kube.find('Secret', namespace, 'devctl-redis')).toBeDefined()
    expect(env.helm.calls).toEqual(['upgrade --dry-run', 'upgrade --install demo'])
    expect(env.kube.revisions(namespace, 'demo')).toEqual(['1 superseded', '2 deployed'])
    expect(await readFile(loaded.path, 'utf8')).toMatch(/^ {4}replicaCount: 3$/m)
  })

  it('nothing changed: no render, nothing written, and the outcome says unchanged (not declined)', async () => {
    const {env, loaded} = await deployedEnvironment()
    const prepared = await planUpgrade(loaded, upgradeOptions(), env.controls())
    expect(prepared.plan).toMatchObject({changed: false, reason: 'nothing changed', values: []})
    expect((await skipUpgrade(prepared, 'unchanged')).outcome).toBe('unchanged')
    expect(env.helm.calls).toEqual([])
    expect(env.kube.writes).toEqual([])
  })

  it('--image-tag declined: the values file is as it was and the staged copy is gone', async () => {
    const {env, loaded} = await deployedEnvironment()
    const values = join(loaded.dir, 'values.dev.yaml')
    const original = 'shared:\n  image: {tag: &imageTag "1.0.0"}\nimage:\n  tag: *imageTag\n'
    await writeFile(values, original)
    env.helm.suppliedValues.set(1, {shared: {image: {tag: '1.0.0'}}, image: {tag: '1.0.0'}})
    const prepared = await planUpgrade(loaded, upgradeOptions({imageTag: '1.1.0'}), env.controls())
    const staged = join(loaded.dir, '.devctl', 'upgrade-values.dev.yaml')
    expect(await readFile(staged, 'utf8')).toContain('&imageTag "1.1.0"')
    expect(prepared.plan.values).toEqual([{path: 'image.tag', before: '1.0.0', after: '1.1.0'}])

    await skipUpgrade(prepared, 'declined')
    expect(await readFile(values, 'utf8')).toBe(original)
    await expect(readFile(staged, 'utf8')).rejects.toMatchObject({code: 'ENOENT'})
    expect(env.kube.writes).toEqual([])
  })
})
