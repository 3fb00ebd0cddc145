import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KubeObject} from './index.js'
import {eventually, startTestCluster, type TestCluster} from './test-support.js'

let cluster: TestCluster

/** Each scripted failure lives in its own namespace, so one cluster serves every test. */
const scenario = {
  rules: [
    {match: {namespace: 'crash'}, behavior: 'crashLoop', exitCode: 1, runFor: '2s', logs: {exitLines: ['panic: config file /etc/app.yaml not found']}},
    {match: {namespace: 'pull'}, behavior: 'imagePullError'},
    {match: {namespace: 'oom'}, behavior: 'oom', runFor: '1s'},
    {match: {namespace: 'migration', container: 'migrate'}, behavior: 'fail', exitCode: 3},
    {match: {namespace: 'on-failure'}, behavior: 'fail', runFor: '1s'},
    {match: {namespace: 'deadline'}, behavior: 'run'},
    {match: {namespace: 'never-ready'}, behavior: 'neverReady'},
    {match: {namespace: 'init', container: 'wait-db'}, runFor: '600s'},
  ],
}

beforeAll(async () => {
  cluster = await startTestCluster({scenario})
})

afterAll(async () => {
  await cluster.close()
})

async function apply(namespace: string, manifest: string): Promise<void> {
  await cluster.kubectl(['create', 'namespace', namespace])
  const result = await cluster.kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], {input: manifest})
  expect(result.stderr).toBe('')
}

/** The STATUS column kubectl prints for the only pod of a namespace, once it matches. */
async function podStatus(namespace: string, pattern: RegExp): Promise<string> {
  return eventually(
    async () => {
      const table = await cluster.kubectl(['get', 'pods', '-n', namespace, '--no-headers'])
      const row = table.stdout.trim()
      return pattern.test(row) ? row : undefined
    },
    {what: `a pod in ${namespace} matching ${pattern}`},
  )
}

function onlyPod(namespace: string): KubeObject {
  const [pod] = cluster.server.list('v1', 'Pod', namespace)
  if (!pod) throw new Error(`no pod in ${namespace}`)
  return pod
}

interface ContainerStatus {
  restartCount: number
  state: Record<string, {reason?: string; message?: string; exitCode?: number}>
  lastState: {terminated?: {reason?: string; exitCode?: number}}
}

function containerStatus(pod: KubeObject): ContainerStatus | undefined {
  return (pod.status as {containerStatuses?: ContainerStatus[]}).containerStatuses?.[0]
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  progressDeadlineSeconds: 5
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: app, image: "ghcr.io/acme/app:1.0", readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 2}}]
`

describe('derived failures', () => {
  it('CreateContainerConfigError until the referenced Secret and key exist, then Running', async () => {
    await apply(
      'config',
      `
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: "ghcr.io/acme/app:1.0"
    env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}]
`,
    )
    await podStatus('config', /^app\s+0\/1\s+CreateContainerConfigError\s+0\s+\d+s$/)
    expect(containerStatus(onlyPod('config'))?.state.waiting).toEqual({reason: 'CreateContainerConfigError', message: 'secret "creds" not found'})
    const described = await cluster.kubectl(['describe', 'pod', 'app', '-n', 'config'])
    expect(described.stdout).toMatch(/Warning\s+Failed\s+.*kubelet\s+Error: secret "creds" not found/)

    const created = await cluster.kubectl(['create', 'secret', 'generic', 'creds', '-n', 'config', '--from-literal=user=app'])
    expect(created.stdout.trim()).toBe('secret/creds created')
    await eventually(() => containerStatus(onlyPod('config'))?.state.waiting?.message === "couldn't find key password in Secret config/creds", {what: 'the missing key message'})
    await podStatus('config', /^app\s+0\/1\s+CreateContainerConfigError\s+0\s+\d+s$/)

    const patched = await cluster.kubectl(['patch', 'secret', 'creds', '-n', 'config', '-p', '{"stringData":{"password":"s3cret"}}'])
    expect(patched.code).toBe(0)
    await podStatus('config', /^app\s+1\/1\s+Running\s+0\s+\d+s$/)
  })

  it('Pending and FailedScheduling when no node has room, with the real message', async () => {
    await apply(
      'unschedulable',
      `
