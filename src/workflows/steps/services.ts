/**
 * Steps 3 and 4 of `up`: the namespace and the credential Secrets the chart reads, then
 * Postgres and Redis side by side (server-side apply, then wait for their pods to be ready).
 */
import {explainUnhealthyPods} from '../../diagnose/explain.js'
import {isPodReady} from '../../diagnose/pod.js'
import type {KubeClient} from '../../kube/client.js'
import {NamespaceWatch} from '../../kube/namespace-watch.js'
import {statefulSetReadiness} from '../../kube/readiness.js'
import type {ProjectSecrets} from '../../secrets/store.js'
import {credentialSecrets, namespaceManifest, serviceManifests, type ServiceName} from '../../services/manifests.js'
import {assertSecretsOwned} from '../../services/secret-ownership.js'
import type {Connection} from '../connect.js'
import type {Pipeline, Step, StepGroup} from '../pipeline.js'
import type {Project} from '../project.js'
import {trackPods} from './pods.js'

/** Kinds the app namespace is watched for, once, for every later step. */
export const WATCHED_KINDS = ['Pod', 'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job'] as const

/** The app namespace as later steps see it: kept current by watches. */
export function watchNamespace(project: Project, kube: KubeClient, signal: AbortSignal): Promise<NamespaceWatch> {
  return NamespaceWatch.start(kube, project.names.namespace, [...WATCHED_KINDS], signal)
}

/** Applies the namespace and the credential Secrets, then watches the namespace (unless a watch is given). */
export const namespaceStep: Step<{project: Project; connection: Connection; secrets: ProjectSecrets; watch?: NamespaceWatch}, NamespaceWatch> = {
  id: 'namespace',
  title: (project) => `Namespace ${project.names.namespace} and Secrets`,
  async execute({project, connection, secrets, watch}, run) {
    const {kube} = connection
    await kube.apply(namespaceManifest(project.names.namespace, project.config.project))
    const applied = credentialSecrets(project.config, project.names, secrets)
    await assertSecretsOwned(kube, applied)
    await Promise.all(applied.map((s) => kube.apply(s)))
    const watching = watch ?? (await watchNamespace(project, kube, run.signal))
    run.title(`Namespace ${project.names.namespace}, Secrets ${applied.map((s) => s.metadata?.name).join(', ') || '(none needed)'}`)
    return watching
  },
}

export interface ServiceInput {
  project: Project
  connection: Connection
  watch: NamespaceWatch
}

function serviceStep(service: ServiceName, name: string): Step<ServiceInput, void> {
  const instance = `devctl-${service}`
  return {
    id: service,
    title: () => name,
    timeoutMs: ({project}) => project.timeouts.rollout,
    async execute({project, connection, watch}, run) {
      for (const object of serviceManifests(project.config, project.names)[service] ?? []) await connection.kube.apply(object)
      const selector = {'app.kubernetes.io/name': service, 'app.kubernetes.io/instance': instance}
      await watch.until(() => {
        const pods = trackPods(watch, run, selector)
        const set = watch.get('StatefulSet', instance)
        // Pods and StatefulSets arrive on separate watches: wait until both tell the same story.
        return set && statefulSetReadiness(set).ready && pods.length > 0 && pods.every(isPodReady) ? true : undefined
      }, run.signal)
      run.title(`${name} ready`)
    },
    async onFailure({connection, watch}, _run, error) {
      const pods = watch.list('Pod').filter((pod) => pod.metadata?.labels?.['app.kubernetes.io/instance'] === instance)
      return error.explain({context: `${name} did not become ready`, details: await explainUnhealthyPods(connection.kube, pods)})
    },
  }
}

export const postgresStep = serviceStep('postgres', 'Postgres')
export const redisStep = serviceStep('redis', 'Redis')
export const servicesGroup: StepGroup = {id: 'services', title: () => 'Postgres and Redis', steps: [postgresStep, redisStep]}

/** Why devctl runs no Postgres (or Redis) in the cluster, or undefined when it does. */
export function serviceSkipReason(project: Project, service: ServiceName): string | undefined {
  const settings = project.config.services[service]
  if (!settings.enabled) return 'disabled in devctl.yaml'
  if (settings.external) return `external: ${settings.external.host}`
  return undefined
}

/** Postgres and Redis side by side, each skipped when devctl.yaml runs it elsewhere or not at all. */
export async function runServices(pipeline: Pipeline, input: ServiceInput): Promise<void> {
  const reasons = {postgres: serviceSkipReason(input.project, 'postgres'), redis: serviceSkipReason(input.project, 'redis')}
  if (reasons.postgres && reasons.redis) return pipeline.skip(servicesGroup, 'none to run in the cluster')
  await pipeline.group(servicesGroup, (members) =>
    Promise.all(
      ([
        ['postgres', postgresStep],
        ['redis', redisStep],
      ] as const).map(([service, step]) => {
        const reason = reasons[service]
        return reason ? members.skip(step, reason) : members.run(step, input)
      }),
    ),
  )
}
