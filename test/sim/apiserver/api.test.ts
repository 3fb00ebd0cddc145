import {CoreV1Api, KubernetesObjectApi, Watch, type V1ConfigMap} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {eventually, startTestCluster, type TestCluster} from './test-support.js'

let cluster: TestCluster

beforeAll(async () => {
  cluster = await startTestCluster()
})

afterAll(async () => {
  await cluster.close()
})

/** The Status a rejected client-node request carried. */
async function failure(request: Promise<unknown>): Promise<{code?: number; status: Record<string, unknown>}> {
  try {
    await request
  } catch (error) {
    const rejected = error as {code?: number; body?: string}
    return {code: rejected.code, status: JSON.parse(rejected.body ?? '{}') as Record<string, unknown>}
  }
  throw new Error('expected the request to fail')
}

describe('discovery', () => {
  it('lets the real kubectl resolve short names and print the API resources', async () => {
    const resources = await cluster.kubectl(['api-resources', '--no-headers'])
    expect(resources.code).toBe(0)
    expect(resources.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m)
    expect(resources.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m)
    const namespaces = await cluster.kubectl(['get', 'ns'])
    expect(namespaces.stdout).toMatch(/^kube-system\s+Active\s+\d+s$/m)
  })

  it('serves /version like k3s', async () => {
    const version = await cluster.kubectl(['version', '-o', 'json'])
    expect(JSON.parse(version.stdout)).toHaveProperty('serverVersion.gitVersion', 'v1.31.5+k3s1')
  })
})

describe('CRUD', () => {
  it('answers with real Status errors', async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    await core.createNamespacedConfigMap({namespace: 'default', body: {metadata: {name: 'crud'}, data: {a: '1'}}})
    const stale = await core.readNamespacedConfigMap({namespace: 'default', name: 'crud'})
    await core.replaceNamespacedConfigMap({namespace: 'default', name: 'crud', body: {...stale, data: {a: '2'}}})
    const conflict = await failure(core.replaceNamespacedConfigMap({namespace: 'default', name: 'crud', body: {...stale, data: {a: '3'}}}))
    expect(conflict.code).toBe(409)
    expect(conflict.status).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on configmaps "crud": the object has been modified; please apply your changes to the latest version and try again',
    })
    const duplicate = await failure(core.createNamespacedConfigMap({namespace: 'default', body: {metadata: {name: 'crud'}}}))
    expect(duplicate.status).toMatchObject({code: 409, reason: 'AlreadyExists', message: 'configmaps "crud" already exists'})
    await core.deleteNamespacedConfigMap({namespace: 'default', name: 'crud'})
    const missing = await cluster.kubectl(['get', 'configmap', 'crud'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('Error from server (NotFound): configmaps "crud" not found')
  })

  it('rejects obviously invalid objects with 422 Invalid', async () => {
    const result = await cluster.kubectl(['apply', '--server-side', '-f', '-'], {input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: []}\n'})
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('The Pod "Bad_Name" is invalid: \n* metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
    expect(result.stderr).toContain('\n* spec.containers: Required value')
  })

  it('selects by label and field', async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    for (const [name, tier] of [
      ['sel-a', 'web'],
      ['sel-b', 'db'],
      ['sel-c', 'web'],
    ]) {
      await core.createNamespacedConfigMap({namespace: 'default', body: {metadata: {name, labels: {tier: tier ?? '', group: 'sel'}}}})
    }
    const web = await core.listNamespacedConfigMap({namespace: 'default', labelSelector: 'group=sel,tier in (web)'})
    expect(web.items.map((item) => item.metadata?.name)).toEqual(['sel-a', 'sel-c'])
    const notWeb = await core.listNamespacedConfigMap({namespace: 'default', labelSelector: 'group,tier!=web'})
    expect(notWeb.items.map((item) => item.metadata?.name)).toEqual(['sel-b'])
    const byName = await core.listNamespacedConfigMap({namespace: 'default', fieldSelector: 'metadata.name=sel-c'})
    expect(byName.items.map((item) => item.metadata?.name)).toEqual(['sel-c'])
    const unsupported = await failure(core.listNamespacedConfigMap({namespace: 'default', fieldSelector: 'data.x=1'}))
    expect(unsupported.status).toMatchObject({code: 400, message: 'field label not supported: data.x'})
  })
})

