/**
 * Steps 3 and 4 of `up`: the namespace and the credential Secrets the chart reads, then
 * Postgres and Redis side by side (server-side apply, then wait for their pods to be ready).
 */
import {NamespaceWatch} from '../../kube/namespace-watch.js'
import {statefulSetReadiness} from '../../kube/readiness.js'
import type {V1Pod, V1StatefulSet} from '../../kube/types.js'
import {isPodReady} from '../../diagnose/pod.js'
import {explainUnhealthyPods} from '../../diagnose/explain.js'
import {credentialSecrets, namespaceManifest, serviceManifests, type ServiceName} from '../../services/manifests.js'
import {assertSecretsOwned} from '../../services/secret-ownership.js'
import {kubeOf, timeoutOf, watchOf, type WorkflowContext} from '../context.js'
import {trackPods} from './pods.js'
import type {LeafStep, Step} from '../pipeline.js'

/** Kinds the app namespace is watched for, once, for every later step. */
export const WATCHED_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job'] as const

export const namespaceStep: LeafStep<WorkflowContext> = {
  id: 'namespace',
  title: (ctx) => `Namespace ${ctx.names.namespace} and Secrets`,
  async execute(ctx, run) {
    const kube = kubeOf(ctx)
    await kube.apply(namespaceManifest(ctx.names.namespace, ctx.config.project))
    const secrets = credentialSecrets(ctx.config, ctx.names, ctx.secrets)
    await assertSecretsOwned(kube, secrets)
    await Promise.all(secrets.map((s) => kube.apply(s)))
    ctx.watch ??= await NamespaceWatch.start(kube, ctx.names.namespace, [...WATCHED_KINDS], run.signal)
    return `Namespace ${ctx.names.namespace}, Secrets ${secrets.map((s) => s.metadata?.name).join(', ') || '(none needed)'}`
  },
}

function serviceStep(service: ServiceName, title: string): LeafStep<WorkflowContext> {
  const name = `devctl-${service}`
  return {
    id: service,
    title,
    timeoutMs: (ctx) => timeoutOf(ctx, 'rollout'),
    skip: (ctx) => {
      const settings = ctx.config.services[service]
      if (!settings.enabled) return 'disabled in devctl.yaml'
      if (settings.external) return `external: ${settings.external.host}`
      return undefined
    },
    async execute(ctx, run) {
      const kube = kubeOf(ctx)
      for (const object of serviceManifests(ctx.config, ctx.names)[service] ?? []) await kube.apply(object)
      const watch = watchOf(ctx)
      const selector = {'app.kubernetes.io/name': service, 'app.kubernetes.io/instance': name}
      await watch.until(() => {
        const pods = trackPods(ctx, run, selector)
        const set = watch.get<V1StatefulSet>('StatefulSet', name)
        // Pods and StatefulSets arrive on separate watches: wait until both tell the same story.
        return set && statefulSetReadiness(set).ready && pods.length > 0 && pods.every(isPodReady) ? true : undefined
      }, run.signal)
      return `${title} ready`
    },
    async onFailure(ctx, _run, error) {
      const pods = watchOf(ctx)
        .list<V1Pod>('Pod')
        .filter((pod) => pod.metadata?.labels?.['app.kubernetes.io/instance'] === name)
      return error.explain({context: `${title} did not become ready`, details: await explainUnhealthyPods(kubeOf(ctx), pods)})
    },
  }
}

export const servicesStep: Step<WorkflowContext> = {
  id: 'services',
  title: 'Postgres and Redis',
  skip: (ctx) => {
    const {postgres, redis} = ctx.config.services
    return (!postgres.enabled || postgres.external) && (!redis.enabled || redis.external) ? 'none to run in the cluster' : undefined
  },
  concurrent: [serviceStep('postgres', 'Postgres'), serviceStep('redis', 'Redis')],
}
