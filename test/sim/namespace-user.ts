/**
 * A user of a shared cluster who may act only in one namespace, set up the way a cluster admin
 * would: the namespace, a Role with the rules, a RoleBinding to the user, and a token. The
 * kubeconfig entries reach the API over HTTPS, because Go clients (kubectl, helm) send a user's
 * token only over TLS.
 */
import {randomBytes} from 'node:crypto'

import type {ApiServer} from './apiserver/contract.js'
import type {PolicyRule} from './apiserver/rbac.js'
import type {KubeconfigDoc} from './host/kubeconfig.js'

export type {PolicyRule}

const everything = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']

/**
 * What devctl needs in its namespace and nothing beyond it: its Postgres and Redis (StatefulSets,
 * Services, volumes) and credential Secrets, the chart's objects and helm's release Secrets,
 * watching pods and workloads, reading logs and events. No Namespace, Node or other
 * cluster-scoped access.
 */
export const devctlNamespaceRules: PolicyRule[] = [
  {apiGroups: [''], resources: ['pods', 'pods/log', 'events'], verbs: ['get', 'list', 'watch']},
  // `devctl db shell`, snapshots (exec) and `devctl forward` (port-forward): a WebSocket needs both verbs since 1.31.
  {apiGroups: [''], resources: ['pods/exec', 'pods/portforward'], verbs: ['get', 'create']},
  {apiGroups: [''], resources: ['secrets', 'configmaps', 'services', 'persistentvolumeclaims', 'serviceaccounts'], verbs: everything},
  {apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], verbs: everything},
  {apiGroups: ['batch'], resources: ['jobs'], verbs: everything},
  {apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: everything},
  // devctl's lock on a shared cluster.
  {apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: everything},
  // What charts commonly add (the web-worker preset's PDB, HPA and NetworkPolicy among them).
  {apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: everything},
  {apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: everything},
  {apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: everything},
]

export interface NamespaceUserOptions {
  /** The user's name: the RoleBinding's subject and what Forbidden messages call it. */
  user: string
  namespace: string
  /** What the Role allows; devctl's needs by default. */
  rules?: PolicyRule[]
  /** The admin creates the namespace first (default); false for a user whose namespace is gone. */
  createNamespace?: boolean
  /** The kubeconfig entries' names: `<user>@<prefix>`; the context's cluster is `<prefix>-https`. */
  namePrefix?: string
}

export interface NamespaceUser {
  user: string
  namespace: string
  token: string
  context: string
  /** Cluster, user and context entries to merge into a kubeconfig. */
  kubeconfig: KubeconfigDoc
}

async function createAsAdmin(server: ApiServer, adminToken: string | undefined, path: string, body: object): Promise<void> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', ...(adminToken ? {Authorization: `Bearer ${adminToken}`} : {})},
    body: JSON.stringify(body),
  })
  if (!response.ok && response.status !== 409) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`)
}

export async function createNamespaceUser(server: ApiServer, adminToken: string | undefined, options: NamespaceUserOptions): Promise<NamespaceUser> {
  const {user, namespace} = options
  const rbac = 'rbac.authorization.k8s.io'
  if (options.createNamespace !== false) {
    await createAsAdmin(server, adminToken, '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}})
    const roles = `/apis/${rbac}/v1/namespaces/${namespace}`
    await createAsAdmin(server, adminToken, `${roles}/roles`, {apiVersion: `${rbac}/v1`, kind: 'Role', metadata: {name: `${user}-devctl`, namespace}, rules: options.rules ?? devctlNamespaceRules})
    await createAsAdmin(server, adminToken, `${roles}/rolebindings`, {
      apiVersion: `${rbac}/v1`,
      kind: 'RoleBinding',
      metadata: {name: `${user}-devctl`, namespace},
      roleRef: {apiGroup: rbac, kind: 'Role', name: `${user}-devctl`},
      subjects: [{apiGroup: rbac, kind: 'User', name: user}],
    })
  }
  const token = randomBytes(24).toString('base64url')
  server.addToken(token, {name: user})
  const prefix = options.namePrefix ?? 'sim'
  const context = `${user}@${prefix}`
  return {
    user,
    namespace,
    token,
    context,
    kubeconfig: {
      clusters: [{name: `${prefix}-https`, cluster: {server: server.secureUrl, 'certificate-authority-data': server.certificateAuthorityData}}],
      users: [{name: context, user: {token}}],
      contexts: [{name: context, context: {cluster: `${prefix}-https`, user: context, namespace}}],
    },
  }
}
