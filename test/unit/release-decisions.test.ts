/**
 * The decisions `up`, `upgrade` and `status` take about the release: the fingerprint that says
 * whether anything changed, when `up` leaves the release alone and when it deploys (and why),
 * what an upgrade starts from and when it reinstalls, when a stuck release is recovered or
 * refused, and the status conditions. Pure decisions as tables; the steps that take them
 * against a fake cluster and a fake helm (test/unit/workflow-fake.ts).
 */
import {spawn} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {fingerprint, type FingerprintInput} from '../../src/chart/fingerprint.js'
import type {ReleaseHistory, ReleaseRecord} from '../../src/chart/release-record.js'
import {ChartError} from '../../src/errors.js'
import {NamespaceWatch} from '../../src/kube/namespace-watch.js'
import {createProject, type Confirm, type Project} from '../../src/workflows/project.js'
import {clusterDownConditions, conditions, lastFailure, type StatusResult} from '../../src/workflows/status.js'
import {planDeploy, recoverStuckRelease, releaseChange} from '../../src/workflows/steps/chart.js'
import {chartCheckStep, deployFingerprint} from '../../src/workflows/steps/render.js'
import {deployRequest, type DeployRequest} from '../../src/workflows/steps/request.js'
import {crossesBreakingVersion, upgradeBase} from '../../src/workflows/upgrade.js'
import {FakeEnvironment, fakeProject, recordingRun} from './workflow-fake.js'

const PROJECT_YAML = 'app:\n  chart: {path: ./chart}\n  values: [values.dev.yaml]\n'

/** A project on the fake environment, its tools the fake's. */
async function projectOn(env: FakeEnvironment, name = 'demo'): Promise<Project> {
  const loaded = await fakeProject(PROJECT_YAML, name)
  return {...createProject(loaded, env.kube.module()), tools: env.tools}
}

describe('the release fingerprint', () => {
  async function inputs(): Promise<FingerprintInput> {
    const project = await projectOn(new FakeEnvironment())
    return {chart: {path: './chart'}, baseDir: project.dir, valuesFiles: project.valuesFiles, set: {replicaCount: 2, 'image.tag': '1.0'}, extra: {release: 'demo', namespace: 'demo'}}
  }

  it('is the same for the same deploy inputs, whatever the order of their keys', async () => {
    const base = await inputs()
    const hash = await fingerprint(base)
    expect(hash).toMatch(/^[0-9a-f]{40}$/)
    expect(await fingerprint({...base, set: {'image.tag': '1.0', replicaCount: 2}, extra: {namespace: 'demo', release: 'demo'}})).toBe(hash)
  })

  it('changes with the values files, --set, the chart files and the release settings', async () => {
    const base = await inputs()
    const hash = await fingerprint(base)
    expect(await fingerprint({...base, set: {replicaCount: 3}})).not.toBe(hash)
    expect(await fingerprint({...base, extra: {release: 'other', namespace: 'demo'}})).not.toBe(hash)
    await writeFile(base.valuesFiles[0]!, 'replicaCount: 2\n')
    const valuesChanged = await fingerprint(base)
    expect(valuesChanged).not.toBe(hash)
    await mkdir(join(base.baseDir, 'chart', 'templates'))
    await writeFile(join(base.baseDir, 'chart', 'templates', 'deployment.yaml'), 'kind: Deployment\n')
    expect(await fingerprint(base)).not.toBe(valuesChanged)
  })

  it('reads values as helm does: an anchor and alias that give the same values give the same hash', async () => {
    const base = await inputs()
    await writeFile(base.valuesFiles[0]!, 'image: {tag: "6.7.1"}\nworker: {tag: "6.7.1"}\n')
    const plain = await fingerprint(base)
    await writeFile(base.valuesFiles[0]!, '# one tag for both\nimage: {tag: &tag "6.7.1"}\nworker: {tag: *tag}\n')
    expect(await fingerprint(base)).toBe(plain)
  })

  it('ignores what helm does not package from a chart directory (.git, node_modules)', async () => {
    const base = await inputs()
    const hash = await fingerprint(base)
    for (const dir of ['.git', 'node_modules']) {
      await mkdir(join(base.baseDir, 'chart', dir))
      await writeFile(join(base.baseDir, 'chart', dir, 'noise'), String(Math.random()))
    }
    expect(await fingerprint(base)).toBe(hash)
  })

  it('keeps a repository chart by its version (range), not its contents', async () => {
    const base = await inputs()
    const repo = {name: 'web', repo: 'https://charts.example.com', version: '^1.0.0'}
    const hash = await fingerprint({...base, chart: repo})
    expect(await fingerprint({...base, chart: {...repo}})).toBe(hash)
    expect(await fingerprint({...base, chart: {...repo, version: '^2.0.0'}})).not.toBe(hash)
  })
})

