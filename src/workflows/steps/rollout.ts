/**
 * Steps 7 and 8 of `up`: every workload of the release ready (each pod reported as it
 * changes, failing fast on a pod that cannot recover), then the config's validate hooks and
 * how to reach what runs.
 */
import type {Workload} from '../../chart/manifests.js'
import {belongsToRelease} from '../../chart/release-record.js'
import {summarizePod} from '../../diagnose/pod.js'
import {selects} from '../../kube/readiness.js'
import type {KubernetesObject, V1Ingress, V1Pod, V1Service} from '../../kube/types.js'
import {kubeOf, timeoutOf, watchOf} from '../context.js'
import type {LeafStep} from '../pipeline.js'
import {releaseWorkloads, workloadReadiness, type DeployContext} from './chart.js'
import {runHooks} from './hooks.js'
import {explainUnhealthyPods} from '../../diagnose/explain.js'
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

export interface RolloutContext extends DeployContext {
  workloads?: WorkloadStatus[]
  endpoints?: Endpoint[]
}

/** What to wait for: the rendered chart's workloads, or (nothing deployed now) what helm created before. */
function workloadsToWatch(ctx: RolloutContext): Workload[] {
  if (ctx.deploy?.rendered) return ctx.deploy.rendered.workloads
  return releaseWorkloads(ctx).map(({kind, object}) => ({
    kind,
    name: object.metadata?.name ?? '?',
    selector: (object as {spec?: {selector?: {matchLabels?: Record<string, string>}}}).spec?.selector?.matchLabels ?? {},
  }))
}

function currentStatuses(ctx: RolloutContext, workloads: Workload[]): WorkloadStatus[] {
  const watch = watchOf(ctx)
  return workloads.map((w) => {
    const object = watch.get<KubernetesObject>(w.kind, w.name)
    const readiness = object ? workloadReadiness(w.kind, object) : {ready: false, detail: 'not created yet'}
    return {kind: w.kind, name: w.name, ...readiness}
  })
}

export const rolloutStep: LeafStep<RolloutContext> = {
  id: 'rollout',
  title: 'Rollout',
  timeoutMs: (ctx) => timeoutOf(ctx, 'rollout'),
  async execute(ctx, run) {
    const workloads = workloadsToWatch(ctx)
    const watch = watchOf(ctx)
    ctx.workloads = await watch.until(() => {
      for (const workload of workloads) if (workload.kind !== 'Job') trackPods(ctx, run, workload.selector)
      const statuses = currentStatuses(ctx, workloads)
      const pending = statuses.filter((s) => !s.ready)
      if (pending.length === 0) return statuses
      run.note(pending.map((s) => `${s.kind} ${s.name}: ${s.detail}`).join('; '))
      return undefined
    }, run.signal)
    return `Rollout: ${count(workloads.length, 'workload')} ready`
  },
  async onFailure(ctx, _run, error) {
    const workloads = workloadsToWatch(ctx)
    const statuses = currentStatuses(ctx, workloads)
    ctx.workloads = statuses
    const pods = watchOf(ctx)
      .list<V1Pod>('Pod')
      .filter((pod) => workloads.some((w) => selects(w.selector, pod)))
    const notReady = statuses.filter((s) => !s.ready).map((s) => `${s.kind} ${s.name}: ${s.detail}`)
    return error.explain({details: [...notReady.map((line) => `not ready: ${line}`), ...(await explainUnhealthyPods(kubeOf(ctx), pods))]})
  },
}

/** How to reach the app: ingress hosts through the k3d port mapped to 80, else a port-forward. */
export async function findEndpoints(ctx: RolloutContext): Promise<Endpoint[]> {
  const kube = kubeOf(ctx)
  const annotated = (o: KubernetesObject) => belongsToRelease(o, ctx.names.release)
  const [ingresses, services] = await Promise.all([
    kube.list<V1Ingress>('Ingress', ctx.names.namespace).then((l) => l.filter(annotated)),
    kube.list<V1Service>('Service', ctx.names.namespace).then((l) => l.filter(annotated)),
  ])
  const httpPort = ctx.httpHostPort
  const endpoints: Endpoint[] = []
  for (const ingress of ingresses) {
    for (const rule of ingress.spec?.rules ?? []) {
      if (rule.host && httpPort) endpoints.push({name: `ingress ${ingress.metadata?.name}`, url: `http://${rule.host}${httpPort === 80 ? '' : `:${httpPort}`}/`})
    }
  }
  // A suggested local port must be free now, not one the cluster maps, and not one already suggested.
  const cluster = ctx.config.cluster
  const taken = new Set<number>(cluster.provider === 'k3d' ? cluster.ports.map((mapping) => mapping.host) : [])
  for (const service of services) {
    const port = service.spec?.ports?.[0]?.port
    if (!port) continue
    const local = await freeLocalPort(port < 1024 ? port + 8000 : port, taken)
    taken.add(local)
    endpoints.push({
      name: `service ${service.metadata?.name}`,
      command: `kubectl --context ${ctx.names.kubeContext} -n ${ctx.names.namespace} port-forward svc/${service.metadata?.name} ${local}:${port}`,
    })
  }
  return endpoints
}

export const validateStep: LeafStep<RolloutContext> = {
  id: 'validate',
  title: 'Validate',
  async execute(ctx, run) {
    await runHooks(ctx, 'validate', run)
    ctx.endpoints = await findEndpoints(ctx)
    const hooks = ctx.config.hooks.validate.length
    return hooks ? `Validate: ${count(hooks, 'check')} passed` : 'Validate: environment is up'
  },
}

/** Pod summaries of the release's workloads, for results and status. */
export function releasePods(ctx: RolloutContext): ReturnType<typeof summarizePod>[] {
  const workloads = workloadsToWatch(ctx)
  return watchOf(ctx)
    .list<V1Pod>('Pod')
    .filter((pod) => workloads.some((w) => selects(w.selector, pod)))
    .map(summarizePod)
}
