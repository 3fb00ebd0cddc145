/**
 * What an upgrade changes in the values, as a person reads it: what the chart receives now (the
 * release's computed values, `helm get values --all`) against what it will receive (the chart's
 * defaults coalesced with the values helm is given: values files merged in order, then --set;
 * YAML aliases expanded), leaf by leaf, as paths in helm's --set syntax.
 */
import {readValuesFile} from '../config/yaml-file.js'
import {SHARED_KEY} from '../scaffold/values-document.js'
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

/**
 * helm's coalescing of a chart's defaults with the values it is given: maps merge key by key,
 * anything else is replaced, and a null removes the default.
 */
export function coalesceValues(defaults: Values, supplied: Values): Values {
  const coalesced: Values = {...defaults}
  for (const [key, value] of Object.entries(supplied)) {
    if (value === null) delete coalesced[key]
    else coalesced[key] = isMap(coalesced[key]) && isMap(value) ? coalesceValues(coalesced[key], value) : value
  }
  return coalesced
}

/** A path as helm's --set names it: `resources.requests.memory`, `env[0].value`, `podAnnotations.prometheus\.io/path`. */
export function formatValuePath(parts: readonly PathPart[]): string {
  return parts.reduce<string>((path, part) => {
    if (typeof part === 'number') return `${path}[${part}]`
    const key = part.replace(/[\\.,=[]/g, (char) => `\\${char}`)
    return path ? `${path}.${key}` : key
  }, '')
}

/** A map or list with something in it: compared item by item, not as a whole. */
function isBranch(value: unknown): value is Values | unknown[] {
  return Array.isArray(value) ? value.length > 0 : isMap(value) && Object.keys(value).length > 0
}

function entriesOf(value: unknown): Array<[PathPart, unknown]> {
  if (Array.isArray(value)) return value.map((item, index) => [index, item])
  return isMap(value) ? Object.entries(value) : []
}

/** The paths of every leaf (a scalar, an empty map or list) under `value`. */
function leafPaths(value: unknown, parts: PathPart[] = []): PathPart[][] {
  return isBranch(value) ? entriesOf(value).flatMap(([key, item]) => leafPaths(item, [...parts, key])) : [parts]
}

const startsWith = (path: readonly PathPart[], prefix: readonly PathPart[]) => prefix.every((part, index) => path[index] === part)

/**
 * Leaf-by-leaf differences (lists item by item) at the paths `compared` accepts; values under
 * secret-looking keys are masked.
 */
export function diffValues(before: unknown, after: unknown, compared: (parts: PathPart[]) => boolean = () => true, parts: PathPart[] = []): ValueChange[] {
  const sameKind = Array.isArray(before) === Array.isArray(after) && isMap(before) === isMap(after)
  if ((isBranch(before) || isBranch(after)) && (sameKind || before === undefined || after === undefined)) {
    const keys = [...new Set([...entriesOf(before), ...entriesOf(after)].map(([key]) => key))]
    const ordered = keys.every((key) => typeof key === 'number') ? keys : keys.map(String).sort()
    return ordered.flatMap((key) => diffValues((before as Record<PathPart, unknown> | undefined)?.[key], (after as Record<PathPart, unknown> | undefined)?.[key], compared, [...parts, key]))
  }
  if (!compared(parts) || JSON.stringify(before) === JSON.stringify(after)) return []
  const key = parts.findLast((part) => typeof part === 'string')
  const shown = (value: unknown) => (value === undefined || key === undefined || !isSecretKey(key) ? value : MASK)
  return [{path: formatValuePath(parts), before: shown(before), after: shown(after)}]
}

export interface DeployedValues {
  /** The values the release was given (`helm get values`). */
  supplied: Values
  /** What its chart received: its defaults coalesced with those (`helm get values --all`). */
  computed: Values
}

export interface NextValues {
  /** The values helm will be given. */
  supplied: Values
  /** The defaults of the chart it will deploy (`helm show values`). */
  defaults: Values
}

/**
 * What the chart receives differently, where values are given to it before or after (a chart
 * default nobody sets is the chart's business, said by its version): so a --set equal to the
 * default is no change. `shared:` is devctl's block of YAML anchors, which the chart never
 * reads: a value there is reported where its aliases put it, the paths the chart reads.
 */
export function chartValuesDiff(deployed: DeployedValues, next: NextValues): ValueChange[] {
  // Nothing given is no path at all, not the root.
  const given = [...leafPaths(deployed.supplied), ...leafPaths(next.supplied)].filter((path) => path.length > 0)
  const compared = (parts: PathPart[]) => parts[0] !== SHARED_KEY && given.some((path) => startsWith(parts, path) || startsWith(path, parts))
  return diffValues(deployed.computed, coalesceValues(next.defaults, next.supplied), compared)
}
