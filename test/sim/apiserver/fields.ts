/**
 * Field ownership (metadata.managedFields) and server-side apply, modelled on
 * structured-merge-diff: every write records which manager set which fields; an apply merges
 * the applied configuration, removes fields the applier dropped (unless someone else owns them),
 * and reports a conflict when it would change a field another manager owns.
 */
import {ApiError} from './errors.js'
import {clone, isJsonObject, jsonEqual, type Json, type JsonObject} from './json.js'
import {itemKey, listKind, sameKey} from './merge-keys.js'

export interface ManagedFieldsEntry {
  manager: string
  operation: 'Apply' | 'Update'
  apiVersion: string
  time?: string
  fieldsType: 'FieldsV1'
  fieldsV1: JsonObject
  subresource?: string
}

/** A path like ['f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'], joined for set membership. */
type FieldPath = string[]
const separator = '\u0001'

class FieldSet {
  readonly paths = new Set<string>()

  add(path: FieldPath): void {
    if (path.length > 0) this.paths.add(path.join(separator))
  }

  has(path: string): boolean {
    return this.paths.has(path)
  }

  get size(): number {
    return this.paths.size
  }

  static ofObject(object: unknown, custom: boolean): FieldSet {
    const set = new FieldSet()
    collect(object, [], '', custom, set)
    return set
  }

  static fromFieldsV1(fields: unknown): FieldSet {
    const set = new FieldSet()
    const walk = (node: unknown, path: FieldPath): void => {
      if (!isJsonObject(node)) return
      for (const [key, child] of Object.entries(node)) {
        if (key === '.') {
          set.add(path)
          continue
        }
        const childPath = [...path, key]
        if (isJsonObject(child) && Object.keys(child).length === 0) set.add(childPath)
        else walk(child, childPath)
      }
    }
    walk(fields, [])
    return set
  }

  toFieldsV1(): JsonObject {
    const root: JsonObject = {}
    const members = [...this.paths].map((path) => path.split(separator))
    for (const path of members) {
      let node = root
      for (const element of path) {
        const next = node[element]
        node = isJsonObject(next) ? next : (node[element] = {})
      }
    }
    for (const path of members) {
      let node: JsonObject = root
      for (const element of path) node = node[element] as JsonObject
      if (Object.keys(node).length > 0) node['.'] = {}
    }
    return root
  }
}

function collect(value: unknown, path: FieldPath, field: string, custom: boolean, set: FieldSet): void {
  if (Array.isArray(value)) {
    const kind = listKind(field, value, custom)
    if (kind.type === 'atomic') {
      set.add(path)
    } else if (kind.type === 'set') {
      for (const item of value) set.add([...path, `v:${JSON.stringify(item)}`])
    } else {
      for (const item of value) {
        const itemPath = [...path, `k:${keyJson(itemKey(item, kind.keys))}`]
        set.add(itemPath)
        if (isJsonObject(item)) for (const [key, child] of Object.entries(item)) collect(child, [...itemPath, `f:${key}`], key, custom, set)
      }
    }
    return
  }
  if (isJsonObject(value)) {
    const entries = Object.entries(value).filter(([, child]) => child !== undefined)
    if (entries.length === 0) set.add(path)
    for (const [key, child] of entries) collect(child, [...path, `f:${key}`], key, custom, set)
    return
  }
  set.add(path)
}

function keyJson(key: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {}
  for (const name of Object.keys(key).sort()) sorted[name] = key[name]
  return JSON.stringify(sorted)
}

/** `.spec.template.spec.containers[name="app"].image`, as structured-merge-diff prints paths. */
export function describePath(path: string): string {
  return path
    .split(separator)
    .map((element) => {
      const body = element.slice(2)
      if (element.startsWith('f:')) return `.${body}`
      if (element.startsWith('v:')) return `[=${body}]`
      if (element.startsWith('i:')) return `[${body}]`
      const key = JSON.parse(body) as Record<string, unknown>
      return `[${Object.entries(key)
        .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
        .join(',')}]`
    })
    .join('')
}

/** The value a path names in an object, or undefined. */
function valueAtPath(object: unknown, path: string): unknown {
  let current: unknown = object
  for (const element of path.split(separator)) {
    const body = element.slice(2)
    if (element.startsWith('f:')) {
      current = isJsonObject(current) ? current[body] : undefined
    } else if (element.startsWith('k:')) {
      const key = JSON.parse(body) as Record<string, unknown>
      current = Array.isArray(current) ? current.find((item) => sameKey(item, key, Object.keys(key))) : undefined
    } else if (element.startsWith('v:')) {
      const wanted: unknown = JSON.parse(body)
      current = Array.isArray(current) ? current.find((item) => jsonEqual(item, wanted)) : undefined
    } else {
      current = Array.isArray(current) ? current[Number(body)] : undefined
    }
    if (current === undefined) return undefined
  }
  return current
}