describe('when the release must change', () => {
  const request = (set: Partial<DeployRequest> = {}): DeployRequest => ({chart: {path: './chart'}, valuesFiles: [], set: {}, force: false, ...set})
  const deployed: ReleaseRecord = {revision: 4, status: 'deployed', fingerprint: 'abc'}

  it.each([
    ['not installed', request(), undefined, 'abc', true, 'first install'],
    ['--force', request({force: true}), deployed, 'abc', true, '--force'],
    ['a newer chart in the range', request({chart: {name: 'web', repo: 'r', version: '^1'}, resolvedChart: {version: '1.3.0', deployed: '1.2.0'}}), deployed, 'abc', true, 'a newer chart within ^1'],
    ['new inputs', request(), deployed, 'def', true, 'chart, values or settings changed'],
    ['a release deployed before devctl kept fingerprints', request(), {revision: 1, status: 'deployed'}, 'abc', true, 'chart, values or settings changed'],
    ['a failed last deploy', request(), {...deployed, status: 'failed'}, 'abc', true, 'last deploy failed'],
    ['workloads not ready', request(), deployed, 'abc', false, 'workloads not ready'],
  ] as const)('changes: %s', (_case, req, previous, hash, ready, reason) => {
    expect(releaseChange(req, previous, hash, ready)).toEqual({unchanged: false, reason})
  })

  it('is left alone only when nothing asks for a change (the resolved chart is the deployed one)', () => {
    expect(releaseChange(request(), deployed, 'abc', true)).toEqual({unchanged: true, reason: 'nothing changed'})
    expect(releaseChange(request({resolvedChart: {version: '1.2.0', deployed: '1.2.0'}}), deployed, 'abc', true).unchanged).toBe(true)
  })
})

