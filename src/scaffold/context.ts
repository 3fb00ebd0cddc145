/**
 * What a preset's {{placeholders}} can refer to: the answers given to `init`, plus the names
 * of what devctl runs next to the chart (services/naming.ts).
 */
import {ConfigError} from '../errors.js'
import {POSTGRES, REDIS} from '../services/naming.js'

export interface ScaffoldContext {
  project: string
  namespace: string
  release: string
  ingressHost: string
  postgres: {enabled: boolean; host: string; port: number; database: string; user: string; secret: string}
  redis: {enabled: boolean; host: string; port: number; secret: string}
}

export function scaffoldContext(answers: {project: string; namespace: string; postgres: boolean; redis: boolean}): ScaffoldContext {
  const dbName = answers.project.replaceAll('-', '_')
  return {
    project: answers.project,
    namespace: answers.namespace,
    release: answers.project,
    ingressHost: `${answers.project}.localhost`,
    postgres: {enabled: answers.postgres, host: POSTGRES.service, port: POSTGRES.port, database: dbName, user: dbName, secret: POSTGRES.secret},
    // No URL here: one with the password lives in the Secret (REDIS_URL), never in values.
    redis: {enabled: answers.redis, host: REDIS.service, port: REDIS.port, secret: REDIS.secret},
  }
}

const PLACEHOLDER = /\{\{\s*([\w.]+)\s*\}\}/g

/**
 * Fill {{a.b}} placeholders in strings, recursively through lists and mappings. A string that
 * is exactly one placeholder takes the value's own type (so a port stays a number).
 */
export function fillPlaceholders(value: unknown, context: ScaffoldContext): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([\w.]+)\s*\}\}$/.exec(value)
    if (whole) return lookup(context, whole[1]!)
    return value.replace(PLACEHOLDER, (_, key: string) => String(lookup(context, key)))
  }
  if (Array.isArray(value)) return value.map((v) => fillPlaceholders(v, context))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillPlaceholders(v, context)]))
  }
  return value
}

function lookup(context: ScaffoldContext, key: string): string | number | boolean {
  let current: unknown = context
  for (const part of key.split('.')) current = (current as Record<string, unknown> | undefined)?.[part]
  if (typeof current === 'string' || typeof current === 'number' || typeof current === 'boolean') return current
  throw new ConfigError(`A preset refers to an unknown placeholder {{${key}}}.`, {hint: 'Fix the preset manifest: see src/scaffold/context.ts for the names it can use.'})
}
