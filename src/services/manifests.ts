/**
 * What devctl runs next to the chart: the namespace, the credential Secrets the chart reads
 * (envFrom), and Postgres and Redis as StatefulSets with a PVC each (k3s's local-path class:
 * WaitForFirstConsumer, so a PVC stays Pending until its pod is scheduled — that is normal).
 */
import type {DevctlConfig} from '../config/schema.js'
import type {ResolvedNames} from '../config/load.js'
import {renderTemplate, type FactName} from '../config/template.js'
import type {KubernetesObject} from '../kube/types.js'
import type {ProjectSecrets} from '../secrets/store.js'
import {OWNER_DIR_KEY, OWNER_KEY} from '../state/identity.js'
import type {Mark} from '../state/ownership.js'
import {allFacts, redisHasPassword} from './facts.js'
import {MANAGED_BY_LABEL, POSTGRES, REDIS} from './naming.js'

export type ServiceName = 'postgres' | 'redis'

/** The Secrets a chart expects in its own shape (app.wiring.secrets) carry this component label. */
export const CHART_SECRET_COMPONENT = 'chart-credentials'

function labels(project: string, component: string): Record<string, string> {
  return {...MANAGED_BY_LABEL, 'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': `devctl-${component}`, 'app.kubernetes.io/part-of': project}
}

function selector(component: ServiceName): Record<string, string> {
  return {'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': `devctl-${component}`}
}

/** The namespace as devctl creates it: marked with the environment that owns it (see state/ownership.ts). */
export function namespaceManifest(namespace: string, project: string, owner?: {id: string; dir: string}): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      labels: {...MANAGED_BY_LABEL, 'app.kubernetes.io/part-of': project},
      ...(owner ? {annotations: {[OWNER_KEY]: owner.id, [OWNER_DIR_KEY]: owner.dir}} : {}),
    },
  }
}

/** The owner mark a namespace carries. */
export function namespaceMark(namespace: KubernetesObject): Mark {
  const annotations = namespace.metadata?.annotations ?? {}
  return {owner: annotations[OWNER_KEY], dir: annotations[OWNER_DIR_KEY]}
}

/** The passwords in devctl's own Secrets as the cluster holds them (what the databases were initialised with). */
export function passwordsIn(secrets: Array<{name: string; data?: Record<string, string>}>): ProjectSecrets {
  const read = (name: string, key: string) => {
    const encoded = secrets.find((s) => s.name === name)?.data?.[key]
    return encoded ? Buffer.from(encoded, 'base64').toString('utf8') : undefined
  }
  const postgres = read(POSTGRES.secret, 'PGPASSWORD')
  const redis = read(REDIS.secret, 'REDIS_PASSWORD')
  return {...(postgres ? {postgres: {password: postgres}} : {}), ...(redis ? {redis: {password: redis}} : {})}
}

function secret(name: string, namespace: string, project: string, component: string, data: Record<string, string>): KubernetesObject & {stringData: Record<string, string>; type: string} {
  return {apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: {name, namespace, labels: labels(project, component)}, stringData: data}
}

/** A Secret devctl creates: each key with the fact (or template over the facts) its value is made from. */
interface SecretSpec {
  name: string
  component: string
  data: Record<string, (fact: (name: FactName) => string) => string>
}

const fromFact = (name: FactName) => (fact: (name: FactName) => string) => fact(name)

/**
 * devctl's own Secrets (fixed keys the chart reads through envFrom or secretKeyRef), then the
 * Secrets devctl.yaml says the chart expects, with keys built from the same facts. One table
 * says which keys each has (what a chart can read) and what goes in them.
 */
function secretSpecs(config: DevctlConfig): SecretSpec[] {
  const specs: SecretSpec[] = []
  if (config.services.postgres.enabled) {
    specs.push({
      name: POSTGRES.secret,
      component: 'postgres',
      data: {
        // libpq's own variables: psql and most drivers need no flags at all.
        PGHOST: fromFact('postgres.host'),
        PGPORT: fromFact('postgres.port'),
        PGDATABASE: fromFact('postgres.database'),
        PGUSER: fromFact('postgres.user'),
        PGPASSWORD: fromFact('postgres.password'),
        DATABASE_URL: fromFact('postgres.url'),
        // What the official postgres image reads on first start.
        POSTGRES_DB: fromFact('postgres.database'),
        POSTGRES_USER: fromFact('postgres.user'),
        POSTGRES_PASSWORD: fromFact('postgres.password'),
      },
    })
  }
  if (config.services.redis.enabled) {
    specs.push({
      name: REDIS.secret,
      component: 'redis',
      data: {
        REDIS_HOST: fromFact('redis.host'),
        REDIS_PORT: fromFact('redis.port'),
        REDIS_URL: fromFact('redis.url'),
        // Kept even when empty: charts that reference the key need it to exist.
        REDIS_PASSWORD: fromFact('redis.password'),
        // redis-cli reads its password from here without putting it on the command line; an
        // empty one makes it send AUTH to a Redis without a password, which refuses it ("AUTH failed").
        ...(redisHasPassword(config) ? {REDISCLI_AUTH: fromFact('redis.password')} : {}),
      },
    })
  }
  for (const [name, keys] of Object.entries(config.app.wiring.secrets)) {
    const data = Object.fromEntries(Object.entries(keys).map(([key, template]) => [key, (fact: (name: FactName) => string) => String(renderTemplate(template, fact))]))
    specs.push({name, component: CHART_SECRET_COMPONENT, data})
  }
  return specs
}

/** The Secrets devctl creates in the namespace and the keys each has: what a chart can read from devctl. */
export function credentialSecretKeys(config: DevctlConfig): Map<string, string[]> {
  return new Map(secretSpecs(config).map((spec) => [spec.name, Object.keys(spec.data)]))
}