describe("up's plan against the release in the cluster", () => {
  /** planDeploy on the fake: the namespace watched, the release as `previous`. */
  async function planner(env: FakeEnvironment) {
    const project = await projectOn(env)
    const watch = await NamespaceWatch.start(env.kube.client, project.names.namespace, ['Deployment', 'Pod', 'ReplicaSet'], new AbortController().signal)
    const request = deployRequest(project)
    const target = {project, connection: env.connection(), watch, helmMajor: 3}
    return {project, hash: await deployFingerprint(project, 3, request), plan: (previous: ReleaseRecord | undefined) => planDeploy(target, request, previous, recordingRun())}
  }

  it('neither renders nor deploys when the release carries the same fingerprint and is deployed', async () => {
    const env = new FakeEnvironment()
    const {hash, plan} = await planner(env)
    expect(await plan({revision: 3, status: 'deployed', fingerprint: hash})).toEqual({
      fingerprint: hash,
      previous: {revision: 3, status: 'deployed', fingerprint: hash},
      unchanged: true,
      reason: 'nothing changed',
    })
    expect(env.helm.calls).toEqual([])
  })

  it('renders for the phase it deploys in: install when there is no release, upgrade over one', async () => {
    const env = new FakeEnvironment()
    env.helm.manifests = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n'
    const {plan} = await planner(env)
    expect(await plan(undefined)).toMatchObject({unchanged: false, reason: 'first install', rendered: {phase: 'install'}})
    expect(await plan({revision: 1, status: 'deployed', fingerprint: 'older'})).toMatchObject({unchanged: false, reason: 'chart, values or settings changed', rendered: {phase: 'upgrade'}})
    // A first install renders with helm template; an upgrade as the installed release's next revision.
    expect(env.helm.calls).toEqual(['template', 'upgrade --dry-run'])
  })

  it('checks the chart before the cluster only for inputs that did not pass before: --force and new values render again', async () => {
    const env = new FakeEnvironment()
    const project = await projectOn(env)
    const check = (request: DeployRequest) => chartCheckStep.execute({project, request, helmMajor: 3, phase: 'install'}, recordingRun())
    const first = await check(deployRequest(project))
    expect(first.rendered?.phase).toBe('install')
    const again = await check(deployRequest(project))
    expect(again).toEqual({fingerprint: first.fingerprint})
    expect(env.helm.calls).toEqual(['template'])
    expect((await check(deployRequest(project, {force: true}))).rendered).toBeDefined()
    expect((await check(deployRequest(project, {extraSet: {replicaCount: 2}}))).fingerprint).not.toBe(first.fingerprint)
    expect(env.helm.calls).toEqual(['template', 'template', 'template'])
  })

  it('redeploys a release whose workloads are not ready, even when nothing in the inputs changed', async () => {
    const env = new FakeEnvironment()
    const {hash, plan, project} = await planner(env)
    env.kube.put('Deployment', {
      metadata: {name: 'demo-web', namespace: project.names.namespace, generation: 1, annotations: {'meta.helm.sh/release-name': 'demo'}},
      spec: {replicas: 1, selector: {matchLabels: {app: 'web'}}, template: {}},
      status: {observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0},
    })
    expect(await plan({revision: 3, status: 'deployed', fingerprint: hash})).toMatchObject({unchanged: false, reason: 'workloads not ready'})
  })
})

describe('what an upgrade starts from, and when it reinstalls', () => {
  const revision = (n: number, status: string, chart = 'web-0.1.0'): ReleaseHistory[number] => ({revision: n, status, chart})

  it('starts from the latest revision, deployed or failed (a failed one is upgraded over)', () => {
    expect(upgradeBase([revision(1, 'superseded'), revision(2, 'deployed')], 'demo')).toEqual({previous: revision(2, 'deployed'), stuck: undefined})
    expect(upgradeBase([revision(1, 'superseded'), revision(2, 'failed')], 'demo').previous.revision).toBe(2)
  })

  it('starts from the last finished revision before one an interrupted helm left pending, and names the stuck one', () => {
    for (const pending of ['pending-upgrade', 'pending-rollback', 'pending-install']) {
      expect(upgradeBase([revision(1, 'superseded'), revision(2, 'deployed'), revision(3, pending)], 'demo')).toEqual({
        previous: {revision: 2, status: 'deployed'},
        stuck: {revision: 3, status: pending},
      })
    }
  })

  it('refuses a release that is not installed, or whose only revision never finished: `up` installs it', () => {
    for (const history of [[], [revision(1, 'pending-install')]]) {
      expect(() => upgradeBase(history, 'demo')).toThrow(ChartError)
      expect(() => upgradeBase(history, 'demo')).toThrow('Release demo is not installed yet, so there is nothing to upgrade.')
    }
  })

  it.each([
    ['0.1.0', '0.2.0', '0.2.0', true],
    ['1.9.3', '2.1.0', '2.0.0', true],
    ['0.2.0', '0.3.0', '0.2.0', false],
    ['0.1.0', '0.1.5', '0.2.0', false],
    ['0.3.0', '0.1.0', '0.2.0', false],
    ['0.1.0', '0.2.0', undefined, false],
    [undefined, '0.2.0', '0.2.0', false],
    ['0.1.0', 'not-a-version', '0.2.0', false],
  ] as const)('from %s to %s with breakingVersion %s: reinstall %s', (from, to, breaking, reinstall) => {
    expect(crossesBreakingVersion(from, to, breaking)).toBe(reinstall)
  })
})

