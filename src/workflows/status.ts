/**
 * `devctl status`: the whole environment on one screen — cluster, services, release,
 * workloads and pods, last migration — summarized as conditions, each False one with a
 * troubleshooting hint (in the manner of an operator's status conditions).
 */
import type {LoadedConfig} from '../config/load.js'
import {readMigrationRecord, type MigrationRecord} from '../chart/migration-record.js'
import {belongsToRelease, releaseHistory, type ReleaseHistory} from '../chart/release-record.js'
import {hintFor, isFatal, summarizePod, type PodSummary} from '../diagnose/pod.js'
import {DevctlError, InterruptedError} from '../errors.js'
import {NamespaceWatch} from '../kube/namespace-watch.js'
import {rolloutOf, statefulSetReadiness} from '../kube/readiness.js'
import type {V1Pod, V1StatefulSet} from '../kube/types.js'
import {registerProjectSecrets} from '../secrets/store.js'
import {POSTGRES, REDIS} from '../services/naming.js'
import {createProject, type Project} from './project.js'
import {ifPermitted} from '../kube/api-failure.js'
import {connectEnvironment, connectSavedK3d, type Connection} from './connect.js'
import type {KubeModule} from './project.js'
import {count} from '../text.js'
import type {K3dCluster} from '../tools/k3d.js'

export type ClusterState = 'running' | 'stopped' | 'missing' | 'unreachable'

export interface Condition {
  type: 'ClusterReady' | 'ServicesReady' | 'ReleaseDeployed' | 'MigrationSucceeded' | 'WorkloadsReady'
  status: 'True' | 'False' | 'Unknown'
  reason: string
  message: string
  /** What to do, for a condition that is not True. */
  hint?: string
}

export interface ServiceStatus {
  name: 'postgres' | 'redis'
  mode: 'in-cluster' | 'external' | 'disabled'
  ready: boolean
  endpoint?: string
}

export interface WorkloadSummary {
  kind: string
  name: string
  ready: boolean
  detail: string
  /** The images its pods' containers actually run (what the kubelet reports), not what the chart says. */
  images: string[]
  pods: Array<PodSummary & {ageSeconds?: number}>
}

/** A revision of the release as helm's history tells it. */
export interface RevisionSummary {
  revision: number
  status: string
  updated?: string
  description?: string
}

export interface StatusResult {
  project: string
  /** `nodes.permitted` is false for an account that may not read nodes (one limited to its namespace). */
  cluster: {provider: 'k3d' | 'existing'; name: string; context: string; state: ClusterState; nodes: {ready: number; total: number; permitted: boolean}}
  namespace: string
  services: ServiceStatus[]
  release?: {
    name: string
    revision: number
    status: string
    chart?: string
    appVersion?: string
    lastDeployed?: string
    description?: string
    /** The latest revision that failed, and the rollback that followed it (if one did). */
    lastFailure?: RevisionSummary & {rolledBackBy?: RevisionSummary}
  }
  workloads: WorkloadSummary[]
  migration?: MigrationRecord
  conditions: Condition[]
}

function age(pod: PodSummary): number | undefined {
  return pod.createdAt ? Math.max(0, Math.round((Date.now() - new Date(pod.createdAt).getTime()) / 1000)) : undefined
}

async function clusterState(ctx: Project, signal: AbortSignal): Promise<{state: ClusterState; connection?: Connection; message?: string}> {
  // The common case first: a k3d cluster that answers on the kubeconfig devctl kept needs no k3d process.
  const answering = ctx.config.cluster.provider === 'k3d' ? await connectSavedK3d(ctx) : undefined
  if (answering) return {state: 'running', connection: answering}
  let found: K3dCluster | undefined
  if (ctx.config.cluster.provider === 'k3d') {
    const listed = await ctx.tools.k3d.find(ctx.names.clusterName, signal).catch((error: unknown) => {
      if (error instanceof DevctlError) return error
      throw error
    })
    if (listed instanceof DevctlError) return {state: 'unreachable', message: listed.message}
    if (!listed) return {state: 'missing'}
    if (!listed.running) return {state: 'stopped'}
    found = listed
  }
  try {
    const connection = await connectEnvironment(ctx, signal, found)
    // One small read the API must answer; an account limited to its namespace may be refused it, and that is an answer too.
    await ifPermitted(connection.kube.get('Namespace', undefined, ctx.names.namespace))
    return {state: 'running', connection}
  } catch (error) {
    if (error instanceof DevctlError) return {state: 'unreachable', message: error.message}
    throw error
  }
}

