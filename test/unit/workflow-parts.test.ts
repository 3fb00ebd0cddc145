import {describe, expect, it} from 'vitest'

import {analyzeChart, parseManifests, type DeployPhase} from '../../src/chart/manifests.js'
import {ConfigError, MigrationError, StepTimeoutError} from '../../src/errors.js'
import {deploymentReadiness, jobState, selects, statefulSetReadiness} from '../../src/kube/readiness.js'
import type {V1Deployment, V1Job} from '../../src/kube/types.js'
import type {K3dSimpleConfig} from '../../src/tools/k3d.js'
import type {WorkflowEvent} from '../../src/workflows/events.js'
import {formatDuration, outlineOf, Pipeline, type Step, type StepRun} from '../../src/workflows/pipeline.js'
import type {Project} from '../../src/workflows/project.js'
import {parseDuration} from '../../src/config/duration.js'
import {boundHostPorts, clusterDrift, httpHostPort} from '../../src/cluster/k3d-config.js'

const deployment = (name: string, initContainers: Array<{name: string; command?: string[]}> = []) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      initContainers: ${JSON.stringify(initContainers)}
      containers: [{name: app, image: x}]
`
const job = (name: string, hook?: string, command = ['psql', '-f', 'migrate.sql']) => `
apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  annotations: ${hook ? `{"helm.sh/hook": "${hook}", "helm.sh/hook-weight": "-5"}` : '{}'}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: postgres:16, command: ${JSON.stringify(command)}}]
`

function analyze(docs: string[], setting: Parameters<typeof analyzeChart>[1] = 'auto', phase: DeployPhase = 'install') {
  return analyzeChart(parseManifests(docs.join('\n---\n')), setting, {phase, release: 'demo'})
}

describe('migration detection from the rendered chart', () => {
  it('finds a pre-install/pre-upgrade hook Job, and does not count it as a workload', () => {
    const chart = analyze([deployment('web'), job('web-migrate', 'pre-install,pre-upgrade')])
    expect(chart.migration).toEqual({kind: 'hook-job', job: 'web-migrate', hooks: ['pre-install', 'pre-upgrade']})
    expect(chart.workloads.map((w) => `${w.kind}/${w.name}`)).toEqual(['Deployment/web'])
  })

  it('finds a plain Job that says migrate', () => {
    const chart = analyze([deployment('web'), job('db-migrate')])
    expect(chart.migration).toEqual({kind: 'job', job: 'db-migrate'})
    expect(chart.workloads.map((w) => w.kind)).toEqual(['Deployment', 'Job'])
  })

  it('finds a migrate init container by name or command', () => {
    expect(analyze([deployment('web', [{name: 'migrate'}])]).migration).toMatchObject({kind: 'init-container', containers: [{container: 'migrate', workload: {name: 'web', selector: {app: 'web'}}}]})
    expect(analyze([deployment('web', [{name: 'setup', command: ['alembic', 'upgrade', 'head', '--migrate']}])]).migration).toMatchObject({kind: 'init-container', containers: [{container: 'setup'}]})
  })

  it('follows the migrate init container of every workload that has one, not only the first', () => {
    const chart = analyze([deployment('demo-api', [{name: 'migrate'}]), deployment('demo-worker', [{name: 'wait-for-db'}, {name: 'migrate'}]), deployment('demo-web')])
    expect(chart.migration).toMatchObject({
      kind: 'init-container',
      containers: [
        {container: 'migrate', workload: {name: 'demo-api'}},
        {container: 'migrate', workload: {name: 'demo-worker'}},
      ],
    })
  })

  it('takes a named init container in every workload, or WORKLOAD/NAME in one (with or without the release prefix)', () => {
    const docs = [deployment('demo-api', [{name: 'migrate'}]), deployment('demo-worker', [{name: 'migrate'}])]
    expect(analyze(docs, {initContainer: 'migrate'}).migration).toMatchObject({containers: [{workload: {name: 'demo-api'}}, {workload: {name: 'demo-worker'}}]})
    for (const name of ['worker/migrate', 'demo-worker/migrate']) {
      expect(analyze(docs, {initContainer: name}).migration).toMatchObject({kind: 'init-container', containers: [{container: 'migrate', workload: {name: 'demo-worker'}}]})
    }
    expect(() => analyze(docs, {initContainer: 'jobs/migrate'})).toThrow(/it has: demo-api\/migrate, demo-worker\/migrate/)
  })

  it('knows which phase a hook Job runs in: a pre-upgrade-only hook migrates nothing on the first install', () => {
    const docs = [deployment('web'), job('web-migrate', 'pre-upgrade')]
    expect(analyze(docs, 'auto', 'install').migration).toEqual({kind: 'none', reason: 'no migration on first install: hook Job web-migrate runs on pre-upgrade only'})
    expect(analyze(docs, 'auto', 'upgrade').migration).toEqual({kind: 'hook-job', job: 'web-migrate', hooks: ['pre-upgrade']})
    const installOnly = [deployment('web'), job('web-migrate', 'pre-install')]
    expect(analyze(installOnly, 'auto', 'upgrade').migration).toMatchObject({kind: 'none', reason: 'no migration on upgrade: hook Job web-migrate runs on pre-install only'})
    expect(analyze([job('web-migrate', 'pre-install,pre-upgrade')], 'auto', 'install').migration.kind).toBe('hook-job')
  })

  it('takes the hook Job that runs in this phase when one migrates on install and another on upgrade (Mastodon)', () => {
    const docs = [deployment('web'), job('web-db-post-migrate', 'post-install,post-upgrade'), job('web-db-pre-migrate', 'pre-upgrade'), job('web-db-prepare', 'pre-install')]
    expect(analyze(docs, 'auto', 'install').migration).toEqual({kind: 'hook-job', job: 'web-db-prepare', hooks: ['pre-install']})
    expect(analyze(docs, 'auto', 'upgrade').migration).toEqual({kind: 'hook-job', job: 'web-db-pre-migrate', hooks: ['pre-upgrade']})
  })

  it('takes a post-install/post-upgrade hook Job that says migrate (Chatwoot), after any pre-install/pre-upgrade one', () => {
    const post = job('chat-migrate', 'post-install,post-upgrade', ['bundle', 'exec', 'rails', 'db:chatwoot_prepare'])
    expect(analyze([deployment('web'), post], 'auto', 'install').migration).toEqual({kind: 'hook-job', job: 'chat-migrate', hooks: ['post-install', 'post-upgrade']})
    expect(analyze([deployment('web'), post], 'auto', 'upgrade').migration).toMatchObject({kind: 'hook-job', job: 'chat-migrate'})
    // One that does not say migrate is something else (a notification, an admin user).
    expect(analyze([deployment('web'), job('chat-notify', 'post-install', ['curl', 'https://example.com/hook']).replace('name: migrate', 'name: notify')]).migration.kind).toBe('none')
    expect(analyze([deployment('web'), post, job('chat-prepare', 'pre-install')]).migration).toMatchObject({job: 'chat-prepare'})
    expect(analyze([deployment('web'), job('chat-migrate', 'post-upgrade')], 'auto', 'install').migration).toEqual({
      kind: 'none',
      reason: 'no migration on first install: hook Job chat-migrate runs on post-upgrade only',
    })
  })

  it('reports none when the chart has no migration, or when told so', () => {
    expect(analyze([deployment('web', [{name: 'wait-for-db'}])]).migration.kind).toBe('none')
    expect(analyze([deployment('web'), job('web-migrate', 'pre-install')], 'none').migration.kind).toBe('none')
  })

  it('uses a named Job or init container, and says clearly when the chart has none by that name', () => {
    expect(analyze([deployment('web'), job('seed', undefined, ['seed'])], {job: 'seed'}).migration).toEqual({kind: 'job', job: 'seed'})
    expect(() => analyze([deployment('web')], {job: 'seed'})).toThrow(ConfigError)
    expect(() => analyze([deployment('web')], {initContainer: 'migrate'})).toThrow(/no workload in the rendered chart has one by that name \(it has: none\)/)
  })
})

describe('rollout readiness rules', () => {
  const d = (spec: number, status: NonNullable<V1Deployment['status']>, generation = 1): V1Deployment => ({metadata: {generation}, spec: {replicas: spec, selector: {}, template: {}}, status})

  it('follows kubectl rollout status for Deployments', () => {
    expect(deploymentReadiness(d(2, {observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2})).ready).toBe(true)
    expect(deploymentReadiness(d(2, {observedGeneration: 0, replicas: 2, updatedReplicas: 2, availableReplicas: 2}, 1)).detail).toMatch(/controller/)
    expect(deploymentReadiness(d(2, {observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2})).detail).toBe('1 old replica not replaced yet')
    expect(deploymentReadiness(d(2, {observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1})).detail).toBe('1/2 ready')
    expect(deploymentReadiness(d(2, {observedGeneration: 1, conditions: [{type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'took too long'}]})).detail).toMatch(
      /stalled: took too long/,
    )
  })

  it('reads StatefulSets and Job conditions, including FailureTarget and SuccessCriteriaMet', () => {
    expect(
      statefulSetReadiness({metadata: {generation: 1}, spec: {replicas: 1, selector: {}, serviceName: 's', template: {}}, status: {observedGeneration: 1, replicas: 1, readyReplicas: 1}}).ready,
    ).toBe(true)
    const withCondition = (type: string, reason?: string): V1Job => ({status: {conditions: [{type, status: 'True', reason, message: 'Job has reached the specified backoff limit'}]}})
    expect(jobState(withCondition('FailureTarget', 'BackoffLimitExceeded'))).toEqual({state: 'failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit'})
    expect(jobState(withCondition('SuccessCriteriaMet')).state).toBe('complete')
    expect(jobState({status: {active: 1}}).state).toBe('running')
  })

  it('matches pods to workloads by every selector label, never by an empty selector', () => {
    const pod = {metadata: {labels: {app: 'web', tier: 'api'}}}
    expect(selects({app: 'web'}, pod)).toBe(true)
    expect(selects({app: 'web', tier: 'worker'}, pod)).toBe(false)
    expect(selects({}, pod)).toBe(false)
  })
})

describe('pipeline', () => {
  const project = {config: {}, names: {release: 'demo'}} as unknown as Project
  const controls = () => {
    const events: WorkflowEvent[] = []
    return {events, options: {emit: (e: WorkflowEvent) => events.push(e), signal: new AbortController().signal, forceSignal: new AbortController().signal}}
  }
  const step = <I, O>(id: string, execute: Step<I, O>['execute'], extra: Partial<Step<I, O>> = {}): Step<I, O> => ({id, title: () => id.toUpperCase(), execute, ...extra})

  it('hands each step its input and returns what it produced; a skip is recorded with its reason', async () => {
    const {events, options} = controls()
    const pipeline = new Pipeline(project, options)
    const a = step('a', async (input: {n: number}, run) => {
      run.title('A done')
      return input.n * 2
    })
    const doubled = await pipeline.run(a, {n: 21})
    pipeline.skip(
      step('b', async () => undefined),
      'nothing to do',
    )
    expect(doubled).toBe(42)
    expect(pipeline.outcomes.map((o) => [o.id, o.status, o.title, o.message])).toEqual([
      ['a', 'done', 'A done', undefined],
      ['b', 'skipped', 'B', 'nothing to do'],
    ])
    expect(events.map((e) => e.type)).toEqual(['step:start', 'step:title', 'step:end', 'step:start', 'step:end'])
  })

  it('lets onFailure explain a failure', async () => {
    const {options} = controls()
    const failing = step(
      'migrate',
      async () => {
        throw new MigrationError('Job failed')
      },
      {onFailure: async (_input, _run, error) => error.explain({details: ['pod x: Error']})},
    )
    const error = await new Pipeline(project, options).run(failing, {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationError)
    expect((error as MigrationError).details).toEqual(['pod x: Error'])
  })

  it('reports a diagnosis that fails instead of swallowing it', async () => {
    const {options} = controls()
    const failing = step(
      'rollout',
      async () => {
        throw new MigrationError('not ready')
      },
      {
        onFailure: async () => {
          throw new Error('events could not be listed')
        },
      },
    )
    const error = await new Pipeline(project, options).run(failing, {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationError)
    expect((error as MigrationError).details).toEqual(['(devctl could not diagnose this failure further: events could not be listed)'])
  })

  it('shows a step that fails with an unexpected error as failed, and passes the error on unchanged', async () => {
    const {events, options} = controls()
    const bug = new TypeError('x is undefined')
    const failing = step('plan', async () => {
      throw bug
    })
    const error = await new Pipeline(project, options).run(failing, {}).catch((e: unknown) => e)
    expect(error).toBe(bug)
    expect(events.at(-1)).toMatchObject({type: 'step:end', step: 'plan', status: 'failed', message: 'x is undefined'})
  })

  it('turns a step that outlives its timeout into a timeout error, stops its siblings, and ends the group after all of them', async () => {
    const {events, options} = controls()
    const pipeline = new Pipeline(project, options)
    let siblingAborted = false
    const waitForAbort = (onAbort?: () => void) => (_input: object, run: StepRun) =>
      new Promise<never>((_, reject) =>
        run.signal.addEventListener('abort', () => {
          onAbort?.()
          reject(run.signal.reason)
        }),
      )
    let siblingExplained = false
    const slow = step('slow', waitForAbort(), {timeoutMs: () => 20})
    const sibling = step(
      'sibling',
      waitForAbort(() => (siblingAborted = true)),
      {
        onFailure: async () => {
          siblingExplained = true
        },
      },
    )
    const group = {id: 'group', title: () => 'Group', steps: [slow, sibling]}
    const error = await pipeline.group(group, (members) => Promise.all([members.run(slow, {}), members.run(sibling, {})])).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StepTimeoutError)
    expect((error as Error).message).toBe('SLOW: not done after 20ms.')
    expect(siblingAborted).toBe(true)
    // The sibling was stopped, it did not fail: the failure is said once, by the step that failed.
    expect(siblingExplained).toBe(false)
    const ends = events.filter((e) => e.type === 'step:end').map((e) => (e.type === 'step:end' ? `${e.step}:${e.status}${e.message ? ` (${e.message})` : ''}` : ''))
    expect(ends).toEqual(['slow:failed (SLOW: not done after 20ms.)', 'sibling:skipped (stopped: another step failed)', 'group:failed (SLOW: not done after 20ms.)'])
  })

  it('ends a step that finds it does not apply after all as skipped, with its reason', async () => {
    const {events, options} = controls()
    const pipeline = new Pipeline(project, options)
    await pipeline.run(
      step('migration', async (_input: object, run: StepRun) => run.skip('did not run: helm failed before it started')),
      {},
    )
    expect(events.at(-1)).toMatchObject({type: 'step:end', step: 'migration', status: 'skipped', message: 'did not run: helm failed before it started'})
  })

  it('lists steps and groups with their titles before they run', () => {
    const a = step('a', async () => undefined)
    const b = step('b', async () => undefined)
    expect(outlineOf(project, [a, {id: 'g', title: () => 'Group', steps: [b]}])).toEqual([
      {id: 'a', title: 'A', children: undefined},
      {id: 'g', title: 'Group', children: [{id: 'b', title: 'B', children: undefined}]},
    ])
  })

  it('parses and formats durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('250ms')).toBe(250)
    expect(formatDuration(1500)).toBe('1.5s')
    expect(formatDuration(125_000)).toBe('2m5s')
  })
})

describe('cluster settings k3d cannot change', () => {
  const wanted: K3dSimpleConfig = {
    apiVersion: 'k3d.io/v1alpha5',
    kind: 'Simple',
    metadata: {name: 'demo'},
    servers: 1,
    agents: 0,
    image: 'rancher/k3s:v1.31.4-k3s1',
    kubeAPI: {hostIP: '127.0.0.1'},
    ports: [{port: '8080:80', nodeFilters: ['loadbalancer']}],
    options: {k3d: {wait: true, timeout: '120s'}, kubeconfig: {updateDefaultKubeconfig: true, switchCurrentContext: true}},
  }

  it('finds none when the cluster was created with what devctl.yaml asks for', () => {
    expect(clusterDrift(structuredClone(wanted), wanted)).toEqual([])
  })

  it('names each changed setting, old → new', () => {
    const createdWith = {...structuredClone(wanted), ports: [{port: '8081:80', nodeFilters: ['loadbalancer']}], kubeAPI: {hostIP: '127.0.0.1', hostPort: '6550'}, image: 'rancher/k3s:v1.30.1-k3s1'}
    expect(clusterDrift(createdWith, wanted)).toEqual([
      'port mappings 8081:80@loadbalancer → 8080:80@loadbalancer',
      'API port 6550 → any free port',
      'k3s image rancher/k3s:v1.30.1-k3s1 → rancher/k3s:v1.31.4-k3s1',
    ])
    expect(clusterDrift({...structuredClone(wanted), registries: {create: {hostPort: '5000'}}}, wanted)).toEqual(['registry port 5000 → no registry'])
  })

  it("reads the host port mapped to the cluster's port 80", () => {
    expect(httpHostPort(wanted)).toBe(8080)
    expect(httpHostPort({ports: [{port: '127.0.0.1:9443:443'}, {port: '127.0.0.1:9080:80'}]})).toBe(9080)
    expect(httpHostPort({ports: [{port: '8443:443'}]})).toBeUndefined()
  })

  it('lists the host ports a cluster binds, with what each is for', () => {
    expect(boundHostPorts({...wanted, kubeAPI: {hostPort: '6550'}, registries: {create: {hostPort: '5000'}}})).toEqual([
      {port: 6550, purpose: 'the Kubernetes API'},
      {port: 8080, purpose: 'port mapping 8080:80'},
      {port: 5000, purpose: 'the local registry'},
    ])
  })
})
