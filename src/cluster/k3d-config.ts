/**
 * The k3d config file devctl generates from devctl.yaml (k3d.io/v1alpha5, kind Simple) and keeps
 * in .devctl/: what a cluster is created with, read back later to see what an existing cluster
 * still binds, since k3d cannot change ports, nodes or the image of a cluster it created.
 */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse} from 'yaml'
import * as z from 'zod'

import type {ResolvedNames} from '../config/load.js'
import type {DevctlConfig} from '../config/schema.js'
import {OWNER_DIR_KEY, OWNER_KEY} from '../state/identity.js'
import type {Mark} from '../state/ownership.js'
import type {K3dSimpleConfig} from '../tools/k3d.js'

export function k3dConfigFile(stateDir: string): string {
  return join(stateDir, 'k3d-cluster.yaml')
}

/**
 * The k3d config for a new cluster. `owner` marks its server nodes (Docker labels) with the
 * environment that creates it, so another checkout, or `down` elsewhere, can tell it is not theirs.
 */
export function k3dConfig(config: DevctlConfig, names: ResolvedNames, owner?: {id: string; dir: string}): K3dSimpleConfig {
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
    // k3d's [HOST:][HOSTPORT:]CONTAINERPORT: without a host address docker listens on every interface.
    ports: cluster.ports.map((p) => ({port: `${p.hostIP}:${p.host}:${p.container}`, nodeFilters: [p.nodeFilter]})),
    ...(cluster.registry?.enabled ? {registries: {create: {name: `${names.clusterName}-registry`, host: '127.0.0.1', hostPort: String(cluster.registry.port)}}} : {}),
    options: {
      k3d: {wait: true, timeout: config.app.timeouts.cluster},
      // The context k3d-<name> is added to the user's kubeconfig (kubectl --context works), but their
      // current context is left alone: devctl talks to the cluster through its own copy in .devctl/.
      kubeconfig: {updateDefaultKubeconfig: true, switchCurrentContext: false},
      ...(owner ? {runtime: {labels: [ownerLabel(OWNER_KEY, owner.id), ownerLabel(OWNER_DIR_KEY, owner.dir)]}} : {}),
    },
  }
}

function ownerLabel(key: string, value: string): {label: string; nodeFilters: string[]} {
  return {label: `${key}=${value}`, nodeFilters: ['server:*']}
}

/** The owner mark a k3d cluster carries (from the Docker labels of its server node). */
export function clusterMark(labels: Record<string, string>): Mark {
  return {owner: labels[OWNER_KEY], dir: labels[OWNER_DIR_KEY]}
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

export type ClusterShape = z.infer<typeof createdWithSchema>

/**
 * The settings of devctl.yaml that differ from those the cluster was created with. k3d cannot
 * change them on an existing cluster, so a reused cluster silently keeps the old ones.
 */
export function clusterDrift(createdWith: ClusterShape, wanted: K3dSimpleConfig): string[] {
  const ports = (config: ClusterShape) =>
    (config.ports ?? [])
      .map((p) => `${p.port}@${(p.nodeFilters ?? []).join(',')}`)
      .sort()
      .join(' ') || 'none'
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
export async function readCreatedWith(stateDir: string): Promise<ClusterShape | undefined> {
  try {
    const createdWith = createdWithSchema.safeParse(parse(await readFile(k3dConfigFile(stateDir), 'utf8'), {maxAliasCount: 0}))
    return createdWith.success ? createdWith.data : undefined
  } catch {
    return undefined
  }
}

/** The host port mapped to the cluster's port 80 ("8080:80" → 8080). */
export function httpHostPort(config: ClusterShape): number | undefined {
  const mapping = config.ports?.map((p) => p.port.split(':')).find((parts) => parts.at(-1) === '80')
  return mapping && mapping.length > 1 ? Number(mapping.at(-2)) : undefined
}

/** The host ports a cluster created with this config binds, with what each is for. */
export function boundHostPorts(config: ClusterShape): Array<{port: number; purpose: string}> {
  const hostPort = (mapping: string) => Number(mapping.split(':').at(-2))
  return [
    ...(config.kubeAPI?.hostPort ? [{port: Number(config.kubeAPI.hostPort), purpose: 'the Kubernetes API'}] : []),
    ...(config.ports ?? []).filter((p) => p.port.split(':').length > 1).map((p) => ({port: hostPort(p.port), purpose: `port mapping ${p.port}`})),
    ...(config.registries ? [{port: Number(config.registries.create.hostPort), purpose: 'the local registry'}] : []),
  ]
}