function serviceStatuses(ctx: Project, statefulSets: V1StatefulSet[]): ServiceStatus[] {
  return (['postgres', 'redis'] as const).map((name) => {
    const settings = ctx.config.services[name]
    const port = name === 'postgres' ? POSTGRES.port : REDIS.port
    if (!settings.enabled) return {name, mode: 'disabled', ready: false}
    if (settings.external) return {name, mode: 'external', ready: true, endpoint: `${settings.external.host}:${settings.external.port}`}
    const set = statefulSets.find((s) => s.metadata?.name === `devctl-${name}`)
    return {name, mode: 'in-cluster', ready: set ? statefulSetReadiness(set).ready : false, endpoint: `devctl-${name}.${ctx.names.namespace}.svc:${port}`}
  })
}

export async function status(loaded: LoadedConfig, kubeModule: Promise<KubeModule>, signal: AbortSignal): Promise<StatusResult> {
  const ctx = createProject(loaded, kubeModule)
  // Pod messages and records may quote a password: known before anything is read, so it is masked.
  await registerProjectSecrets(loaded.dir, loaded.config)
  const namespace = ctx.names.namespace
  const cluster = await clusterState(ctx, signal)
  const result: StatusResult = {
    project: ctx.config.project,
    cluster: {provider: ctx.config.cluster.provider, name: ctx.names.clusterName, context: ctx.names.kubeContext, state: cluster.state, nodes: {ready: 0, total: 0, permitted: true}},
    namespace,
    services: serviceStatuses(ctx, []),
    workloads: [],
    conditions: [],
  }
  if (!cluster.connection) {
    result.conditions = clusterDownConditions(cluster.state, ctx.config.cluster.provider, cluster.message)
    return result
  }
  const {kube} = cluster.connection
  const [nodes, pods, replicaSets, statefulSets, deployments, daemonSets, history, migration] = await Promise.all([
    ifPermitted(kube.list('Node', undefined)),
    kube.list('Pod', namespace),
    kube.list('ReplicaSet', namespace),
    kube.list('StatefulSet', namespace),
    kube.list('Deployment', namespace),
    kube.list('DaemonSet', namespace),
    releaseHistory(kube, namespace, ctx.names.release),
    readMigrationRecord(kube, namespace),
  ])
  const nodeList = nodes.permitted ? nodes.value : []
  result.cluster.nodes = {total: nodeList.length, ready: nodeList.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length, permitted: nodes.permitted}
  result.services = serviceStatuses(ctx, statefulSets)
  result.migration = migration

  const latest = history.at(-1)
  if (latest) {
    result.release = {
      name: ctx.names.release,
      revision: latest.revision,
      status: latest.status,
      chart: latest.chart || undefined,
      appVersion: latest.appVersion,
      lastDeployed: latest.updated,
      description: latest.description,
      lastFailure: lastFailure(history),
    }
  }

  const released = [
    ...deployments.map((o) => ({kind: 'Deployment' as const, object: o})),
    ...statefulSets.map((o) => ({kind: 'StatefulSet' as const, object: o})),
    ...daemonSets.map((o) => ({kind: 'DaemonSet' as const, object: o})),
  ].filter(({object}) => belongsToRelease(object, ctx.names.release))
  result.workloads = released.map(({kind, object}) => {
    // The current revision's pods: old ones being replaced are in the detail, not listed as running.
    const rollout = rolloutOf(kind, object, pods, replicaSets)
    return {
      kind,
      name: object.metadata?.name ?? '?',
      ready: rollout.ready,
      detail: rollout.detail,
      images: runningImages(rollout.current),
      pods: rollout.current.map((p) => {
        const summary = summarizePod(p)
        return {...summary, ageSeconds: age(summary)}
      }),
    }
  })
  result.conditions = conditions(result)
  return result
}

/** The images the containers run: the kubelet's report, or the spec's while a container has not started. */
function runningImages(pods: V1Pod[]): string[] {
  const images = pods.flatMap((pod) => (pod.spec?.containers ?? []).map((container) => pod.status?.containerStatuses?.find((s) => s.name === container.name)?.image || container.image || '?'))
  return [...new Set(images)].sort()
}

const ROLLBACK = /^Rollback to \d+/

/**
 * helm's history: the newest revision that failed — helm said so, or devctl rolled it back
 * (helm deployed it, its pods never became ready: helm calls it superseded) — and the "Rollback
 * to N" revision that followed it, if one did.
 */
