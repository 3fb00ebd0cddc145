/**
 * What a request asks for, in the terms authorization and audit use (kube-apiserver's
 * RequestInfoFactory): derived from the path, method and query alone, before routing, so a
 * user without permission gets 403 even for a resource that does not exist.
 */
export interface RequestInfo {
  isResourceRequest: boolean
  /** The URL path, for non-resource requests (`/api`, `/version`). */
  path: string
  /** get, list, watch, create, update, patch, delete, deletecollection (non-resource: the lower-cased method). */
  verb: string
  apiGroup: string
  apiVersion: string
  /** '' for cluster-scoped requests; for `/api/v1/namespaces/NAME` the namespace is NAME itself. */
  namespace: string
  resource: string
  subresource: string
  name: string
}

// Subresources of a Namespace that follow its name directly (`/namespaces/x/status`).
const namespaceSubresources = new Set(['status', 'finalize'])
const dns1123Segment = /^[^/%]+$/

export function requestInfoOf(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = {isResourceRequest: false, path, verb: method.toLowerCase(), apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: ''}
  let parts = path.split('/').filter(Boolean)
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return info
  const groupless = parts[0] === 'api'
  parts = parts.slice(1)
  if (!groupless) {
    if (parts.length < 3) return info
    info.apiGroup = parts[0] ?? ''
    parts = parts.slice(1)
  }
  info.isResourceRequest = true
  info.apiVersion = parts[0] ?? ''
  parts = parts.slice(1)
  if (parts[0] === 'watch' && parts.length >= 2) {
    info.verb = 'watch'
    parts = parts.slice(1)
  } else {
    info.verb = ({POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete'} as Record<string, string>)[method] ?? ''
  }
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1] ?? ''
    if (parts.length > 2 && !namespaceSubresources.has(parts[2] ?? '')) parts = parts.slice(2)
  }
  info.resource = parts[0] ?? ''
  info.name = parts[1] ?? ''
  info.subresource = parts.length >= 3 ? (parts[2] ?? '') : ''
  if (info.name === '' && info.verb === 'get') {
    const watch = query.get('watch')
    info.verb = watch !== null && watch !== 'false' && watch !== '0' ? 'watch' : 'list'
    // A list or watch of one object by name is authorized as that object (resourceNames apply).
    const byName = /^(?:metadata\.name==?)([^,]+)$/.exec(query.get('fieldSelector') ?? '')
    if (byName?.[1] && dns1123Segment.test(byName[1])) info.name = byName[1]
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection'
  return info
}

/** `pods`, `pods/log`: how RBAC rules and messages name what was asked for. */
export function resourceOf(info: RequestInfo): string {
  return info.subresource ? `${info.resource}/${info.subresource}` : info.resource
}