describe('a release an interrupted helm left pending', () => {
  /** A release (named as no other test's helm on this machine names one) at revision 1 deployed and 2 `latest`. */
  async function stuck(latest: string) {
    const env = new FakeEnvironment()
    const name = `stuck-${process.pid}-${Math.floor(Math.random() * 1e6)}`
    const project = await projectOn(env, name)
    const {namespace, release} = project.names
    env.kube.putRevision(namespace, release, 1, 'deployed')
    env.kube.putRevision(namespace, release, 2, latest)
    const asked: string[] = []
    const consent =
      (answer: boolean): Confirm =>
      async (question) => {
        asked.push(`${question.flag}: ${question.message}`)
        return answer
      }
    const recover = (answer: boolean, run = recordingRun()) => recoverStuckRelease(project, env.connection(), consent(answer), run)
    return {env, namespace, release, asked, recover}
  }

  it('is left as it is when it is not pending: nothing asked, nothing dropped', async () => {
    const {env, asked, recover, namespace, release} = await stuck('deployed')
    expect((await recover(true)).latest).toMatchObject({revision: 2, status: 'deployed'})
    expect(asked).toEqual([])
    expect(env.kube.writes).toEqual([])
    expect(env.kube.revisions(namespace, release)).toEqual(['1 deployed', '2 deployed'])
  })

  it('is recovered with its own consent: the unfinished revision is dropped and the one before is current again', async () => {
    const {env, asked, recover, namespace, release} = await stuck('pending-upgrade')
    const run = recordingRun()
    const result = await recover(true, run)
    expect(asked).toEqual([
      `--recover: Release ${release} is stuck in "pending-upgrade" (revision 2). No helm is working on it any more (it was interrupted). Drop the unfinished revision 2 so the release can be deployed again?`,
    ])
    expect(env.kube.writes).toEqual([`delete Secret ${namespace}/sh.helm.release.v1.${release}.v2`])
    expect(result).toEqual({latest: {revision: 1, status: 'deployed', fingerprint: undefined}, recovered: 'revision 2 (pending-upgrade) dropped'})
    expect(run.warnings).toEqual([`Recovered release ${release}: dropped the unfinished revision 2 (pending-upgrade).`])
  })

  it('is refused without consent, and nothing is dropped', async () => {
    const {env, recover} = await stuck('pending-install')
    const error = await recover(false).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChartError)
    expect((error as ChartError).hint).toMatch(/^Run this again with --recover/)
    expect(env.kube.writes).toEqual([])
  })

  it('is refused while a helm still works on it, without asking', async () => {
    const {env, asked, recover, namespace, release} = await stuck('pending-upgrade')
    // A process that is `helm upgrade <release> --namespace <namespace>` as far as the process table says.
    const helm = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', 'upgrade', release, '--namespace', namespace], {argv0: 'helm', stdio: 'ignore'})
    try {
      await new Promise((resolve) => helm.once('spawn', resolve))
      const error = await recover(true).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ChartError)
      expect((error as ChartError).message).toContain(`A helm (pid ${helm.pid}) is still working on it`)
      expect(asked).toEqual([])
      expect(env.kube.writes).toEqual([])
    } finally {
      helm.kill()
    }
  })
})