export function lastFailure(history: ReleaseHistory): (RevisionSummary & {rolledBackBy?: RevisionSummary}) | undefined {
  const rolledBack = (h: (typeof history)[number]) => history.some((later) => later.revision === h.revision + 1 && ROLLBACK.test(later.description ?? '')) && !ROLLBACK.test(h.description ?? '')
  const failed = history.findLast((h) => h.status === 'failed' || rolledBack(h))
  if (!failed) return undefined
  // helm's descriptions carry its multi-error layout ("1 error occurred:\n\t* ..."): one line is enough.
  const description = (text: string | undefined) =>
    text
      ?.replace(/\d+ errors? occurred:\s*\*\s*/g, '')
      .replace(/\s+/g, ' ')
      .trim()
  const summary = (h: (typeof history)[number]): RevisionSummary => ({revision: h.revision, status: h.status, updated: h.updated, description: description(h.description)})
  const rollback = history.find((h) => h.revision > failed.revision && ROLLBACK.test(h.description ?? ''))
  // A revision helm deployed says "Upgrade complete": not why it was rolled back.
  return {...summary(failed), ...(failed.status === 'failed' ? {} : {description: undefined}), rolledBackBy: rollback ? summary(rollback) : undefined}
}

/**
 * The diagnosis table's advice for a reason. Status prints no log lines (a failure report
 * does): where the advice points at lines "below", it names the command that shows them.
 */
function statusAction(reason: string | undefined, podName: string): string | undefined {
  return hintFor(reason)?.action.replace(/read (its last|the failed pod's) log lines below/, `read $1 log lines (\`devctl logs --no-follow --tail 20 ${podName}\`)`)
}

/** A burst of watch events (a pod going Running → Ready) becomes one refresh. */
const SETTLE_MS = 150

/**
 * `status --watch`: the status now, then again whenever something in the namespace changes
 * (pods, workloads, the migration Job, helm's release Secrets — told by watch events), and at
 * least every `refreshMs` for what no watch reports (the cluster itself). Ends when `signal`
 * aborts, with an InterruptedError.
 */
export async function* watchStatus(loaded: LoadedConfig, kubeModule: Promise<KubeModule>, signal: AbortSignal, refreshMs: number): AsyncGenerator<StatusResult> {
  let watch: NamespaceWatch | undefined
  try {
    for (;;) {
      // Watch first, then read: a change between the two is not lost.
      watch ??= await startWatch(loaded, kubeModule, signal)
      yield await status(loaded, kubeModule, signal)
      await nextChange(watch, refreshMs, signal)
    }
  } finally {
    watch?.close()
  }
}

/** Undefined while the cluster cannot be reached: the periodic refresh tells when it can. */
async function startWatch(loaded: LoadedConfig, kubeModule: Promise<KubeModule>, signal: AbortSignal): Promise<NamespaceWatch | undefined> {
  const ctx = createProject(loaded, kubeModule)
  try {
    const {kube} = await connectEnvironment(ctx, signal)
    return await NamespaceWatch.start(kube, ctx.names.namespace, ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'Secret'], signal)
  } catch (error) {
    if (signal.aborted) throw error
    return undefined
  }
}

function nextChange(watch: NamespaceWatch | undefined, refreshMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let settle: NodeJS.Timeout | undefined
    const done = (settleWith: () => void = resolve) => {
      clearTimeout(refresh)
      clearTimeout(settle)
      unsubscribe?.()
      signal.removeEventListener('abort', onAbort)
      settleWith()
    }
    const onAbort = () => done(() => reject(signal.reason ?? new InterruptedError()))
    const refresh = setTimeout(() => done(), refreshMs)
    const unsubscribe = watch?.onChange(() => {
      settle ??= setTimeout(() => done(), SETTLE_MS)
    })
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, {once: true})
  })
}

export function clusterDownConditions(state: ClusterState, provider: 'k3d' | 'existing', message?: string): Condition[] {
  const hints: Record<ClusterState, string> = {
    missing: 'Run `devctl up` to create it.',
    stopped: 'Run `devctl up` to start it (data is kept).',
    // A shared cluster is not devctl's to start: the network or the credentials are the usual causes.
    unreachable:
      provider === 'k3d' ? 'Is Docker running? `devctl doctor` checks; `devctl up` starts a stopped cluster.' : 'Check your network (VPN) and credentials; `devctl doctor` checks the kube context.',
    running: '',
  }
  return [
    {
      type: 'ClusterReady',
      status: 'False',
      reason: state === 'missing' ? 'ClusterMissing' : state === 'stopped' ? 'ClusterStopped' : 'ClusterUnreachable',
      message: message ?? `the cluster is ${state}`,
      hint: hints[state],
    },
  ]
}