apiVersion: v1
kind: Pod
metadata: {name: big}
spec: {containers: [{name: app, image: "ghcr.io/acme/app:1.0", resources: {requests: {memory: 64Gi, cpu: 100m}}}]}
`,
    )
    await podStatus('unschedulable', /^big\s+0\/1\s+Pending\s+0\s+\d+s$/)
    const message = '0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.'
    const described = await eventually(async () => {
      const result = await cluster.kubectl(['describe', 'pod', 'big', '-n', 'unschedulable'])
      return result.stdout.includes('FailedScheduling') ? result.stdout : undefined
    })
    expect(described).toMatch(/Warning\s+FailedScheduling\s+.*\s+default-scheduler\s+0\/1 nodes are available/)
    expect(described).toContain(message)
    const condition = (onlyPod('unschedulable').status as {conditions: Array<{type: string; status: string; reason: string; message: string}>}).conditions.find((c) => c.type === 'PodScheduled')
    expect(condition).toMatchObject({status: 'False', reason: 'Unschedulable', message})
    expect(onlyPod('unschedulable').spec).not.toHaveProperty('nodeName')
  })
})

describe('scripted failures', () => {
  it('CrashLoopBackOff with growing restarts, the exit in lastState and the last run in --previous', async () => {
    await apply('crash', deployment)
    const row = await podStatus('crash', /^app-\S+\s+0\/1\s+CrashLoopBackOff\s+[2-9]\d* \(\d+s ago\)\s+\d+s$/)
    expect(row).toBeDefined()
    // Between back-offs the container runs again for a moment; look at it while it waits.
    const status = await eventually(
      () => {
        const current = containerStatus(onlyPod('crash'))
        return current?.state.waiting?.reason === 'CrashLoopBackOff' && current
      },
      {what: 'the container to be in back-off'},
    )
    expect(status?.lastState.terminated).toMatchObject({exitCode: 1, reason: 'Error'})
    expect(status?.state.waiting?.message).toMatch(/^back-off \d+(m\d+)?s restarting failed container=app pod=app-\S+_crash\(/)
    const pod = onlyPod('crash').metadata.name
    const previous = await cluster.kubectl(['logs', pod, '-n', 'crash', '--previous'])
    expect(previous.stdout.trim().split('\n').at(-1)).toBe('panic: config file /etc/app.yaml not found')
    const events = await cluster.kubectl(['get', 'events', '-n', 'crash', '--field-selector', 'reason=BackOff'])
    expect(events.stdout).toContain(`Back-off restarting failed container app in pod ${pod}_crash(${onlyPod('crash').metadata.uid ?? ''})`)
  })

  it('ErrImagePull then ImagePullBackOff, and logs say the image cannot be pulled', async () => {
    await apply('pull', deployment)
    await podStatus('pull', /^app-\S+\s+0\/1\s+ImagePullBackOff\s+0\s+\d+s$/)
    const pod = onlyPod('pull').metadata.name
    const logs = await cluster.kubectl(['logs', pod, '-n', 'pull'])
    // The kubelet alternates ErrImagePull and ImagePullBackOff, so by the time kubectl asks the pod
    // may be in either; each has its own real message.
    expect(logs.stderr).toMatch(new RegExp(`container "app" in pod "${pod}" is waiting to start: (trying and failing to pull image|image can't be pulled)$`, 'm'))
    const described = await cluster.kubectl(['describe', 'pod', pod, '-n', 'pull'])
    expect(described.stdout).toContain('Failed to pull image "ghcr.io/acme/app:1.0": rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/acme/app:1.0"')
    expect(described.stdout).toMatch(/Warning\s+Failed\s+.*Error: ErrImagePull/)
  })

  it('OOMKilled with exit code 137', async () => {
    await apply('oom', deployment)
    await eventually(() => containerStatus(onlyPod('oom'))?.lastState.terminated?.reason === 'OOMKilled', {what: 'an OOM kill'})
    expect(containerStatus(onlyPod('oom'))?.lastState.terminated?.exitCode).toBe(137)
    await podStatus('oom', /^app-\S+\s+0\/1\s+(OOMKilled|CrashLoopBackOff)\s+\d+( \(\d+s ago\))?\s+\d+s$/)
  })

  it('a Job that keeps failing reaches FailureTarget then Failed with BackoffLimitExceeded', async () => {
    await apply(
      'migration',
      `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "postgres:16-alpine", command: [/bin/sh, /migrations/migrate.sh]}]
`,
    )
    const waited = await cluster.kubectl(['wait', '-n', 'migration', '--for=condition=failed', 'job/migrate', '--timeout=30s'])
    expect(waited.code).toBe(0)
    const job = cluster.server.get('batch/v1', 'Job', 'migration', 'migrate')
    const conditions = (job?.status as {conditions: Array<{type: string; status: string; reason: string; message: string}>}).conditions
    expect(conditions.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ['FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
      ['Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
    ])
    expect(job?.status).toMatchObject({failed: 2})
    const jobs = await cluster.kubectl(['get', 'jobs', '-n', 'migration', '--no-headers'])
    expect(jobs.stdout).toMatch(/^migrate\s+Failed\s+0\/1\s+\d+s\s+\d+s$/m)
    const pods = await cluster.kubectl(['get', 'pods', '-n', 'migration', '--no-headers'])
    expect(
      pods.stdout
        .trim()
        .split('\n')
        .map((row) => row.split(/\s+/).slice(1, 3).join(' ')),
    ).toEqual(['0/1 Error', '0/1 Error'])
    const logs = await cluster.kubectl(['logs', 'job/migrate', '-n', 'migration'])
    expect(logs.stdout).toContain('ERROR:  relation "orders_legacy" does not exist')
  })

  it('a restartPolicy OnFailure Job counts container restarts against its backoffLimit', async () => {
    await apply(
      'on-failure',
      `
apiVersion: batch/v1
kind: Job
metadata: {name: flaky}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{name: task, image: "busybox:1.36"}]
`,
    )
    const waited = await cluster.kubectl(['wait', '-n', 'on-failure', '--for=condition=failed', 'job/flaky', '--timeout=30s'])
    expect(waited.code).toBe(0)
    const job = cluster.server.get('batch/v1', 'Job', 'on-failure', 'flaky')
    expect((job?.status as {conditions: Array<{type: string; reason: string}>}).conditions.map((c) => `${c.type}/${c.reason}`)).toEqual([
      'FailureTarget/BackoffLimitExceeded',
      'Failed/BackoffLimitExceeded',
    ])
    expect(job?.status).toMatchObject({failed: 1})
    await eventually(() => cluster.server.list('v1', 'Pod', 'on-failure').length === 0, {what: 'the failed job to remove its pod'})
  })

  it('a Job running past activeDeadlineSeconds fails with DeadlineExceeded', async () => {
    await apply(
      'deadline',
      `
apiVersion: batch/v1
kind: Job
metadata: {name: forever}
spec:
  activeDeadlineSeconds: 30
  template:
    spec:
      restartPolicy: Never
      containers: [{name: task, image: "busybox:1.36"}]
`,
    )
    const waited = await cluster.kubectl(['wait', '-n', 'deadline', '--for=condition=failed', 'job/forever', '--timeout=30s'])
    expect(waited.code).toBe(0)
    const conditions = (cluster.server.get('batch/v1', 'Job', 'deadline', 'forever')?.status as {conditions: Array<{type: string; reason: string; message: string}>}).conditions
    expect(conditions.map((c) => `${c.type}/${c.reason}/${c.message}`)).toEqual([
      'FailureTarget/DeadlineExceeded/Job was active longer than specified deadline',
      'Failed/DeadlineExceeded/Job was active longer than specified deadline',
    ])
    const events = await cluster.kubectl(['get', 'events', '-n', 'deadline', '--field-selector', 'involvedObject.kind=Job'])
    expect(events.stdout).toMatch(/Warning\s+DeadlineExceeded\s+job\/forever\s+Job was active longer than specified deadline/)
  })

  it('a Job whose activeDeadlineSeconds is null (a chart left it empty) has no deadline, as the API server drops the null', async () => {
    await apply(
      'no-deadline',
      `
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  activeDeadlineSeconds: null
  template:
    spec:
      restartPolicy: Never
      containers: [{name: task, image: "busybox:1.36"}]
`,
    )
    const waited = await cluster.kubectl(['wait', '-n', 'no-deadline', '--for=condition=complete', 'job/once', '--timeout=30s'])
    expect(waited.code, waited.stderr).toBe(0)
  })

  it('a Deployment whose pods never become ready exceeds its progress deadline', async () => {
    await apply('never-ready', deployment)
    const status = await cluster.kubectl(['rollout', 'status', '-n', 'never-ready', 'deployment/app', '--timeout=30s'])
    expect(status.code).toBe(1)
    expect(status.stderr).toContain('error: deployment "app" exceeded its progress deadline')
    const conditions = (cluster.server.get('apps/v1', 'Deployment', 'never-ready', 'app')?.status as {conditions: Array<{type: string; status: string; reason: string; message: string}>}).conditions
    expect(conditions.find((c) => c.type === 'Progressing')).toMatchObject({status: 'False', reason: 'ProgressDeadlineExceeded'})
    expect(conditions.find((c) => c.type === 'Progressing')?.message).toMatch(/^ReplicaSet "app-\S+" has timed out progressing\.$/)
    const events = await cluster.kubectl(['get', 'events', '-n', 'never-ready', '--field-selector', 'reason=Unhealthy'])
    expect(events.stdout).toContain('Readiness probe failed: HTTP probe failed with statuscode: 503')
    await podStatus('never-ready', /^app-\S+\s+0\/1\s+Running\s+0\s+\d+s$/)
  })

  it('Init:0/1 while an init container runs', async () => {
    await apply(
      'init',
      `
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  initContainers: [{name: wait-db, image: "busybox:1.36", command: [sh, -c, "until nc -z db 5432; do sleep 1; done"]}]
  containers: [{name: app, image: "ghcr.io/acme/app:1.0"}, {name: sidecar, image: "busybox:1.36"}]
`,
    )
    await podStatus('init', /^app\s+0\/2\s+Init:0\/1\s+0\s+\d+s$/)
    const logs = await fetch(`${cluster.server.url}/api/v1/namespaces/init/pods/app/log`)
    expect(logs.status).toBe(400)
    expect(await logs.json()).toMatchObject({reason: 'BadRequest', message: 'a container name must be specified for pod app, choose one of: [wait-db app sidecar]'})
    const waiting = await cluster.kubectl(['logs', 'app', '-n', 'init', '-c', 'app'])
    expect(waiting.stderr).toContain('container "app" in pod "app" is waiting to start: PodInitializing')
  })
})
