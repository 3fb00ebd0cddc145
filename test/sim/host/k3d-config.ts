/**
 * What `k3d cluster create` is asked to build: the k3d.io/v1alpha5 Simple config file (with
 * k3d's environment expansion and JSON-schema check) merged with the command-line flags, the
 * way k3d v5.8 does it (flags override the file; unset values take the flag defaults).
 */
import {parse as parseYaml} from 'yaml'

import {scalarText} from '../apiserver/json.js'
import {parseGoDuration, type ParsedFlags} from './flags.js'

export const k3dVersion = 'v5.8.3'
export const k3sVersion = 'v1.31.5-k3s1'
export const defaultK3sImage = `docker.io/rancher/k3s:${k3sVersion}`
export const defaultClusterName = 'k3s-default'

export interface PortSpec {
  /** As given, e.g. "8080:80@loadbalancer" (k3d logs it back). */
  spec: string
  hostIP: string
  /** Undefined: docker picks a free port. */
  hostPort?: number
  containerPort: number
  protocol: string
  nodeFilters: string[]
}

export interface ClusterSpec {
  name: string
  servers: number
  agents: number
  image: string
  apiHostIP: string
  /** Undefined until k3d picks a free one. */
  apiHostPort?: number
  ports: PortSpec[]
  registry?: {name: string; hostIP: string; hostPort?: number}
  token?: string
  wait: boolean
  timeoutMs: number
  noLoadbalancer: boolean
  noRollback: boolean
  updateDefaultKubeconfig: boolean
  switchCurrentContext: boolean
  serversMemory?: string
  agentsMemory?: string
  /** `--runtime-label` / options.runtime.labels: Docker labels on the node containers the filters pick. */
  runtimeLabels: Array<{key: string; value: string; nodeFilters: string[]}>
}

/** A failure k3d reports with `FATA[...]` before it touches Docker. */
export class K3dConfigError extends Error {}

// --- a small JSON-schema check with gojsonschema's wording ---------------------------------

type Shape = 'string' | 'number' | 'boolean' | 'any' | {array: Shape} | {object: Record<string, Shape>; required?: string[]; open?: boolean}

const withFilters = (field: string): Shape => ({object: {[field]: 'string', nodeFilters: 'any'}})
const simpleConfigShape: Shape = {
  required: ['apiVersion', 'kind'],
  object: {
    apiVersion: 'string',
    kind: 'string',
    metadata: {object: {name: 'string'}},
    servers: 'number',
    agents: 'number',
    kubeAPI: {object: {host: 'string', hostIP: 'string', hostPort: 'string'}},
    image: 'string',
    network: 'string',
    subnet: 'string',
    token: 'string',
    volumes: {array: withFilters('volume')},
    ports: {array: withFilters('port')},
    files: {array: {object: {source: 'string', destination: 'string', description: 'string', nodeFilters: 'any'}, required: ['source', 'destination']}},
    options: {
      object: {
        k3d: {
          object: {
            wait: 'boolean',
            timeout: 'any',
            disableLoadbalancer: 'boolean',
            disableImageVolume: 'boolean',
            disableRollback: 'boolean',
            nodeHookActions: 'any',
            loadbalancer: {object: {configOverrides: {array: 'string'}}},
          },
        },
        k3s: {object: {extraArgs: {array: withFilters('arg')}, nodeLabels: {array: withFilters('label')}}},
        kubeconfig: {object: {updateDefaultKubeconfig: 'boolean', switchCurrentContext: 'boolean'}},
        runtime: {open: true, object: {gpuRequest: 'string', serversMemory: 'string', agentsMemory: 'string', hostPidMode: 'boolean', labels: {array: withFilters('label')}, ulimits: 'any'}},
      },
    },
    env: {array: withFilters('envVar')},
    registries: {
      open: true,
      object: {use: {array: 'string'}, create: {object: {name: 'string', host: 'string', hostPort: 'string', image: 'string', proxy: 'any', volumes: {array: 'string'}}}, config: 'string'},
    },
    hostAliases: 'any',
  },
}