describe('protobuf bodies', () => {
  it('are understood for what kubectl create sends that way', async () => {
    expect((await cluster.kubectl(['create', 'secret', 'generic', 'pb-secret', '--from-literal=password=s3cret'])).stdout.trim()).toBe('secret/pb-secret created')
    expect(cluster.server.get('v1', 'Secret', 'default', 'pb-secret')).toMatchObject({type: 'Opaque', data: {password: Buffer.from('s3cret').toString('base64')}})
    expect((await cluster.kubectl(['create', 'deployment', 'pb-web', '--image=nginx:1.27', '--port=80', '--replicas=2'])).stdout.trim()).toBe('deployment.apps/pb-web created')
    expect(cluster.server.get('apps/v1', 'Deployment', 'default', 'pb-web')?.spec).toMatchObject({
      replicas: 2,
      selector: {matchLabels: {app: 'pb-web'}},
      template: {spec: {containers: [{name: 'nginx', image: 'nginx:1.27', ports: [{containerPort: 80, protocol: 'TCP'}]}]}},
    })
    expect((await cluster.kubectl(['create', 'job', 'pb-job', '--image=busybox:1.36', '--', 'echo', 'hi'])).stdout.trim()).toBe('job.batch/pb-job created')
    expect(cluster.server.get('batch/v1', 'Job', 'default', 'pb-job')?.spec).toMatchObject({template: {spec: {restartPolicy: 'Never', containers: [{command: ['echo', 'hi']}]}}})
  })
})

describe('server-side apply', () => {
  it('records managers and reports conflicts like the real apiserver', async () => {
    const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig)
    const manifest = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'ssa', namespace: 'default'}, data: {owner: 'devctl', shared: 'x'}}
    await objects.patch(manifest, undefined, undefined, 'devctl', undefined, 'application/apply-patch+yaml')
    const edited = await cluster.kubectl(['patch', 'configmap', 'ssa', '-p', '{"data":{"owner":"someone"}}'])
    expect(edited.code).toBe(0)
    const conflict = await failure(objects.patch(manifest, undefined, undefined, 'devctl', undefined, 'application/apply-patch+yaml'))
    expect(conflict.code).toBe(409)
    expect(conflict.status.message).toMatch(/^Apply failed with 1 conflict: conflict with "kubectl-patch" using v1 at .*: \.data\.owner$/)
    const forced = await objects.patch(manifest, undefined, undefined, 'devctl', true, 'application/apply-patch+yaml')
    expect((forced as V1ConfigMap).data).toEqual({owner: 'devctl', shared: 'x'})
    const dropped = {...manifest, data: {owner: 'devctl'}}
    const applied = await objects.patch(dropped, undefined, undefined, 'devctl', undefined, 'application/apply-patch+yaml')
    expect((applied as V1ConfigMap).data).toEqual({owner: 'devctl'})
    const managers = (applied as V1ConfigMap).metadata?.managedFields?.map((entry) => `${entry.manager}/${entry.operation}`)
    expect(managers).toEqual(['devctl/Apply'])
  })

  it('is used by kubectl apply --server-side', async () => {
    const manifest =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: applied}\nspec:\n  selector: {matchLabels: {app: applied}}\n  template:\n    metadata: {labels: {app: applied}}\n    spec: {containers: [{name: app, image: "nginx:1.27"}]}\n'
    const first = await cluster.kubectl(['apply', '--server-side', '-f', '-'], {input: manifest})
    expect(first.stdout.trim()).toBe('deployment.apps/applied serverside-applied')
    const before = cluster.server.get('apps/v1', 'Deployment', 'default', 'applied')
    const again = await cluster.kubectl(['apply', '--server-side', '-f', '-'], {input: manifest})
    expect(again.code).toBe(0)
    expect(cluster.server.get('apps/v1', 'Deployment', 'default', 'applied')?.metadata.generation).toBe(before?.metadata.generation)
  })

  it('removes a keyed list item the applier dropped, all of it', async () => {
    // helm 4 applies each revision's manifest server-side; an env var removed from the chart must go whole.
    const manifest = (env: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: env-drop}
spec:
  selector: {matchLabels: {app: env-drop}}
  template:
    metadata: {labels: {app: env-drop}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        env:
${env}`
    const both = '        - {name: A, value: "1"}\n        - name: B\n          valueFrom: {secretKeyRef: {name: creds, key: password}}\n'
    expect((await cluster.kubectl(['apply', '--server-side', '-f', '-'], {input: manifest(both)})).code).toBe(0)
    const second = await cluster.kubectl(['apply', '--server-side', '-f', '-'], {input: manifest('        - {name: A, value: "1"}\n')})
    expect(second.stdout.trim()).toBe('deployment.apps/env-drop serverside-applied')
    const env = await cluster.kubectl(['get', 'deployment', 'env-drop', '-o', 'jsonpath={.spec.template.spec.containers[0].env}'])
    expect(JSON.parse(env.stdout)).toEqual([{name: 'A', value: '1'}])
  })
})

describe('explicit nulls', () => {
  it('are not stored: a created object reads back without them, and a patch that deletes them changes nothing', async () => {
    // What many charts render (`limits: null`); helm 3 creates it as is, and patches
    // `limits: null` to go back to such a revision. A real apiserver decodes the body into its Go
    // type, where null is simply absent: nothing stored, and deleting it changes no template.
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: nulls}
spec:
  replicas: 1
  selector: {matchLabels: {app: nulls}}
  template:
    metadata: {labels: {app: nulls}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        resources: {limits: null, requests: {cpu: 10m}}
`
    expect((await cluster.kubectl(['create', '-f', '-'], {input: manifest})).code).toBe(0)
    const resources = await cluster.kubectl(['get', 'deployment', 'nulls', '-o', 'jsonpath={.spec.template.spec.containers[0].resources}'])
    expect(JSON.parse(resources.stdout)).toEqual({requests: {cpu: '10m'}})
    await eventually(() => cluster.server.list('apps/v1', 'ReplicaSet', 'default').some((rs) => rs.metadata.name.startsWith('nulls-')), {what: 'the first ReplicaSet'})
    const patch = '{"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"app","resources":{"limits":null}}]}}}}'
    expect((await cluster.kubectl(['patch', 'deployment', 'nulls', '-p', patch])).code).toBe(0)
    const replicaSets = cluster.server.list('apps/v1', 'ReplicaSet', 'default').filter((rs) => rs.metadata.name.startsWith('nulls-'))
    expect(replicaSets).toHaveLength(1)
  })
})

