/**
 * `devctl down`: "uninstall the release, then delete the cluster — or, when told to keep it,
 * only what devctl put in the namespace; keep Postgres/Redis volumes when told to". Every
 * action first looks whether there is anything to remove, so running it twice, or on a
 * half-created environment, succeeds and says what it did.
 */
import {rm} from 'node:fs/promises'

import type {LoadedConfig} from '../config/load.js'
import {InterruptedError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {MANAGED_BY_LABEL} from '../services/naming.js'
import {exists} from '../scaffold/files.js'
import {createProject, type RunControls, type Project} from './project.js'
import {connectEnvironment, type Connection} from './connect.js'


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

async function uninstallRelease(ctx: Project, connection: Connection, controls: RunControls, result: DownResult): Promise<void> {
  const ref = {release: ctx.names.release, namespace: ctx.names.namespace, kube: connection.kubeTarget, timeoutMs: ctx.timeouts.deploy}
  if (await ctx.tools.helm.uninstall(ref, controls.forceSignal)) result.removed.push(`release ${ctx.names.release}`)
  else result.kept.push(`release ${ctx.names.release} (there was none)`)
}

/** devctl's own workloads in the namespace; with keepData their PVCs (the data) stay for the next up. */
async function removeServices(ctx: Project, kube: KubeClient, options: DownOptions, result: DownResult): Promise<void> {
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

/**
 * After a Ctrl-C, what was under way (helm, k3d) was let finish; nothing new starts, and the
 * user hears what was removed and that `down` did not get to the rest.
 */
function stopIfInterrupted(controls: RunControls, result: DownResult): void {
  if (!controls.signal.aborted) return
  throw new InterruptedError(result.removed.length ? `Interrupted after removing ${result.removed.join(', ')}.` : 'Interrupted before anything was removed.', {
    hint: 'Run `devctl down` again to finish.',
  })
}

export async function down(loaded: LoadedConfig, options: DownOptions, controls: RunControls): Promise<DownResult> {
  const ctx = createProject(loaded, controls.kubeModule)
  const result: DownResult = {removed: [], kept: []}
  const act = async (action: () => Promise<void>) => {
    await action()
    stopIfInterrupted(controls, result)
  }
  const k3d = ctx.config.cluster.provider === 'k3d'
  const cluster = k3d ? ((await ctx.tools.k3d.find(ctx.names.clusterName, controls.signal)) ?? null) : undefined

  // Deleting a k3d cluster removes everything in it; only the kept cases need finer work.
  const deleteWholeCluster = k3d && !options.keepCluster && !options.keepData
  if (k3d && !cluster) {
    result.kept.push(`cluster ${ctx.names.clusterName} (there was none)`)
  } else if (deleteWholeCluster) {
    await act(async () => {
      await ctx.tools.k3d.delete(ctx.names.clusterName, controls.forceSignal)
      result.removed.push(`k3d cluster ${ctx.names.clusterName}`)
    })
  } else if (cluster && !cluster.running) {
    result.kept.push(`cluster ${ctx.names.clusterName} (stopped; its data is kept)`)
  } else {
    const connection = await connectEnvironment(ctx, controls.signal, cluster)
    await act(() => uninstallRelease(ctx, connection, controls, result))
    await act(() => removeServices(ctx, connection.kube, options, result))
    if (k3d && options.keepData && !options.keepCluster) {
      // The data lives inside the cluster: stop it (freeing CPU and memory) rather than delete it.
      await act(async () => {
        await ctx.tools.k3d.stop(ctx.names.clusterName, controls.forceSignal)
        result.removed.push(`running cluster ${ctx.names.clusterName} (stopped; \`devctl up\` starts it with the data)`)
      })
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