function jsonType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function validate(value: unknown, shape: Shape, path: string, errors: string[]): void {
  const field = path || '(root)'
  if (shape === 'any') return
  if (typeof shape === 'string') {
    const given = jsonType(value)
    const ok = shape === 'number' ? given === 'integer' || given === 'number' : given === shape
    if (!ok) errors.push(`- ${field}: Invalid type. Expected: ${shape}, given: ${given}`)
    return
  }
  if ('array' in shape) {
    if (!Array.isArray(value)) errors.push(`- ${field}: Invalid type. Expected: array, given: ${jsonType(value)}`)
    else value.forEach((item, i) => validate(item, shape.array, path ? `${path}.${i}` : String(i), errors))
    return
  }
  if (jsonType(value) !== 'object') {
    errors.push(`- ${field}: Invalid type. Expected: object, given: ${jsonType(value)}`)
    return
  }
  const object = value as Record<string, unknown>
  for (const key of shape.required ?? []) if (!(key in object)) errors.push(`- ${field}: ${key} is required`)
  for (const [key, item] of Object.entries(object)) {
    const inner = shape.object[key]
    if (inner) validate(item, inner, path ? `${path}.${key}` : key, errors)
    else if (!shape.open) errors.push(`- ${field}: Additional property ${key} is not allowed`)
  }
}

/** Go's os.ExpandEnv: `$VAR` and `${VAR}`, unknown variables become empty. */
export function expandEnv(text: string, env: Record<string, string>): string {
  return text.replaceAll(/\$(?:\{(\w+)\}|(\w+))/g, (_, braced: string | undefined, bare: string | undefined) => env[braced ?? bare ?? ''] ?? '')
}

interface SimpleConfig {
  apiVersion: string
  kind: string
  metadata?: {name?: string}
  servers?: number
  agents?: number
  kubeAPI?: {host?: string; hostIP?: string; hostPort?: string}
  image?: string
  token?: string
  ports?: Array<{port?: string; nodeFilters?: string[]}>
  options?: {
    k3d?: {wait?: boolean; timeout?: string; disableLoadbalancer?: boolean; disableRollback?: boolean}
    kubeconfig?: {updateDefaultKubeconfig?: boolean; switchCurrentContext?: boolean}
    runtime?: {serversMemory?: string; agentsMemory?: string; labels?: Array<{label?: string; nodeFilters?: string[]}>}
  }
  registries?: {create?: {name?: string; host?: string; hostPort?: string}}
}

/** Reads and checks a config file; `text` is its content (stdin when the path is "-"). */
export function parseSimpleConfig(path: string, text: string, env: Record<string, string>): SimpleConfig {
  let document: unknown
  try {
    document = parseYaml(expandEnv(text, env)) ?? {}
  } catch (error) {
    throw new K3dConfigError(`Failed to read config file ${path}: ${(error as Error).message}`)
  }
  const apiVersion = (document as {apiVersion?: unknown}).apiVersion
  if (apiVersion !== 'k3d.io/v1alpha5') throw new K3dConfigError(`Cannot validate config file ${path}: unsupported apiVersion '${scalarText(apiVersion)}'`)
  const errors: string[] = []
  validate(document, simpleConfigShape, '', errors)
  if ((document as {kind?: unknown}).kind !== 'Simple' && errors.length === 0) errors.push('- kind: kind must be one of the following: "Simple"')
  if (errors.length > 0) throw new K3dConfigError(`Schema Validation failed for config file ${path}: ${errors.join('\n')}\n`)
  return document as SimpleConfig
}

/** docker's nat.ParsePortSpec for `[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]` plus k3d's `@filter`. */
export function parsePortSpec(spec: string, filtersFromConfig: string[] = []): PortSpec {
  const at = spec.indexOf('@')
  const mapping = at < 0 ? spec : spec.slice(0, at)
  const nodeFilters = at < 0 ? filtersFromConfig : spec.slice(at + 1).split(';')
  const [ports = '', protocol = 'tcp'] = mapping.split('/')
  const parts = ports.split(':')
  const containerPort = Number(parts.at(-1))
  const hostPort = parts.length >= 2 && parts.at(-2) !== '' ? Number(parts.at(-2)) : undefined
  const hostIP = parts.length === 3 ? (parts[0] as string) : '0.0.0.0'
  if (!Number.isInteger(containerPort) || (hostPort !== undefined && !Number.isInteger(hostPort)) || parts.length > 3) {
    throw new K3dConfigError(`error parsing port spec '${mapping}': Invalid containerPort: ${parts.at(-1) ?? ''}`)
  }
  return {spec, hostIP, hostPort, containerPort, protocol, nodeFilters}
}

/** k3d's `--api-port [HOST:]HOSTPORT`. */
export function parseApiPort(spec: string): {hostIP: string; hostPort: number} {
  const colon = spec.lastIndexOf(':')
  const host = colon < 0 ? '0.0.0.0' : spec.slice(0, colon)
  const port = Number(spec.slice(colon + 1))
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new K3dConfigError(`Failed to apply CLI overrides: failed to parse API Port spec: Failed to parse port mapping`)
  return {hostIP: host === 'localhost' ? '127.0.0.1' : host, hostPort: port}
}

