/**
 * Step 2 of `up`: a cluster to deploy into. For k3d: create it from a generated k3d config,
 * start it if stopped (after a reboot), or reuse it; then wait for what k3d's own --wait does
 * not: node Ready, DNS (coredns) and the local-path volume provisioner. For an existing
 * cluster: connect to the configured context.
 */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'

import {stringify} from 'yaml'

import type {DevctlConfig} from '../../config/schema.js'
import type {ResolvedNames} from '../../config/load.js'
import {ClusterError} from '../../errors.js'
import {NamespaceWatch} from '../../kube/namespace-watch.js'
import {deploymentReadiness} from '../../kube/readiness.js'
import type {V1Deployment, V1Node} from '../../kube/types.js'
import {writeFileAtomic} from '../../scaffold/files.js'
import type {K3dSimpleConfig} from '../../tools/k3d.js'
import {kubeOf, timeoutOf} from '../context.js'
import type {LeafStep, StepRun} from '../pipeline.js'
import type {PrerequisiteContext} from './prerequisites.js'

/** What k3s runs in kube-system that workloads depend on: DNS, and volumes for PVCs. */
export const SYSTEM_DEPLOYMENTS = ['coredns', 'local-path-provisioner']

export type ClusterAction = 'created' | 'started' | 'reused' | 'connected'

export interface ClusterContext extends PrerequisiteContext {
  clusterAction?: ClusterAction
}

export function k3dConfig(config: DevctlConfig, names: ResolvedNames): K3dSimpleConfig {
  if (config.cluster.provider !== 'k3d') throw new Error('k3dConfig needs provider k3d')
  const cluster = config.cluster
  return {
    apiVersion: 'k3d.io/v1alpha5',
    kind: 'Simple',
    metadata: {name: names.clusterName},
    servers: cluster.servers,
    agents: cluster.agents,
    image: cluster.image,
    kubeAPI: {hostIP: '127.0.0.1', hostPort: String(cluster.apiPort)},
    ports: cluster.ports.map((p) => ({port: `${p.host}:${p.container}`, nodeFilters: [p.nodeFilter]})),
    ...(cluster.registry?.enabled ? {registries: {create: {name: `${names.clusterName}-registry`, host: '127.0.0.1', hostPort: String(cluster.registry.port)}}} : {}),
    options: {
      k3d: {wait: true, timeout: config.app.timeouts.cluster},
      kubeconfig: {updateDefaultKubeconfig: true, switchCurrentContext: true},
    },
  }
}

async function connectK3d(ctx: ClusterContext, run: StepRun): Promise<void> {
  // Our own copy of the cluster's kubeconfig: devctl never depends on (or changes) the user's current context.
  const kubeconfig = await ctx.tools.k3d.kubeconfig(ctx.names.clusterName, run.signal)
  await mkdir(ctx.stateDir, {recursive: true, mode: 0o700})
  const path = join(ctx.stateDir, 'kubeconfig')
  await writeFileAtomic(path, kubeconfig, 0o600)
  ctx.kubeTarget = {kubeconfig: path, context: ctx.names.kubeContext}
  ctx.kube = (await ctx.kubeModule).KubeClient.connect(ctx.kubeTarget)
}

async function waitForSystem(ctx: ClusterContext, run: StepRun): Promise<void> {
  const view = await NamespaceWatch.start(kubeOf(ctx), 'kube-system', ['Node', 'Deployment'], run.signal)
  try {
    await view.until(() => {
      const nodes = view.list<V1Node>('Node')
      const readyNodes = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      const pending = SYSTEM_DEPLOYMENTS.filter((name) => {
        const deployment = view.get<V1Deployment>('Deployment', name)
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

export const clusterStep: LeafStep<ClusterContext> = {
  id: 'cluster',
  title: (ctx) => `Cluster ${ctx.config.cluster.provider === 'k3d' ? ctx.names.clusterName : ctx.names.kubeContext}`,
  timeoutMs: (ctx) => timeoutOf(ctx, 'cluster'),
  async execute(ctx, run) {
    if (ctx.config.cluster.provider === 'existing') {
      ctx.kubeTarget = {context: ctx.config.cluster.context}
      ctx.kube = (await ctx.kubeModule).KubeClient.connect(ctx.kubeTarget)
      await ctx.kube.list('Namespace', undefined).catch((error: unknown) => {
        throw new ClusterError(`The cluster of context "${ctx.config.cluster.provider === 'existing' ? ctx.config.cluster.context : ''}" is not reachable.`, {
          details: [String((error as Error).message)],
          hint: 'Check your VPN/credentials with `kubectl --context CONTEXT get ns`.',
        })
      })
      ctx.clusterAction = 'connected'
      return `Cluster: context ${ctx.names.kubeContext} (namespace ${ctx.names.namespace})`
    }

    const name = ctx.names.clusterName
    const onLine = (line: string) => run.note(line.replace(/^(INFO|WARN|ERRO|FATA)\[\d+\]\s*/, ''))
    if (!ctx.existingCluster) {
      run.title(`Cluster ${name}: creating (k3d)`)
      const file = join(ctx.stateDir, 'k3d-cluster.yaml')
      await mkdir(ctx.stateDir, {recursive: true, mode: 0o700})
      await writeFileAtomic(file, `# Generated by devctl from devctl.yaml; edit devctl.yaml instead.\n${stringify(k3dConfig(ctx.config, ctx.names))}`)
      await ctx.tools.k3d.create(file, run.signal, onLine)
      ctx.clusterAction = 'created'
    } else if (!ctx.existingCluster.running) {
      run.title(`Cluster ${name}: starting (it was stopped)`)
      await ctx.tools.k3d.start(name, run.signal, onLine)
      ctx.clusterAction = 'started'
    } else {
      ctx.clusterAction = 'reused'
    }
    await connectK3d(ctx, run)
    run.title(`Cluster ${name}: waiting for nodes, DNS and storage`)
    await waitForSystem(ctx, run)
    return `Cluster ${name} ${ctx.clusterAction}`
  },
}