describe('watch', () => {
  it('streams changes, then answers a compacted resourceVersion with 410 Expired', async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    const list = await core.listNamespacedConfigMap({namespace: 'default'})
    const from = list.metadata?.resourceVersion ?? ''
    const seen: string[] = []
    const watch = new Watch(cluster.kubeConfig)
    const request = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      {resourceVersion: from, labelSelector: 'watched=yes'},
      (type, object: V1ConfigMap) => {
        seen.push(`${type} ${object.metadata?.name ?? ''}`)
      },
      () => undefined,
    )
    await core.createNamespacedConfigMap({namespace: 'default', body: {metadata: {name: 'w1', labels: {watched: 'yes'}}}})
    await core.patchNamespacedConfigMap({namespace: 'default', name: 'w1', body: [{op: 'replace', path: '/metadata/labels/watched', value: 'no'}]})
    await core.createNamespacedConfigMap({namespace: 'default', body: {metadata: {name: 'w2', labels: {watched: 'yes'}}}})
    await core.deleteNamespacedConfigMap({namespace: 'default', name: 'w2'})
    await eventually(() => seen.length >= 4, {what: 'four watch events'})
    expect(seen).toEqual(['ADDED w1', 'DELETED w1', 'ADDED w2', 'DELETED w2'])
    request.abort()

    cluster.server.compactWatchHistory()
    const errors: unknown[] = []
    await new Promise<void>((done) => {
      void watch.watch(
        '/api/v1/namespaces/default/configmaps',
        {resourceVersion: from},
        (type, object) => {
          if (type === 'ERROR') errors.push(object)
        },
        () => done(),
      )
    })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({kind: 'Status', code: 410, reason: 'Expired'})
    expect((errors[0] as {message: string}).message).toMatch(new RegExp(`^too old resource version: ${from} \\(\\d+\\)$`))
  })
})
