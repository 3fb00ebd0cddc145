/** Kubeconfig files as k3d writes them (clientcmd: sorted keys, merge by name, atomic rename). */
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
