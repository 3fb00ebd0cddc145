/**
 * Step 2 of `up`: a cluster to deploy into. For k3d: create it from a generated k3d config,
 * start it if stopped (after a reboot), or reuse it; then wait for what k3d's own --wait does
 * not: node Ready, DNS (coredns) and the local-path volume provisioner. For an existing
 * cluster: connect to the configured context.
 */
import {stringify} from 'yaml'

import {clusterDrift, httpHostPort, k3dConfig, k3dConfigFile, type ClusterShape} from '../../cluster/k3d-config.js'
import {ClusterError} from '../../errors.js'
import {ApiRefusedError, ifPermitted} from '../../kube/api-failure.js'
import type {KubeClient} from '../../kube/client.js'
import {NamespaceWatch} from '../../kube/namespace-watch.js'
import {deploymentReadiness} from '../../kube/readiness.js'
import {ensureStateDir, writeFileAtomic} from '../../system/files.js'
import {cleanK3dLine, type K3dSimpleConfig} from '../../tools/k3d.js'
import {connectRunningK3d, k3dKubeTarget, type Connection} from '../connect.js'
import type {Step, StepRun} from '../pipeline.js'
import type {Project} from '../project.js'
import type {Prerequisites} from './prerequisites.js'

/** What k3s runs in kube-system that workloads depend on: DNS, and volumes for PVCs. */
export const SYSTEM_DEPLOYMENTS = ['coredns', 'local-path-provisioner']

export type ClusterAction = 'created' | 'started' | 'reused' | 'connected'

export interface ReadyCluster {
  connection: Connection
  action: ClusterAction
  /** The host port k3d maps to the cluster's port 80, as the cluster was created (devctl.yaml may since ask for another). */
  httpHostPort?: number
}

function warnOfDrift(project: Project, run: StepRun, createdWith: ClusterShape, wanted: K3dSimpleConfig): void {
  const drift = clusterDrift(createdWith, wanted)
  if (drift.length === 0) return
  run.warn(
    `Cluster ${project.names.clusterName} keeps the settings it was created with, and devctl.yaml now asks for others (${drift.join('; ')}); ` +
      'k3d cannot change them on an existing cluster. To apply them run `devctl down && devctl up`, which recreates the cluster and deletes the Postgres and Redis data in it.',
  )
}

async function waitForSystem(kube: KubeClient, run: StepRun): Promise<void> {
  const view = await NamespaceWatch.start(kube, 'kube-system', ['Node', 'Deployment'], run.signal)
  try {
    await view.until(() => {
      const nodes = view.list('Node')
      const readyNodes = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      const pending = SYSTEM_DEPLOYMENTS.filter((name) => {
        const deployment = view.get('Deployment', name)
        return !deployment || !deploymentReadiness(deployment).ready
      })
      if (nodes.length > 0 && readyNodes.length === nodes.length && pending.length === 0) return true
      run.note(nodes.length === 0 || readyNodes.length < nodes.length ? `waiting for nodes: ${readyNodes.length}/${nodes.length || '?'} ready` : `waiting for ${pending.join(' and ')}`)
      return undefined
    }, run.signal)
  } finally {
    view.close()
  }
}

async function connectExisting(project: Project, context: string, run: StepRun): Promise<ReadyCluster> {
  const kubeTarget = {context}
  const kube = (await project.kubeModule).KubeClient.connect(kubeTarget)
  // One small read the API must answer; an account limited to its namespace may be refused it, and that is an answer too.
  await ifPermitted(kube.get('Namespace', undefined, project.names.namespace)).catch((error: unknown) => {
    if (error instanceof ApiRefusedError) throw error
    throw new ClusterError(`The cluster of context "${context}" is not reachable.`, {
      details: [String((error as Error).message)],
      hint: `Check your VPN and credentials with \`kubectl --context ${context} get pods -n ${project.names.namespace}\`.`,
    })
  })
  run.title(`Cluster: context ${context} (namespace ${project.names.namespace})`)
  return {connection: {kube, kubeTarget}, action: 'connected'}
}

export const clusterStep: Step<{project: Project; prerequisites: Prerequisites}, ReadyCluster> = {
  id: 'cluster',
  title: (project) => `Cluster ${project.config.cluster.provider === 'k3d' ? project.names.clusterName : project.names.kubeContext}`,
  timeoutMs: ({project}) => project.timeouts.cluster,
  async execute({project, prerequisites}, run) {
    const cluster = project.config.cluster
    if (cluster.provider === 'existing') return connectExisting(project, cluster.context, run)

    const name = project.names.clusterName
    const {cluster: existing, createdWith} = prerequisites.k3d ?? {}
    const onLine = (line: string) => run.note(cleanK3dLine(line))
    const wanted = k3dConfig(project.config, project.names, prerequisites.identity)
    if (createdWith) warnOfDrift(project, run, createdWith, wanted)
    let action: ClusterAction
    if (!existing) {
      run.title(`Cluster ${name}: creating (k3d)`)
      const file = k3dConfigFile(project.stateDir)
      await ensureStateDir(project.stateDir)
      await writeFileAtomic(file, `# Generated by devctl from devctl.yaml; edit devctl.yaml instead.\n${stringify(wanted)}`)
      await project.tools.k3d.create(file, run.signal, onLine)
      action = 'created'
    } else if (!existing.running) {
      run.title(`Cluster ${name}: starting (it was stopped)`)
      await project.tools.k3d.start(name, run.signal, onLine)
      action = 'started'
    } else {
      action = 'reused'
    }
    const connection =
      action === 'reused'
        ? await connectRunningK3d(project, run.signal)
        : await k3dKubeTarget(project, run.signal).then(async (kubeTarget) => ({kube: (await project.kubeModule).KubeClient.connect(kubeTarget), kubeTarget}))
    run.title(`Cluster ${name}: waiting for nodes, DNS and storage`)
    await waitForSystem(connection.kube, run)
    run.title(`Cluster ${name} ${action}`)
    return {connection, action, httpHostPort: httpHostPort(createdWith ?? wanted)}
  },
}
