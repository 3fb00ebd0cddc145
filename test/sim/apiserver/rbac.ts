/**
 * Authorization as k3s does it (`--authorization-mode=Node,RBAC`): members of system:masters may
 * do anything; everyone else needs an RBAC rule (rbac.authorization.k8s.io/v1) from a
 * ClusterRoleBinding, or from a RoleBinding in the request's namespace (binding a Role of that
 * namespace or a ClusterRole). Rules match verbs, API groups, resources with subresources
 * (`pods/log`, `*\/scale`), resourceNames and non-resource URLs. Denials carry kube-apiserver's
 * Forbidden message; SelfSubjectAccessReview and SelfSubjectRulesReview answer from the same rules.
 */
import type {ClusterApi} from './api.js'
import type {KubeObject} from './contract.js'
import {ApiError} from './errors.js'
import type {UserInfo} from './authentication.js'
import {isJsonObject, scalarText, type JsonObject} from './json.js'
import type {ResourceType} from './resources.js'
import {resourceOf, type RequestInfo} from './request-info.js'

export interface PolicyRule {
  verbs: string[]
  apiGroups?: string[]
  resources?: string[]
  resourceNames?: string[]
  nonResourceURLs?: string[]
}

interface Subject {
  kind: string
  name: string
  namespace?: string
}

interface Binding {
  object: KubeObject
  subjects: Subject[]
  roleRef: {kind: string; name: string}
}

export interface Decision {
  allowed: boolean
  reason: string
}

const rbacGroup = 'rbac.authorization.k8s.io'
const readVerbs = ['get', 'list', 'watch']
const writeVerbs = ['create', 'delete', 'deletecollection', 'patch', 'update']

export interface RbacTypes {
  role: ResourceType
  clusterRole: ResourceType
  roleBinding: ResourceType
  clusterRoleBinding: ResourceType
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

function rulesOf(role: KubeObject): PolicyRule[] {
  const rules = Array.isArray(role.rules) ? role.rules : []
  return rules.filter(isJsonObject).map((rule) => ({
    verbs: strings(rule.verbs),
    apiGroups: strings(rule.apiGroups),
    resources: strings(rule.resources),
    resourceNames: strings(rule.resourceNames),
    nonResourceURLs: strings(rule.nonResourceURLs),
  }))
}

function bindingOf(object: KubeObject): Binding {
  const subjects = (Array.isArray(object.subjects) ? object.subjects : []).filter(isJsonObject).map((s) => ({
    kind: scalarText(s.kind),
    name: scalarText(s.name),
    ...(typeof s.namespace === 'string' ? {namespace: s.namespace} : {}),
  }))
  const ref = isJsonObject(object.roleRef) ? object.roleRef : {}
  return {object, subjects, roleRef: {kind: scalarText(ref.kind), name: scalarText(ref.name)}}
}

function appliesTo(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username
    case 'Group':
      return user.groups.includes(subject.name)
    case 'ServiceAccount':
      return user.username === `system:serviceaccount:${subject.namespace || bindingNamespace}:${subject.name}`
    default:
      return false
  }
}

function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === 'ServiceAccount') return `${subject.kind} ${JSON.stringify(`${subject.name}/${subject.namespace || bindingNamespace}`)}`
  return `${subject.kind} ${JSON.stringify(subject.name)}`
}

function matches(values: string[] | undefined, wanted: string): boolean {
  return (values ?? []).some((value) => value === '*' || value === wanted)
}

/** rbac/v1's RuleAllows. */
export function ruleAllows(rule: PolicyRule, info: RequestInfo): boolean {
  if (!matches(rule.verbs, info.verb)) return false
  if (!info.isResourceRequest) {
    return (rule.nonResourceURLs ?? []).some((url) => url === '*' || url === info.path || (url.endsWith('*') && info.path.startsWith(url.slice(0, -1))))
  }
  if (!matches(rule.apiGroups, info.apiGroup)) return false
  const resource = resourceOf(info)
  const resourceMatches = (rule.resources ?? []).some((r) => r === '*' || r === resource || (info.subresource !== '' && r === `*/${info.subresource}`))
  if (!resourceMatches) return false
  return (rule.resourceNames ?? []).length === 0 || (rule.resourceNames ?? []).includes(info.name)
}

