import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {V1ConfigMap, V1Container, V1Deployment, V1Ingress, V1Job, V1PodDisruptionBudget, V1Service, V2HorizontalPodAutoscaler} from '@kubernetes/client-node'
import {beforeAll, describe, expect, it} from 'vitest'

import {chartDir, findObject, fixturesDir, hasObject, helms, lintChart, ofKind, renderChart, requireHelmBinaries, run, templateChart, type KubeObject} from './helm-chart.js'

// Release `rel` gives the fullname `rel-web-worker`.
const api = 'rel-web-worker'
const worker = 'rel-web-worker-worker'
const migrationJob = 'rel-web-worker-migrate'
const migrationsConfigMap = 'rel-web-worker-migrations'
const devctlValues = join(fixturesDir, 'devctl-values.yaml')
const twoSecrets = {envFromSecrets: [{secretName: 'devctl-postgres'}, {secretName: 'devctl-redis'}]}
const initContainerMode = {migrations: {enabled: true, hookEnabled: false}}

function podSpecOf(workload: V1Deployment | V1Job) {
  const spec = workload.spec?.template.spec
  if (!spec) throw new Error(`${workload.metadata?.name} has no pod spec`)
  return spec
}

function containerOf(workload: V1Deployment | V1Job, name: string, where: 'containers' | 'initContainers' = 'containers'): V1Container {
  const container = (podSpecOf(workload)[where] ?? []).find((c) => c.name === name)
  if (!container) throw new Error(`${workload.metadata?.name} has no ${where} entry named ${name}`)
  return container
}

function envOf(container: V1Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]))
}

/** Whether a label selector picks pods with these labels. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value)
}

function podLabelsOf(workload: V1Deployment | V1Job): Record<string, string> | undefined {
  return workload.spec?.template.metadata?.labels
}

/** The three containers that run the team's code or schema: API, worker and hook migration. */
function workloadContainers(objects: KubeObject[]): V1Container[] {
  return [
    containerOf(findObject<V1Deployment>(objects, 'Deployment', api), 'api'),
    containerOf(findObject<V1Deployment>(objects, 'Deployment', worker), 'worker'),
    containerOf(findObject<V1Job>(objects, 'Job', migrationJob), 'migrate'),
  ]
}

/** A NetworkPolicy as YAML spells it (client-node's model renames `from` to `_from`). */
interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: {matchLabels?: Record<string, string>}
    policyTypes: string[]
    ingress: Array<{from: Array<{namespaceSelector?: {matchLabels?: Record<string, string>}}>; ports: unknown[]}>
    egress: Array<{ports: Array<{port: number; protocol: string}>}>
  }
}

function hookWeight(object: KubeObject): number {
  return Number(object.metadata.annotations?.['helm.sh/hook-weight'])
}

beforeAll(() => requireHelmBinaries())