/** Merges config file and flags into what to build (k3d's SimpleConfigFromViper + applyCLIOverrides). */
export function clusterSpecFrom(flags: ParsedFlags, config: SimpleConfig | undefined): ClusterSpec {
  // viper: a flag the user set wins, else the file's value, else the flag's default.
  const pick = <T>(flag: string, fromFile: T | undefined, read: (name: string) => T): T => (flags.has(flag) || fromFile === undefined ? read(flag) : fromFile)
  const k3dOptions = config?.options?.k3d ?? {}
  const kubeconfig = config?.options?.kubeconfig ?? {}
  const api = flags.has('api-port')
    ? parseApiPort(flags.string('api-port'))
    : {hostIP: config?.kubeAPI?.hostIP ?? '0.0.0.0', hostPort: config?.kubeAPI?.hostPort ? Number(config.kubeAPI.hostPort) : undefined}
  const create = config?.registries?.create
  const registrySpec = flags.string('registry-create')
  const [registryName = '', registryHost = '0.0.0.0', registryPort] = registrySpec.split(':')
  const timeout = flags.has('timeout') || k3dOptions.timeout === undefined ? flags.string('timeout') : k3dOptions.timeout
  return {
    name: flags.args[0] ?? config?.metadata?.name ?? defaultClusterName,
    servers: pick('servers', config?.servers, (f) => flags.int(f)) || 1,
    agents: pick('agents', config?.agents, (f) => flags.int(f)),
    image: pick('image', config?.image, (f) => flags.string(f)) || defaultK3sImage,
    apiHostIP: api.hostIP,
    apiHostPort: api.hostPort,
    ports: [...(config?.ports ?? []).map((p) => parsePortSpec(p.port ?? '', p.nodeFilters ?? [])), ...flags.strings('port').map((p) => parsePortSpec(p))],
    registry: registrySpec
      ? {name: registryName, hostIP: registryHost, hostPort: registryPort ? Number(registryPort) : undefined}
      : create
        ? {
            name: create.name || `k3d-${flags.args[0] ?? config?.metadata?.name ?? defaultClusterName}-registry`,
            hostIP: create.host ?? '0.0.0.0',
            hostPort: create.hostPort ? Number(create.hostPort) : undefined,
          }
        : undefined,
    token: pick('token', config?.token, (f) => flags.string(f)) || undefined,
    wait: pick('wait', k3dOptions.wait, (f) => flags.bool(f)),
    timeoutMs: timeout ? parseTimeout(timeout) : 0,
    noLoadbalancer: pick('no-lb', k3dOptions.disableLoadbalancer, (f) => flags.bool(f)),
    noRollback: pick('no-rollback', k3dOptions.disableRollback, (f) => flags.bool(f)),
    updateDefaultKubeconfig: pick('kubeconfig-update-default', kubeconfig.updateDefaultKubeconfig, (f) => flags.bool(f)),
    switchCurrentContext: pick('kubeconfig-switch-context', kubeconfig.switchCurrentContext, (f) => flags.bool(f)),
    serversMemory: pick('servers-memory', config?.options?.runtime?.serversMemory, (f) => flags.string(f)) || undefined,
    agentsMemory: pick('agents-memory', config?.options?.runtime?.agentsMemory, (f) => flags.string(f)) || undefined,
    runtimeLabels: [
      ...(config?.options?.runtime?.labels ?? []).map((l) => parseRuntimeLabel(l.label ?? '', l.nodeFilters ?? [])),
      ...flags.strings('runtime-label').map((spec) => parseRuntimeLabel(spec)),
    ],
  }
}

/** k3d's `KEY=VALUE[@NODEFILTER[;NODEFILTER...]]`; without a filter the label goes on every node. */
export function parseRuntimeLabel(spec: string, filtersFromConfig: string[] = []): {key: string; value: string; nodeFilters: string[]} {
  const at = spec.indexOf('@')
  const label = at < 0 ? spec : spec.slice(0, at)
  const equals = label.indexOf('=')
  if (equals <= 0) throw new K3dConfigError(`Failed to parse runtime label '${label}': expected KEY=VALUE`)
  return {key: label.slice(0, equals), value: label.slice(equals + 1), nodeFilters: at < 0 ? filtersFromConfig : spec.slice(at + 1).split(';')}
}

function parseTimeout(text: string): number {
  try {
    return parseGoDuration(text)
  } catch (error) {
    throw new K3dConfigError((error as Error).message)
  }
}