/** kube-apiserver's Forbidden for a denied request: `pods is forbidden: User "alice" cannot list resource "pods" ...`. */
export function forbiddenError(user: UserInfo, info: RequestInfo, reason: string): ApiError {
  let why: string
  if (!info.isResourceRequest) why = `User ${JSON.stringify(user.username)} cannot ${info.verb} path ${JSON.stringify(info.path)}`
  else {
    const scope = info.namespace ? `in the namespace ${JSON.stringify(info.namespace)}` : 'at the cluster scope'
    why = `User ${JSON.stringify(user.username)} cannot ${info.verb} resource ${JSON.stringify(resourceOf(info))} in API group ${JSON.stringify(info.apiGroup)} ${scope}`
  }
  return forbiddenFor(info, reason ? `${why}: ${reason}` : why)
}

/** NewForbidden(groupResource, name, err): the text after "is forbidden: " is the cause as given. */
export function forbiddenFor(info: RequestInfo, cause: string): ApiError {
  const qualified = info.apiGroup ? `${info.resource}.${info.apiGroup}` : info.resource
  const subject = !info.isResourceRequest || qualified === '' ? 'forbidden' : info.name ? `${qualified} ${JSON.stringify(info.name)} is forbidden` : `${qualified} is forbidden`
  return new ApiError(403, 'Forbidden', `${subject}: ${cause}`, {
    ...(info.name ? {name: info.name} : {}),
    ...(info.apiGroup ? {group: info.apiGroup} : {}),
    ...(info.resource ? {kind: info.resource} : {}),
  })
}

export class RbacAuthorizer {
  constructor(
    private readonly api: ClusterApi,
    private readonly types: RbacTypes,
  ) {}

  authorize(user: UserInfo, info: RequestInfo): Decision {
    if (user.groups.includes('system:masters')) return {allowed: true, reason: ''}
    const errors: string[] = []
    let allowedBy: string | undefined
    this.visitRules(
      user,
      info.namespace,
      (source, rules) => {
        if (rules.some((rule) => ruleAllows(rule, info))) allowedBy = source
        return allowedBy === undefined
      },
      errors,
    )
    if (allowedBy !== undefined) return {allowed: true, reason: `RBAC: allowed by ${allowedBy}`}
    return {allowed: false, reason: errors.length === 0 ? '' : `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`}
  }

  /** Every rule that applies to `user` in `namespace` (SelfSubjectRulesReview). */
  rulesFor(user: UserInfo, namespace: string): {rules: PolicyRule[]; errors: string[]} {
    const rules: PolicyRule[] = []
    const errors: string[] = []
    this.visitRules(
      user,
      namespace,
      (_, found) => {
        rules.push(...found)
        return true
      },
      errors,
    )
    return {rules, errors}
  }

  /** The rules of each binding that applies, cluster-wide first; `visit` returns false to stop. */
  private visitRules(user: UserInfo, namespace: string, visit: (source: string, rules: PolicyRule[]) => boolean, errors: string[]): void {
    const scopes: Array<{bindings: Binding[]; namespace: string; kind: string}> = [
      {bindings: this.api.list(this.types.clusterRoleBinding, undefined).map(bindingOf), namespace: '', kind: 'ClusterRoleBinding'},
    ]
    if (namespace) scopes.push({bindings: this.api.list(this.types.roleBinding, namespace).map(bindingOf), namespace, kind: 'RoleBinding'})
    for (const scope of scopes) {
      for (const binding of scope.bindings) {
        const subject = binding.subjects.find((s) => appliesTo(s, user, scope.namespace))
        if (!subject) continue
        const role = this.role(binding.roleRef, scope.namespace)
        if ('error' in role) {
          errors.push(role.error)
          continue
        }
        const name = scope.namespace ? `${binding.object.metadata.name}/${scope.namespace}` : binding.object.metadata.name
        const source = `${scope.kind} ${JSON.stringify(name)} of ${binding.roleRef.kind} ${JSON.stringify(binding.roleRef.name)} to ${describeSubject(subject, scope.namespace)}`
        if (!visit(source, rulesOf(role.object))) return
      }
    }
  }

  private role(ref: Binding['roleRef'], namespace: string): {object: KubeObject} | {error: string} {
    const cluster = ref.kind === 'ClusterRole'
    const object = cluster ? this.api.find(this.types.clusterRole, undefined, ref.name) : ref.kind === 'Role' && namespace ? this.api.find(this.types.role, namespace, ref.name) : undefined
    return object ? {object} : {error: `${cluster ? 'clusterrole' : 'role'}.${rbacGroup} ${JSON.stringify(ref.name)} not found`}
  }
}

