/**
 * What an upgrade changes in the values, as a person reads it: the user-supplied values helm
 * will use (values files merged in order, maps deeply, then --set keys; YAML aliases already
 * expanded) compared with what the release has now (`helm get values`).
 */
import {readYamlFile, toPlainData} from '../config/yaml-file.js'

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

/** Apply `a.b.c=value` style overrides (devctl's `set:` and `--set`), creating maps as needed. */
export function applySets(values: Values, set: Record<string, string | number | boolean>): Values {
  let result = values
  for (const [path, value] of Object.entries(set)) {
    const keys = path.split('.')
    const overlay: Values = {}
    let cursor = overlay
    for (const key of keys.slice(0, -1)) cursor = cursor[key] = {}
    cursor[keys.at(-1)!] = value
    result = mergeValues(result, overlay)
  }
  return result
}

export async function userValues(files: string[], set: Record<string, string | number | boolean>): Promise<Values> {
  let merged: Values = {}
  for (const file of files) {
    const data = toPlainData(await readYamlFile(file, 'values file'), 'values file')
    if (isMap(data)) merged = mergeValues(merged, data)
  }
  return applySets(merged, set)
}

/** Leaf-by-leaf differences; lists compare as wholes. */
export function diffValues(before: Values, after: Values, prefix = ''): ValueChange[] {
  const changes: ValueChange[] = []
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const path = prefix ? `${prefix}.${key}` : key
    const a = before[key]
    const b = after[key]
    if (isMap(a) && isMap(b)) changes.push(...diffValues(a, b, path))
    else if (JSON.stringify(a) !== JSON.stringify(b)) changes.push({path, before: a, after: b})
  }
  return changes
}
