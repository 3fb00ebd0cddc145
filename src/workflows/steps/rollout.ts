/**
 * Steps 7 and 8 of `up`: every workload of the release ready, judged as `kubectl rollout status`
 * judges it — on the pods of the revision being rolled out only (each reported as it changes,
 * failing fast on one that cannot recover), never on the old ones it replaces — then the
 * config's validate hooks and how to reach what runs.
 */
import {WORKLOAD_KINDS, type Workload} from '../../chart/manifests.js'
import {belongsToRelease} from '../../chart/release-record.js'
import {explainUnhealthyPods} from '../../diagnose/explain.js'
import {summarizePod, type PodSummary} from '../../diagnose/pod.js'
import type {KubeClient} from '../../kube/client.js'
import type {NamespaceWatch} from '../../kube/namespace-watch.js'
import {rolloutOf, type Rollout} from '../../kube/readiness.js'
import type {KubernetesObject} from '../../kube/types.js'
import type {Connection} from '../connect.js'
import type {Step} from '../pipeline.js'
import {k3dCluster, type Project} from '../project.js'
import {runHooks} from './hooks.js'
import {failOnFatalPods, FatalPodError, PodReport} from './pods.js'
import {podWiringError} from './render.js'
import {count} from '../../text.js'
import {freeLocalPort} from '../../system/ports.js'

export interface WorkloadStatus {
  kind: Workload['kind']
  name: string
  ready: boolean
  detail: string
}

export interface Endpoint {
  name: string
  /** A URL on the host, or the command that makes one. */
  url?: string
  command?: string
}

export interface RolloutInput {
  project: Project
  connection: Connection
  watch: NamespaceWatch
  /** What to wait for: the rendered chart's workloads, or (nothing deployed now) what helm created before. */
  workloads: Workload[]
}

/** The Deployments, StatefulSets and DaemonSets helm created for the release before, as found in the namespace. */
export function deployedWorkloads(watch: NamespaceWatch, release: string): Workload[] {
  return WORKLOAD_KINDS.flatMap((kind) =>
    watch
      .list(kind)
      .filter((object) => belongsToRelease(object, release))
      .map((object) => ({kind, name: object.metadata?.name ?? '?', selector: object.spec?.selector?.matchLabels ?? {}})),
  )
}

/** Each workload's `metadata.generation` as the API has it now: the watch must have caught up to it. */
export type Generations = Map<string, number>

export const workloadKey = (w: {kind: string; name: string}) => `${w.kind}/${w.name}`

/**
 * What the API says now (a read after helm returned sees helm's writes), so a rollout is never
 * judged on a workload the watch has not seen change yet: after an upgrade or a rollback that
 * would be the revision being replaced.
 */
export async function generationsNow(kube: KubeClient, namespace: string, workloads: Workload[]): Promise<Generations> {
  const found = await Promise.all(workloads.map(async (w) => [workloadKey(w), (await kube.get(w.kind, namespace, w.name))?.metadata?.generation ?? 0] as const))
  return new Map(found)
}

/** A workload's rollout as the watch sees it now (its pods split by revision). */
export function workloadRollout(watch: NamespaceWatch, workload: Pick<Workload, 'kind' | 'name'>, generations?: Generations): Rollout {
  const object = watch.get(workload.kind, workload.name)
  if (!object) return {ready: false, detail: 'not created yet', current: [], old: []}
  if ((object.metadata?.generation ?? 0) < (generations?.get(workloadKey(workload)) ?? 0)) return {ready: false, detail: 'waiting for the change to arrive', current: [], old: []}
  return rolloutOf(workload.kind, object, watch.list('Pod'), watch.list('ReplicaSet'))
}

function statusOf(workload: Workload, rollout: Rollout): WorkloadStatus {
  return {kind: workload.kind, name: workload.name, ready: rollout.ready, detail: rollout.detail}
}

