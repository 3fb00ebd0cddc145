import {CoreV1Api, Watch, type V1Pod} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KubeObject} from './index.js'
import {eventually, startTestCluster, type TestCluster} from './test-support.js'

let cluster: TestCluster

beforeAll(async () => {
  // Containers in these namespaces take 300s (simulated: 3s) to stop, so Terminating is visible.
  cluster = await startTestCluster({
    scenario: {
      rules: [
        {match: {namespace: 'slow-stop'}, terminate: '300s'},
        {match: {namespace: 'doomed'}, terminate: '300s'},
        {match: {namespace: 'recreate'}, terminate: '300s'},
      ],
    },
  })
})

afterAll(async () => {
  await cluster.close()
})

async function apply(namespace: string, manifest: string): Promise<void> {
  if (!cluster.server.get('v1', 'Namespace', undefined, namespace)) {
    const created = await cluster.kubectl(['create', 'namespace', namespace])
    expect(created.stderr).toBe('')
  }
  const result = await cluster.kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], {input: manifest})
  expect(result.stderr).toBe('')
}

function pods(namespace: string): KubeObject[] {
  return cluster.server.list('v1', 'Pod', namespace)
}

function conditions(object: KubeObject | undefined): Array<{type: string; status: string; reason?: string; message?: string}> {
  return (object?.status as {conditions?: Array<{type: string; status: string; reason?: string; message?: string}>} | undefined)?.conditions ?? []
}

