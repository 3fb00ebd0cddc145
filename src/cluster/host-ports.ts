/**
 * The one answer to "which host ports will the cluster bind, and are they free?", for `up`'s
 * prerequisites and for `doctor`: devctl.yaml's ports for a cluster still to be created; for an
 * existing (stopped) one, the ports it was created with, which k3d binds again on start whatever
 * devctl.yaml says now.
 */
import type {ResolvedNames} from '../config/load.js'
import type {DevctlConfig} from '../config/schema.js'
import {isPortFree, nextFreePort, portHolder} from '../system/ports.js'
import {boundHostPorts, type ClusterShape} from './k3d-config.js'

export interface HostPort {
  port: number
  purpose: string
  /** The devctl.yaml key that sets it, when changing devctl.yaml would change it. */
  configKey?: string
}

export interface HostPortProbe extends HostPort {
  free: boolean
  /** Who holds it ("node (pid 4242)"), when that can be told. */
  holder?: string
  /** A free port to use instead (a different one for each busy port). */
  alternative?: number
  /** What to do when it is busy. */
  fix?: string
}

/** The k3d cluster as it stands: none yet, or existing (created with `createdWith`, when devctl wrote that down). */
export type ClusterBinding = {exists: false} | {exists: true; running: boolean; createdWith?: ClusterShape}

/** The ports devctl.yaml asks a new cluster to bind. */
function configuredPorts(config: DevctlConfig): HostPort[] {
  const cluster = config.cluster
  if (cluster.provider !== 'k3d') return []
  return [
    ...(cluster.apiPort ? [{port: cluster.apiPort, purpose: 'the Kubernetes API', configKey: 'cluster.apiPort'}] : []),
    ...cluster.ports.map((p, i) => ({port: p.host, purpose: `port mapping ${p.host}:${p.container}`, configKey: `cluster.ports[${i}].host`})),
    ...(cluster.registry?.enabled ? [{port: cluster.registry.port, purpose: 'the local registry', configKey: 'cluster.registry.port'}] : []),
  ]
}

/**
 * The host ports starting the cluster will bind: none for a running cluster (it holds them) or
 * another provider; devctl.yaml's for a new cluster; the created-with ones for a stopped cluster.
 */
export function portsToBind(config: DevctlConfig, names: ResolvedNames, cluster: ClusterBinding): HostPort[] {
  if (config.cluster.provider !== 'k3d') return []
  if (!cluster.exists) return configuredPorts(config)
  if (cluster.running) return []
  // A stopped cluster devctl did not create (or whose record is gone): devctl.yaml is the best guess.
  if (!cluster.createdWith) return configuredPorts(config)
  return boundHostPorts(cluster.createdWith).map((p) => ({...p, purpose: `${p.purpose} of the stopped cluster ${names.clusterName}`}))
}

/** Try each port; for a busy one, say who holds it and offer a free one (never the same one twice). */
export async function probeHostPorts(ports: HostPort[], names: ResolvedNames, cluster: ClusterBinding): Promise<HostPortProbe[]> {
  const taken = new Set(ports.map((p) => p.port))
  const probes: HostPortProbe[] = []
  for (const port of ports) {
    if (await isPortFree(port.port)) {
      probes.push({...port, free: true})
      continue
    }
    const [holder, alternative] = await Promise.all([portHolder(port.port), nextFreePort(port.port, taken)])
    if (alternative !== undefined) taken.add(alternative)
    probes.push({...port, free: false, holder, alternative, fix: fixFor(port, alternative, names, cluster)})
  }
  return probes
}

function fixFor(port: HostPort, alternative: number | undefined, names: ResolvedNames, cluster: ClusterBinding): string {
  if (cluster.exists && cluster.createdWith) {
    return (
      `Stop what holds it: cluster ${names.clusterName} was created with this port and binds it again when it starts. ` +
      "A new port in devctl.yaml only applies to a new cluster (`devctl down && devctl up`, which deletes the cluster's data)."
    )
  }
  const where = port.configKey ? `set ${port.configKey} in devctl.yaml to a free port` : 'free it'
  return `Stop what holds it, or ${where}${alternative && port.configKey ? ` such as ${alternative}` : ''}.`
}

/** "Host port 8080 (for port mapping 8080:80) is already in use by nginx (pid 12)." */
export function describeBusyPort(probe: HostPortProbe): string {
  return `Host port ${probe.port} (for ${probe.purpose}) is already in use${probe.holder ? ` by ${probe.holder}` : ''}.`
}
