/**
 * `devctl status`: the whole environment on one screen — cluster, services, release,
 * workloads and pods, last migration — summarized as conditions, each False one with a
 * troubleshooting hint (in the manner of an operator's status conditions).
 */
import type {LoadedConfig} from '../config/load.js'
import {readMigrationRecord, type MigrationRecord} from '../chart/migration-record.js'
import {belongsToRelease, releaseRecords} from '../chart/release-record.js'
import {hintFor, isFatal, summarizePod, type PodSummary} from '../diagnose/pod.js'
import {DevctlError} from '../errors.js'
import {rolloutOf, statefulSetReadiness} from '../kube/readiness.js'
import type {KubernetesObject, V1StatefulSet} from '../kube/types.js'
import {POSTGRES, REDIS} from '../services/naming.js'
import {createProject, type Project} from './project.js'
import {connectEnvironment, type Connection} from './connect.js'
import type {KubeModule} from './project.js'

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
  pods: Array<PodSummary & {ageSeconds?: number}>
}

export interface StatusResult {
  project: string
  cluster: {provider: 'k3d' | 'existing'; name: string; context: string; state: ClusterState; nodes: {ready: number; total: number}}
  namespace: string
  services: ServiceStatus[]
  release?: {name: string; revision: number; status: string; chart?: string; appVersion?: string; lastDeployed?: string; description?: string}
  workloads: WorkloadSummary[]
  migration?: MigrationRecord
  conditions: Condition[]
}


function age(pod: PodSummary): number | undefined {
  return pod.createdAt ? Math.max(0, Math.round((Date.now() - new Date(pod.createdAt).getTime()) / 1000)) : undefined
}

async function clusterState(ctx: Project, signal: AbortSignal): Promise<{state: ClusterState; connection?: Connection; message?: string}> {
  if (ctx.config.cluster.provider === 'k3d') {
    const found = await ctx.tools.k3d.find(ctx.names.clusterName, signal).catch((error: unknown) => {
      if (error instanceof DevctlError) return error
      throw error
    })
    if (found instanceof DevctlError) return {state: 'unreachable', message: found.message}
    if (!found) return {state: 'missing'}
    if (!found.running) return {state: 'stopped'}
  }
  try {
    const connection = await connectEnvironment(ctx, signal)
    await connection.kube.list('Namespace', undefined)
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
  const namespace = ctx.names.namespace
  const cluster = await clusterState(ctx, signal)
  const result: StatusResult = {
    project: ctx.config.project,
    cluster: {provider: ctx.config.cluster.provider, name: ctx.names.clusterName, context: ctx.names.kubeContext, state: cluster.state, nodes: {ready: 0, total: 0}},
    namespace,
    services: serviceStatuses(ctx, []),
    workloads: [],
    conditions: [],
  }
  if (!cluster.connection) {
    result.conditions = clusterDownConditions(cluster.state, cluster.message)
    return result
  }
  const {kube, kubeTarget} = cluster.connection
  const [nodes, pods, replicaSets, statefulSets, deployments, daemonSets, records, migration] = await Promise.all([
    kube.list('Node', undefined),
    kube.list('Pod', namespace),
    kube.list('ReplicaSet', namespace),
    kube.list('StatefulSet', namespace),
    kube.list('Deployment', namespace),
    kube.list('DaemonSet', namespace),
    releaseRecords(kube, namespace, ctx.names.release),
    readMigrationRecord(kube, namespace),
  ])
  result.cluster.nodes = {total: nodes.length, ready: nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length}
  result.services = serviceStatuses(ctx, statefulSets)
  result.migration = migration

  const latest = records.at(-1)
  if (latest) {
    const history = await ctx.tools.helm.history({release: ctx.names.release, namespace, kube: kubeTarget}, signal).catch(() => [])
    const entry = history.find((h) => h.revision === latest.revision)
    result.release = {name: ctx.names.release, revision: latest.revision, status: latest.status, chart: entry?.chart, appVersion: entry?.app_version, lastDeployed: entry?.updated, description: entry?.description}
  }

  const released = [
    ...deployments.map((o) => ({kind: 'Deployment' as const, object: o})),
    ...statefulSets.map((o) => ({kind: 'StatefulSet' as const, object: o as KubernetesObject})),
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
      pods: rollout.current.map((p) => {
        const summary = summarizePod(p)
        return {...summary, ageSeconds: age(summary)}
      }),
    }
  })
  result.conditions = conditions(result)
  return result
}