export const rolloutStep: Step<RolloutInput, WorkloadStatus[]> = {
  id: 'rollout',
  title: () => 'Rollout',
  timeoutMs: ({project}) => project.timeouts.rollout,
  async execute({project, connection, watch, workloads}, run) {
    const generations = await generationsNow(connection.kube, project.names.namespace, workloads)
    const pods = new PodReport(run)
    const statuses = await watch.until(() => {
      const rollouts = workloads.map((workload) => ({workload, rollout: workloadRollout(watch, workload, generations)}))
      // Plain Jobs report their pods in the migration step; here they only need to complete.
      const current = rollouts.flatMap(({workload, rollout}) => (workload.kind === 'Job' ? [] : rollout.current))
      pods.show(current)
      failOnFatalPods(current)
      const pending = rollouts.filter(({rollout}) => !rollout.ready)
      if (pending.length === 0) return rollouts.map(({workload, rollout}) => statusOf(workload, rollout))
      run.note(pending.map(({workload, rollout}) => `${workload.kind} ${workload.name}: ${rollout.detail}`).join('; '))
      return undefined
    }, run.signal)
    run.title(`Rollout: ${count(workloads.length, 'workload')} ready`)
    return statuses
  },
  async onFailure({project, connection, watch, workloads}, _run, error) {
    // A pod that cannot start for want of a Secret or key devctl should provide: the wiring is wrong.
    const wiring = error instanceof FatalPodError ? await podWiringError(project, error.pod) : undefined
    if (wiring) return wiring
    const rollouts = workloads.map((workload) => ({workload, rollout: workloadRollout(watch, workload)}))
    const notReady = rollouts.filter(({rollout}) => !rollout.ready).map(({workload, rollout}) => `not ready: ${workload.kind} ${workload.name}: ${rollout.detail}`)
    const current = rollouts.flatMap(({rollout}) => rollout.current)
    return error.explain({details: [...notReady, ...(await explainUnhealthyPods(connection.kube, current, {k3dCluster: k3dCluster(project)}))]})
  },
}

/** How to reach the app: ingress hosts through the k3d port mapped to 80, else a port-forward. */
export async function findEndpoints(project: Project, connection: Connection, httpHostPort: number | undefined): Promise<Endpoint[]> {
  const {kube} = connection
  const {namespace, release, kubeContext} = project.names
  const annotated = (o: KubernetesObject) => belongsToRelease(o, release)
  const [ingresses, services] = await Promise.all([kube.list('Ingress', namespace).then((l) => l.filter(annotated)), kube.list('Service', namespace).then((l) => l.filter(annotated))])
  const endpoints: Endpoint[] = []
  for (const ingress of ingresses) {
    for (const rule of ingress.spec?.rules ?? []) {
      if (rule.host && httpHostPort) endpoints.push({name: `ingress ${ingress.metadata?.name}`, url: `http://${rule.host}${httpHostPort === 80 ? '' : `:${httpHostPort}`}/`})
    }
  }
  // A suggested local port must be free now, not one the cluster maps, and not one already suggested.
  const cluster = project.config.cluster
  const taken = new Set<number>(cluster.provider === 'k3d' ? cluster.ports.map((mapping) => mapping.host) : [])
  for (const service of services) {
    const port = service.spec?.ports?.[0]?.port
    if (!port) continue
    const local = await freeLocalPort(port < 1024 ? port + 8000 : port, taken)
    taken.add(local)
    endpoints.push({
      name: `service ${service.metadata?.name}`,
      command: `kubectl --context ${kubeContext} -n ${namespace} port-forward svc/${service.metadata?.name} ${local}:${port}`,
    })
  }
  return endpoints
}

export const validateStep: Step<{project: Project; connection: Connection; httpHostPort?: number}, Endpoint[]> = {
  id: 'validate',
  title: () => 'Validate',
  async execute({project, connection, httpHostPort}, run) {
    await runHooks(project, 'validate', run)
    const endpoints = await findEndpoints(project, connection, httpHostPort)
    const hooks = project.config.hooks.validate.length
    run.title(hooks ? `Validate: ${count(hooks, 'check')} passed` : 'Validate: environment is up')
    return endpoints
  },
}

/** The current revision's pods of these workloads, for results and summaries. */
export function workloadPods(watch: NamespaceWatch, workloads: Workload[]): PodSummary[] {
  return workloads.flatMap((workload) => workloadRollout(watch, workload).current).map(summarizePod)
}