describe.concurrent.each(helms)('web-worker chart with $name', (helm) => {
  it('passes helm lint --strict with the defaults and with devctl-shaped values', async ({expect}) => {
    for (const options of [{}, {valuesFiles: [devctlValues]}]) {
      const result = await lintChart(helm, options)
      expect(result.exitCode, result.stdout + result.stderr).toBe(0)
      expect(result.stdout).toContain('0 chart(s) failed')
    }
  })

  it('renders the API, worker and hook migration by default, and nothing optional', async ({expect}) => {
    const objects = await renderChart(helm)
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      `ConfigMap/${migrationsConfigMap}`,
      `ConfigMap/${worker}`,
      `Deployment/${api}`,
      `Deployment/${worker}`,
      `Job/${migrationJob}`,
      `Service/${api}`,
      `ServiceAccount/${api}`,
    ])
  })

  it('runs podinfo as non-root on the http port with startup, liveness and readiness probes', async ({expect}) => {
    const deployment = findObject<V1Deployment>(await renderChart(helm), 'Deployment', api)
    const container = containerOf(deployment, 'api')
    expect(container.image).toBe('ghcr.io/stefanprodan/podinfo:6.7.1')
    expect(container.args).toEqual(['--port=9898', '--level=info', '--cache-server=$(REDIS_URL)'])
    expect(container.ports).toEqual([{name: 'http', containerPort: 9898, protocol: 'TCP'}])
    expect(container.startupProbe).toEqual({httpGet: {path: '/healthz', port: 'http'}, periodSeconds: 2, failureThreshold: 30})
    expect(container.livenessProbe?.httpGet).toEqual({path: '/healthz', port: 'http'})
    expect(container.readinessProbe?.httpGet).toEqual({path: '/readyz', port: 'http'})
    expect(container.resources?.requests).toEqual({cpu: '25m', memory: '32Mi'})
    expect(podSpecOf(deployment).securityContext).toMatchObject({runAsNonRoot: true, runAsUser: 1000})
    expect(deployment.spec?.replicas).toBe(1)
  })

  it('sends the Service to the API pods only, never to the worker', async ({expect}) => {
    const objects = await renderChart(helm)
    const service = findObject<V1Service>(objects, 'Service', api)
    expect(service.spec?.type).toBe('ClusterIP')
    expect(service.spec?.ports).toEqual([{name: 'http', port: 80, targetPort: 'http', protocol: 'TCP'}])
    const apiDeployment = findObject<V1Deployment>(objects, 'Deployment', api)
    const workerDeployment = findObject<V1Deployment>(objects, 'Deployment', worker)
    expect(selects(service.spec?.selector, podLabelsOf(apiDeployment))).toBe(true)
    expect(selects(service.spec?.selector, podLabelsOf(workerDeployment))).toBe(false)
    expect(selects(apiDeployment.spec?.selector.matchLabels, podLabelsOf(workerDeployment))).toBe(false)
  })

  it('adds an Ingress for each host when ingress is on', async ({expect}) => {
    const ingressValues = {ingress: {enabled: true, hosts: [{host: 'shop.localhost', paths: [{path: '/', pathType: 'Prefix'}]}]}}
    const ingress = findObject<V1Ingress>(await renderChart(helm, {values: ingressValues}), 'Ingress', api)
    expect(ingress.spec?.ingressClassName).toBe('traefik')
    expect(ingress.spec?.rules).toEqual([
      {
        host: 'shop.localhost',
        http: {paths: [{path: '/', pathType: 'Prefix', backend: {service: {name: api, port: {name: 'http'}}}}]},
      },
    ])
  })

  it('runs the worker from the official redis image with its script, and drops it when off', async ({expect}) => {
    const objects = await renderChart(helm, {values: {worker: {queue: 'shop:jobs'}}})
    const deployment = findObject<V1Deployment>(objects, 'Deployment', worker)
    const container = containerOf(deployment, 'worker')
    expect(container.image).toBe('redis:7.4-alpine')
    expect(container.command).toEqual(['/bin/sh', '/scripts/worker.sh'])
    expect(container.ports).toBeUndefined()
    expect(envOf(container)).toMatchObject({WORKER_QUEUE: 'shop:jobs', WORKER_HEARTBEAT_SECONDS: '30'})
    expect(podSpecOf(deployment).securityContext).toMatchObject({runAsNonRoot: true, runAsUser: 999})
    const script = findObject<V1ConfigMap>(objects, 'ConfigMap', worker)
    expect(script.data?.['worker.sh']).toBe(await readFile(join(chartDir, 'files', 'worker.sh'), 'utf8'))
    expect(podSpecOf(deployment).volumes).toContainEqual({name: 'scripts', configMap: {name: worker}})

    const withoutWorker = await renderChart(helm, {values: {worker: {enabled: false}}})
    expect(hasObject(withoutWorker, 'Deployment', worker)).toBe(false)
    expect(hasObject(withoutWorker, 'ConfigMap', worker)).toBe(false)
  })

  it('adds an autoscaling/v2 HPA and leaves replicas to it when autoscaling is on', async ({expect}) => {
    const objects = await renderChart(helm, {values: {autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 4}}})
    const hpa = findObject<V2HorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler', api)
    expect(hpa.apiVersion).toBe('autoscaling/v2')
    expect(hpa.spec?.scaleTargetRef).toEqual({apiVersion: 'apps/v1', kind: 'Deployment', name: api})
    expect(hpa.spec?.minReplicas).toBe(2)
    expect(hpa.spec?.maxReplicas).toBe(4)
    expect(hpa.spec?.metrics?.[0]?.resource?.target).toEqual({type: 'Utilization', averageUtilization: 80})
    expect(findObject<V1Deployment>(objects, 'Deployment', api).spec).not.toHaveProperty('replicas')
  })

  it('adds a PodDisruptionBudget over the API pods only above one replica', async ({expect}) => {
    expect(hasObject(await renderChart(helm, {values: {replicaCount: 1}}), 'PodDisruptionBudget', api)).toBe(false)

    const objects = await renderChart(helm, {values: {replicaCount: 2}})
    const pdb = findObject<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget', api)
    expect(pdb.apiVersion).toBe('policy/v1')
    expect(pdb.spec?.minAvailable).toBe(1)
    expect(selects(pdb.spec?.selector?.matchLabels, podLabelsOf(findObject<V1Deployment>(objects, 'Deployment', api)))).toBe(true)
    expect(selects(pdb.spec?.selector?.matchLabels, podLabelsOf(findObject<V1Deployment>(objects, 'Deployment', worker)))).toBe(false)
    expect(findObject<V1Deployment>(objects, 'Deployment', api).spec?.replicas).toBe(2)
  })

  it('adds a NetworkPolicy over every pod of the release when enabled', async ({expect}) => {
    expect(ofKind(await renderChart(helm), 'NetworkPolicy')).toEqual([])

    const objects = await renderChart(helm, {values: {networkPolicy: {enabled: true, ingressNamespace: 'traefik'}}})
    const policy = findObject<NetworkPolicy>(objects, 'NetworkPolicy', api)
    const podSelector = policy.spec.podSelector.matchLabels
    for (const workload of [findObject<V1Deployment>(objects, 'Deployment', api), findObject<V1Deployment>(objects, 'Deployment', worker), findObject<V1Job>(objects, 'Job', migrationJob)]) {
      expect(selects(podSelector, podLabelsOf(workload)), workload.metadata?.name).toBe(true)
    }
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress'])
    const [fromPeers] = policy.spec.ingress
    expect(fromPeers?.from?.map((peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'])).toEqual(['traefik', 'monitoring'])
    expect(fromPeers?.ports).toEqual([{port: 9898, protocol: 'TCP'}])
    const egressPorts = policy.spec.egress.flatMap((rule) => rule.ports).map((p) => `${p.port}/${p.protocol}`)
    expect(egressPorts.sort()).toEqual(['53/TCP', '53/UDP', '5432/TCP', '6379/TCP'])
  })

  it('runs the migration as a pre-install/pre-upgrade hook Job after its SQL ConfigMap hook', async ({expect}) => {
    const extraSql = {'003_add_priority.sql': 'ALTER TABLE jobs ADD COLUMN IF NOT EXISTS priority int NOT NULL DEFAULT 0;\n'}
    const objects = await renderChart(helm, {values: {migrations: {backoffLimit: 4, sql: extraSql}}})
    const job = findObject<V1Job>(objects, 'Job', migrationJob)
    const configMap = findObject<V1ConfigMap>(objects, 'ConfigMap', migrationsConfigMap)
    expect(job.metadata?.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '-5',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    })
    expect(configMap.metadata?.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    })
    expect(hookWeight(configMap as KubeObject)).toBeLessThan(hookWeight(job as KubeObject))
    expect(job.spec?.backoffLimit).toBe(4)
    const podSpec = podSpecOf(job)
    expect(podSpec.restartPolicy).toBe('Never')
    // The chart's ServiceAccount is not created yet when pre-install hooks run.
    expect(podSpec.serviceAccountName).toBeUndefined()
    const container = containerOf(job, 'migrate')
    expect(container.image).toBe('postgres:16-alpine')
    expect(container.command).toEqual(['/bin/sh', '/migrations/migrate.sh'])
    expect(podSpec.volumes).toEqual([{name: 'migrations', configMap: {name: migrationsConfigMap}}])
    expect(container.volumeMounts).toEqual([{name: 'migrations', mountPath: '/migrations', readOnly: true}])
    expect(Object.keys(configMap.data ?? {}).sort()).toEqual(['001_create_jobs.sql', '002_index_jobs_status.sql', '003_add_priority.sql', 'migrate.sh'])
    expect(configMap.data?.['003_add_priority.sql']).toBe(extraSql['003_add_priority.sql'])
    expect(configMap.data?.['migrate.sh']).toBe(await readFile(join(chartDir, 'files', 'migrate.sh'), 'utf8'))
  })

  it('gives API, worker and migration ONE envFrom list with every secret, and the plain env', async ({expect}) => {
    const objects = await renderChart(helm, {values: {...twoSecrets, env: {REDIS_HOST: 'devctl-redis', REDIS_PORT: 6379}}})
    const expectedEnvFrom = [{secretRef: {name: 'devctl-postgres'}}, {secretRef: {name: 'devctl-redis'}}]
    for (const container of workloadContainers(objects)) {
      expect(container.envFrom, container.name).toEqual(expectedEnvFrom)
      expect(envOf(container), container.name).toMatchObject({REDIS_HOST: 'devctl-redis', REDIS_PORT: '6379'})
    }

    const initContainer = containerOf(findObject<V1Deployment>(await renderChart(helm, {values: {...twoSecrets, ...initContainerMode}}), 'Deployment', api), 'migrate', 'initContainers')
    expect(initContainer.envFrom).toEqual(expectedEnvFrom)
  })

  it('lets podinfo build its Redis URL from the password Secret and the plain env', async ({expect}) => {
    const cacheServer = 'redis://:$(REDIS_PASSWORD)@$(REDIS_HOST):$(REDIS_PORT)'
    const container = containerOf(findObject<V1Deployment>(await renderChart(helm, {values: {cacheServer}}), 'Deployment', api), 'api')
    expect(container.args).toContain(`--cache-server=${cacheServer}`)
    const withoutCache = containerOf(findObject<V1Deployment>(await renderChart(helm, {values: {cacheServer: ''}}), 'Deployment', api), 'api')
    expect(withoutCache.args).toEqual(['--port=9898', '--level=info'])
  })

  it('renders no envFrom or env at all when there is nothing to give', async ({expect}) => {
    const apiContainer = containerOf(findObject<V1Deployment>(await renderChart(helm), 'Deployment', api), 'api')
    expect(apiContainer).not.toHaveProperty('envFrom')
    expect(apiContainer).not.toHaveProperty('env')
  })

  it('gives the migration libpq variables from the plain DATABASE_* env', async ({expect}) => {
    const env = {DATABASE_HOST: 'pg.dev', DATABASE_PORT: 5433, DATABASE_NAME: 'shop', DATABASE_USER: 'shop'}
    const job = findObject<V1Job>(await renderChart(helm, {values: {env, migrations: {waitSeconds: 90}}}), 'Job', migrationJob)
    expect(envOf(containerOf(job, 'migrate'))).toMatchObject({
      PGHOST: 'pg.dev',
      PGPORT: '5433',
      PGDATABASE: 'shop',
      PGUSER: 'shop',
      MIGRATIONS_DIR: '/migrations',
      MIGRATIONS_WAIT_SECONDS: '90',
    })
  })

  it('moves the migration into a `migrate` init container of the API when the hook is off', async ({expect}) => {
    const objects = await renderChart(helm, {values: initContainerMode})
    expect(hasObject(objects, 'Job', migrationJob)).toBe(false)
    const deployment = findObject<V1Deployment>(objects, 'Deployment', api)
    expect(podSpecOf(deployment).initContainers?.map((c) => c.name)).toEqual(['migrate'])
    expect(containerOf(deployment, 'migrate', 'initContainers').command).toEqual(['/bin/sh', '/migrations/migrate.sh'])
    expect(podSpecOf(deployment).volumes).toContainEqual({name: 'migrations', configMap: {name: migrationsConfigMap}})
    // An ordinary release resource now, and its content rolls the pods.
    const configMap = findObject<V1ConfigMap>(objects, 'ConfigMap', migrationsConfigMap)
    expect(configMap.metadata?.annotations).toBeUndefined()
    expect(deployment.spec?.template.metadata?.annotations?.['checksum/migrations']).toMatch(/^[0-9a-f]{64}$/)
  })

  it('runs the migration once, as the hook Job, when both toggles are on, and not at all when both are off', async ({expect}) => {
    const both = await renderChart(helm, {values: {migrations: {enabled: true, hookEnabled: true}}})
    expect(hasObject(both, 'Job', migrationJob)).toBe(true)
    expect(podSpecOf(findObject<V1Deployment>(both, 'Deployment', api)).initContainers).toBeUndefined()

    const neither = await renderChart(helm, {values: {migrations: {enabled: false, hookEnabled: false}}})
    expect(hasObject(neither, 'Job', migrationJob)).toBe(false)
    expect(hasObject(neither, 'ConfigMap', migrationsConfigMap)).toBe(false)
    expect(podSpecOf(findObject<V1Deployment>(neither, 'Deployment', api)).initContainers).toBeUndefined()
  })

  it('renders the values file devctl writes, with every alias landing where it points', async ({expect}) => {
    const objects = await renderChart(helm, {valuesFiles: [devctlValues]})
    const apiContainer = containerOf(findObject<V1Deployment>(objects, 'Deployment', api), 'api')
    expect(apiContainer.image).toBe('ghcr.io/stefanprodan/podinfo:6.7.0')
    expect(apiContainer.args).toContain('--level=debug')
    for (const container of workloadContainers(objects)) {
      expect(envOf(container), container.name).toMatchObject({
        LOG_LEVEL: 'debug',
        DATABASE_HOST: 'devctl-postgres.devctl.svc.cluster.local',
        DATABASE_PORT: '5432',
        REDIS_HOST: 'devctl-redis.devctl.svc.cluster.local',
        REDIS_PORT: '6379',
      })
      expect(container.envFrom, container.name).toEqual([{secretRef: {name: 'devctl-postgres'}}, {secretRef: {name: 'devctl-redis'}}])
    }
    expect(envOf(containerOf(findObject<V1Job>(objects, 'Job', migrationJob), 'migrate'))).toMatchObject({
      PGHOST: 'devctl-postgres.devctl.svc.cluster.local',
      PGDATABASE: 'shop',
      PGUSER: 'shop',
    })
    expect(findObject<V1Ingress>(objects, 'Ingress', api).spec?.rules?.[0]?.host).toBe('shop.localhost')
    // `shared` is only a place for anchors: nothing of it is rendered on its own.
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'Deployment', 'Ingress', 'Job', 'Service', 'ServiceAccount'])
  })

  it('accepts anything under `shared` but rejects misspelt keys and wrong types through the schema', async ({expect}) => {
    const shared = {shared: {anything: [1, 'two', {three: true}], nested: {deeper: {deepest: null}}}}
    expect((await templateChart(helm, {values: shared})).exitCode).toBe(0)

    for (const [values, complaint] of [
      [{imag: {tag: '1'}}, /imag/],
      [{replicaCount: 'two'}, /replicaCount/],
      [{envFromSecrets: [{name: 'devctl-redis'}]}, /secretName|envFromSecrets/],
      [{migrations: {sql: {'drop everything': 'DROP TABLE jobs;'}}}, /drop everything/],
    ] as const) {
      const result = await templateChart(helm, {values})
      expect(result.exitCode, JSON.stringify(values)).not.toBe(0)
      expect(result.stderr).toContain("values don't meet the specifications of the schema")
      expect(result.stderr).toMatch(complaint)
    }
  })

  it('refuses clusters older than 1.23 and renders HPA and PDB API versions on 1.23', async ({expect}) => {
    const scaled = {replicaCount: 2, autoscaling: {enabled: true}}
    const old = await templateChart(helm, {values: scaled, extraArgs: ['--kube-version', '1.22.9']})
    expect(old.exitCode).not.toBe(0)
    expect(old.stderr).toMatch(/kubeVersion: >=1\.23\.0-0 which is incompatible with Kubernetes v1\.22\.9/)

    const objects = await renderChart(helm, {values: scaled, extraArgs: ['--kube-version', '1.23.0', '--api-versions', 'autoscaling/v2', '--api-versions', 'policy/v1']})
    expect(findObject<KubeObject>(objects, 'HorizontalPodAutoscaler', api).apiVersion).toBe('autoscaling/v2')
    expect(findObject<KubeObject>(objects, 'PodDisruptionBudget', api).apiVersion).toBe('policy/v1')
  })

  it('keeps every name within 63 characters, distinct, with its component suffix', async ({expect}) => {
    // Helm's longest release name (53), which the chart name pushes past 63.
    const release = 'a-long-release-name-for-a-review-app-of-the-shop-team'
    const objects = await renderChart(helm, {release})
    const names = objects.map((o) => o.metadata.name)
    for (const name of names) expect(name.length, name).toBeLessThanOrEqual(63)
    expect(names.filter((n) => n.endsWith('-worker'))).toHaveLength(2)
    expect(names.some((n) => n.endsWith('-migrate'))).toBe(true)
    expect(names.some((n) => n.endsWith('-migrations'))).toBe(true)
    expect(new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`)).size).toBe(objects.length)

    const named = await renderChart(helm, {release: 'shop-web-worker'})
    expect(hasObject(named, 'Deployment', 'shop-web-worker')).toBe(true)
    expect(hasObject(named, 'Deployment', 'shop-web-worker-worker')).toBe(true)
  })
})

// Only helm 4 renders NOTES.txt offline: helm template leaves it out, and helm 3's
// `install --dry-run=client` still asks a cluster for its version and API discovery.
describe('NOTES.txt, rendered by helm 4', () => {
  const helm4 = helms.find((helm) => helm.name === 'helm4')!

  async function notes(values: Record<string, unknown>): Promise<string> {
    const input = JSON.stringify(values)
    const result = await run(helm4.bin, ['install', 'shop', chartDir, '--namespace', 'dev', '--dry-run=client', '-f', '-'], {input})
    expect(result.exitCode, result.stderr).toBe(0)
    return result.stdout.slice(result.stdout.indexOf('NOTES:'))
  }

  it('tells how to reach the API, where each log is, and how to give the worker a job', async () => {
    const text = await notes({ingress: {enabled: true, hosts: [{host: 'shop.localhost', paths: [{path: '/', pathType: 'Prefix'}]}]}})
    expect(text).toContain('kubectl --namespace dev port-forward svc/shop-web-worker 8080:80')
    expect(text).toContain('http://shop.localhost/')
    expect(text).toContain('kubectl --namespace dev logs -f deploy/shop-web-worker\n')
    expect(text).toContain('kubectl --namespace dev logs -f deploy/shop-web-worker-worker')
    expect(text).toContain('kubectl --namespace dev logs job/shop-web-worker-migrate')
    expect(text).toContain('exec deploy/shop-web-worker-worker -- sh -c \'redis-cli -h "$REDIS_HOST"')
  })

  it('points at the init container log, and says nothing of a worker, when those are the settings', async () => {
    const text = await notes({worker: {enabled: false}, migrations: {enabled: true, hookEnabled: false}})
    expect(text).toContain('kubectl --namespace dev logs deploy/shop-web-worker -c migrate')
    expect(text).not.toContain('job/')
    expect(text).not.toContain('worker-worker')
    expect(text).not.toContain('http://shop.localhost')
  })
})

describe('helm binaries', () => {
  it('are the two major versions the suite claims to cover', async () => {
    const versions = await Promise.all(helms.map((helm) => run(helm.bin, ['version', '--template', '{{.Version}}'])))
    expect(versions.map((v) => v.stdout.split('.')[0])).toEqual(['v3', 'v4'])
  })
})