export function conditions(status: StatusResult): Condition[] {
  const list: Condition[] = []
  const {nodes} = status.cluster
  list.push(
    !nodes.permitted
      ? {type: 'ClusterReady', status: 'Unknown', reason: 'NodesNotPermitted', message: 'the API answers; this account may not read nodes (it acts in its namespace only)'}
      : nodes.total > 0 && nodes.ready === nodes.total
        ? {type: 'ClusterReady', status: 'True', reason: 'NodesReady', message: `${nodes.ready}/${count(nodes.total, 'node')} ready`}
        : {
            type: 'ClusterReady',
            status: 'False',
            reason: 'NodesNotReady',
            message: `${nodes.ready}/${count(nodes.total, 'node')} ready`,
            hint: 'Give Docker more memory/CPU, or `devctl down && devctl up` to recreate the cluster.',
          },
  )

  const down = status.services.filter((s) => s.mode === 'in-cluster' && !s.ready)
  list.push(
    down.length === 0
      ? {type: 'ServicesReady', status: 'True', reason: 'ServicesReady', message: status.services.map((s) => `${s.name}: ${s.mode}`).join(', ')}
      : {
          type: 'ServicesReady',
          status: 'False',
          reason: 'ServiceNotReady',
          message: `${down.map((s) => s.name).join(' and ')} not ready`,
          hint: '`devctl logs --services` shows why; `devctl up` recreates missing ones.',
        },
  )

  const release = status.release
  if (!release) list.push({type: 'ReleaseDeployed', status: 'False', reason: 'NotInstalled', message: 'the chart is not installed', hint: 'Run `devctl up`.'})
  else if (release.status === 'deployed') list.push({type: 'ReleaseDeployed', status: 'True', reason: 'Deployed', message: `revision ${release.revision}${release.chart ? ` (${release.chart})` : ''}`})
  else if (release.status.startsWith('pending-'))
    list.push({
      type: 'ReleaseDeployed',
      status: 'False',
      reason: 'Pending',
      message: `revision ${release.revision} is ${release.status}: a helm command was interrupted`,
      hint: '`devctl upgrade` recovers a stuck release.',
    })
  else
    list.push({
      type: 'ReleaseDeployed',
      status: 'False',
      reason: 'Failed',
      message: `revision ${release.revision} is ${release.status}${release.description ? `: ${release.description}` : ''}`,
      hint: 'Fix the cause (see `devctl logs`), then `devctl upgrade`.',
    })

  const migration = status.migration
  if (!migration) list.push({type: 'MigrationSucceeded', status: 'Unknown', reason: 'NoRecord', message: 'no migration recorded by devctl in this namespace'})
  else if (migration.result === 'succeeded') list.push({type: 'MigrationSucceeded', status: 'True', reason: 'Succeeded', message: `${migration.kind} ${migration.name}`})
  else if (migration.result === 'not-run')
    list.push({type: 'MigrationSucceeded', status: 'Unknown', reason: 'NotRun', message: `revision ${migration.revision ?? '?'} ran none: ${migration.message ?? 'nothing to migrate'}`})
  else
    list.push({
      type: 'MigrationSucceeded',
      status: 'False',
      reason: 'Failed',
      message: migration.message ?? `${migration.kind} ${migration.name} failed`,
      hint: 'Read its log (`devctl logs --migration` prints it, also after its Job is gone), fix the cause, then run `devctl up` again.',
    })

  const failing = status.workloads.flatMap((w) => w.pods.filter((p) => p.reason)).sort((a, b) => Number(isFatal(b)) - Number(isFatal(a)))
  const notReady = status.workloads.filter((w) => !w.ready)
  if (notReady.length === 0)
    list.push({
      type: 'WorkloadsReady',
      status: status.workloads.length ? 'True' : 'Unknown',
      reason: status.workloads.length ? 'AllReady' : 'NoWorkloads',
      message: `${count(status.workloads.length, 'workload')} ready`,
    })
  else {
    const first = failing[0]
    list.push({
      type: 'WorkloadsReady',
      status: 'False',
      reason: first?.reason ?? 'Progressing',
      message: notReady.map((w) => `${w.kind} ${w.name}: ${w.detail}`).join('; ') + (first ? `; pod ${first.name}: ${first.reason}${first.message ? ` (${first.message})` : ''}` : ''),
      hint: (first && statusAction(first.reason, first.name)) ?? 'Wait, or see `devctl logs` for what the pods are doing.',
    })
  }
  return list
}
