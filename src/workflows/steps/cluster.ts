/**
 * Step 2 of `up`: a cluster to deploy into. For k3d: create it from a generated k3d config,
 * start it if stopped (after a reboot), or reuse it; then wait for what k3d's own --wait does
 * not: node Ready, DNS (coredns) and the local-path volume provisioner. For an existing
 * cluster: connect to the configured context.
 */
import {mkdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import {z} from 'zod'

import type {DevctlConfig} from '../../config/schema.js'
import type {ResolvedNames} from '../../config/load.js'
import {ClusterError} from '../../errors.js'
import {NamespaceWatch} from '../../kube/namespace-watch.js'
import {deploymentReadiness} from '../../kube/readiness.js'
import type {V1Deployment, V1Node} from '../../kube/types.js'
import {writeFileAtomic} from '../../scaffold/files.js'
import {cleanK3dLine, type K3dSimpleConfig} from '../../tools/k3d.js'
import {kubeOf, timeoutOf} from '../context.js'
import {connectRunningK3d, k3dKubeTarget} from '../connect.js'
import type {LeafStep, StepRun} from '../pipeline.js'
import type {PrerequisiteContext} from './prerequisites.js'

/** What k3s runs in kube-system that workloads depend on: DNS, and volumes for PVCs. */
export const SYSTEM_DEPLOYMENTS = ['coredns', 'local-path-provisioner']

export type ClusterAction = 'created' | 'started' | 'reused' | 'connected'

export interface ClusterContext extends PrerequisiteContext {
  clusterAction?: ClusterAction
  /** The host port k3d maps to the cluster's port 80, as the cluster was created (devctl.yaml may since ask for another). */
  httpHostPort?: number
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
    kubeAPI: {hostIP: '127.0.0.1', ...(cluster.apiPort ? {hostPort: String(cluster.apiPort)} : {})},
    ports: cluster.ports.map((p) => ({port: `${p.host}:${p.container}`, nodeFilters: [p.nodeFilter]})),
    ...(cluster.registry?.enabled ? {registries: {create: {name: `${names.clusterName}-registry`, host: '127.0.0.1', hostPort: String(cluster.registry.port)}}} : {}),
    options: {
      k3d: {wait: true, timeout: config.app.timeouts.cluster},
      kubeconfig: {updateDefaultKubeconfig: true, switchCurrentContext: true},
    },
  }
}

/** What k3d fixes when it creates a cluster, read back from the config file devctl wrote then. */
const createdWithSchema = z.object({
  servers: z.number().optional(),
  agents: z.number().optional(),
  image: z.string().optional(),
  kubeAPI: z.object({hostPort: z.string().optional()}).optional(),
  ports: z.array(z.object({port: z.string(), nodeFilters: z.array(z.string()).optional()})).optional(),
  registries: z.object({create: z.object({hostPort: z.string()})}).optional(),
})

type ClusterShape = z.infer<typeof createdWithSchema>

/**
 * The settings of devctl.yaml that differ from those the cluster was created with. k3d cannot
 * change them on an existing cluster, so a reused cluster silently keeps the old ones.
 */
export function clusterDrift(createdWith: ClusterShape, wanted: K3dSimpleConfig): string[] {
  const ports = (config: ClusterShape) => (config.ports ?? []).map((p) => `${p.port}@${(p.nodeFilters ?? []).join(',')}`).sort().join(' ') || 'none'
  const settings: Array<[string, (config: ClusterShape) => string]> = [
    ['port mappings', ports],
    ['API port', (config) => config.kubeAPI?.hostPort ?? 'any free port'],
    ['servers', (config) => String(config.servers ?? 1)],
    ['agents', (config) => String(config.agents ?? 0)],
    ['k3s image', (config) => config.image ?? '?'],
    ['registry port', (config) => config.registries?.create.hostPort ?? 'no registry'],
  ]
  return settings.flatMap(([what, value]) => (value(createdWith) === value(wanted) ? [] : [`${what} ${value(createdWith)} → ${value(wanted)}`]))
}

/** The settings in the k3d config devctl wrote when it created the cluster; none for a cluster it did not create (or whose file is gone or was edited). */
async function readCreatedWith(file: string): Promise<ClusterShape | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined)
  const createdWith = text === undefined ? undefined : createdWithSchema.safeParse(parse(text, {maxAliasCount: 0}))
  return createdWith?.success ? createdWith.data : undefined
}

/** The host port mapped to the cluster's port 80 ("8080:80" → 8080). */
export function httpHostPort(config: ClusterShape): number | undefined {
  const mapping = config.ports?.map((p) => p.port.split(':')).find((parts) => parts.at(-1) === '80')
  return mapping && mapping.length > 1 ? Number(mapping.at(-2)) : undefined
}

function warnOfDrift(ctx: ClusterContext, run: StepRun, createdWith: ClusterShape, wanted: K3dSimpleConfig): void {
  const drift = clusterDrift(createdWith, wanted)
  if (drift.length === 0) return
  run.warn(
    `Cluster ${ctx.names.clusterName} keeps the settings it was created with, and devctl.yaml now asks for others (${drift.join('; ')}); ` +
      'k3d cannot change them on an existing cluster. To apply them run `devctl down && devctl up`, which recreates the cluster and deletes the Postgres and Redis data in it.',
  )
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
    const onLine = (line: string) => run.note(cleanK3dLine(line))
    const file = join(ctx.stateDir, 'k3d-cluster.yaml')
    const wanted = k3dConfig(ctx.config, ctx.names)
    const createdWith = ctx.existingCluster ? await readCreatedWith(file) : undefined
    if (createdWith) warnOfDrift(ctx, run, createdWith, wanted)
    ctx.httpHostPort = httpHostPort(createdWith ?? wanted)
    if (!ctx.existingCluster) {
      run.title(`Cluster ${name}: creating (k3d)`)
      await mkdir(ctx.stateDir, {recursive: true, mode: 0o700})
      await writeFileAtomic(file, `# Generated by devctl from devctl.yaml; edit devctl.yaml instead.\n${stringify(wanted)}`)
      await ctx.tools.k3d.create(file, run.signal, onLine)
      ctx.clusterAction = 'created'
    } else if (!ctx.existingCluster.running) {
      run.title(`Cluster ${name}: starting (it was stopped)`)
      await ctx.tools.k3d.start(name, run.signal, onLine)
      ctx.clusterAction = 'started'
    } else {
      ctx.clusterAction = 'reused'
    }
    if (ctx.clusterAction === 'reused') {
      const connection = await connectRunningK3d(ctx, run.signal)
      ctx.kube = connection.kube
      ctx.kubeTarget = connection.kubeTarget
    } else {
      ctx.kubeTarget = await k3dKubeTarget(ctx, run.signal)
      ctx.kube = (await ctx.kubeModule).KubeClient.connect(ctx.kubeTarget)
    }
    run.title(`Cluster ${name}: waiting for nodes, DNS and storage`)
    await waitForSystem(ctx, run)
    return `Cluster ${name} ${ctx.clusterAction}`
  },
}
