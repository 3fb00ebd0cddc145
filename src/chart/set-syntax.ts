/**
 * helm's `--set` syntax, as devctl reads and writes it: `a.b[0].c=value`, several pairs in one
 * flag separated by commas, and a backslash to take `.`, `,`, `[` or `=` literally. devctl must
 * read it the way helm does, or the upgrade diff shows changes helm will not make.
 */
import {UsageError} from '../errors.js'
import {isSecretKey, MASK} from '../secrets/redact.js'

export type SetValue = string | number | boolean
export type PathPart = string | number

/** Splits on `separator` where it is not escaped with a backslash (escapes are kept). */
export function splitUnescaped(text: string, separator: string): string[] {
  const parts = ['']
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (char === '\\' && i + 1 < text.length) parts[parts.length - 1] += char + text[++i]!
    else if (char === separator) parts.push('')
    else parts[parts.length - 1] += char
  }
  return parts
}

/**
 * `PATH=VALUE` at its first `=` outside brackets (and not escaped): the value path may itself
 * hold one, `env[name=DB_DSN].value=...`. Undefined without such an `=`.
 */
export function splitAssignment(text: string): [path: string, value: string] | undefined {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (char === '\\') i++
    else if (char === '[') depth++
    else if (char === ']') depth = Math.max(0, depth - 1)
    else if (char === '=' && depth === 0) return [text.slice(0, i), text.slice(i + 1)]
  }
  return undefined
}

const unescape = (text: string) => text.replace(/\\(.)/g, '$1')

/** Like helm's --set: whole numbers (no leading zero) and true/false keep their type. */
export function typedValue(raw: string): SetValue {
  if (/^-?(0|[1-9]\d{0,14})$/.test(raw)) return Number(raw)
  if (raw === 'true' || raw === 'false') return raw === 'true'
  return raw
}

/** `--set` flags (each `KEY=VALUE[,KEY=VALUE...]`) into keys and typed values; later ones win. */
export function parseSetFlags(specs: string[]): Record<string, SetValue> {
  const set: Record<string, SetValue> = {}
  for (const spec of specs) {
    for (const pair of splitUnescaped(spec, ',')) {
      const [key = '', ...rest] = splitUnescaped(pair, '=')
      if (!key || rest.length === 0) {
        throw new UsageError(`--set: "${spec}" is not KEY=VALUE.`, {hint: 'For example --set replicaCount=2, --set image.tag=1.2.3 or --set ingress.hosts[0].host=app.localhost.'})
      }
      set[key] = typedValue(unescape(rest.join('=')))
    }
  }
  return set
}

/** `a.b[0].c` → ["a", "b", 0, "c"]; `a\.b` is one key "a.b". */
export function parseSetPath(key: string): PathPart[] {
  return splitUnescaped(key, '.').flatMap((segment) => {
    const indexed = /^((?:[^\\[]|\\.)*)((?:\[\d+\])+)$/.exec(segment)
    if (!indexed) return [unescape(segment)]
    const indices = [...indexed[2]!.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]))
    return [unescape(indexed[1]!), ...indices]
  })
}

/** A `--set` argument that gives helm exactly this value: commas and backslashes escaped. */
export function setArgument(key: string, value: SetValue): string {
  return `${key}=${String(value).replace(/[\\,]/g, (char) => `\\${char}`)}`
}

/** A `--set` argument as people see it (plans, --debug echoes): values under secret-looking keys masked, short ones too. */
export function maskSecretSetValues(spec: string): string {
  return splitUnescaped(spec, ',')
    .map((pair) => {
      const [key = '', ...rest] = splitUnescaped(pair, '=')
      const last = parseSetPath(key).at(-1)
      return rest.length > 0 && typeof last === 'string' && isSecretKey(last) ? `${key}=${MASK}` : pair
    })
    .join(',')
}