const web = (image: string, grace = 30): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: ${grace}
      containers:
      - name: app
        image: ${image}
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: http}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
`

describe('Deployments', () => {
  it('roll out, and roll out again on a new template, as kubectl rollout status sees it', async () => {
    await apply('deploy', web('nginx:1.27'))
    const first = await cluster.kubectl(['rollout', 'status', '-n', 'deploy', 'deployment/web', '--timeout=30s'])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('deployment "web" successfully rolled out')

    const updated = await cluster.kubectl(['set', 'image', '-n', 'deploy', 'deployment/web', 'app=nginx:1.28'])
    expect(updated.code).toBe(0)
    const second = await cluster.kubectl(['rollout', 'status', '-n', 'deploy', 'deployment/web', '--timeout=30s'], {version: 'v32'})
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('deployment "web" successfully rolled out')

    const replicaSets = cluster.server
      .list('apps/v1', 'ReplicaSet', 'deploy')
      .map((rs) => ({
        revision: rs.metadata.annotations?.['deployment.kubernetes.io/revision'],
        replicas: (rs.spec as {replicas: number}).replicas,
        image: (rs.spec as {template: {spec: {containers: Array<{image: string}>}}}).template.spec.containers[0]?.image,
      }))
      .sort((a, b) => Number(a.revision) - Number(b.revision))
    expect(replicaSets).toEqual([
      {revision: '1', replicas: 0, image: 'nginx:1.27'},
      {revision: '2', replicas: 2, image: 'nginx:1.28'},
    ])
    const deployment = cluster.server.get('apps/v1', 'Deployment', 'deploy', 'web')
    expect(conditions(deployment).map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual(['Available=True/MinimumReplicasAvailable', 'Progressing=True/NewReplicaSetAvailable'])
    expect(deployment?.status).toMatchObject({observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2})
    const events = await cluster.kubectl(['get', 'events', '-n', 'deploy', '--field-selector', 'involvedObject.kind=Deployment'])
    expect(events.stdout).toMatch(/Normal\s+ScalingReplicaSet\s+deployment\/web\s+Scaled up replica set web-[a-z0-9]+ to 2 from 0/)
  })

  it('print pods with the real -o wide columns', async () => {
    await eventually(() => pods('deploy').length === 2 && pods('deploy').every((pod) => conditions(pod).some((c) => c.type === 'Ready' && c.status === 'True')))
    for (const version of ['v34', 'v32'] as const) {
      const wide = await cluster.kubectl(['get', 'pods', '-n', 'deploy', '-o', 'wide'], {version})
      const [header, ...rows] = wide.stdout.trim().split('\n')
      expect(header).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/)
      expect(rows).toHaveLength(2)
      for (const row of rows) expect(row).toMatch(/^web-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\d+s\s+10\.42\.0\.\d+\s+k3d-sim-server-0\s+<none>\s+<none>$/)
    }
  })

  it('give services the ready pods as endpoints', async () => {
    const ips = pods('deploy')
      .map((pod) => (pod.status as {podIP: string}).podIP)
      .sort()
    const endpoints = await eventually(
      () => {
        const found = cluster.server.get('v1', 'Endpoints', 'deploy', 'web') as {subsets?: Array<{addresses?: Array<{ip: string}>; ports: Array<{port: number}>}>} | undefined
        const addresses = found?.subsets?.[0]?.addresses?.map((address) => address.ip).sort() ?? []
        return addresses.join() === ips.join() ? found : undefined
      },
      {what: 'endpoints of both pods'},
    )
    expect(endpoints.subsets?.[0]?.ports).toEqual([{port: 8080, protocol: 'TCP'}])
    const printed = await cluster.kubectl(['get', 'endpoints', 'web', '-n', 'deploy'])
    expect(printed.stdout).toMatch(/^web\s+10\.42\.0\.\d+:8080,10\.42\.0\.\d+:8080\s+\d+s$/m)
  })

  it('with strategy Recreate, start the new pods once the old ones are gone, not merely terminating', async () => {
    // The old pod takes a while to stop: when its ReplicaSet is scaled down it is still there, Terminating.
    // The progress deadline is far off (36 s here), so its re-check cannot be what starts the new pod.
    await apply('recreate', web('nginx:1.27', 300).replace('replicas: 2', 'replicas: 1\n  progressDeadlineSeconds: 3600\n  strategy: {type: Recreate}'))
    expect((await cluster.kubectl(['rollout', 'status', '-n', 'recreate', 'deployment/web', '--timeout=30s'])).code).toBe(0)
    const [old] = pods('recreate')
    expect((await cluster.kubectl(['set', 'image', '-n', 'recreate', 'deployment/web', 'app=nginx:1.28'])).code).toBe(0)
    await eventually(() => pods('recreate').some((pod) => pod.metadata.name === old?.metadata.name && pod.metadata.deletionTimestamp !== undefined), {what: 'the old pod Terminating'})
    expect(pods('recreate')).toHaveLength(1)
    const rolledOut = await cluster.kubectl(['rollout', 'status', '-n', 'recreate', 'deployment/web', '--timeout=15s'])
    expect(rolledOut.code, rolledOut.stderr).toBe(0)
    expect(pods('recreate').map((pod) => (pod.spec as {containers: Array<{image: string}>}).containers[0]?.image)).toEqual(['nginx:1.28'])
  })

  it('take their ReplicaSets and pods with them when deleted', async () => {
    const deleted = await cluster.kubectl(['delete', 'deployment', 'web', '-n', 'deploy'])
    expect(deleted.code).toBe(0)
    await eventually(() => cluster.server.list('apps/v1', 'ReplicaSet', 'deploy').length === 0 && pods('deploy').length === 0, {what: 'garbage collection'})
  })
})

describe('Jobs', () => {
  const job = `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "ghcr.io/acme/app:1.0", command: [app, migrate]}]
