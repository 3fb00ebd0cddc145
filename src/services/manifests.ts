/**
 * What devctl runs next to the chart: the namespace, the credential Secrets the chart reads
 * (envFrom), and Postgres and Redis as StatefulSets with a PVC each (k3s's local-path class:
 * WaitForFirstConsumer, so a PVC stays Pending until its pod is scheduled — that is normal).
 */
import type {DevctlConfig} from '../config/schema.js'
import type {ResolvedNames} from '../config/load.js'
import {PrerequisiteError} from '../errors.js'
import type {KubernetesObject} from '../kube/types.js'
import {registerSecret} from '../secrets/redact.js'
import type {ProjectSecrets} from '../secrets/store.js'
import {MANAGED_BY_LABEL, POSTGRES, REDIS} from './naming.js'

export type ServiceName = 'postgres' | 'redis'

function labels(project: string, component: ServiceName): Record<string, string> {
  return {...MANAGED_BY_LABEL, 'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': `devctl-${component}`, 'app.kubernetes.io/part-of': project}
}

function selector(component: ServiceName): Record<string, string> {
  return {'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': `devctl-${component}`}
}

export function namespaceManifest(namespace: string, project: string): KubernetesObject {
  return {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace, labels: {...MANAGED_BY_LABEL, 'app.kubernetes.io/part-of': project}}}
}

function secret(name: string, namespace: string, project: string, component: ServiceName, data: Record<string, string>): KubernetesObject & {stringData: Record<string, string>; type: string} {
  return {apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: {name, namespace, labels: labels(project, component)}, stringData: data}
}

function passwordFromEnv(variable: string, service: string): string {
  const value = process.env[variable]
  if (!value) {
    throw new PrerequisiteError(`devctl.yaml says the external ${service} password is in $${variable}, but that variable is not set.`, {
      hint: `Export ${variable} before running devctl (for example from your password manager).`,
    })
  }
  registerSecret(value)
  return value
}

/** The Secrets the chart reads through envFrom; with `external` services they point there. */
export function credentialSecrets(config: DevctlConfig, names: ResolvedNames, secrets: ProjectSecrets): KubernetesObject[] {
  const objects: KubernetesObject[] = []
  const {postgres, redis} = config.services
  if (postgres.enabled) {
    const external = postgres.external
    const host = external?.host ?? POSTGRES.service
    const port = external?.port ?? POSTGRES.port
    const database = external?.database ?? names.database
    const user = external?.user ?? names.databaseUser
    const password = external ? passwordFromEnv(external.passwordEnv, 'Postgres') : secrets.postgres.password
    const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`
    registerSecret(url)
    objects.push(
      secret(POSTGRES.secret, names.namespace, config.project, 'postgres', {
        // libpq's own variables: psql and most drivers need no flags at all.
        PGHOST: host,
        PGPORT: String(port),
        PGDATABASE: database,
        PGUSER: user,
        PGPASSWORD: password,
        DATABASE_URL: url,
        // What the official postgres image reads on first start.
        POSTGRES_DB: database,
        POSTGRES_USER: user,
        POSTGRES_PASSWORD: password,
      }),
    )
  }
  if (redis.enabled) {
    const external = redis.external
    const host = external?.host ?? REDIS.service
    const port = external?.port ?? REDIS.port
    const password = external ? (external.passwordEnv ? passwordFromEnv(external.passwordEnv, 'Redis') : '') : secrets.redis.password
    const url = password ? `redis://:${encodeURIComponent(password)}@${host}:${port}/0` : `redis://${host}:${port}/0`
    registerSecret(url)
    objects.push(
      secret(REDIS.secret, names.namespace, config.project, 'redis', {
        REDIS_HOST: host,
        REDIS_PORT: String(port),
        REDIS_URL: url,
        REDIS_PASSWORD: password,
        // redis-cli reads its password from here without putting it on the command line.
        REDISCLI_AUTH: password,
      }),
    )
  }
  return objects
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
}): KubernetesObject[] {
  const {component, namespace} = options
  const name = `devctl-${component}`
  const podLabels = labels(options.project, component)
  return [
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
                volumeMounts: [{name: 'data', mountPath: options.dataPath}],
              },
            ],
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
            // $(VAR) is expanded by the kubelet from the container's env, so the pod spec holds no secret.
            args: ['--appendonly', 'yes', '--requirepass', '$(REDIS_PASSWORD)'],
            env: fromSecret(REDIS.secret, 'REDIS_PASSWORD', 'REDISCLI_AUTH'),
            readiness: 'redis-cli ping | grep -q PONG',
          })
        : undefined,
  }
}
