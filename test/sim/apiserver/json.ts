/** Plain JSON values and the few helpers every module needs to walk them without `any`. */
export type Json = null | boolean | number | string | Json[] | JsonObject
export interface JsonObject {
  [key: string]: Json | undefined
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function clone<T>(value: T): T {
  return structuredClone(value)
}

/** Objects in the store are frozen so that a controller forgetting to clone fails loudly. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]))
  }
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const leftKeys = Object.keys(left).filter((key) => left[key] !== undefined)
  const rightKeys = Object.keys(right).filter((key) => right[key] !== undefined)
  return leftKeys.length === rightKeys.length && leftKeys.every((key) => jsonEqual(left[key], right[key]))
}

/**
 * Deletes every field whose value is null, at any depth, in place: what decoding a request body
 * into the API's Go types does (a null pointer, map or slice is simply absent when stored).
 */
export function dropNullFields(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) dropNullFields(item)
  } else if (isJsonObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (child === null) delete value[key]
      else dropNullFields(child)
    }
  }
}

/** A scalar field as text, as String() writes it; `fallback` when it is missing or not a scalar (a mapping or a list has no text of its own). */
export function scalarText(value: unknown, fallback = ''): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : fallback
}

/** Reads a nested value by path, e.g. `valueAt(pod, ['spec', 'nodeName'])`. */
export function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let current: unknown = root
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<string | number, unknown>)[key]
  }
  return current
}