`

  it('complete with SuccessCriteriaMet then Complete, and kubectl wait sees it', async () => {
    await apply('jobs', job)
    const waited = await cluster.kubectl(['wait', '-n', 'jobs', '--for=condition=complete', 'job/migrate', '--timeout=30s'])
    expect(waited.code).toBe(0)
    expect(waited.stdout.trim()).toBe('job.batch/migrate condition met')
    const stored = cluster.server.get('batch/v1', 'Job', 'jobs', 'migrate')
    expect(conditions(stored).map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ['SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'],
      ['Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'],
    ])
    expect(stored?.status).toMatchObject({succeeded: 1, ready: 0, terminating: 0})
    expect((stored?.status as {completionTime?: string}).completionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const table = await cluster.kubectl(['get', 'jobs', '-n', 'jobs'])
    expect(table.stdout).toMatch(/^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nmigrate\s+Complete\s+1\/1\s+\d+s\s+\d+s\n$/)
    const podsTable = await cluster.kubectl(['get', 'pods', '-n', 'jobs'])
    expect(podsTable.stdout).toMatch(/^migrate-[a-z0-9]{5}\s+0\/1\s+Completed\s+0\s+\d+s$/m)
    const logs = await cluster.kubectl(['logs', '-n', 'jobs', 'job/migrate'])
    expect(logs.stdout).toContain('applying 001_create_users ... ok\n')
    expect(logs.stdout.trim().split('\n').at(-1)).toBe('Migrations complete: 3 applied.')
  })

  it('orphan their pods when deleted without a propagation policy, with the real warning', async () => {
    const response = await fetch(`${cluster.server.url}/apis/batch/v1/namespaces/jobs/jobs/migrate`, {method: 'DELETE'})
    expect(response.status).toBe(200)
    expect(response.headers.get('warning')).toBe(
      '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"',
    )
    await eventually(() => cluster.server.get('batch/v1', 'Job', 'jobs', 'migrate') === undefined)
    const orphans = pods('jobs')
    expect(orphans).toHaveLength(1)
    expect(orphans[0]?.metadata.ownerReferences).toBeUndefined()
  })
})

describe('StatefulSets', () => {
  it('create pods in order, each with a claim bound to a local-path volume', async () => {
    const seen: string[] = []
    const watch = new Watch(cluster.kubeConfig)
    await cluster.kubectl(['create', 'namespace', 'sts'])
    const request = await watch.watch(
      '/api/v1/namespaces/sts/pods',
      {},
      (type, pod: V1Pod) => {
        const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'ready' : ''
        seen.push(`${type} ${pod.metadata?.name ?? ''} ${ready}`.trim())
      },
      () => undefined,
    )
    await apply(
      'sts',
      `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: postgres, image: "postgres:16", readinessProbe: {exec: {command: [pg_isready]}}}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`,
    )
    const status = await cluster.kubectl(['rollout', 'status', '-n', 'sts', 'statefulset/db', '--timeout=30s'])
    expect(status.code).toBe(0)
    expect(status.stdout).toContain('partitioned roll out complete: 2 new pods have been updated...')
    request.abort()
    const firstReady = seen.indexOf('MODIFIED db-0 ready')
    const secondAdded = seen.indexOf('ADDED db-1')
    expect(firstReady).toBeGreaterThanOrEqual(0)
    expect(secondAdded).toBeGreaterThan(firstReady)
    const claims = await cluster.kubectl(['get', 'pvc', '-n', 'sts'])
    expect(claims.stdout).toMatch(/^data-db-0\s+Bound\s+pvc-[0-9a-f-]{36}\s+1Gi\s+RWO\s+local-path\s+<unset>\s+\d+s$/m)
    expect(claims.stdout).toMatch(/^data-db-1\s+Bound\s+pvc-[0-9a-f-]{36}\s+1Gi\s+RWO\s+local-path\s+<unset>\s+\d+s$/m)
    const claimEvents = await cluster.kubectl(['get', 'events', '-n', 'sts', '--field-selector', 'involvedObject.name=data-db-0'])
    expect(claimEvents.stdout).toContain('waiting for first consumer to be created before binding')
    expect(claimEvents.stdout).toMatch(/ProvisioningSucceeded\s+persistentvolumeclaim\/data-db-0\s+Successfully provisioned volume pvc-/)
  })
})

describe('pods', () => {
  it('are described with the events a real cluster records', async () => {
    await apply('describe', 'apiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec: {containers: [{name: app, image: "redis:7.4"}]}\n')
    await eventually(() => (cluster.server.get('v1', 'Pod', 'describe', 'solo')?.status as {phase?: string} | undefined)?.phase === 'Running')
    const described = await cluster.kubectl(['describe', 'pod', 'solo', '-n', 'describe'])
    expect(described.stdout).toMatch(/^Status:\s+Running$/m)
    expect(described.stdout).toMatch(/^Node:\s+k3d-sim-server-0\/172\.\d+\.0\.2$/m)
    const events = described.stdout.slice(described.stdout.indexOf('Events:'))
    expect(events).toMatch(/Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned describe\/solo to k3d-sim-server-0/)
    expect(events).toMatch(/Normal\s+Pulling\s+\S+\s+kubelet\s+Pulling image "redis:7.4"/)
    expect(events).toMatch(/Normal\s+Pulled\s+\S+\s+kubelet\s+Successfully pulled image "redis:7.4" in 1.5s \(1.5s including waiting\)\. Image size: \d+ bytes\./)
    expect(events).toMatch(/Normal\s+Created\s+\S+\s+kubelet\s+Created container app/)
    expect(events).toMatch(/Normal\s+Started\s+\S+\s+kubelet\s+Started container app/)
    const listed = await cluster.kubectl(['get', 'events', '-n', 'describe'])
    expect(listed.stdout.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/)
    expect(listed.stdout).toMatch(/^\d+s\s+Normal\s+Started\s+pod\/solo\s+Started container app$/m)
  })

  it('terminate gracefully: Terminating while the container stops, then gone', async () => {
    await apply('slow-stop', 'apiVersion: v1\nkind: Pod\nmetadata: {name: slow-stop}\nspec: {terminationGracePeriodSeconds: 300, containers: [{name: app, image: "redis:7.4"}]}\n')
    await eventually(() => (cluster.server.get('v1', 'Pod', 'slow-stop', 'slow-stop')?.status as {phase?: string} | undefined)?.phase === 'Running')
    const deleted = await cluster.kubectl(['delete', 'pod', 'slow-stop', '-n', 'slow-stop', '--wait=false'])
    expect(deleted.code).toBe(0)
    const listed = await cluster.kubectl(['get', 'pod', 'slow-stop', '-n', 'slow-stop'])
    expect(listed.stdout).toMatch(/^slow-stop\s+1\/1\s+Terminating\s+0\s+\d+s$/m)
    await eventually(() => cluster.server.get('v1', 'Pod', 'slow-stop', 'slow-stop') === undefined, {what: 'the pod to go'})
    const events = await cluster.kubectl(['get', 'events', '-n', 'slow-stop', '--field-selector', 'involvedObject.name=slow-stop,reason=Killing'])
    expect(events.stdout).toContain('Stopping container app')
  })
})

describe('namespaces', () => {
  it('are Terminating until their contents are gone, then disappear', async () => {
    await apply('doomed', web('nginx:1.27', 300))
    await eventually(() => pods('doomed').length === 2)
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    await core.deleteNamespace({name: 'doomed'})
    const terminating = await cluster.kubectl(['get', 'namespace', 'doomed'])
    expect(terminating.stdout).toMatch(/^doomed\s+Terminating\s+\d+s$/m)
    const create = await cluster.kubectl(['create', 'configmap', 'late', '-n', 'doomed'])
    expect(create.stderr).toContain('forbidden: unable to create new content in namespace doomed because it is being terminated')
    await eventually(() => cluster.server.get('v1', 'Namespace', undefined, 'doomed') === undefined, {what: 'the namespace to go'})
    expect(pods('doomed')).toEqual([])
  })

  it('get a kube-root-ca.crt ConfigMap and a default ServiceAccount', async () => {
    await cluster.kubectl(['create', 'namespace', 'fresh'])
    await eventually(() => cluster.server.get('v1', 'ServiceAccount', 'fresh', 'default') && cluster.server.get('v1', 'ConfigMap', 'fresh', 'kube-root-ca.crt'))
    const cm = cluster.server.get('v1', 'ConfigMap', 'fresh', 'kube-root-ca.crt') as {data?: Record<string, string>} | undefined
    expect(cm?.data?.['ca.crt']).toMatch(/^-----BEGIN CERTIFICATE-----\n/)
  })
})
