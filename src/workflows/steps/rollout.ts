/**
 * Steps 7 and 8 of `up`: every workload of the release ready (each pod reported as it
 * changes, failing fast on a pod that cannot recover), then the config's validate hooks and
 * how to reach what runs.
 */
import type {Workload} from '../../chart/manifests.js'
import {belongsToRelease} from '../../chart/release-record.js'
import {explainUnhealthyPods} from '../../diagnose/explain.js'
import {summarizePod, type PodSummary} from '../../diagnose/pod.js'
import type {NamespaceWatch} from '../../kube/namespace-watch.js'
import {selects} from '../../kube/readiness.js'
import type {KubernetesObject} from '../../kube/types.js'
import type {Connection} from '../connect.js'
import type {Step} from '../pipeline.js'
import {k3dCluster, type Project} from '../project.js'
import {releaseWorkloads, workloadReadiness} from './chart.js'
import {runHooks} from './hooks.js'
import {trackPods} from './pods.js'
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

/** The workloads helm created for the release before, as found in the namespace. */
export function deployedWorkloads(watch: NamespaceWatch, release: string): Workload[] {
  return releaseWorkloads(watch, release).map(({kind, object}) => ({
    kind,
    name: object.metadata?.name ?? '?',
    selector: (object as {spec?: {selector?: {matchLabels?: Record<string, string>}}}).spec?.selector?.matchLabels ?? {},
  }))
}

function currentStatuses(watch: NamespaceWatch, workloads: Workload[]): WorkloadStatus[] {
  return workloads.map((w) => {
    const object = watch.get(w.kind, w.name) as KubernetesObject | undefined
    const readiness = object ? workloadReadiness(w.kind, object) : {ready: false, detail: 'not created yet'}
    return {kind: w.kind, name: w.name, ...readiness}
  })
}

export const rolloutStep: Step<RolloutInput, WorkloadStatus[]> = {
  id: 'rollout',
  title: () => 'Rollout',
  timeoutMs: ({project}) => project.timeouts.rollout,
  async execute({watch, workloads}, run) {
    const statuses = await watch.until(() => {
      for (const workload of workloads) if (workload.kind !== 'Job') trackPods(watch, run, workload.selector)
      const current = currentStatuses(watch, workloads)
      const pending = current.filter((s) => !s.ready)
      if (pending.length === 0) return current
      run.note(pending.map((s) => `${s.kind} ${s.name}: ${s.detail}`).join('; '))
      return undefined
    }, run.signal)
    run.title(`Rollout: ${count(workloads.length, 'workload')} ready`)
    return statuses
  },
  async onFailure({project, connection, watch, workloads}, _run, error) {
    const statuses = currentStatuses(watch, workloads)
    const pods = watch.list('Pod').filter((pod) => workloads.some((w) => selects(w.selector, pod)))
    const notReady = statuses.filter((s) => !s.ready).map((s) => `${s.kind} ${s.name}: ${s.detail}`)
    return error.explain({details: [...notReady.map((line) => `not ready: ${line}`), ...(await explainUnhealthyPods(connection.kube, pods, k3dCluster(project)))]})
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

/** Pod summaries of these workloads, for results and status. */
export function workloadPods(watch: NamespaceWatch, workloads: Workload[]): PodSummary[] {
  return watch
    .list('Pod')
    .filter((pod) => workloads.some((w) => selects(w.selector, pod)))
    .map(summarizePod)
}