/** The user a SelfSubjectReview reports (`kubectl auth whoami`). */
export function userInfoStatus(user: UserInfo): JsonObject {
  return {username: user.username, ...(user.uid ? {uid: user.uid} : {}), groups: user.groups, ...(user.extra ? {extra: user.extra} : {})}
}

// ---- what a fresh cluster's RBAC holds (kube-apiserver's bootstrap policy, flattened) ----------

const viewRules: PolicyRule[] = [
  {
    apiGroups: [''],
    resources: [
      'configmaps',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
    ],
    verbs: readVerbs,
  },
  {
    apiGroups: [''],
    resources: ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status'],
    verbs: readVerbs,
  },
  {apiGroups: [''], resources: ['namespaces'], verbs: readVerbs},
  {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: readVerbs},
  {
    apiGroups: ['apps'],
    resources: [
      'controllerrevisions',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
    ],
    verbs: readVerbs,
  },
  {apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], verbs: readVerbs},
  {apiGroups: ['batch'], resources: ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], verbs: readVerbs},
  {apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingresses/status', 'networkpolicies'], verbs: readVerbs},
  {apiGroups: ['policy'], resources: ['poddisruptionbudgets', 'poddisruptionbudgets/status'], verbs: readVerbs},
]

const editRules: PolicyRule[] = [
  ...viewRules,
  {apiGroups: [''], resources: ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'], verbs: readVerbs},
  {apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate']},
  {apiGroups: [''], resources: ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], verbs: writeVerbs},
  {apiGroups: [''], resources: ['pods/eviction'], verbs: ['create']},
  {
    apiGroups: [''],
    resources: ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy'],
    verbs: writeVerbs,
  },
  {apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create']},
  {
    apiGroups: ['apps'],
    resources: ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale'],
    verbs: writeVerbs,
  },
  {apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: writeVerbs},
  {apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: writeVerbs},
  {apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: writeVerbs},
  {apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: writeVerbs},
]

const adminRules: PolicyRule[] = [
  ...editRules,
  {apiGroups: [rbacGroup], resources: ['rolebindings', 'roles'], verbs: [...writeVerbs, ...readVerbs]},
  {apiGroups: ['authorization.k8s.io'], resources: ['localsubjectaccessreviews'], verbs: ['create']},
]

const discoveryURLs = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/']
const publicInfoURLs = ['/healthz', '/livez', '/readyz', '/version', '/version/']

const bootstrapRoles: Record<string, PolicyRule[]> = {
  'cluster-admin': [
    {apiGroups: ['*'], resources: ['*'], verbs: ['*']},
    {nonResourceURLs: ['*'], verbs: ['*']},
  ],
  admin: adminRules,
  edit: editRules,
  view: viewRules,
  'system:discovery': [{nonResourceURLs: discoveryURLs, verbs: ['get']}],
  'system:public-info-viewer': [{nonResourceURLs: publicInfoURLs, verbs: ['get']}],
  'system:basic-user': [
    {apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create']},
    {apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create']},
  ],
}

const bootstrapBindings: Record<string, string[]> = {
  'cluster-admin': ['system:masters'],
  'system:discovery': ['system:authenticated'],
  'system:basic-user': ['system:authenticated'],
  'system:public-info-viewer': ['system:authenticated', 'system:unauthenticated'],
}

export function bootstrapPolicy(api: ClusterApi, types: RbacTypes): void {
  const metadata = (name: string) => ({
    name,
    labels: {'kubernetes.io/bootstrapping': 'rbac-defaults'},
    annotations: {'rbac.authorization.kubernetes.io/autoupdate': 'true'},
  })
  for (const [name, rules] of Object.entries(bootstrapRoles)) {
    api.createInternal(types.clusterRole, {apiVersion: `${rbacGroup}/v1`, kind: 'ClusterRole', metadata: metadata(name), rules})
  }
  for (const [name, groups] of Object.entries(bootstrapBindings)) {
    api.createInternal(types.clusterRoleBinding, {
      apiVersion: `${rbacGroup}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: metadata(name),
      roleRef: {apiGroup: rbacGroup, kind: 'ClusterRole', name},
      subjects: groups.map((group) => ({apiGroup: rbacGroup, kind: 'Group', name: group})),
    })
  }
}
