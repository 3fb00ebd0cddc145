/**
 * A container's environment as the kubelet gives it to the process: `envFrom` (Secrets,
 * ConfigMaps, with their prefix), then `env` in order (literal values with `$(NAME)` expanded
 * from what came before, Secret/ConfigMap keys, the downward API fields devctl's charts use).
 * Used where the simulator runs a real process for a container (exec, a scenario's `run`, a
 * backing server), so the process sees what it would see in the pod.
 */
import type {ClusterApi} from './api.js'
import {isJsonObject} from './json.js'
import type {ResourceType} from './resources.js'
import type {Container, KeyRef, Pod} from './types.js'

export interface EnvTypes {
  secret: ResourceType
  configMap: ResourceType
}

/** `$(NAME)` from the variables defined so far; `$$(NAME)` is an escaped literal; an unknown name stays as written. */
export function expandReferences(text: string, defined: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$'
    return name !== undefined && name in defined ? defined[name]! : match
  })
}

function keyValue(api: ClusterApi, type: ResourceType, namespace: string, ref: KeyRef, binary: boolean): string | undefined {
  const object = api.find(type, namespace, ref.name)
  const data = isJsonObject(object?.data) ? object.data : {}
  const value = data[ref.key]
  if (typeof value !== 'string') return undefined
  return binary ? Buffer.from(value, 'base64').toString('utf8') : value
}

function allValues(api: ClusterApi, type: ResourceType, namespace: string, name: string, binary: boolean): Record<string, string> {
  const object = api.find(type, namespace, name)
  const data = isJsonObject(object?.data) ? object.data : {}
  return Object.fromEntries(
    Object.entries(data)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([key, value]) => [key, binary ? Buffer.from(value, 'base64').toString('utf8') : value]),
  )
}

function fieldValue(pod: Pod, path: string): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default'
    case 'metadata.uid':
      return pod.metadata.uid ?? ''
    case 'spec.nodeName':
      return pod.spec.nodeName ?? ''
    case 'status.podIP':
      return pod.status?.podIP ?? ''
    default:
      return ''
  }
}

/** The container's variables (missing optional references left out, like the kubelet does). */
export function containerEnv(api: ClusterApi, types: EnvTypes, pod: Pod, container: Container): Record<string, string> {
  const namespace = pod.metadata.namespace ?? 'default'
  const env: Record<string, string> = {}
  for (const source of container.envFrom ?? []) {
    const values = source.secretRef
      ? allValues(api, types.secret, namespace, source.secretRef.name, true)
      : source.configMapRef
        ? allValues(api, types.configMap, namespace, source.configMapRef.name, false)
        : {}
    for (const [key, value] of Object.entries(values)) env[`${source.prefix ?? ''}${key}`] = value
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom
    const value = from?.secretKeyRef
      ? keyValue(api, types.secret, namespace, from.secretKeyRef, true)
      : from?.configMapKeyRef
        ? keyValue(api, types.configMap, namespace, from.configMapKeyRef, false)
        : from?.fieldRef
          ? fieldValue(pod, from.fieldRef.fieldPath)
          : expandReferences(variable.value ?? '', env)
    if (value !== undefined) env[variable.name] = value
  }
  return env
}

/** A container's command line with `$(NAME)` expanded from its environment, as the kubelet does before starting it. */
export function containerArgs(container: Container, env: Readonly<Record<string, string>>): string[] {
  return [...(container.command ?? []), ...(container.args ?? [])].map((arg) => expandReferences(arg, env))
}

/**
 * Cluster DNS for a process the simulator runs on this machine: every Service name that has a
 * real server behind it (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`) becomes that
 * server's loopback address wherever it appears in a variable (PGHOST, a DATABASE_URL, ...).
 */
export function resolveServiceNames(env: Readonly<Record<string, string>>, addresses: ReadonlyMap<string, string>, namespace: string): Record<string, string> {
  if (addresses.size === 0) return {...env}
  const names = [...addresses.keys()].flatMap((service) =>
    [`${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}.svc`, `${service}.${namespace}`, service].map((name) => ({name, address: addresses.get(service)!})),
  )
  const escape = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')
  // Longest first, and only whole host names: "devctl-postgres" is not part of "devctl-postgres-0".
  const pattern = new RegExp(`(?<![\\w.-])(${names.map((n) => escape(n.name)).join('|')})(?![\\w-]|\\.[\\w])`, 'g')
  const lookup = new Map(names.map((n) => [n.name, n.address]))
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value.replace(pattern, (name) => lookup.get(name) ?? name)]))
}