describe('status conditions', () => {
  const ready = {ready: 1, total: 1, permitted: true}
  function status(parts: Partial<StatusResult> = {}): StatusResult {
    return {
      project: 'demo',
      cluster: {provider: 'k3d', name: 'demo', context: 'k3d-demo', state: 'running', nodes: ready},
      namespace: 'demo',
      services: [
        {name: 'postgres', mode: 'in-cluster', ready: true},
        {name: 'redis', mode: 'external', ready: true},
      ],
      release: {name: 'demo', revision: 3, status: 'deployed', chart: 'web-0.1.0'},
      migration: {kind: 'hook-job', name: 'demo-migrate', result: 'succeeded', startedAt: '2025-01-01T10:00:00Z', durationMs: 1200},
      workloads: [{kind: 'Deployment', name: 'demo-web', ready: true, detail: '1/1 ready', images: ['web:1'], pods: []}],
      conditions: [],
      ...parts,
    }
  }
  const find = (list: ReturnType<typeof conditions>, type: string) => list.find((c) => c.type === type)

  it('are all True for an environment that is well', () => {
    expect(conditions(status()).map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`)).toEqual([
      'ClusterReady=True NodesReady: 1/1 node ready',
      'ServicesReady=True ServicesReady: postgres: in-cluster, redis: external',
      'ReleaseDeployed=True Deployed: revision 3 (web-0.1.0)',
      'MigrationSucceeded=True Succeeded: hook-job demo-migrate',
      'WorkloadsReady=True AllReady: 1 workload ready',
    ])
    expect(conditions(status()).every((c) => c.hint === undefined)).toBe(true)
  })

  it('say Unknown, not False, for what devctl cannot know: nodes it may not read, no migration record, no workloads', () => {
    const list = conditions(status({cluster: {...status().cluster, nodes: {ready: 0, total: 0, permitted: false}}, migration: undefined, workloads: []}))
    expect(find(list, 'ClusterReady')).toMatchObject({status: 'Unknown', reason: 'NodesNotPermitted'})
    expect(find(list, 'MigrationSucceeded')).toMatchObject({status: 'Unknown', reason: 'NoRecord'})
    expect(find(list, 'WorkloadsReady')).toMatchObject({status: 'Unknown', reason: 'NoWorkloads'})
    const notRun = conditions(status({migration: {kind: 'none', name: '', result: 'not-run', revision: 1, message: 'no migration on first install', startedAt: '', durationMs: 0}}))
    expect(find(notRun, 'MigrationSucceeded')).toMatchObject({status: 'Unknown', reason: 'NotRun', message: 'revision 1 ran none: no migration on first install'})
  })

  it('tell a pending release (recover it) from a failed one (fix, then upgrade) and from none (up)', () => {
    expect(find(conditions(status({release: undefined})), 'ReleaseDeployed')).toMatchObject({status: 'False', reason: 'NotInstalled', hint: 'Run `devctl up`.'})
    expect(find(conditions(status({release: {name: 'demo', revision: 4, status: 'pending-upgrade'}})), 'ReleaseDeployed')).toMatchObject({
      status: 'False',
      reason: 'Pending',
      message: 'revision 4 is pending-upgrade: a helm command was interrupted',
      hint: '`devctl upgrade` recovers a stuck release.',
    })
    expect(find(conditions(status({release: {name: 'demo', revision: 4, status: 'failed', description: 'hook failed'}})), 'ReleaseDeployed')).toMatchObject({
      status: 'False',
      reason: 'Failed',
      message: 'revision 4 is failed: hook failed',
      hint: 'Fix the cause (see `devctl logs`), then `devctl upgrade`.',
    })
  })

  it('count only in-cluster services as not ready, and say which', () => {
    const list = conditions(
      status({
        services: [
          {name: 'postgres', mode: 'in-cluster', ready: false},
          {name: 'redis', mode: 'disabled', ready: false},
        ],
      }),
    )
    expect(find(list, 'ServicesReady')).toMatchObject({status: 'False', reason: 'ServiceNotReady', message: 'postgres not ready'})
  })

  it('name a pod that will not recover before one that may (one crash can be a slow dependency), with the command that shows its log', () => {
    const pod = (name: string, reason: string, restarts: number) => ({name, status: 'Running', ready: 0, total: 1, restarts, reason})
    const list = conditions(
      status({
        workloads: [
          {kind: 'Deployment', name: 'demo-web', ready: false, detail: '0/2 ready', images: [], pods: [pod('demo-web-a', 'CrashLoopBackOff', 1), pod('demo-web-b', 'CrashLoopBackOff', 3)]},
          {kind: 'Deployment', name: 'demo-worker', ready: true, detail: '1/1 ready', images: [], pods: []},
        ],
      }),
    )
    expect(find(list, 'WorkloadsReady')).toEqual({
      type: 'WorkloadsReady',
      status: 'False',
      reason: 'CrashLoopBackOff',
      message: 'Deployment demo-web: 0/2 ready; pod demo-web-b: CrashLoopBackOff',
      hint: 'read its last log lines (`devctl logs --no-follow --tail 20 demo-web-b`); fix the crash (often a missing setting or an unreachable dependency)',
    })
    // A workload still starting, no pod with a reason: progressing, wait.
    const starting = conditions(status({workloads: [{kind: 'Deployment', name: 'demo-web', ready: false, detail: '0/1 ready', images: [], pods: []}]}))
    expect(find(starting, 'WorkloadsReady')).toMatchObject({status: 'False', reason: 'Progressing', hint: 'Wait, or see `devctl logs` for what the pods are doing.'})
  })

  it('for a cluster that is not running, only ClusterReady, with what to do for k3d and for a shared cluster', () => {
    expect(clusterDownConditions('missing', 'k3d')).toEqual([
      {type: 'ClusterReady', status: 'False', reason: 'ClusterMissing', message: 'the cluster is missing', hint: 'Run `devctl up` to create it.'},
    ])
    expect(clusterDownConditions('stopped', 'k3d')[0]).toMatchObject({reason: 'ClusterStopped', hint: 'Run `devctl up` to start it (data is kept).'})
    expect(clusterDownConditions('unreachable', 'k3d', 'Docker is not running')[0]).toMatchObject({
      reason: 'ClusterUnreachable',
      message: 'Docker is not running',
      hint: expect.stringMatching(/^Is Docker running\?/),
    })
    expect(clusterDownConditions('unreachable', 'existing')[0]!.hint).toMatch(/^Check your network \(VPN\) and credentials/)
  })

  it("find the newest failed revision, and the rollback that followed it (not an older one's)", () => {
    const history: ReleaseHistory = [
      {revision: 1, status: 'superseded', chart: 'web-0.1.0'},
      {revision: 2, status: 'failed', chart: 'web-0.1.0', description: 'Upgrade "demo" failed: 1 error occurred:\n\t* pre-upgrade hooks failed'},
      {revision: 3, status: 'superseded', chart: 'web-0.1.0', description: 'Rollback to 1'},
      {revision: 4, status: 'failed', chart: 'web-0.1.0', description: 'Upgrade "demo" failed: timed out'},
      {revision: 5, status: 'deployed', chart: 'web-0.1.0', description: 'Upgrade complete'},
    ]
    expect(lastFailure(history)).toEqual({revision: 4, status: 'failed', updated: undefined, description: 'Upgrade "demo" failed: timed out', rolledBackBy: undefined})
    expect(lastFailure(history.slice(0, 3))).toMatchObject({revision: 2, description: 'Upgrade "demo" failed: pre-upgrade hooks failed', rolledBackBy: {revision: 3}})
    expect(lastFailure(history.slice(0, 1))).toBeUndefined()
  })

  it('count a revision devctl rolled back (helm deployed it, so it is only superseded) as the last failure', () => {
    const history: ReleaseHistory = [
      {revision: 1, status: 'superseded', chart: 'web-0.1.0', description: 'Install complete'},
      {revision: 2, status: 'superseded', chart: 'web-0.1.0', description: 'Upgrade complete'},
      {revision: 3, status: 'deployed', chart: 'web-0.1.0', description: 'Rollback to 1'},
    ]
    expect(lastFailure(history)).toEqual({
      revision: 2,
      status: 'superseded',
      updated: undefined,
      description: undefined,
      rolledBackBy: {revision: 3, status: 'deployed', updated: undefined, description: 'Rollback to 1'},
    })
    // A rollback is not itself rolled back by the one after it.
    expect(lastFailure([...history, {revision: 4, status: 'deployed', chart: 'web-0.1.0', description: 'Rollback to 2'}])).toMatchObject({revision: 2, rolledBackBy: {revision: 3}})
    expect(lastFailure(history.slice(0, 2))).toBeUndefined()
  })
})
