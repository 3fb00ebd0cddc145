/**
 * The front of every request, in kube-apiserver's filter order: authentication (401), injected
 * faults (where priority-and-fairness answers 429), authorization (403). Also the API objects
 * that are answers about access rather than stored objects: SelfSubjectAccessReview,
 * SelfSubjectRulesReview, SelfSubjectReview and TokenRequest.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {ClusterApi} from './api.js'
import {ApiFaults} from './api-faults.js'
import {Authenticator, type UserInfo} from './authentication.js'
import type {KubeObject} from './contract.js'
import {badRequest} from './errors.js'
import {isJsonObject, type JsonObject} from './json.js'
import {bootstrapPolicy, forbiddenError, forbiddenFor, RbacAuthorizer, userInfoStatus, type PolicyRule, type RbacTypes} from './rbac.js'
import type {ResourceRegistry, ResourceType} from './resources.js'
import {requestInfoOf, type RequestInfo} from './request-info.js'

export interface Admitted {
  user: UserInfo
  info: RequestInfo
}

const reviewKinds = new Set(['authorization.k8s.io/SelfSubjectAccessReview', 'authorization.k8s.io/SelfSubjectRulesReview', 'authentication.k8s.io/SelfSubjectReview'])

function requiredType(registry: ResourceRegistry, apiVersion: string, kind: string): ResourceType {
  const type = registry.byKind(apiVersion, kind)
  if (!type) throw new Error(`${apiVersion} ${kind} is not registered`)
  return type
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function withoutEmpty(rule: PolicyRule): JsonObject {
  const entries = Object.entries(rule).filter(([key, value]) => key === 'verbs' || (Array.isArray(value) && value.length > 0))
  return Object.fromEntries(entries)
}

export class AccessControl {
  readonly faults = new ApiFaults()
  readonly authenticator: Authenticator
  private readonly authorizer: RbacAuthorizer
  private readonly serviceAccountType: ResourceType

  constructor(
    private readonly api: ClusterApi,
    adminToken: string | undefined,
  ) {
    const registry = api.registry
    const rbac = (kind: string) => requiredType(registry, 'rbac.authorization.k8s.io/v1', kind)
    const types: RbacTypes = {role: rbac('Role'), clusterRole: rbac('ClusterRole'), roleBinding: rbac('RoleBinding'), clusterRoleBinding: rbac('ClusterRoleBinding')}
    this.serviceAccountType = requiredType(registry, 'v1', 'ServiceAccount')
    this.authenticator = new Authenticator(adminToken, (namespace, name) => api.find(this.serviceAccountType, namespace, name))
    this.authorizer = new RbacAuthorizer(api, types)
    bootstrapPolicy(api, types)
  }

  /** Authenticate, apply faults, authorize. Undefined when a fault already answered. */
  async admit(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<Admitted | undefined> {
    const user = this.authenticator.authenticate(request)
    const info = requestInfoOf(request.method ?? 'GET', path, query)
    for (const outcome of this.faults.outcomes(info, user)) {
      if ('respond' in outcome) {
        outcome.respond(response)
        return undefined
      }
      await new Promise((resolve) => setTimeout(resolve, outcome.delayMs))
      if (request.destroyed) return undefined
    }
    const decision = this.authorizer.authorize(user, info)
    if (!decision.allowed) throw forbiddenError(user, info, decision.reason)
    return {user, info}
  }

  /** Server-side apply that would create the object also needs `create` (kube-apiserver's withAuthorization). */
  authorizeCreate({user, info}: Admitted): void {
    const create = {...info, verb: 'create'}
    const decision = this.authorizer.authorize(user, create)
    if (!decision.allowed) throw forbiddenFor(create, decision.reason)
  }

  isReview(type: ResourceType): boolean {
    return reviewKinds.has(`${type.group}/${type.kind}`)
  }

  /** The answer to a review the user POSTed (never stored, like the real ones). */
  review(type: ResourceType, body: unknown, user: UserInfo): JsonObject {
    const spec = isJsonObject(body) && isJsonObject(body.spec) ? body.spec : {}
    const answer = (status: JsonObject, withSpec = true): JsonObject => ({
      kind: type.kind,
      apiVersion: `${type.group}/${type.version}`,
      metadata: {creationTimestamp: null},
      ...(withSpec ? {spec} : {}),
      status,
    })
    switch (type.kind) {
      case 'SelfSubjectAccessReview': {
        const resource = isJsonObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined
        const nonResource = isJsonObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined
        if (!resource && !nonResource)
          throw badRequest(
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
          )
        const info: RequestInfo = resource
          ? {
              isResourceRequest: true,
              path: '',
              verb: text(resource.verb),
              apiGroup: text(resource.group),
              apiVersion: text(resource.version),
              namespace: text(resource.namespace),
              resource: text(resource.resource),
              subresource: text(resource.subresource),
              name: text(resource.name),
            }
          : {isResourceRequest: false, path: text(nonResource?.path), verb: text(nonResource?.verb), apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: ''}
        const decision = this.authorizer.authorize(user, info)
        return answer({allowed: decision.allowed, ...(decision.reason ? {reason: decision.reason} : {})})
      }
      case 'SelfSubjectRulesReview': {
        const namespace = text(spec.namespace)
        if (!namespace) throw badRequest('no namespace on request')
        const {rules, errors} = this.authorizer.rulesFor(user, namespace)
        return answer({
          resourceRules: rules.filter((r) => (r.nonResourceURLs ?? []).length === 0).map(({nonResourceURLs: _, ...rule}) => withoutEmpty(rule)),
          nonResourceRules: rules.filter((r) => (r.nonResourceURLs ?? []).length > 0).map((r) => ({verbs: r.verbs, nonResourceURLs: r.nonResourceURLs ?? []})),
          incomplete: errors.length > 0,
          ...(errors.length > 0 ? {evaluationError: errors.join(', ')} : {}),
        })
      }
      default:
        return answer({userInfo: userInfoStatus(user)}, false)
    }
  }

  /** TokenRequest: POST serviceaccounts/NAME/token (`kubectl create token NAME`). */
  issueToken(namespace: string, name: string, body: unknown): KubeObject {
    const serviceAccount = this.api.get(this.serviceAccountType, namespace, name)
    return this.authenticator.issueToken(serviceAccount, body, new Date())
  }
}
