/**
 * A chart that reads a Secret or key devctl does not provide is wired wrong: a config error
 * (exit 3), not a failed migration or rollout. Said in one place, found two ways — in the
 * rendered chart before anything is created (a key devctl's own Secrets do not have), and from
 * a pod's CreateContainerConfigError (a Secret nothing creates) — with what the chart expects,
 * what devctl provides, and the devctl.yaml setting that fixes it (app.wiring.secrets).
 */
import {ConfigError} from '../errors.js'
import type {KubernetesObject, V1PodSpec} from '../kube/types.js'

/** A Secret (and key) a chart's pod reads, and where. */
export interface SecretReference {
  secret: string
  /** Undefined: the whole Secret (envFrom, a volume without items). */
  key?: string
  /** "Job demo-migrate, container migrate, env DATABASE_URL" */
  where: string
}

/** The Secrets devctl creates and their keys (credentialSecretKeys). */
export type ProvidedSecrets = ReadonlyMap<string, readonly string[]>

type PodTemplateOwner = KubernetesObject & {spec?: {template?: {spec?: V1PodSpec}; jobTemplate?: {spec?: {template?: {spec?: V1PodSpec}}}}}

function podSpecOf(object: PodTemplateOwner): V1PodSpec | undefined {
  return object.spec?.template?.spec ?? object.spec?.jobTemplate?.spec?.template?.spec
}

/** Every non-optional Secret reference in the rendered chart's pod templates. */
export function secretReferences(objects: KubernetesObject[]): SecretReference[] {
  const references: SecretReference[] = []
  for (const object of objects as PodTemplateOwner[]) {
    const spec = podSpecOf(object)
    if (!spec) continue
    const owner = `${object.kind} ${object.metadata?.name}`
    for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const at = `${owner}, container ${container.name}`
      for (const env of container.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef
        if (ref?.name && !ref.optional) references.push({secret: ref.name, key: ref.key, where: `${at}, env ${env.name}`})
      }
      for (const from of container.envFrom ?? []) {
        if (from.secretRef?.name && !from.secretRef.optional) references.push({secret: from.secretRef.name, where: `${at}, envFrom`})
      }
    }
    for (const volume of spec.volumes ?? []) {
      const ref = volume.secret
      if (!ref?.secretName || ref.optional) continue
      const at = `${owner}, volume ${volume.name}`
      if (ref.items?.length) for (const item of ref.items) references.push({secret: ref.secretName, key: item.key, where: at})
      else references.push({secret: ref.secretName, where: at})
    }
  }
  return references
}

/** What devctl provides, one line per Secret. */
function describeProvided(provided: ProvidedSecrets): string[] {
  if (provided.size === 0) return ['devctl provides no Secrets (Postgres and Redis are disabled, app.wiring.secrets is empty)']
  return [...provided].map(([name, keys]) => `devctl provides Secret ${name}: ${keys.join(', ')}`)
}

/** A template a key of that name most likely wants, for the example in the hint. */
function likelyTemplate(service: 'postgres' | 'redis', key: string | undefined): string {
  if (key && /url|uri|dsn|connection/i.test(key)) return `{{${service}.url}}`
  if (key && /pass/i.test(key)) return `{{${service}.password}}`
  if (key && /host/i.test(key)) return `{{${service}.host}}`
  if (key && /port/i.test(key)) return `{{${service}.port}}`
  if (key && /user/i.test(key) && service === 'postgres') return '{{postgres.user}}'
  return `{{${service}.url}}`
}

/**
 * Where the values name a Secret: the paths (a.b.c) whose value is `secret` and whose key says
 * secret (a host of the same name is not it), outside devctl's own `shared:` block of anchors.
 */
export function valuePathsNaming(values: unknown, secret: string, prefix = ''): string[] {
  if (values === secret) return prefix && !prefix.startsWith('shared.') && /secret/i.test(prefix.split('.').at(-1) ?? '') ? [prefix] : []
  if (!values || typeof values !== 'object') return []
  return Object.entries(values).flatMap(([key, value]) => valuePathsNaming(value, secret, Array.isArray(values) ? `${prefix}[${key}]` : prefix ? `${prefix}.${key}` : key))
}

export interface WiringContext {
  provided: ProvidedSecrets
  project: string
  /** Where the values name the Secret (database.existingSecret), to say which value to change. */
  valuePaths: string[]
}

/**
 * The wiring error for a Secret the chart reads that devctl does not provide as read: keys
 * missing from one of devctl's Secrets, or a Secret nothing creates. `references` are all about
 * the same Secret.
 */
export function wiringError(references: SecretReference[], context: WiringContext): ConfigError {
  const secret = references[0]!.secret
  const keys = [...new Set(references.flatMap((ref) => (ref.key ? [ref.key] : [])))]
  const provides = context.provided.get(secret)
  const wanted = keys.length ? `${keys.length === 1 ? 'key' : 'keys'} ${keys.map((key) => `"${key}"`).join(', ')} of Secret ${secret}` : `Secret ${secret}`
  const where = [...new Set(references.map((ref) => ref.where))].join('; ')
  const why = provides ? `devctl's ${secret} has ${keys.length > 1 ? 'none of them' : 'no such key'}` : 'nothing creates that Secret (devctl does not, nor does the chart)'
  const service = /redis|cache/i.test(`${secret} ${keys.join(' ')}`) ? 'redis' : 'postgres'
  // devctl's own Secrets keep their fixed keys: the chart gets one of its own shape, under another name.
  const name = provides ? `${context.project}-${service === 'redis' ? 'cache' : 'db'}` : secret
  const entries = (keys.length ? keys : ['KEY']).map((key) => `${key}: "${likelyTemplate(service, key)}"`).join(', ')
  const repoint = provides ? `, and set ${context.valuePaths.length ? context.valuePaths.join(' and ') : 'the value that names it'} to ${name}` : ''
  return new ConfigError(`The chart reads ${wanted} (${where}), but ${why}.`, {
    details: describeProvided(context.provided),
    hint: `Give the chart the Secret it expects: in devctl.yaml, \`app.wiring.secrets: {${name}: {${entries}}}\`${repoint}; devctl creates it before helm runs. Or make the chart read keys devctl has (above).`,
  })
}

/** The references in the rendered chart to keys devctl's own Secrets do not have, for the first such Secret (another may come from elsewhere). */
export function missingProvidedKeys(references: SecretReference[], provided: ProvidedSecrets): SecretReference[] {
  const missing = references.filter((ref) => {
    const keys = provided.get(ref.secret)
    return keys !== undefined && ref.key !== undefined && !keys.includes(ref.key)
  })
  return missing.filter((ref) => ref.secret === missing[0]?.secret)
}

/** What a CreateContainerConfigError says is missing: `couldn't find key K in Secret NS/NAME`, `secret "NAME" not found`. */
export function missingSecret(message: string | undefined): Omit<SecretReference, 'where'> | undefined {
  if (!message) return undefined
  const key = /couldn't find key (\S+) in Secret [\w.-]+\/([\w.-]+)/.exec(message)
  if (key) return {secret: key[2]!, key: key[1]}
  const secret = /secret "([\w.-]+)" not found/i.exec(message)
  return secret ? {secret: secret[1]!} : undefined
}