function clusterDownConditions(state: ClusterState, message?: string): Condition[] {
  const hints: Record<ClusterState, string> = {
    missing: 'Run `devctl up` to create it.',
    stopped: 'Run `devctl up` to start it (data is kept).',
    unreachable: 'Is Docker running? `devctl doctor` checks; `devctl up` starts a stopped cluster.',
    running: '',
  }
  return [{type: 'ClusterReady', status: 'False', reason: state === 'missing' ? 'ClusterMissing' : state === 'stopped' ? 'ClusterStopped' : 'ClusterUnreachable', message: message ?? `the cluster is ${state}`, hint: hints[state]}]
}

function conditions(status: StatusResult): Condition[] {
  const list: Condition[] = []
  const {nodes} = status.cluster
  list.push(
    nodes.total > 0 && nodes.ready === nodes.total
      ? {type: 'ClusterReady', status: 'True', reason: 'NodesReady', message: `${nodes.ready}/${nodes.total} node(s) ready`}
      : {type: 'ClusterReady', status: 'False', reason: 'NodesNotReady', message: `${nodes.ready}/${nodes.total} node(s) ready`, hint: 'Give Docker more memory/CPU, or `devctl down && devctl up` to recreate the cluster.'},
  )

  const down = status.services.filter((s) => s.mode === 'in-cluster' && !s.ready)
  list.push(
    down.length === 0
      ? {type: 'ServicesReady', status: 'True', reason: 'ServicesReady', message: status.services.map((s) => `${s.name}: ${s.mode}`).join(', ')}
      : {type: 'ServicesReady', status: 'False', reason: 'ServiceNotReady', message: `${down.map((s) => s.name).join(' and ')} not ready`, hint: '`devctl logs --services` shows why; `devctl up` recreates missing ones.'},
  )

  const release = status.release
  if (!release) list.push({type: 'ReleaseDeployed', status: 'False', reason: 'NotInstalled', message: 'the chart is not installed', hint: 'Run `devctl up`.'})
  else if (release.status === 'deployed') list.push({type: 'ReleaseDeployed', status: 'True', reason: 'Deployed', message: `revision ${release.revision}${release.chart ? ` (${release.chart})` : ''}`})
  else if (release.status.startsWith('pending-')) list.push({type: 'ReleaseDeployed', status: 'False', reason: 'Pending', message: `revision ${release.revision} is ${release.status}: a helm command was interrupted`, hint: '`devctl upgrade` recovers a stuck release.'})
  else list.push({type: 'ReleaseDeployed', status: 'False', reason: 'Failed', message: `revision ${release.revision} is ${release.status}${release.description ? `: ${release.description}` : ''}`, hint: 'Fix the cause (see `devctl logs`), then `devctl upgrade`.'})

  const migration = status.migration
  if (!migration) list.push({type: 'MigrationSucceeded', status: 'Unknown', reason: 'NoRecord', message: 'no migration recorded by devctl in this namespace'})
  else if (migration.result === 'succeeded') list.push({type: 'MigrationSucceeded', status: 'True', reason: 'Succeeded', message: `${migration.kind} ${migration.name} at ${migration.startedAt}`})
  else if (migration.result === 'not-run') list.push({type: 'MigrationSucceeded', status: 'Unknown', reason: 'NotRun', message: `revision ${migration.revision ?? '?'} ran none: ${migration.message ?? 'nothing to migrate'}`})
  else list.push({type: 'MigrationSucceeded', status: 'False', reason: 'Failed', message: migration.message ?? `${migration.kind} ${migration.name} failed`, hint: 'Read its log (`devctl logs --migration` prints it, also after its Job is gone), fix the cause, then run `devctl up` again.'})

  const failing = status.workloads.flatMap((w) => w.pods.filter((p) => p.reason)).sort((a, b) => Number(isFatal(b)) - Number(isFatal(a)))
  const notReady = status.workloads.filter((w) => !w.ready)
  if (notReady.length === 0) list.push({type: 'WorkloadsReady', status: status.workloads.length ? 'True' : 'Unknown', reason: status.workloads.length ? 'AllReady' : 'NoWorkloads', message: `${status.workloads.length} workload(s) ready`})
  else {
    const first = failing[0]
    list.push({
      type: 'WorkloadsReady',
      status: 'False',
      reason: first?.reason ?? 'Progressing',
      message: notReady.map((w) => `${w.kind} ${w.name}: ${w.detail}`).join('; ') + (first ? `; pod ${first.name}: ${first.reason}${first.message ? ` (${first.message})` : ''}` : ''),
      hint: hintFor(first?.reason)?.action ?? 'Wait, or see `devctl logs` for what the pods are doing.',
    })
  }
  return list
}
