import {badRequest, ApiError} from './errors.js'
import {clone, isJsonObject, jsonEqual, type Json, type JsonObject} from './json.js'
import {listKind, sameKey} from './merge-keys.js'

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return clone(patch)
  const result: JsonObject = isJsonObject(target) ? clone(target) : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = mergePatch(result[key], value) as Json
  }
  return result
}

interface JsonPatchOperation {
  op: string
  path: string
  from?: string
  value?: unknown
}

/** RFC 6902 JSON patch; a failing `test` or a bad path is a 422/500 as the real apiserver reports it. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch')
  let document = clone(target)
  for (const raw of operations) {
    if (!isJsonObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('the server rejected our request due to an error in our request')
    }
    const operation = raw as unknown as JsonPatchOperation
    document = applyOperation(document, operation)
  }
  return document
}

function pointer(path: string): string[] {
  if (path === '') return []
  if (!path.startsWith('/')) throw patchFailure(`invalid JSON pointer "${path}"`)
  return path
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function patchFailure(message: string): ApiError {
  return new ApiError(422, 'Invalid', message)
}

function applyOperation(document: unknown, operation: JsonPatchOperation): unknown {
  switch (operation.op) {
    case 'add':
      return addAt(document, pointer(operation.path), clone(operation.value))
    case 'remove':
      return removeAt(document, pointer(operation.path)).document
    case 'replace': {
      const removed = removeAt(document, pointer(operation.path)).document
      return addAt(removed, pointer(operation.path), clone(operation.value))
    }
    case 'move': {
      const {document: without, value} = removeAt(document, pointer(operation.from ?? ''))
      return addAt(without, pointer(operation.path), value)
    }
    case 'copy':
      return addAt(document, pointer(operation.path), clone(getAt(document, pointer(operation.from ?? ''))))
    case 'test':
      if (!jsonEqual(getAt(document, pointer(operation.path)), operation.value)) {
        throw patchFailure(`the server rejected our request due to an error in our request`)
      }
      return document
    default:
      throw badRequest(`Unexpected kind: ${operation.op}`)
  }
}

function getAt(document: unknown, tokens: string[]): unknown {
  let current = document
  for (const token of tokens) {
    if (Array.isArray(current)) current = current[Number(token)]
    else if (isJsonObject(current)) current = current[token]
    else current = undefined
    if (current === undefined) throw patchFailure(`doc is missing path: "/${tokens.join('/')}": missing value`)
  }
  return current
}

function parentOf(document: unknown, tokens: string[]): {parent: unknown; last: string} {
  const last = tokens.at(-1)
  if (last === undefined) return {parent: undefined, last: ''}
  return {parent: getAt(document, tokens.slice(0, -1)), last}
}

function addAt(document: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value
  const {parent, last} = parentOf(document, tokens)
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last)
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw patchFailure(`add operation does not apply: doc is missing path: "/${tokens.join('/')}"`)
    parent.splice(index, 0, value)
  } else if (isJsonObject(parent)) {
    parent[last] = value as Json
  } else {
    throw patchFailure(`add operation does not apply: doc is missing path: "/${tokens.join('/')}": missing value`)
  }
  return document
}

function removeAt(document: unknown, tokens: string[]): {document: unknown; value: unknown} {
  const {parent, last} = parentOf(document, tokens)
  const value = getAt(document, tokens)
  if (Array.isArray(parent)) parent.splice(Number(last), 1)
  else if (isJsonObject(parent)) delete parent[last]
  return {document, value}
}

/** Strategic merge patch for the common cases: keyed lists, sets, `$patch` and `$deleteFromPrimitiveList`. */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  return mergeMap(isJsonObject(target) ? clone(target) : {}, patch)
}

function mergeMap(target: JsonObject, patch: unknown): JsonObject {
  if (!isJsonObject(patch)) return target
  const directive = patch.$patch
  if (directive === 'replace') return withoutDirectives(patch)
  if (directive === 'delete') return {}
  const retainKeys = patch.$retainKeys
  if (Array.isArray(retainKeys)) {
    for (const key of Object.keys(target)) if (!retainKeys.includes(key)) delete target[key]
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length)
      const current = target[field]
      if (Array.isArray(current) && Array.isArray(value)) target[field] = current.filter((item) => !value.some((gone) => jsonEqual(gone, item)))
      continue
    }
    if (key.startsWith('$')) continue
    if (value === null) {
      delete target[key]
    } else if (isJsonObject(value)) {
      if (value.$patch === 'delete') delete target[key]
      else target[key] = mergeMap(isJsonObject(target[key]) ? target[key] : {}, value)
    } else if (Array.isArray(value)) {
      target[key] = mergeList(key, target[key], value)
    } else {
      target[key] = value
    }
  }
  return target
}

function mergeList(field: string, current: Json | undefined, patch: Json[]): Json[] {
  const live = Array.isArray(current) ? current : []
  if (patch.some((item) => isJsonObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isJsonObject(item) && item.$patch === 'replace')).map((item) => (isJsonObject(item) ? withoutDirectives(item) : item))
  }
  const kind = listKind(field, [...patch, ...live], false)
  if (kind.type === 'set') {
    const merged = [...live]
    for (const item of patch) if (!merged.some((existing) => jsonEqual(existing, item))) merged.push(item)
    return merged
  }
  if (kind.type === 'atomic') return patch
  const merged = [...live]
  for (const item of patch) {
    const index = merged.findIndex((existing) => sameKey(existing, item, kind.keys))
    if (isJsonObject(item) && item.$patch === 'delete') {
      if (index >= 0) merged.splice(index, 1)
    } else if (index >= 0) {
      const existing = merged[index]
      merged[index] = mergeMap(isJsonObject(existing) ? existing : {}, item)
    } else {
      merged.push(isJsonObject(item) ? mergeMap({}, item) : item)
    }
  }
  return merged
}

function withoutDirectives(map: JsonObject): JsonObject {
  const result: JsonObject = {}
  for (const [key, value] of Object.entries(map)) if (!key.startsWith('$')) result[key] = value
  return result
}
