/**
 * k3d, driven as a process. Its JSON output is parsed into types here, at the edge; its
 * failures become ClusterErrors that say what k3d said, cleaned of log-prefix noise.
 */
import {stripVTControlCharacters} from 'node:util'

import semver from 'semver'
import * as z from 'zod'

import {BuildError, ClusterError, PrerequisiteError, type DevctlError} from '../errors.js'
import {parseToolJson} from './json-output.js'
import {run, runAllowingFailure, tail, type RunResult} from './process.js'

export const MIN_K3D_VERSION = '5.0.0'

const clusterListSchema = z.array(
  z.looseObject({
    name: z.string(),
    nodes: z.array(
      z.looseObject({
        name: z.string(),
        role: z.string(),
        State: z.looseObject({Running: z.boolean(), Status: z.string().optional()}).optional(),
        runtimeLabels: z.record(z.string(), z.string()).nullish(),
      }),
    ),
    serversCount: z.number().optional(),
    serversRunning: z.number().optional(),
    agentsCount: z.number().optional(),
    agentsRunning: z.number().optional(),
  }),
)

export interface K3dCluster {
  name: string
  /** Every server and agent node is running. */
  running: boolean
  servers: number
  agents: number
  /** The first server node's runtime (Docker) labels: what the cluster was created with, such as its owner. */
  labels: Record<string, string>
  /** Its server and agent nodes' container names (where images are imported); `list` always says. */
  nodes?: string[]
}

/** The k3d config file devctl generates (k3d.io/v1alpha5, kind Simple). */
export interface K3dSimpleConfig {
  apiVersion: 'k3d.io/v1alpha5'
  kind: 'Simple'
  metadata: {name: string}
  servers: number
  agents: number
  image: string
  kubeAPI: {hostIP: string; hostPort?: string}
  ports: Array<{port: string; nodeFilters: string[]}>
  registries?: {create: {name: string; host: string; hostPort: string}}
  options: {
    k3d: {wait: boolean; timeout: string}
    kubeconfig: {updateDefaultKubeconfig: boolean; switchCurrentContext: boolean}
    runtime?: {labels: Array<{label: string; nodeFilters: string[]}>}
  }
}

/**
 * k3d logs with logrus, in colour even into a pipe ("INFO[0000] Prep: Network"), or as
 * `time=... level=info msg="..."` with LOG_COLORS=false; keep the words, drop the rest.
 */
export function cleanK3dLine(line: string): string {
  const plain = stripVTControlCharacters(line)
  const structured = /\blevel=\w+ msg="((?:[^"\\]|\\.)*)"/.exec(plain)
  if (structured) return structured[1]!.replaceAll('\\"', '"')
  return plain.replace(/^(INFO|WARN|ERRO|FATA|DEBU)\[\d+\]\s*/, '').trim()
}

export function cleanK3dOutput(text: string): string[] {
  return tail(text, 12).map(cleanK3dLine)
}

function clusterError(action: string, result: RunResult): DevctlError {
  const lines = cleanK3dOutput(`${result.stdout}\n${result.stderr}`)
  const text = lines.join('\n')
  if (/Cannot connect to the Docker daemon|docker daemon.*running|Is the docker daemon running/i.test(text)) {
    return new PrerequisiteError(`k3d could not reach Docker while trying to ${action}.`, {
      details: lines.slice(-3),
      hint: 'Start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), then run this again.',
    })
  }
  const port = /Bind for [\d.:]*:(\d+) failed: port is already allocated/.exec(text)?.[1]
  if (port) {
    return new ClusterError(`k3d could not ${action}: host port ${port} is already in use.`, {
      details: lines.slice(-3),
      hint: `Free port ${port}, or map another one in devctl.yaml (cluster.ports / cluster.apiPort); \`devctl doctor\` shows who holds it.`,
    })
  }
  return new ClusterError(`k3d failed to ${action} (exit code ${result.exitCode}).`, {details: lines, hint: "Read k3d's message above; `devctl doctor` checks the usual causes."})
}

export class K3d {
  constructor(private readonly binary = 'k3d') {}

  async version(signal?: AbortSignal): Promise<string> {
    const {stdout} = await run(this.binary, ['version'], {signal})
    const version = semver.coerce(/k3d version v?([\w.+-]+)/.exec(stdout)?.[1] ?? '')?.version
    if (!version) throw new PrerequisiteError(`Could not read k3d's version from \`k3d version\`: ${stdout.split('\n')[0] ?? ''}`)
    return version
  }

