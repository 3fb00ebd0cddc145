/**
 * The fixture charts (test/fixtures/charts) with the REAL helm 3 and helm 4: each lints and
 * renders the pattern it exists for, and its containers behave in the cluster simulator as the
 * commands say (the fixture-charts scenario fails exactly the ones that end in `exit 1`).
 */
import {cp} from 'node:fs/promises'
import {join} from 'node:path'

import type {V1Container, V1Deployment, V1Job, V1PodSpec} from '@kubernetes/client-node'
import {beforeAll, describe, it} from 'vitest'

import {readExistingAnswers, runInit} from '../../src/scaffold/init.js'
import {gatherAnswers} from '../../src/scaffold/questions.js'
import {noInputPrompter} from '../../src/ui/prompter.js'
import {REPO_ROOT, tempDir} from '../helpers/cli.js'
import {loadScenario} from '../sim/apiserver/index.js'
import {planContainer} from '../sim/apiserver/scenario.js'
import type {Pod} from '../sim/apiserver/types.js'
import {findObject, helms, lintChart, ofKind, renderChart, requireHelmBinaries, templateChart, type KubeObject} from './helm-chart.js'

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'charts')
const CHARTS = [
  'custom-secret',
  'strict-schema',
  'hook-failed',
  'upgrade-only-hook',
  'install-and-upgrade-hooks',
  'job-init-containers',
  'post-install-migration',
  'init-containers',
  'plain-job',
  'no-redis-password',
  'pre-delete-hook',
  'empty-storage-class',
]
const chart = (name: string) => join(FIXTURES, name)

function podSpec(workload: V1Deployment | V1Job): V1PodSpec {
  return workload.spec!.template.spec!
}

/** What the simulator's kubelet will do with this container under the fixture-charts scenario. */
function simulated(workload: V1Deployment | V1Job, container: V1Container, init = false): string {
  const spec = podSpec(workload)
  const pod = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'p', namespace: 'dev', labels: workload.spec!.template.metadata?.labels}, spec} as unknown as Pod
  return planContainer(loadScenario('fixture-charts'), {pod, container: container as never, init}).behavior
}

function envRef(container: V1Container, name: string) {
  return container.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef
}

beforeAll(() => requireHelmBinaries())

