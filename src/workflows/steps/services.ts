/**
 * Steps 3 and 4 of `up`: the namespace and the credential Secrets the chart reads, then
 * Postgres and Redis side by side (server-side apply, then wait for their pods to be ready).
 */
import {explainUnhealthyPods} from '../../diagnose/explain.js'
import {ClusterError, ConfigError} from '../../errors.js'
import {isPodReady} from '../../diagnose/pod.js'
import type {KubeClient} from '../../kube/client.js'
import {ifPermitted} from '../../kube/api-failure.js'
import {NamespaceWatch} from '../../kube/namespace-watch.js'
import {statefulSetReadiness} from '../../kube/readiness.js'
import {adoptClusterPasswords, type ProjectSecrets} from '../../secrets/store.js'
import {credentialSecrets, namespaceManifest, namespaceMark, passwordsIn, serviceManifests, type ServiceName} from '../../services/manifests.js'
import {managedByDevctl, POSTGRES, REDIS} from '../../services/naming.js'
import {recordAdoption} from '../../state/identity.js'
import {describeOwner, ownershipOf} from '../../state/ownership.js'
import {assertSecretsOwned} from '../../services/secret-ownership.js'
import type {Connection} from '../connect.js'
import type {Pipeline, Step, StepGroup, StepRun} from '../pipeline.js'
import {k3dCluster, type Project} from '../project.js'
import {trackPods} from './pods.js'
import type {Prerequisites} from './prerequisites.js'

/** Kinds the app namespace is watched for, once, for every later step. */
export const WATCHED_KINDS = ['Pod', 'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job'] as const

/** The app namespace as later steps see it: kept current by watches. */
export function watchNamespace(project: Project, kube: KubeClient, signal: AbortSignal): Promise<NamespaceWatch> {
  return NamespaceWatch.start(kube, project.names.namespace, [...WATCHED_KINDS], signal)
}

export interface NamespaceInput {
  project: Project
  connection: Connection
  prerequisites: Pick<Prerequisites, 'secrets' | 'generated' | 'identity'>
  /** --adopt: use a namespace another checkout of devctl created. */
  adopt: boolean
  /** An existing watch of the namespace (upgrade's plan started one). */
  watch?: NamespaceWatch
}

/**
 * Creates the namespace (marked as this checkout's) or uses the one that exists — one devctl did
 * not create is used as it is, never relabelled, and `down` leaves it — then applies the
 * credential Secrets with the passwords the running databases were initialised with, and
 * watches the namespace.
 */
export const namespaceStep: Step<NamespaceInput, NamespaceWatch> = {
  id: 'namespace',
  title: (project) => `Namespace ${project.names.namespace} and Secrets`,
  async execute(input, run) {
    const {project, connection, watch} = input
    const {kube} = connection
    await ensureNamespace(input, run)
    const secrets = await credentialsInStep(input, run)
    const applied = credentialSecrets(project.config, project.names, secrets)
    await assertSecretsOwned(kube, applied)
    await Promise.all(applied.map((s) => kube.apply(s)))
    const watching = watch ?? (await watchNamespace(project, kube, run.signal))
    run.title(`Namespace ${project.names.namespace}, Secrets ${applied.map((s) => s.metadata?.name).join(', ') || '(none needed)'}`)
    return watching
  },
}

async function ensureNamespace({project, connection, prerequisites, adopt}: NamespaceInput, run: StepRun): Promise<void> {
  const {kube} = connection
  const name = project.names.namespace
  const {identity} = prerequisites
  const manifest = namespaceManifest(name, project.config.project, {id: identity.id, dir: identity.dir})
  const found = await ifPermitted(kube.get('Namespace', undefined, name))
  if (!found.permitted) {
    // A namespace-scoped account cannot read (or create) namespaces: its own must exist already.
    run.note(`this account may not read namespace objects; using namespace ${name} as it is`)
    return
  }
  if (!found.value) return void (await kube.apply(manifest))
  const mark = namespaceMark(found.value)
  const what = `namespace ${name}`
  const ownership = ownershipOf(mark, identity, what)
  if (ownership === 'ours') return void (await kube.apply(manifest))
  if (ownership === 'adopted') return
  if (ownership === 'unmarked') {
    run.warn(`Using the existing namespace ${name}, which devctl did not create: devctl adds its own objects to it, and \`devctl down\` removes only those (never the namespace).`)
    return
  }
  if (!adopt) {
    throw new ClusterError(`Namespace ${name} belongs to ${describeOwner(ownership, mark)}: devctl will not deploy into it or change its credentials.`, {
      hint: 'Use another namespace (app.namespace in devctl.yaml), or take it over with `devctl up --adopt` (it is then used from here but never deleted from here).',
    })
  }
  await recordAdoption(project.stateDir, identity, what, mark.owner)
}