  async list(signal?: AbortSignal): Promise<K3dCluster[]> {
    const result = await runAllowingFailure(this.binary, ['cluster', 'list', '-o', 'json'], {signal})
    if (result.exitCode !== 0) throw clusterError('list clusters', result)
    const clusters = parseToolJson(clusterListSchema, result.stdout || '[]', 'k3d cluster list -o json', ClusterError)
    return clusters.map((c) => ({
      name: c.name,
      running: c.nodes.length > 0 && c.nodes.filter((n) => n.role !== 'registry').every((n) => n.State?.Running === true),
      servers: c.serversCount ?? c.nodes.filter((n) => n.role === 'server').length,
      agents: c.agentsCount ?? c.nodes.filter((n) => n.role === 'agent').length,
      labels: c.nodes.find((n) => n.role === 'server')?.runtimeLabels ?? {},
      nodes: c.nodes.filter((n) => n.role === 'server' || n.role === 'agent').map((n) => n.name),
    }))
  }

  async find(name: string, signal?: AbortSignal): Promise<K3dCluster | undefined> {
    return (await this.list(signal)).find((c) => c.name === name)
  }

  async create(configFile: string, signal: AbortSignal, onLine?: (line: string) => void): Promise<void> {
    // k3d logs progress on stdout (and errors on stderr): follow both.
    const result = await runAllowingFailure(this.binary, ['cluster', 'create', '--config', configFile], {signal, onStdoutLine: onLine, onStderrLine: onLine})
    if (result.exitCode !== 0) throw clusterError('create the cluster', result)
  }

  async start(name: string, signal: AbortSignal, onLine?: (line: string) => void): Promise<void> {
    const result = await runAllowingFailure(this.binary, ['cluster', 'start', name, '--wait'], {signal, onStdoutLine: onLine, onStderrLine: onLine})
    if (result.exitCode !== 0) throw clusterError(`start cluster ${name}`, result)
  }

  async stop(name: string, signal?: AbortSignal): Promise<void> {
    // Like helm's changes, a stop or delete finishes (or is killed on a second Ctrl-C) rather than stopping half-way.
    const result = await runAllowingFailure(this.binary, ['cluster', 'stop', name], {signal, ownProcessGroup: true})
    if (result.exitCode !== 0) throw clusterError(`stop cluster ${name}`, result)
  }

  async delete(name: string, signal?: AbortSignal): Promise<void> {
    const result = await runAllowingFailure(this.binary, ['cluster', 'delete', name], {signal, ownProcessGroup: true})
    if (result.exitCode !== 0) throw clusterError(`delete cluster ${name}`, result)
  }

  /** The cluster's kubeconfig (it holds client credentials: never print it). */
  async kubeconfig(name: string, signal?: AbortSignal): Promise<string> {
    const result = await runAllowingFailure(this.binary, ['kubeconfig', 'get', name], {signal})
    if (result.exitCode !== 0) throw clusterError(`get the kubeconfig of ${name}`, result)
    return result.stdout
  }

  /**
   * `k3d image import` into every node of the cluster. k3d logs a node's failed import and still
   * exits 0 (k3d #1484): its error and warning lines come back, for whoever checks that the images landed.
   */
  async importImages(cluster: string, refs: string[], signal: AbortSignal): Promise<string[]> {
    const result = await runAllowingFailure(this.binary, ['image', 'import', ...refs, '--cluster', cluster], {signal})
    if (result.exitCode !== 0) {
      // An image that did not reach the cluster is the build's failure (exit 13); Docker being down stays a prerequisite.
      const error = clusterError(`import ${refs.join(', ')} into cluster ${cluster}`, result)
      throw error instanceof ClusterError
        ? new BuildError(error.message, {details: error.details, hint: 'Check that docker has the image (`docker images`) and that the cluster runs (`devctl status`), then run this again.'})
        : error
    }
    const complaints = /^(ERRO|WARN)|\blevel=(error|warning)\b/
    return `${result.stdout}\n${result.stderr}`
      .split('\n')
      .filter((line) => complaints.test(stripVTControlCharacters(line)))
      .map(cleanK3dLine)
  }

  static assertSupported(version: string): void {
    if (semver.lt(version, MIN_K3D_VERSION)) {
      throw new PrerequisiteError(`k3d ${version} is too old: devctl needs k3d ${MIN_K3D_VERSION} or newer.`, {hint: 'Upgrade k3d (https://k3d.io/#installation).'})
    }
  }
}
