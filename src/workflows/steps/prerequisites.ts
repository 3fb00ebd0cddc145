/**
 * Step 1 of `up` and `upgrade`: everything that can be checked before anything changes —
 * values files, secrets, docker, k3d, helm, free host ports, and the config's own prerequisite
 * hooks. Every failing check is reported, not only the first.
 */
import {describeBusyPort, portsToBind, probeHostPorts, type ClusterBinding} from '../../cluster/host-ports.js'
import {clusterMark, readCreatedWith, type ClusterShape} from '../../cluster/k3d-config.js'
import {readValuesFile} from '../../config/yaml-file.js'
import {ClusterError, DevctlError, PrerequisiteError} from '../../errors.js'
import {describeComposedChange, syncComposedValues} from '../../scaffold/composed-values.js'
import {ensureSecrets, neededPasswords, type PasswordOwner, type ProjectSecrets} from '../../secrets/store.js'
import {environmentIdentity, recordAdoption, type EnvironmentIdentity} from '../../state/identity.js'
import {describeOwner, mayUse, ownershipOf} from '../../state/ownership.js'
import {Helm} from '../../tools/helm.js'
import {K3d, type K3dCluster} from '../../tools/k3d.js'
import type {Step, StepRun} from '../pipeline.js'
import type {Project} from '../project.js'
import {runHooks} from './hooks.js'

export interface Prerequisites {
  secrets: ProjectSecrets
  /** Passwords generated just now (none existed for them): a running environment's own may exist. */
  generated: PasswordOwner[]
  helmMajor: number
  /** This checkout's environment id: what devctl creates carries it. */
  identity: EnvironmentIdentity
  /** For provider k3d: the cluster as found before anything changed (undefined: none yet). */
  k3d?: {version: string; cluster?: K3dCluster; createdWith?: ClusterShape}
}

export interface PrerequisitesInput {
  project: Project
  /** --adopt: take over a cluster another checkout (or not devctl) created. */
  adopt: boolean
}

async function assertValuesFiles(project: Project): Promise<void> {
  for (const file of project.valuesFiles) await readValuesFile(file)
}

/**
 * A k3d cluster of this name that another checkout (or not devctl) created is not reused: its
 * data and credentials are someone else's. --adopt takes it over (used, never deleted).
 */
async function claimCluster(project: Project, cluster: K3dCluster, identity: EnvironmentIdentity, adopt: boolean): Promise<EnvironmentIdentity> {
  const what = `cluster ${cluster.name}`
  const mark = clusterMark(cluster.labels)
  const ownership = ownershipOf(mark, identity, what)
  if (mayUse(ownership)) return identity
  if (adopt) return recordAdoption(project.stateDir, identity, what, mark.owner)
  throw new ClusterError(`The k3d cluster ${cluster.name} already exists, and it belongs to ${describeOwner(ownership, mark)}: devctl will not deploy into it or change its credentials.`, {
    hint: `Give this checkout its own environment with another \`project:\` (or cluster.name) in devctl.yaml, or take the cluster over with \`devctl up --adopt\` (it is then used from here but never deleted from here).`,
  })
}

/** k3d's version, and the project's cluster: listing clusters needs Docker, so it doubles as the Docker check. */
async function inspectK3d(project: Project, signal: AbortSignal): Promise<NonNullable<Prerequisites['k3d']>> {
  const [version, cluster] = await Promise.all([
    project.tools.k3d.version(signal),
    project.tools.k3d.find(project.names.clusterName, signal).catch(async (error: unknown) => {
      // When listing fails, docker itself says what is wrong (not running, not installed) more clearly than k3d.
      await project.tools.docker.info(signal)
      throw error
    }),
  ])
  K3d.assertSupported(version)
  return {version, cluster, createdWith: cluster ? await readCreatedWith(project.stateDir) : undefined}
}

async function assertPortsFree(project: Project, k3d: NonNullable<Prerequisites['k3d']>): Promise<void> {
  const binding: ClusterBinding = k3d.cluster ? {exists: true, running: k3d.cluster.running, createdWith: k3d.createdWith} : {exists: false}
  const busy = (await probeHostPorts(portsToBind(project.config, project.names, binding), project.names, binding)).filter((p) => !p.free)
  const [first, ...others] = busy
  if (!first) return
  throw new PrerequisiteError(describeBusyPort(first), {details: others.map(describeBusyPort), hint: first.fix})
}

/** The first failure, with the others listed under it: one run of `up` shows everything to fix. */
function combine(failures: unknown[]): unknown {
  const [first, ...others] = failures
  if (!(first instanceof DevctlError) || others.length === 0) return first
  const unexpected = others.find((error) => !(error instanceof DevctlError))
  if (unexpected) return unexpected
  return first.explain({details: (others as DevctlError[]).map((error) => `also: ${error.message}${error.hint ? ` → ${error.hint}` : ''}`)})
}

export const prerequisitesStep: Step<PrerequisitesInput, Prerequisites> = {
  id: 'prerequisites',
  title: () => 'Prerequisites',
  async execute({project, adopt}, run: StepRun) {
    const usesK3d = project.config.cluster.provider === 'k3d'
    // Independent checks run side by side: each is a process start or a file read.
    const checks = await Promise.allSettled([
      // Values devctl composes (app.wiring.values) are brought in step with devctl.yaml first.
      syncComposedValues(project.loaded)
        .then((changes) => changes.forEach((change) => run.warn(describeComposedChange(change))))
        .then(() => assertValuesFiles(project)),
      ensureSecrets(project.dir, neededPasswords(project.config)),
      project.tools.helm.version(run.signal).then((helm) => {
        Helm.assertSupported(helm.version, {skipSchemaValidation: project.config.app.skipSchemaValidation})
        return helm
      }),
      usesK3d ? inspectK3d(project, run.signal) : Promise.resolve(undefined),
      environmentIdentity(project.stateDir, project.dir),
    ])
    const failures = checks.flatMap((check) => (check.status === 'rejected' ? [check.reason as unknown] : []))
    const [, secrets, helm, k3d, identity] = checks
    const cluster = k3d.status === 'fulfilled' ? k3d.value : undefined
    let owner = identity.status === 'fulfilled' ? identity.value : undefined
    if (cluster?.cluster && owner) owner = await claimCluster(project, cluster.cluster, owner, adopt).catch((error: unknown) => void failures.push(error))
    // A running cluster holds its own ports; only check them when they are about to be bound.
    if (cluster) await assertPortsFree(project, cluster).catch((error: unknown) => failures.push(error))
    if (failures.length > 0 || !owner) throw combine(failures)
    // Every check passed (a failure was thrown above).
    const value = <T>(result: PromiseSettledResult<T>) => (result as PromiseFulfilledResult<T>).value
    const found = {secrets: value(secrets), helm: value(helm), k3d: cluster, identity: owner}
    const {generated} = found.secrets
    if (generated.length > 0) run.note(`generated the ${generated.join(' and ')} password into .devctl/secrets.yaml`)
    await runHooks(project, 'prerequisites', run)
    run.title(`Prerequisites: helm ${found.helm.version}${found.k3d ? `, k3d ${found.k3d.version}` : ''}`)
    return {secrets: found.secrets.secrets, generated, helmMajor: found.helm.major, identity: found.identity, k3d: found.k3d}
  },
}