/**
 * The passwords to put in devctl's Secrets: those the running databases were initialised with
 * when the cluster already holds them (a lost or replaced secrets.yaml is corrected, never the
 * database); and no freshly generated password for a database whose data already exists.
 */
async function credentialsInStep({project, connection, prerequisites}: NamespaceInput, run: StepRun): Promise<ProjectSecrets> {
  const {kube} = connection
  const {namespace} = project.names
  const found = await Promise.all([POSTGRES.secret, REDIS.secret].map((name) => kube.get('Secret', namespace, name)))
  const inCluster = passwordsIn(found.filter(managedByDevctl).map((secret) => ({name: secret!.metadata!.name!, data: secret!.data})))
  const {secrets, recovered} = await adoptClusterPasswords(project.dir, prerequisites.secrets, inCluster)
  if (recovered.length > 0) {
    run.warn(
      `The cluster's ${recovered.map((r) => (r === 'postgres' ? 'Postgres' : 'Redis')).join(' and ')} password differs from .devctl/secrets.yaml (lost or replaced?). ` +
        "The database was initialised with the cluster's, so devctl keeps it and saved it to .devctl/secrets.yaml (the previous file is kept as secrets.yaml.bak).",
    )
  }
  if (prerequisites.generated.includes('postgres') && !inCluster.postgres) {
    const volume = await kube.get('PersistentVolumeClaim', namespace, `data-${POSTGRES.service}-0`)
    if (volume) {
      throw new ConfigError(
        `Postgres's data volume ${volume.metadata?.name} exists from an earlier run, but the password it was initialised with is gone: .devctl/secrets.yaml and the cluster's Secret ${POSTGRES.secret} are both missing.`,
        {
          hint: 'Restore .devctl/secrets.yaml from a backup (devctl just wrote a new password there: replace it), or start the data afresh with `devctl down` and `devctl up`.',
        },
      )
    }
  }
  return secrets
}

export interface ServiceInput {
  project: Project
  connection: Connection
  watch: NamespaceWatch
}

function serviceStep(service: ServiceName, name: string): Step<ServiceInput, void> {
  const instance = `devctl-${service}`
  return {
    id: service,
    title: () => name,
    timeoutMs: ({project}) => project.timeouts.rollout,
    async execute({project, connection, watch}, run) {
      for (const object of serviceManifests(project.config, project.names)[service] ?? []) await connection.kube.apply(object)
      const selector = {'app.kubernetes.io/name': service, 'app.kubernetes.io/instance': instance}
      await watch.until(() => {
        const pods = trackPods(watch, run, selector)
        const set = watch.get('StatefulSet', instance)
        // Pods and StatefulSets arrive on separate watches: wait until both tell the same story.
        return set && statefulSetReadiness(set).ready && pods.length > 0 && pods.every(isPodReady) ? true : undefined
      }, run.signal)
      run.title(`${name} ready`)
    },
    async onFailure({project, connection, watch}, _run, error) {
      const pods = watch.list('Pod').filter((pod) => pod.metadata?.labels?.['app.kubernetes.io/instance'] === instance)
      return error.explain({context: `${name} did not become ready`, details: await explainUnhealthyPods(connection.kube, pods, {k3dCluster: k3dCluster(project)})})
    },
  }
}

export const postgresStep = serviceStep('postgres', 'Postgres')
export const redisStep = serviceStep('redis', 'Redis')
export const servicesGroup: StepGroup = {id: 'services', title: () => 'Postgres and Redis', steps: [postgresStep, redisStep]}

/** Why devctl runs no Postgres (or Redis) in the cluster, or undefined when it does. */
export function serviceSkipReason(project: Project, service: ServiceName): string | undefined {
  const settings = project.config.services[service]
  if (!settings.enabled) return 'disabled in devctl.yaml'
  if (settings.external) return `external: ${settings.external.host}`
  return undefined
}

/** Postgres and Redis side by side, each skipped when devctl.yaml runs it elsewhere or not at all. */
export async function runServices(pipeline: Pipeline, input: ServiceInput): Promise<void> {
  const reasons = {postgres: serviceSkipReason(input.project, 'postgres'), redis: serviceSkipReason(input.project, 'redis')}
  if (reasons.postgres && reasons.redis) return pipeline.skip(servicesGroup, 'none to run in the cluster')
  await pipeline.group(servicesGroup, (members) =>
    Promise.all(
      (
        [
          ['postgres', postgresStep],
          ['redis', redisStep],
        ] as const
      ).map(async ([service, step]) => {
        const reason = reasons[service]
        return reason ? members.skip(step, reason) : members.run(step, input)
      }),
    ),
  )
}
