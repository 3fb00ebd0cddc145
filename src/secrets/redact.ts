/**
 * The one place secrets are masked. Every value devctl generates or reads as a secret is
 * registered here, and every line that leaves devctl (task list, plain/JSON output, --debug
 * echoes of commands, helm's stderr, pod logs) passes through `redact`.
 */
const MASK = '********'
// Secrets shorter than this would mask ordinary words; devctl never generates them.
const MIN_SECRET_LENGTH = 6

const secrets = new Set<string>()
let pattern: RegExp | undefined

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return
  // The forms a secret takes on its way into manifests, URLs and Secret data.
  for (const form of [value, encodeURIComponent(value), Buffer.from(value).toString('base64')]) {
    if (!secrets.has(form)) {
      secrets.add(form)
      pattern = undefined
    }
  }
}

export function redact(text: string): string {
  if (secrets.size === 0 || text.length === 0) return text
  pattern ??= new RegExp(
    [...secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  )
  return text.replace(pattern, MASK)
}

/** Kubernetes Secrets with every value masked (a chart's own may hold anything), other objects as they are. */
export function maskSecretObjects<T extends {kind?: string; data?: unknown; stringData?: unknown}>(objects: T[]): T[] {
  const masked = (values: unknown) => (values && typeof values === 'object' ? Object.fromEntries(Object.keys(values).map((key) => [key, MASK])) : values)
  return objects.map((object) => (object.kind === 'Secret' ? {...object, ...(object.data ? {data: masked(object.data)} : {}), ...(object.stringData ? {stringData: masked(object.stringData)} : {})} : object))
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear()
  pattern = undefined
}
