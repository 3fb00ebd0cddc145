/**
 * Discovery documents exactly as a k3s apiserver returns them: legacy (/api, /apis, per
 * group-version APIResourceLists) and aggregated (apidiscovery.k8s.io/v2, which kubectl 1.30+
 * asks for first), plus the OpenAPI v3 index kubectl's field validation consults.
 */
import {createHash} from 'node:crypto'

import {apiVersionOf, type ResourceRegistry, type ResourceType} from './resources.js'

export const aggregatedContentType = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'

export interface ServerVersion {
  major: string
  minor: string
  gitVersion: string
  gitCommit: string
  gitTreeState: string
  buildDate: string
  goVersion: string
  compiler: string
  platform: string
}

export function serverVersion(gitVersion: string): ServerVersion {
  const match = /^v(\d+)\.(\d+)/.exec(gitVersion)
  return {
    major: match?.[1] ?? '1',
    minor: match?.[2] ?? '31',
    gitVersion,
    gitCommit: createHash('sha1').update(gitVersion).digest('hex'),
    gitTreeState: 'clean',
    buildDate: '2025-01-16T23:29:56Z',
    goVersion: 'go1.22.10',
    compiler: 'gc',
    platform: 'linux/amd64',
  }
}

function storageVersionHash(type: ResourceType): string {
  return createHash('sha256').update(`${type.group}/${type.version}/${type.kind}`).digest('base64').slice(0, 11)
}

export function apiVersions(serverAddress: string): object {
  return {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress}]}
}

function groupEntry(group: string, versions: string[]): object {
  const entries = versions.map((version) => ({groupVersion: `${group}/${version}`, version}))
  return {name: group, versions: entries, preferredVersion: entries[0]}
}

export function apiGroupList(registry: ResourceRegistry): object {
  const groups = registry.groups().filter(({group}) => group !== '')
  return {kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(({group, versions}) => groupEntry(group, versions))}
}

export function apiGroup(registry: ResourceRegistry, group: string): object | undefined {
  const found = registry.groups().find((entry) => entry.group === group && group !== '')
  return found ? {kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(found.group, found.versions)} : undefined
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string): object | undefined {
  const types = registry.inGroupVersion(group, version)
  if (types.length === 0) return undefined
  const resources = types.flatMap((type) => [
    {
      name: type.resource,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: type.verbs,
      ...(type.shortNames.length > 0 ? {shortNames: type.shortNames} : {}),
      ...(type.categories.length > 0 ? {categories: type.categories} : {}),
      storageVersionHash: storageVersionHash(type),
    },
    ...type.subresources.map((sub) => ({
      name: `${type.resource}/${sub.name}`,
      singularName: '',
      namespaced: type.namespaced,
      ...(sub.group !== undefined ? {group: sub.group, version: sub.version} : {}),
      kind: sub.kind,
      verbs: sub.verbs,
    })),
  ])
  return {kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({group, version}), resources}
}

function discoveryResource(type: ResourceType): object {
  return {
    resource: type.resource,
    responseKind: {group: type.group, version: type.version, kind: type.kind},
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: type.verbs,
    ...(type.shortNames.length > 0 ? {shortNames: type.shortNames} : {}),
    ...(type.categories.length > 0 ? {categories: type.categories} : {}),
    ...(type.subresources.length > 0
      ? {
          subresources: type.subresources.map((sub) => ({
            subresource: sub.name,
            responseKind: {group: sub.group ?? type.group, version: sub.version ?? type.version, kind: sub.kind},
            verbs: sub.verbs,
          })),
        }
      : {}),
  }
}

/** `/api` or `/apis` in the aggregated format. */
export function aggregatedDiscovery(registry: ResourceRegistry, legacy: boolean): object {
  const groups = registry.groups().filter(({group}) => (group === '') === legacy)
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map(({group, versions}) => ({
      metadata: legacy ? {creationTimestamp: null} : {name: group, creationTimestamp: null},
      versions: versions.map((version) => ({
        version,
        resources: registry.inGroupVersion(group, version).map(discoveryResource),
        freshness: 'Current',
      })),
    })),
  }
}

/** Does the client accept aggregated discovery (and not only the legacy documents)? */
export function wantsAggregated(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim())
    return params.includes('g=apidiscovery.k8s.io') && params.includes('v=v2') && params.includes('as=APIGroupDiscoveryList')
  })
}

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`
}

function specHash(registry: ResourceRegistry, group: string, version: string): string {
  const names = registry
    .inGroupVersion(group, version)
    .map((type) => type.resource)
    .join(',')
  return createHash('sha512').update(`${group}/${version}:${names}`).digest('hex').slice(0, 128).toUpperCase()
}

/** `/openapi/v3`: where each group-version's document lives. */
export function openApiV3Index(registry: ResourceRegistry): object {
  const paths: Record<string, {serverRelativeURL: string}> = {}
  for (const {group, versions} of registry.groups()) {
    for (const version of versions) {
      const path = groupVersionPath(group, version)
      paths[path] = {serverRelativeURL: `/openapi/v3/${path}?hash=${specHash(registry, group, version)}`}
    }
  }
  return {paths}
}

const fieldValidationParameter = {
  name: 'fieldValidation',
  in: 'query',
  description: 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields.',
  schema: {type: 'string', uniqueItems: true},
}

/**
 * The OpenAPI v3 document of one group-version: every path with its operations and the
 * `x-kubernetes-group-version-kind` extension, which is what kubectl reads to learn that the
 * server validates fields itself. Schemas are left open (`type: object`).
 */
export function openApiV3Document(registry: ResourceRegistry, gitVersion: string, group: string, version: string): object | undefined {
  const types = registry.inGroupVersion(group, version)
  if (types.length === 0) return undefined
  const prefix = `/${groupVersionPath(group, version)}`
  const paths: Record<string, object> = {}
  const schemas: Record<string, object> = {}
  for (const type of types) {
    const gvk = {group: type.group, version: type.version, kind: type.kind}
    const schemaName = `${type.group || 'core'}.${type.version}.${type.kind}`
    schemas[schemaName] = {type: 'object', 'x-kubernetes-group-version-kind': [gvk]}
    const operation = (action: string, parameters: object[] = []): object => ({
      operationId: `${action}${type.kind}`,
      parameters,
      responses: {200: {description: 'OK', content: {'application/json': {schema: {$ref: `#/components/schemas/${schemaName}`}}}}},
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
    })
    const scoped = type.namespaced ? `${prefix}/namespaces/{namespace}/${type.resource}` : `${prefix}/${type.resource}`
    paths[scoped] = {get: operation('list'), post: operation('post', [fieldValidationParameter])}
    paths[`${scoped}/{name}`] = {
      get: operation('get'),
      put: operation('put', [fieldValidationParameter]),
      patch: operation('patch', [fieldValidationParameter]),
      delete: operation('delete'),
    }
  }
  return {openapi: '3.0.0', info: {title: 'Kubernetes', version: gitVersion}, paths, components: {schemas}}
}
