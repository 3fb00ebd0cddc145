/** Kubernetes `Status` failures with the reasons, codes and message texts the real apiserver uses. */
export interface StatusCause {
  reason: string
  message: string
  field?: string
}

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  uid?: string
  causes?: StatusCause[]
  retryAfterSeconds?: number
}

export interface StatusBody {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Failure' | 'Success'
  message?: string
  reason?: string
  details?: StatusDetails
  code: number
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message)
  }

  toStatus(): StatusBody {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? {details: this.details} : {}),
      code: this.code,
    }
  }
}

/** What the messages name: `pods`, `deployments.apps`. */
export interface GroupResource {
  group: string
  resource: string
}

export function qualifiedResource({group, resource}: GroupResource): string {
  return group ? `${resource}.${group}` : resource
}

function details(gr: GroupResource, name: string): StatusDetails {
  return {name, ...(gr.group ? {group: gr.group} : {}), kind: gr.resource}
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, details(gr, name))
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, details(gr, name))
}

export function conflict(gr: GroupResource, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, details(gr, name))
}

export const objectModified = 'the object has been modified; please apply your changes to the latest version and try again'

/** 422 Invalid: `Deployment.apps "web" is invalid: spec.template.spec.containers: Required value`. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind
  const parts = causes.map(causeText)
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${joined}`, {
    name,
    ...(group ? {group} : {}),
    kind,
    causes,
  })
}

function causeText(cause: StatusCause): string {
  return cause.field ? `${cause.field}: ${cause.message}` : cause.message
}

export function requiredField(field: string, detail?: string): StatusCause {
  return {reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value', field}
}

export function invalidField(field: string, value: unknown, detail: string): StatusCause {
  return {reason: 'FieldValueInvalid', message: `Invalid value: ${goValue(value)}: ${detail}`, field}
}

export function unsupportedField(field: string, value: string, supported: string[]): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: "${value}": supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
    field,
  }
}

/** How Go's field errors print a value: strings quoted, numbers bare. */
function goValue(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message)
}

export function forbidden(gr: GroupResource, name: string, why: string): ApiError {
  return new ApiError(403, 'Forbidden', `${qualifiedResource(gr)} "${name}" is forbidden: ${why}`, details(gr, name))
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
}

export function resourceNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {})
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message)
}

export function notAcceptable(accept: string): ApiError {
  return new ApiError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/yaml (got ${accept})`)
}

export const patchMediaTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', 'application/strategic-merge-patch+json']
export const bodyMediaTypes = ['application/json', 'application/yaml']

export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, {
    causes: [{reason: 'UnexpectedServerResponse', message: `unsupported media type "${contentType}"`}],
  })
}

export function internalError(cause: unknown): ApiError {
  const text = cause instanceof Error ? cause.message : String(cause)
  return new ApiError(500, 'InternalError', `Internal error occurred: ${text}`, {causes: [{reason: 'UnexpectedServerResponse', message: text}]})
}