describe.concurrent.each(helms)('fixture charts with $name', (helm) => {
  it.for(CHARTS)('%s passes helm lint --strict', async (name, {expect}) => {
    const result = await lintChart(helm, {chart: chart(name)})
    expect(result.exitCode, result.stdout + result.stderr).toBe(0)
  })

  it('custom-secret reads a password and a URL from a Secret it names but does not create, already in its pre-install hook', async ({expect}) => {
    const objects = await renderChart(helm, {chart: chart('custom-secret')})
    expect(ofKind(objects, 'Secret')).toEqual([])
    const app = podSpec(findObject<V1Deployment>(objects, 'Deployment', 'rel-app')).containers[0]!
    expect(envRef(app, 'DB_PASSWORD')).toEqual({name: 'shop-db', key: 'db-password'})
    expect(envRef(app, 'DATABASE_URL')).toEqual({name: 'shop-db', key: 'connection'})
    expect(app.env?.find((e) => e.name === 'CACHE_ADDRESS')?.value).toBe('localhost:6379')
    const hook = findObject<V1Job>(objects, 'Job', 'rel-migrate')
    expect(hook.metadata?.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade')
    expect(envRef(podSpec(hook).containers[0]!, 'DATABASE_URL')).toEqual({name: 'shop-db', key: 'connection'})
  })

  it('strict-schema rejects a shared: block, and takes the values devctl init writes for it (anchors at first use)', async ({expect}) => {
    const rejected = await templateChart(helm, {chart: chart('strict-schema'), values: {shared: {database: {host: 'devctl-postgres'}}}})
    expect(rejected.exitCode).not.toBe(0)
    expect(rejected.stderr).toMatch(/shared/)
    expect(rejected.stderr).toMatch(/additional ?propert/i)

    const dir = await tempDir()
    await cp(chart('strict-schema'), join(dir, 'chart'), {recursive: true})
    const answers = await gatherAnswers({preset: 'bring-your-own', name: 'shop', chart: './chart', redis: false}, noInputPrompter(), {dir, existing: await readExistingAnswers(dir)})
    await runInit(answers, {dir, force: false, update: false})
    const objects = await renderChart(helm, {chart: join(dir, 'chart'), valuesFiles: [join(dir, 'values.dev.yaml')]})
    const app = podSpec(findObject<V1Deployment>(objects, 'Deployment', 'rel-app')).containers[0]!
    expect(Object.fromEntries((app.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]))).toEqual({
      DB_HOST: 'devctl-postgres',
      DB_PORT: '5432',
      DB_NAME: 'shop',
      DB_USER: 'shop',
    })
    expect(envRef(app, 'DB_PASSWORD')).toEqual({name: 'devctl-postgres', key: 'PGPASSWORD'})
  })

  it('hook-failed: a hook Job helm deletes when it fails; migration.fail=true makes it fail', async ({expect}) => {
    for (const fail of [false, true]) {
      const job = findObject<V1Job>(await renderChart(helm, {chart: chart('hook-failed'), values: {migration: {fail}}}), 'Job', 'rel-migrate')
      expect(job.metadata?.annotations).toMatchObject({'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded,hook-failed'})
      expect(job.spec?.backoffLimit).toBe(0)
      expect(simulated(job, podSpec(job).containers[0]!)).toBe(fail ? 'fail' : 'complete')
    }
  })

  it('upgrade-only-hook: its migration Job is a pre-upgrade hook only', async ({expect}) => {
    const objects = await renderChart(helm, {chart: chart('upgrade-only-hook')})
    expect(findObject<V1Job>(objects, 'Job', 'rel-migrate').metadata?.annotations?.['helm.sh/hook']).toBe('pre-upgrade')
    expect(simulated(findObject<V1Deployment>(objects, 'Deployment', 'rel-app'), podSpec(findObject<V1Deployment>(objects, 'Deployment', 'rel-app')).containers[0]!)).toBe('run')
  })

  it('install-and-upgrade-hooks: db-prepare on pre-install, db-pre-migrate on pre-upgrade, db-post-migrate after both, in that file order', async ({expect}) => {
    const jobs = ofKind<V1Job>(await renderChart(helm, {chart: chart('install-and-upgrade-hooks')}), 'Job')
    expect(jobs.map((job) => [job.metadata?.name, job.metadata?.annotations?.['helm.sh/hook']])).toEqual([
      ['rel-db-post-migrate', 'post-install,post-upgrade'],
      ['rel-db-pre-migrate', 'pre-upgrade'],
      ['rel-db-prepare', 'pre-install'],
    ])
    for (const job of jobs) expect(simulated(job, podSpec(job).containers[0]!)).toBe('complete')
  })

  it('job-init-containers: a hook Job migrating in its init containers under restartPolicy OnFailure; schema.fail=true fails the second', async ({expect}) => {
    for (const fail of [false, true]) {
      const job = findObject<V1Job>(await renderChart(helm, {chart: chart('job-init-containers'), values: {schema: {fail}}}), 'Job', 'rel-schema')
      expect(job.metadata?.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade')
      expect(podSpec(job).restartPolicy).toBe('OnFailure')
      const outcome = (podSpec(job).initContainers ?? []).map((container) => [container.name, simulated(job, container, true)])
      expect(outcome).toEqual([
        ['create-database', 'complete'],
        ['manage-schema', fail ? 'fail' : 'complete'],
      ])
      expect(simulated(job, podSpec(job).containers[0]!)).toBe('complete')
    }
  })

  it('post-install-migration: a post-install/post-upgrade hook Job with an init container waiting for Postgres; migration.fail=true makes it fail', async ({expect}) => {
    for (const fail of [false, true]) {
      const job = findObject<V1Job>(await renderChart(helm, {chart: chart('post-install-migration'), values: {migration: {fail}}}), 'Job', 'rel-migrate')
      expect(job.metadata?.annotations?.['helm.sh/hook']).toBe('post-install,post-upgrade')
      expect(job.spec?.backoffLimit).toBeUndefined()
      expect(simulated(job, podSpec(job).initContainers![0]!, true)).toBe('complete')
      expect(simulated(job, podSpec(job).containers[0]!)).toBe(fail ? 'fail' : 'complete')
    }
  })

  it("init-containers: api and worker each migrate in an init container; worker.migrationFails=true fails only the worker's", async ({expect}) => {
    for (const migrationFails of [false, true]) {
      const objects = await renderChart(helm, {chart: chart('init-containers'), values: {worker: {migrationFails}}})
      const outcome = Object.fromEntries(
        ['api', 'worker'].map((component) => {
          const deployment = findObject<V1Deployment>(objects, 'Deployment', `rel-${component}`)
          const [migrate] = podSpec(deployment).initContainers ?? []
          expect(migrate?.name).toBe('migrate')
          return [component, simulated(deployment, migrate!, true)]
        }),
      )
      expect(outcome).toEqual({api: 'complete', worker: migrationFails ? 'fail' : 'complete'})
    }
  })

  it('plain-job: a Job per revision without hook annotations; migration.fail=true makes it fail', async ({expect}) => {
    for (const fail of [false, true]) {
      const objects: KubeObject[] = await renderChart(helm, {chart: chart('plain-job'), values: {migration: {fail}}})
      const job = findObject<V1Job>(objects, 'Job', 'rel-migrate-1')
      expect(job.metadata?.annotations).toBeUndefined()
      expect(simulated(job, podSpec(job).containers[0]!)).toBe(fail ? 'fail' : 'complete')
    }
  })

  it('pre-delete-hook: a cleanup Job only on uninstall; cleanup.hang=true makes it never finish; a does-not-exist image cannot be pulled', async ({expect}) => {
    for (const hang of [false, true]) {
      const objects = await renderChart(helm, {chart: chart('pre-delete-hook'), values: {cleanup: {hang}}})
      const job = findObject<V1Job>(objects, 'Job', 'rel-cleanup')
      expect(job.metadata?.annotations?.['helm.sh/hook']).toBe('pre-delete')
      expect(simulated(job, podSpec(job).containers[0]!)).toBe(hang ? 'run' : 'complete')
    }
    const broken = findObject<V1Deployment>(await renderChart(helm, {chart: chart('pre-delete-hook'), values: {image: 'busybox:does-not-exist'}}), 'Deployment', 'rel-app')
    expect(simulated(broken, podSpec(broken).containers[0]!)).toBe('imagePullError')
  })

  it('empty-storage-class: its claim renders storageClassName empty unless persistence.storageClassName is given', async ({expect}) => {
    const claim = (objects: KubeObject[]) => findObject<{spec: {storageClassName?: string | null}}>(objects, 'PersistentVolumeClaim', 'rel-data').spec
    const empty = claim(await renderChart(helm, {chart: chart('empty-storage-class')}))
    expect('storageClassName' in empty && !empty.storageClassName).toBe(true)
    expect(claim(await renderChart(helm, {chart: chart('empty-storage-class'), values: {persistence: {storageClassName: 'local-path'}}})).storageClassName).toBe('local-path')
  })

  it('remote-schema-ref: its values.schema.json $ref cannot be fetched (a .invalid host), so it renders only with --skip-schema-validation', async ({expect}) => {
    const refused = await templateChart(helm, {chart: chart('remote-schema-ref')})
    expect(refused.exitCode).not.toBe(0)
    expect(refused.stderr).toMatch(/values don't meet the specifications of the schema/)
    expect(refused.stderr).toMatch(/"https:\/\/schemas\.devctl\.invalid\/[^"]+": (dial tcp|HTTP request failed)/)
    const skipped = await templateChart(helm, {chart: chart('remote-schema-ref'), extraArgs: ['--skip-schema-validation']})
    expect(skipped.exitCode, skipped.stderr).toBe(0)
  })

  it('missing-subchart: helm renders nothing while a declared dependency is missing, even a disabled one (not linted: it cannot pass)', async ({expect}) => {
    const refused = await templateChart(helm, {chart: chart('missing-subchart')})
    expect(refused.exitCode).not.toBe(0)
    expect(refused.stderr).toMatch(/found in Chart\.yaml, but missing in charts\/ directory: postgresql$/m)
  })

  it('no-redis-password: connects with a URL built from host and port only', async ({expect}) => {
    const objects = await renderChart(helm, {chart: chart('no-redis-password'), values: {redis: {host: 'devctl-redis', port: 6379}}})
    const app = podSpec(findObject<V1Deployment>(objects, 'Deployment', 'rel-app')).containers[0]!
    expect(app.env).toEqual([{name: 'REDIS_URL', value: 'redis://devctl-redis:6379/0'}])
  })
})