/** Removes what a path names from an object, in place. */
function removePath(object: unknown, path: string): void {
  const elements = path.split(separator)
  const last = elements.pop()
  if (last === undefined) return
  const parent = elements.length === 0 ? object : valueAtPath(object, elements.join(separator))
  const body = last.slice(2)
  if (last.startsWith('f:') && isJsonObject(parent)) {
    delete parent[body]
  } else if (Array.isArray(parent)) {
    const index = last.startsWith('k:')
      ? parent.findIndex((item) => sameKey(item, JSON.parse(body) as Record<string, unknown>, Object.keys(JSON.parse(body) as object)))
      : parent.findIndex((item) => jsonEqual(item, JSON.parse(body)))
    if (index >= 0) parent.splice(index, 1)
  }
}

/** Only the parts of an object field managers own: no identity, bookkeeping or (by scope) status. */
export function ownedPart(object: unknown, scope: 'main' | 'status', hasStatusSubresource: boolean): JsonObject {
  if (!isJsonObject(object)) return {}
  const result: JsonObject = {}
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind') continue
    if (scope === 'status' && key !== 'status') continue
    if (scope === 'main' && key === 'status' && hasStatusSubresource) continue
    if (key === 'metadata' && isJsonObject(value)) {
      const metadata: JsonObject = {}
      for (const field of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
        if (value[field] !== undefined) metadata[field] = value[field]
      }
      if (Object.keys(metadata).length > 0) result.metadata = metadata
      continue
    }
    result[key] = value
  }
  return result
}

export interface OwnershipContext {
  manager: string
  apiVersion: string
  subresource?: string
  custom: boolean
  hasStatusSubresource: boolean
  now: string
}

function entriesOf(object: unknown): ManagedFieldsEntry[] {
  const raw = isJsonObject(object) && isJsonObject(object.metadata) ? object.metadata.managedFields : undefined
  return Array.isArray(raw) ? (clone(raw) as unknown as ManagedFieldsEntry[]) : []
}

function sameManager(entry: ManagedFieldsEntry, manager: string, operation: 'Apply' | 'Update', context: OwnershipContext): boolean {
  return entry.manager === manager && entry.operation === operation && (entry.subresource ?? '') === (context.subresource ?? '') && (operation === 'Apply' || entry.apiVersion === context.apiVersion)
}

function scopeOf(context: OwnershipContext): 'main' | 'status' {
  return context.subresource === 'status' ? 'status' : 'main'
}

/** Records an Update: changed fields move to the manager, removed fields leave every manager. */
export function recordUpdate(before: unknown, after: JsonObject, context: OwnershipContext): ManagedFieldsEntry[] {
  const scope = scopeOf(context)
  const beforeOwned = ownedPart(before, scope, context.hasStatusSubresource)
  const afterOwned = ownedPart(after, scope, context.hasStatusSubresource)
  const beforeSet = before === undefined ? new FieldSet() : FieldSet.ofObject(beforeOwned, context.custom)
  const afterSet = FieldSet.ofObject(afterOwned, context.custom)
  const changed = [...afterSet.paths].filter((path) => !beforeSet.has(path) || !jsonEqual(valueAtPath(beforeOwned, path), valueAtPath(afterOwned, path)))
  const removed = [...beforeSet.paths].filter((path) => !afterSet.has(path))
  const entries = entriesOf(before)
  let mine = entries.find((entry) => sameManager(entry, context.manager, 'Update', context))
  const sets = new Map(entries.map((entry) => [entry, FieldSet.fromFieldsV1(entry.fieldsV1)]))
  for (const [entry, set] of sets) {
    for (const path of removed) set.paths.delete(path)
    if (entry !== mine) for (const path of changed) set.paths.delete(path)
  }
  if (changed.length > 0) {
    if (!mine) {
      mine = {manager: context.manager, operation: 'Update', apiVersion: context.apiVersion, fieldsType: 'FieldsV1', fieldsV1: {}, ...(context.subresource ? {subresource: context.subresource} : {})}
      entries.push(mine)
      sets.set(mine, new FieldSet())
    }
    const set = sets.get(mine)
    for (const path of changed) set?.paths.add(path)
    mine.time = context.now
  }
  return finish(entries, sets)
}

function finish(entries: ManagedFieldsEntry[], sets: Map<ManagedFieldsEntry, FieldSet>): ManagedFieldsEntry[] {
  return entries.flatMap((entry) => {
    const set = sets.get(entry)
    if (!set || set.size === 0) return []
    return [{...entry, fieldsV1: set.toFieldsV1()}]
  })
}

export interface ApplyOptions extends OwnershipContext {
  force: boolean
}

/**
 * Server-side apply of `applied` onto `live` (undefined when creating). Returns the merged
 * object (metadata.managedFields set) or throws the real 409 listing the conflicting fields.
 */