/** The Secrets with their values, from the facts (with `external` services they point there). */
export function credentialSecrets(config: DevctlConfig, names: ResolvedNames, secrets: ProjectSecrets | undefined): KubernetesObject[] {
  const facts = allFacts(config, names, secrets)
  const fact = (name: FactName) => String(facts.get(name))
  return secretSpecs(config).map((spec) => secret(spec.name, names.namespace, config.project, spec.component, Object.fromEntries(Object.entries(spec.data).map(([key, value]) => [key, value(fact)]))))
}

const RESOURCES = {requests: {cpu: '50m', memory: '64Mi'}, limits: {memory: '512Mi'}}

function statefulSet(options: {
  component: ServiceName
  project: string
  namespace: string
  image: string
  port: number
  storage: string
  dataPath: string
  args?: string[]
  env: Array<Record<string, unknown>>
  readiness: string
  /** Files mounted read-only from a ConfigMap of their own. */
  files?: {mountPath: string; data: Record<string, string>}
}): KubernetesObject[] {
  const {component, namespace, files} = options
  const name = `devctl-${component}`
  const podLabels = labels(options.project, component)
  const configName = `${name}-config`
  return [
    ...(files ? [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: configName, namespace, labels: podLabels}, data: files.data} as KubernetesObject] : []),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name, namespace, labels: podLabels},
      spec: {selector: selector(component), ports: [{name: component, port: options.port, targetPort: options.port}]},
    } as KubernetesObject,
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: {name, namespace, labels: podLabels},
      spec: {
        serviceName: name,
        replicas: 1,
        selector: {matchLabels: selector(component)},
        template: {
          metadata: {labels: podLabels},
          spec: {
            containers: [
              {
                name: component,
                image: options.image,
                args: options.args,
                ports: [{name: component, containerPort: options.port}],
                env: options.env,
                readinessProbe: {exec: {command: ['sh', '-c', options.readiness]}, initialDelaySeconds: 2, periodSeconds: 3, timeoutSeconds: 3},
                resources: RESOURCES,
                volumeMounts: [{name: 'data', mountPath: options.dataPath}, ...(files ? [{name: 'config', mountPath: files.mountPath, readOnly: true}] : [])],
              },
            ],
            volumes: files ? [{name: 'config', configMap: {name: configName}}] : undefined,
          },
        },
        volumeClaimTemplates: [
          {
            metadata: {name: 'data', labels: podLabels},
            spec: {accessModes: ['ReadWriteOnce'], storageClassName: 'local-path', resources: {requests: {storage: options.storage}}},
          },
        ],
      },
    } as KubernetesObject,
  ]
}

function fromSecret(secretName: string, ...keys: string[]): Array<Record<string, unknown>> {
  return keys.map((key) => ({name: key, valueFrom: {secretKeyRef: {name: secretName, key}}}))
}

/**
 * Trust auth for charts that cannot send a password. The official image writes pg_hba.conf only
 * when it initialises the data directory, so devctl points Postgres at a file of its own instead:
 * switching back and forth works on an existing volume, and the password it was initialised with
 * stays valid for when password auth is back.
 */
const TRUST_HBA = {dir: '/etc/devctl', file: 'pg_hba.conf', text: 'local all all trust\nhost all all all trust\n'}

/**
 * Append-only persistence; DEBUG allowed from inside the pod only (`local`): `devctl db restore`
 * loads a snapshot's RDB file with DEBUG RELOAD, the one way Redis reads an RDB file while it
 * runs; and a snapshot (`redis-cli --rdb`, a replica's sync) starts at once instead of waiting
 * 5 s for other replicas to join it.
 */
const REDIS_ARGS = ['--appendonly', 'yes', '--enable-debug-command', 'local', '--repl-diskless-sync-delay', '0']

/** Service + StatefulSet for each service that runs in the cluster (not disabled, not external). */
export function serviceManifests(config: DevctlConfig, names: ResolvedNames): Record<ServiceName, KubernetesObject[] | undefined> {
  const {postgres, redis} = config.services
  return {
    postgres:
      postgres.enabled && !postgres.external
        ? statefulSet({
            component: 'postgres',
            project: config.project,
            namespace: names.namespace,
            image: postgres.image,
            port: POSTGRES.port,
            storage: postgres.storage,
            dataPath: '/var/lib/postgresql/data',
            env: [...fromSecret(POSTGRES.secret, 'POSTGRES_DB', 'POSTGRES_USER', 'POSTGRES_PASSWORD'), {name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata'}],
            readiness: 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
            ...(postgres.auth === 'trust' ? {args: ['-c', `hba_file=${TRUST_HBA.dir}/${TRUST_HBA.file}`], files: {mountPath: TRUST_HBA.dir, data: {[TRUST_HBA.file]: TRUST_HBA.text}}} : {}),
          })
        : undefined,
    redis:
      redis.enabled && !redis.external
        ? statefulSet({
            component: 'redis',
            project: config.project,
            namespace: names.namespace,
            image: redis.image,
            port: REDIS.port,
            storage: redis.storage,
            dataPath: '/data',
            ...(redis.auth === 'password'
              ? {
                  // $(VAR) is expanded by the kubelet from the container's env, so the pod spec holds no secret.
                  args: [...REDIS_ARGS, '--requirepass', '$(REDIS_PASSWORD)'],
                  env: fromSecret(REDIS.secret, 'REDIS_PASSWORD', 'REDISCLI_AUTH'),
                }
              : {args: REDIS_ARGS, env: []}),
            readiness: 'redis-cli ping | grep -q PONG',
          })
        : undefined,
  }
}
