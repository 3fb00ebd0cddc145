/**
 * Kubeconfig files as k3d writes them (clientcmd: sorted keys, merge by name, atomic rename)
 * and as helm reads them (KUBECONFIG list, --kubeconfig, --kube-context).
 */
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {parse as parseYaml, stringify as stringifyYaml} from 'yaml'

export interface KubeconfigDoc {
  apiVersion?: string
  kind?: string
  clusters?: Array<{name: string; cluster: {server?: string; [key: string]: unknown}}>
  contexts?: Array<{name: string; context: {cluster?: string; user?: string; namespace?: string}}>
  users?: Array<{name: string; user: Record<string, unknown>}>
  'current-context'?: string
  preferences?: Record<string, unknown>
  [key: string]: unknown
}

/** Where k3d puts the default kubeconfig; k3d refuses a KUBECONFIG with several files. */
export function defaultKubeconfigPath(env: Record<string, string>): string {
  const list = (env.KUBECONFIG ?? '').split(':').filter(Boolean)
  if (list.length > 1) throw new Error('multiple kubeconfigs specified via KUBECONFIG env var: Please reduce to one entry, unset KUBECONFIG or explicitly choose an output')
  return list[0] ?? join(env.HOME ?? '/root', '.kube', 'config')
}

export function k3dNames(cluster: string): {context: string; cluster: string; user: string} {
  return {context: `k3d-${cluster}`, cluster: `k3d-${cluster}`, user: `admin@k3d-${cluster}`}
}

/** The kubeconfig k3d derives for a cluster (KubeconfigGet). */
export function clusterKubeconfig(clusterName: string, server: string, token: string): KubeconfigDoc {
  const names = k3dNames(clusterName)
  return {
    apiVersion: 'v1',
    // Real k3d serves https with its own CA; the simulator serves plain http, which
    // @kubernetes/client-node only accepts with insecure-skip-tls-verify (kubectl ignores it for http).
    clusters: [{cluster: {server, 'insecure-skip-tls-verify': true}, name: names.cluster}],
    contexts: [{context: {cluster: names.cluster, user: names.user}, name: names.context}],
    'current-context': names.context,
    kind: 'Config',
    preferences: {},
    users: [{name: names.user, user: {token}}],
  }
}

export async function readKubeconfig(path: string): Promise<KubeconfigDoc | undefined> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  if (text === undefined) return undefined
  return (parseYaml(text) as KubeconfigDoc | null) ?? {}
}

/** clientcmd.Write: JSON field order is alphabetical, lists are not indented under their key. */
export function serializeKubeconfig(doc: KubeconfigDoc): string {
  const complete: KubeconfigDoc = {apiVersion: 'v1', kind: 'Config', preferences: {}, clusters: [], contexts: [], users: [], ...doc}
  if (!complete['current-context']) delete complete['current-context']
  return stringifyYaml(complete, {sortMapEntries: true, indentSeq: false, lineWidth: 0})
}

/** Writes beside the target and renames over it, as k3d does. */
export async function writeKubeconfig(path: string, doc: KubeconfigDoc): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  const temporary = `${path}.k3d_${Date.now()}`
  await writeFile(temporary, serializeKubeconfig(doc), {mode: 0o600})
  await rename(temporary, path)
}

type Section = 'clusters' | 'contexts' | 'users'
const sectionLabel: Record<Section, string> = {clusters: 'cluster', users: 'AuthInfo', contexts: 'context'}

/** k3d's KubeconfigMerge, including its error texts for conflicts it may not overwrite. */
export function mergeKubeconfig(existing: KubeconfigDoc, incoming: KubeconfigDoc, options: {overwrite: boolean; switchContext: boolean}): KubeconfigDoc {
  const merged: KubeconfigDoc = {...existing}
  for (const section of ['clusters', 'users', 'contexts'] as const) {
    const entries: Array<{name: string}> = [...(existing[section] ?? [])]
    for (const entry of incoming[section] ?? []) {
      const at = entries.findIndex((e) => e.name === entry.name)
      if (at >= 0 && !options.overwrite) throw new Error(`${sectionLabel[section]} '${entry.name}' already exists in target KubeConfig`)
      if (at >= 0) entries[at] = entry
      else entries.push(entry)
    }
    Object.assign(merged, {[section]: entries})
  }
  if (!existing['current-context'] || options.switchContext) merged['current-context'] = incoming['current-context']
  return merged
}

/** k3d's KubeconfigRemoveCluster. */
export function removeClusterFromKubeconfig(doc: KubeconfigDoc, clusterName: string): KubeconfigDoc {
  const names = k3dNames(clusterName)
  const result: KubeconfigDoc = {
    ...doc,
    clusters: (doc.clusters ?? []).filter((c) => c.name !== names.cluster),
    contexts: (doc.contexts ?? []).filter((c) => c.name !== names.context),
    users: (doc.users ?? []).filter((u) => u.name !== names.user),
  }
  if (doc['current-context'] === names.context) result['current-context'] = result.contexts?.[0]?.name ?? ''
  return result
}

export interface ClusterEndpoint {
  server: string
  namespace: string
  token?: string
  context: string
}

/**
 * How client-go's loading rules find the cluster for helm: --kubeconfig, else every file in
 * KUBECONFIG merged (first wins), else ~/.kube/config; then --kube-context or current-context.
 * No usable config means client-go's default, http://localhost:8080.
 */
export async function resolveEndpoint(env: Record<string, string>, kubeconfigFlag: string, contextFlag: string): Promise<ClusterEndpoint> {
  const files = kubeconfigFlag ? [kubeconfigFlag] : env.KUBECONFIG ? env.KUBECONFIG.split(':').filter(Boolean) : [join(env.HOME ?? '/root', '.kube', 'config')]
  const docs = (await Promise.all(files.map(readKubeconfig))).filter((d): d is KubeconfigDoc => d !== undefined)
  const first = <T extends {name: string}>(pick: (d: KubeconfigDoc) => T[] | undefined, name: string): T | undefined => docs.flatMap((d) => pick(d) ?? []).find((e) => e.name === name)
  const contextName = contextFlag || (docs.find((d) => d['current-context'])?.['current-context'] ?? '')
  if (contextFlag && !first((d) => d.contexts, contextFlag)) throw new Error(`context "${contextFlag}" does not exist`)
  const context = first((d) => d.contexts, contextName)?.context
  const cluster = context?.cluster ? first((d) => d.clusters, context.cluster)?.cluster : undefined
  const user = context?.user ? first((d) => d.users, context.user)?.user : undefined
  return {
    server: (cluster?.server ?? 'http://localhost:8080').replace(/\/$/, ''),
    namespace: context?.namespace ?? 'default',
    token: typeof user?.token === 'string' ? user.token : undefined,
    context: contextName,
  }
}