export function serverSideApply(live: JsonObject | undefined, applied: JsonObject, options: ApplyOptions): JsonObject {
  const scope = scopeOf(options)
  const appliedOwned = ownedPart(applied, scope, options.hasStatusSubresource)
  const appliedSet = FieldSet.ofObject(appliedOwned, options.custom)
  const liveOwned = ownedPart(live, scope, options.hasStatusSubresource)
  const entries = entriesOf(live)
  const sets = new Map(entries.map((entry) => [entry, FieldSet.fromFieldsV1(entry.fieldsV1)]))
  let mine = entries.find((entry) => sameManager(entry, options.manager, 'Apply', options))

  const conflicts: Array<{entry: ManagedFieldsEntry; path: string}> = []
  for (const [entry, set] of sets) {
    if (entry === mine) continue
    for (const path of appliedSet.paths) {
      if (set.has(path) && isLeafValue(appliedOwned, path) && !jsonEqual(valueAtPath(liveOwned, path), valueAtPath(appliedOwned, path))) {
        conflicts.push({entry, path})
      }
    }
  }
  if (conflicts.length > 0 && !options.force) throw applyConflict(conflicts)

  const merged: JsonObject = live ? clone(live) : {}
  const previouslyMine = mine ? sets.get(mine) : undefined
  if (previouslyMine) {
    const ownedByOthers = (path: string): boolean => [...sets].some(([entry, set]) => entry !== mine && [...set.paths].some((other) => other === path || other.startsWith(path + separator)))
    const dropped = [...previouslyMine.paths].filter((path) => !appliedSet.has(path) && !ownedByOthers(path))
    // A dropped list item goes whole: removing its fields first would also remove its key, and
    // the item could no longer be found (a stub such as {valueFrom: {secretKeyRef: {}}} would stay).
    const outermost = dropped.filter((path) => !dropped.some((other) => path.startsWith(other + separator)))
    for (const path of outermost) removePath(merged, path)
  }
  overlay(merged, applied, '', options.custom)

  if (options.force) for (const {entry, path} of conflicts) sets.get(entry)?.paths.delete(path)
  if (!mine) {
    mine = {manager: options.manager, operation: 'Apply', apiVersion: options.apiVersion, fieldsType: 'FieldsV1', fieldsV1: {}, ...(options.subresource ? {subresource: options.subresource} : {})}
    entries.push(mine)
  }
  mine.apiVersion = options.apiVersion
  mine.time = options.now
  sets.set(mine, appliedSet)
  const metadata = isJsonObject(merged.metadata) ? merged.metadata : (merged.metadata = {})
  metadata.managedFields = finish(entries, sets) as unknown as Json
  return merged
}

function isLeafValue(object: unknown, path: string): boolean {
  const value = valueAtPath(object, path)
  return !isJsonObject(value) || Object.keys(value).length === 0
}

function applyConflict(conflicts: Array<{entry: ManagedFieldsEntry; path: string}>): ApiError {
  const describeManager = (entry: ManagedFieldsEntry): string => {
    const name = JSON.stringify(entry.manager) + (entry.subresource ? ` with subresource ${JSON.stringify(entry.subresource)}` : '')
    if (entry.operation !== 'Update') return name
    return entry.time ? `${name} using ${entry.apiVersion} at ${entry.time}` : `${name} using ${entry.apiVersion}`
  }
  const causes = conflicts.map(({entry, path}) => ({reason: 'FieldManagerConflict', message: `conflict with ${describeManager(entry)}`, field: describePath(path)}))
  let message: string
  const first = conflicts[0]
  if (conflicts.length === 1 && first) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(first.entry)}: ${describePath(first.path)}`
  } else {
    const byManager = new Map<string, string[]>()
    for (const {entry, path} of conflicts) {
      const name = describeManager(entry)
      byManager.set(name, [...(byManager.get(name) ?? []), describePath(path)])
    }
    const lines = [...byManager].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([name, paths]) => [`conflicts with ${name}:`, ...paths.map((path) => `- ${path}`)])
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`
  }
  return new ApiError(409, 'Conflict', message, {causes})
}

/** Merges an applied configuration into an object: maps deep, keyed lists by key, sets as union. */
function overlay(target: JsonObject, applied: JsonObject, _parentField: string, custom: boolean): void {
  for (const [key, value] of Object.entries(applied)) {
    if (value === undefined) continue
    const current = target[key]
    if (isJsonObject(value) && isJsonObject(current) && key !== 'managedFields') {
      overlay(current, value, key, custom)
    } else if (Array.isArray(value) && Array.isArray(current)) {
      target[key] = overlayList(key, current, value, custom)
    } else {
      target[key] = clone(value)
    }
  }
}

function overlayList(field: string, current: Json[], applied: Json[], custom: boolean): Json[] {
  const kind = listKind(field, [...applied, ...current], custom)
  if (kind.type === 'atomic') return clone(applied)
  if (kind.type === 'set') {
    const merged = [...current]
    for (const item of applied) if (!merged.some((existing) => jsonEqual(existing, item))) merged.push(clone(item))
    return merged
  }
  const merged = [...current]
  for (const item of applied) {
    const index = merged.findIndex((existing) => sameKey(existing, item, kind.keys))
    const existing = index >= 0 ? merged[index] : undefined
    if (isJsonObject(existing) && isJsonObject(item)) overlay(existing, item, field, custom)
    else if (index >= 0) merged[index] = clone(item)
    else merged.push(clone(item))
  }
  return merged
}
