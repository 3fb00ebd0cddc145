/**
 * The one place secrets are masked. Every value devctl generates or reads as a secret is
 * registered here, and every line that leaves devctl (task list, plain/JSON output, --debug
 * echoes of commands, helm's stderr, pod logs) passes through `redact`.
 */
export const MASK = '********'
// Secrets shorter than this would mask ordinary words; devctl never generates them.
const MIN_SECRET_LENGTH = 6

/**
 * A settings key (the last part of a values path) whose value is shown masked in the upgrade
 * plan and in --debug echoes of --set: it ends in password, secret, token or key (`PGPASSWORD`,
 * `env.API_TOKEN`, `apiKey`), not `secretName`, `passwordEnv` or `imagePullSecrets`, which name
 * where secrets are. The value is not registered as a secret: unlike a generated password, a
 * value someone chose may be a word that output devctl parses (helm's manifests) also holds.
 */
const SECRET_KEY = /(passw(or)?d|secret|token|key)$/i

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key)
}

const secrets = new Set<string>()
let pattern: {probe: RegExp; all: RegExp} | undefined

/**
 * The part of base64 text that encodes `value` wherever it sits in the encoded data (as in
 * `base64("user:" + password)` or a Secret's DATABASE_URL): data is encoded three bytes at a
 * time, so for each of the three offsets the characters that depend on `value` alone.
 */
function base64Cores(value: Buffer): string[] {
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), value]).toString('base64')
    const first = Math.ceil((offset * 8) / 6)
    const end = Math.floor(((offset + value.length) * 8) / 6)
    return encoded.slice(first, end)
  })
}

/** The forms a secret takes on its way into manifests, URLs, Secret data and HTTP headers. */
function encodedForms(value: string): string[] {
  const uri = encodeURIComponent(value)
  const base64 = [Buffer.from(value).toString('base64'), ...base64Cores(Buffer.from(value))]
  return [
    value,
    uri,
    uri.replaceAll(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    // application/x-www-form-urlencoded
    uri.replaceAll('%20', '+'),
    ...base64,
    ...base64.map((text) => text.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')),
  ]
}

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return
  for (const form of encodedForms(value)) {
    if (form.length >= MIN_SECRET_LENGTH && !secrets.has(form)) {
      secrets.add(form)
      pattern = undefined
    }
  }
}

const escapeRegExp = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')

export function redact(text: string): string {
  if (secrets.size === 0 || text.length === 0) return text
  pattern ??= {
    // Looking for the forms' first characters first is ten times faster than the full
    // alternation on text that holds no secret, which is nearly all of it (log lines).
    probe: new RegExp([...new Set([...secrets].map((s) => s.slice(0, MIN_SECRET_LENGTH)))].map(escapeRegExp).join('|')),
    all: new RegExp(
      [...secrets]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    ),
  }
  return pattern.probe.test(text) ? text.replace(pattern.all, MASK) : text
}

/** Kubernetes Secrets with every value masked (a chart's own may hold anything), other objects as they are. */
export function maskSecretObjects<T extends {kind?: string; data?: unknown; stringData?: unknown}>(objects: T[]): T[] {
  const masked = (values: unknown) => (values && typeof values === 'object' ? Object.fromEntries(Object.keys(values).map((key) => [key, MASK])) : values)
  return objects.map((object) =>
    object.kind === 'Secret' ? {...object, ...(object.data ? {data: masked(object.data)} : {}), ...(object.stringData ? {stringData: masked(object.stringData)} : {})} : object,
  )
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear()
  pattern = undefined
}
