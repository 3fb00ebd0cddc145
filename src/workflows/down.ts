/**
 * `devctl down`: "uninstall the release, then delete the cluster — or, when told to keep it,
 * only what devctl put in the namespace; keep Postgres/Redis volumes when told to". Every
 * action first looks whether there is anything to remove, so running it twice, or on a
 * half-created environment, succeeds and says what it did.
 */
import {rm} from 'node:fs/promises'

import type {LoadedConfig} from '../config/load.js'
import type {KubeClient} from '../kube/client.js'
import {MANAGED_BY_LABEL} from '../services/naming.js'
import {exists} from '../scaffold/files.js'
import {createContext, type RunControls, type WorkflowContext} from './context.js'
import {connectEnvironment} from './connect.js'


export interface DownOptions {
  keepCluster: boolean
  keepData: boolean
  purge: boolean
}

export interface DownResult {
  removed: string[]
  kept: string[]
}

const MANAGED_SELECTOR = Object.entries(MANAGED_BY_LABEL)
  .map(([k, v]) => `${k}=${v}`)
  .join(',')

async function uninstallRelease(ctx: WorkflowContext, controls: RunControls, result: DownResult): Promise<void> {
  const ref = {release: ctx.names.release, namespace: ctx.names.namespace, kube: ctx.kubeTarget!, timeout: ctx.config.app.timeouts.deploy}
  if (await ctx.tools.helm.uninstall(ref, controls.forceSignal)) result.removed.push(`release ${ctx.names.release}`)
  else result.kept.push(`release ${ctx.names.release} (there was none)`)
}

/** devctl's own workloads in the namespace; with keepData their PVCs (the data) stay for the next up. */
async function removeServices(ctx: WorkflowContext, kube: KubeClient, options: DownOptions, result: DownResult): Promise<void> {
  const namespace = ctx.names.namespace
  for (const kind of ['StatefulSet', 'Service'] as const) {
    for (const object of await kube.list(kind, namespace, {labelSelector: MANAGED_SELECTOR})) {
      await kube.delete(kind, namespace, object.metadata!.name!)
      result.removed.push(`${kind} ${object.metadata!.name}`)
    }
  }
  const claims = await kube.list('PersistentVolumeClaim', namespace, {labelSelector: MANAGED_SELECTOR})
  for (const claim of claims) {
    if (options.keepData) {
      result.kept.push(`volume ${claim.metadata!.name} (--keep-data)`)
    } else {
      await kube.delete('PersistentVolumeClaim', namespace, claim.metadata!.name!)
      result.removed.push(`volume ${claim.metadata!.name}`)
    }
  }
  if (!options.keepData) {
    // The namespace goes too when devctl created it (and nothing of the user's is in it).
    const ns = await kube.get('Namespace', undefined, namespace)
    if (ns?.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'devctl') {
      await kube.delete('Namespace', undefined, namespace)
      result.removed.push(`namespace ${namespace}`)
    }
  }
}

/** "Postgres and Redis": the services whose data lives in the cluster ('' for none). */
function inClusterData(ctx: WorkflowContext): string {
  const services = (['postgres', 'redis'] as const).filter((name) => ctx.config.services[name].enabled && !ctx.config.services[name].external)
  return services.map((name) => (name === 'postgres' ? 'Postgres' : 'Redis')).join(' and ')
}

export async function down(loaded: LoadedConfig, options: DownOptions, controls: RunControls): Promise<DownResult> {
  const ctx = createContext(loaded, controls.kubeModule)
  const result: DownResult = {removed: [], kept: []}
  const k3d = ctx.config.cluster.provider === 'k3d'
  const cluster = k3d ? ((await ctx.tools.k3d.find(ctx.names.clusterName, controls.signal)) ?? null) : undefined

  // Deleting a k3d cluster removes everything in it; only the kept cases need finer work.
  const deleteWholeCluster = k3d && !options.keepCluster && !options.keepData
  if (k3d && !cluster) {
    result.kept.push(`cluster ${ctx.names.clusterName} (there was none)`)
  } else if (deleteWholeCluster) {
    await ctx.tools.k3d.delete(ctx.names.clusterName, controls.forceSignal)
    const data = inClusterData(ctx)
    result.removed.push(`k3d cluster ${ctx.names.clusterName} and everything in it: the release${data ? `, the ${data} data (\`devctl down --keep-data\` keeps it)` : ''}`)
  } else if (cluster && !cluster.running) {
    result.kept.push(`cluster ${ctx.names.clusterName} (stopped; its data is kept)`)
  } else {
    const connection = await connectEnvironment(ctx, controls.signal, cluster)
    ctx.kube = connection.kube
    ctx.kubeTarget = connection.kubeTarget
    await uninstallRelease(ctx, controls, result)
    await removeServices(ctx, connection.kube, options, result)
    if (k3d && options.keepData && !options.keepCluster) {
      // The data lives inside the cluster: stop it (freeing CPU and memory) rather than delete it.
      await ctx.tools.k3d.stop(ctx.names.clusterName, controls.forceSignal)
      result.removed.push(`running cluster ${ctx.names.clusterName} (stopped; \`devctl up\` starts it with the data)`)
    } else if (k3d) {
      result.kept.push(`cluster ${ctx.names.clusterName} (--keep-cluster)`)
    }
  }

  if (options.purge && (await exists(ctx.stateDir))) {
    await rm(ctx.stateDir, {recursive: true, force: true})
    result.removed.push('.devctl/ (generated passwords and local state)')
  } else if (deleteWholeCluster) {
    // The cluster's credentials are worthless now.
    await rm(`${ctx.stateDir}/kubeconfig`, {force: true})
  }
  return result
}
