/**
 * Which lists of the built-in types merge by key (patchMergeKey / x-kubernetes-list-map-keys),
 * which are sets, and which are atomic. Shared by strategic merge patch and server-side apply.
 * Custom resources have none of these: their lists are atomic.
 */
const keysByField: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
  resourceClaims: ['name'],
  readinessGates: ['conditionType'],
}

const setFields = new Set(['finalizers'])

export type ListKind = {type: 'map'; keys: string[]} | {type: 'set'} | {type: 'atomic'}

export function listKind(field: string, items: readonly unknown[], custom: boolean): ListKind {
  if (custom) return {type: 'atomic'}
  if (setFields.has(field)) return {type: 'set'}
  if (field === 'ports') {
    // Container ports merge by containerPort+protocol, service ports by port+protocol.
    const first = items.find((item) => typeof item === 'object' && item !== null) as Record<string, unknown> | undefined
    return {type: 'map', keys: first && 'containerPort' in first ? ['containerPort', 'protocol'] : ['port', 'protocol']}
  }
  const keys = keysByField[field]
  return keys ? {type: 'map', keys} : {type: 'atomic'}
}

/** The identity of one item of a keyed list; absent key fields are left out, as in managedFields. */
export function itemKey(item: unknown, keys: readonly string[]): Record<string, unknown> {
  const key: Record<string, unknown> = {}
  if (typeof item !== 'object' || item === null) return key
  for (const field of keys) {
    const value = (item as Record<string, unknown>)[field]
    if (value !== undefined) key[field] = value
  }
  return key
}

export function sameKey(a: unknown, b: unknown, keys: readonly string[]): boolean {
  const left = itemKey(a, keys)
  const right = itemKey(b, keys)
  // The protocol of a port defaults to TCP, so a key without it still names the TCP port.
  return keys.every((field) => (left[field] ?? defaultKeyValue(field)) === (right[field] ?? defaultKeyValue(field)))
}

function defaultKeyValue(field: string): unknown {
  return field === 'protocol' ? 'TCP' : undefined
}
