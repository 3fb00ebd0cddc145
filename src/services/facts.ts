/**
 * What devctl knows about the Postgres and Redis a chart talks to — its own, or the external
 * ones devctl.yaml names: host, port, names, password, URLs. One owner for these facts: devctl's
 * own Secrets, the Secrets a chart expects (app.wiring.secrets) and the values devctl composes
 * (app.wiring.values) are all built from here.
 */
import type {ResolvedNames} from '../config/load.js'
import type {DevctlConfig} from '../config/schema.js'
import type {FactName, FactValue} from '../config/template.js'
import {PrerequisiteError} from '../errors.js'
import {registerSecret} from '../secrets/redact.js'
import type {ProjectSecrets} from '../secrets/store.js'
import {POSTGRES, REDIS} from './naming.js'

export type Facts = ReadonlyMap<FactName, FactValue>

/** An external service's password, from the environment variable devctl.yaml names (registered for masking). */
export function passwordFromEnv(variable: string, service: string): string {
  const value = process.env[variable]
  if (!value) {
    throw new PrerequisiteError(`devctl.yaml says the external ${service} password is in $${variable}, but that variable is not set.`, {
      hint: `Export ${variable} before running devctl (for example from your password manager).`,
    })
  }
  registerSecret(value)
  return value
}

function generated(secrets: ProjectSecrets | undefined, service: 'postgres' | 'redis'): string {
  const password = secrets?.[service]?.password
  // ensureSecrets runs before anything needs a password; reaching here without one is a bug.
  if (password === undefined) throw new Error(`no generated ${service} password: ensureSecrets must run first`)
  registerSecret(password)
  return password
}

/** Hosts, ports and names: safe to write into a values file or print. */
export function publicFacts(config: DevctlConfig, names: ResolvedNames): Map<FactName, FactValue> {
  const facts = new Map<FactName, FactValue>()
  const {postgres, redis} = config.services
  if (postgres.enabled) {
    facts.set('postgres.host', postgres.external?.host ?? POSTGRES.service)
    facts.set('postgres.port', postgres.external?.port ?? POSTGRES.port)
    facts.set('postgres.database', postgres.external?.database ?? names.database)
    facts.set('postgres.user', postgres.external?.user ?? names.databaseUser)
    facts.set('postgres.secret', POSTGRES.secret)
  }
  if (redis.enabled) {
    facts.set('redis.host', redis.external?.host ?? REDIS.service)
    facts.set('redis.port', redis.external?.port ?? REDIS.port)
    facts.set('redis.secret', REDIS.secret)
  }
  return facts
}

/** Does the Redis the chart talks to take a password? */
export function redisHasPassword(config: DevctlConfig): boolean {
  const {redis} = config.services
  return redis.external ? redis.external.passwordEnv !== undefined : redis.auth === 'password'
}

/**
 * Every fact, passwords and URLs included: generated passwords from .devctl/secrets.yaml, an
 * external service's from the environment variable devctl.yaml names. All registered for masking.
 */
export function allFacts(config: DevctlConfig, names: ResolvedNames, secrets: ProjectSecrets | undefined): Map<FactName, FactValue> {
  const facts = publicFacts(config, names)
  const {postgres, redis} = config.services
  if (postgres.enabled) {
    const password = postgres.external ? passwordFromEnv(postgres.external.passwordEnv, 'Postgres') : generated(secrets, 'postgres')
    const user = String(facts.get('postgres.user'))
    const database = String(facts.get('postgres.database'))
    // "postgresql://" is the scheme libpq, SQLAlchemy (which rejects "postgres://"), Prisma and node-postgres all accept.
    const url = `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${facts.get('postgres.host')}:${facts.get('postgres.port')}/${encodeURIComponent(database)}`
    registerSecret(url)
    facts.set('postgres.password', password)
    facts.set('postgres.url', url)
  }
  if (redis.enabled) {
    const password = !redisHasPassword(config) ? '' : redis.external ? passwordFromEnv(redis.external.passwordEnv!, 'Redis') : generated(secrets, 'redis')
    const address = `${facts.get('redis.host')}:${facts.get('redis.port')}`
    const url = password ? `redis://:${encodeURIComponent(password)}@${address}/0` : `redis://${address}/0`
    registerSecret(url)
    facts.set('redis.password', password)
    facts.set('redis.url', url)
  }
  return facts
}
