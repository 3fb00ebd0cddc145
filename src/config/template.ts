/**
 * The templates of devctl.yaml's `app.wiring`: text with `{{postgres.password}}`-style
 * placeholders naming what devctl knows about its Postgres and Redis (the same names the
 * presets' shared settings use), optionally `| urlencode`d. A Secret key may use every fact;
 * a value written into a values file only the ones that are not secret.
 */

export interface Fact {
  name: string
  secret: boolean
  description: string
}

export const FACTS: readonly Fact[] = [
  {name: 'postgres.host', secret: false, description: 'host name of the database'},
  {name: 'postgres.port', secret: false, description: 'its port (a number)'},
  {name: 'postgres.database', secret: false, description: 'database name'},
  {name: 'postgres.user', secret: false, description: 'database user'},
  {name: 'postgres.secret', secret: false, description: "name of devctl's own Secret for Postgres (keys PGPASSWORD, DATABASE_URL, ...)"},
  {name: 'postgres.password', secret: true, description: 'the password'},
  {name: 'postgres.url', secret: true, description: 'postgresql://user:password@host:port/database, URL-escaped'},
  {name: 'redis.host', secret: false, description: 'host name of Redis'},
  {name: 'redis.port', secret: false, description: 'its port (a number)'},
  {name: 'redis.secret', secret: false, description: "name of devctl's own Secret for Redis (keys REDIS_PASSWORD, REDIS_URL, ...)"},
  {name: 'redis.password', secret: true, description: 'the password (empty when Redis runs without one)'},
  {name: 'redis.url', secret: true, description: 'redis://:password@host:port/0 (redis://host:port/0 without a password), URL-escaped'},
]

export type FactName = string
export type FactValue = string | number

const FILTERS = ['urlencode'] as const
type Filter = (typeof FILTERS)[number]

interface Placeholder {
  fact: FactName
  filter?: Filter
}

type Part = string | Placeholder

const PLACEHOLDER = /\{\{\s*([^{}|\s]+)\s*(?:\|\s*([^{}\s]+)\s*)?\}\}/g

function parse(text: string): Part[] {
  const parts: Part[] = []
  let last = 0
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push(text.slice(last, match.index))
    parts.push({fact: match[1]!, filter: match[2] as Filter | undefined})
    last = match.index + match[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  return parts
}

function placeholders(text: string): Placeholder[] {
  return parse(text).filter((part): part is Placeholder => typeof part !== 'string')
}

/** The facts a template refers to. */
export function factsUsed(text: string): FactName[] {
  return placeholders(text).map((p) => p.fact)
}

/**
 * What is wrong with a template, or undefined: an unknown fact or filter, a stray `{{`, or
 * (for values files) a secret fact.
 */
export function templateProblem(text: string, options: {secretsAllowed: boolean}): string | undefined {
  for (const {fact, filter} of placeholders(text)) {
    const known = FACTS.find((f) => f.name === fact)
    if (!known) return `refers to {{${fact}}}, which is not a setting devctl knows (use one of: ${FACTS.map((f) => f.name).join(', ')})`
    if (filter !== undefined && !FILTERS.includes(filter)) return `uses the filter "${filter}" in {{${fact} | ${filter}}}; the only filter is urlencode`
    if (known.secret && !options.secretsAllowed) {
      return `refers to {{${fact}}}, which holds a password: a values file must never contain one. Put it in a Secret the chart reads (app.wiring.secrets) instead`
    }
  }
  const rest = text.replaceAll(PLACEHOLDER, '')
  if (rest.includes('{{') || rest.includes('}}')) return 'has a "{{" or "}}" that is not a placeholder such as {{postgres.host}}'
  return undefined
}

/**
 * Fill a template. A template that is exactly one placeholder takes the fact's own type (so
 * `{{redis.port}}` stays a number in a values file); `lookup` returns undefined for a fact it
 * does not have (a disabled service), which is an error the caller words.
 */
export function renderTemplate(text: string, lookup: (fact: FactName) => FactValue | undefined): FactValue {
  const parts = parse(text)
  const value = (p: Placeholder): FactValue => {
    const found = lookup(p.fact)
    if (found === undefined) throw new MissingFactError(p.fact)
    return p.filter === 'urlencode' ? encodeURIComponent(String(found)) : found
  }
  if (parts.length === 1 && typeof parts[0] !== 'string') return value(parts[0]!)
  return parts.map((part) => (typeof part === 'string' ? part : String(value(part)))).join('')
}

export class MissingFactError extends Error {
  constructor(readonly fact: FactName) {
    super(`{{${fact}}} has no value`)
  }
}

/** The service a fact belongs to ("postgres" for postgres.url). */
export function serviceOf(fact: FactName): string {
  return fact.split('.')[0]!
}
