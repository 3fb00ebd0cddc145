/**
 * What an upgrade changes in the values, as a person reads it: the user-supplied values helm
 * will use (values files merged in order, maps deeply, then --set keys; YAML aliases already
 * expanded) compared with what the release has now (`helm get values`).
 */
import {readValuesFile} from '../config/yaml-file.js'
import {isSecretKey, MASK} from '../secrets/redact.js'
import {parseSetPath, type PathPart, type SetValue} from './set-syntax.js'

export type Values = Record<string, unknown>

export interface ValueChange {
  path: string
  before?: unknown
  after?: unknown
}

function isMap(value: unknown): value is Values {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** helm's rule for -f files: maps merge key by key, anything else is replaced. */
export function mergeValues(base: Values, overlay: Values): Values {
  const merged: Values = {...base}
  for (const [key, value] of Object.entries(overlay)) {
    merged[key] = isMap(merged[key]) && isMap(value) ? mergeValues(merged[key], value) : value
  }
  return merged
}

/** Where a --set path leads, creating maps and lists (filled with nulls, as helm does) on the way. */
function setIn(target: Values | unknown[], path: PathPart[], value: SetValue): void {
  const [part, ...rest] = path
  if (part === undefined) return
  const container = target as Record<PathPart, unknown>
  if (Array.isArray(target) && typeof part === 'number') while (target.length < part) target.push(null)
  if (rest.length === 0) {
    container[part] = value
    return
  }
  const wantsList = typeof rest[0] === 'number'
  const existing = container[part]
  const next = wantsList ? (Array.isArray(existing) ? existing : []) : isMap(existing) ? existing : {}
  container[part] = next
  setIn(next, rest, value)
}

/**
 * Apply `--set` overrides (devctl's `set:` and `--set`) as helm does: they form one map of their
 * own, which then overrides the values files (maps merge, lists are replaced whole).
 */
export function applySets(values: Values, set: Record<string, SetValue>): Values {
  const overlay: Values = {}
  for (const [key, value] of Object.entries(set)) setIn(overlay, parseSetPath(key), value)
  return mergeValues(values, overlay)
}

export async function userValues(files: string[], set: Record<string, SetValue>): Promise<Values> {
  let merged: Values = {}
  for (const file of files) {
    const data = await readValuesFile(file)
    if (data) merged = mergeValues(merged, data)
  }
  return applySets(merged, set)
}

/** Leaf-by-leaf differences; lists compare as wholes; the values of secret-looking keys are masked. */
export function diffValues(before: Values, after: Values, prefix = ''): ValueChange[] {
  const changes: ValueChange[] = []
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const path = prefix ? `${prefix}.${key}` : key
    const a = before[key]
    const b = after[key]
    if (isMap(a) && isMap(b)) changes.push(...diffValues(a, b, path))
    else if (JSON.stringify(a) !== JSON.stringify(b)) {
      const shown = (value: unknown) => (value === undefined || !isSecretKey(key) ? value : MASK)
      changes.push({path, before: shown(a), after: shown(b)})
    }
  }
  return changes
}
