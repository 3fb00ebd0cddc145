/**
 * Reaching the environment's cluster without changing it (logs, status, upgrade, down):
 * for k3d, the cluster must exist and run, and its kubeconfig is fetched from k3d into
 * .devctl/kubeconfig (and used again while it works); for an existing cluster, the configured
 * context is used.
 */
import {join} from 'node:path'

import {ClusterError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {ensureStateDir, exists, writeFileAtomic} from '../system/files.js'
import {assertPrivateState} from '../secrets/store.js'
import type {KubeTarget} from '../tools/helm.js'
import type {K3dCluster} from '../tools/k3d.js'
import {retryNote} from '../kube/api-failure.js'
import type {Pipeline} from './pipeline.js'
import type {Project} from './project.js'

export interface Connection {
  kube: KubeClient
  kubeTarget: KubeTarget
}

/** Fetch the k3d cluster's kubeconfig into our own file (never the user's current context). */
export async function k3dKubeTarget(project: Project, signal?: AbortSignal): Promise<KubeTarget> {
  const kubeconfig = await project.tools.k3d.kubeconfig(project.names.clusterName, signal)
  // The cluster's credentials go where only this user can reach them.
  await assertPrivateState(project.dir)
  await ensureStateDir(project.stateDir)
  const path = join(project.stateDir, 'kubeconfig')
  await writeFileAtomic(path, kubeconfig, 0o600)
  return {kubeconfig: path, context: project.names.kubeContext}
}

/**
 * A client for a k3d cluster that was already running: the kubeconfig fetched last time is
 * tried first (one process less on every re-run) and fetched again if it no longer works
 * (the cluster was re-created outside devctl, its port or credentials changed).
 */
export async function connectRunningK3d(project: Project, signal?: AbortSignal): Promise<Connection> {
  const saved = await connectSavedK3d(project)
  if (saved) return saved
  const kubeTarget = await k3dKubeTarget(project, signal)
  return {kube: (await project.kubeModule).KubeClient.connect(kubeTarget), kubeTarget}
}

/** The k3d cluster through the kubeconfig devctl kept, if that answers; undefined when it is missing or stale (or the cluster is down). */
export async function connectSavedK3d(project: Project): Promise<Connection | undefined> {
  const {KubeClient} = await project.kubeModule
  // A kubeconfig from a .devctl others can write to could point devctl (and the passwords) anywhere.
  await assertPrivateState(project.dir)
  const saved = {kubeconfig: join(project.stateDir, 'kubeconfig'), context: project.names.kubeContext}
  if (!(await exists(saved.kubeconfig))) return undefined
  try {
    const kube = KubeClient.connect(saved)
    await kube.get('Namespace', undefined, 'kube-system')
    return {kube, kubeTarget: saved}
  } catch {
    return undefined
  }
}

/**
 * Connect to the running environment, or explain why not ("no cluster yet: run devctl up").
 * `cluster` is what `k3d cluster list` said, when the caller already asked; when it did not, a
 * k3d cluster that answers on the kubeconfig devctl kept needs no k3d process at all.
 */
export async function connectEnvironment(project: Project, signal?: AbortSignal, cluster?: K3dCluster | null): Promise<Connection> {
  const {KubeClient} = await project.kubeModule
  if (project.config.cluster.provider === 'existing') {
    const kubeTarget = {context: project.config.cluster.context}
    return {kube: KubeClient.connect(kubeTarget), kubeTarget}
  }
  if (cluster === undefined) {
    const answering = await connectSavedK3d(project)
    if (answering) return answering
  }
  const found = cluster === undefined ? await project.tools.k3d.find(project.names.clusterName, signal) : (cluster ?? undefined)
  if (!found) {
    throw new ClusterError(`There is no k3d cluster named ${project.names.clusterName} yet.`, {hint: 'Run `devctl up` to create it.'})
  }
  if (!found.running) {
    throw new ClusterError(`The k3d cluster ${project.names.clusterName} is stopped.`, {hint: 'Run `devctl up` to start it (your data is kept).'})
  }
  return connectRunningK3d(project, signal)
}

/** Show the client's retries (a busy or dropped API) as a note on whatever steps are running. */
export function noteRetries(connection: Connection, pipeline: Pipeline): () => void {
  return connection.kube.onRetry((notice) => pipeline.noteRunning(retryNote(notice)))
}
