/**
 * `devctl down`: "uninstall the release (its pre-delete hooks run, within the deploy time limit),
 * then delete the cluster — or, when told to keep it, only what devctl put in the namespace;
 * keep Postgres/Redis volumes when told to". It removes only what this checkout created and
 * marked: a cluster or namespace someone else made (or another checkout) is left in place, and
 * it says so. Every action first looks whether there is anything to remove, so running it twice,
 * or on a half-created environment, succeeds and says what it did.
 */
import {rm} from 'node:fs/promises'
import {join} from 'node:path'

import {clusterMark} from '../cluster/k3d-config.js'
import type {LoadedConfig} from '../config/load.js'
import {InterruptedError} from '../errors.js'
import {ifPermitted} from '../kube/api-failure.js'
import type {KubeClient} from '../kube/client.js'
import {namespaceMark} from '../services/manifests.js'
import {MANAGED_BY_SELECTOR} from '../services/naming.js'
import {exists} from '../system/files.js'
import {readIdentity, type EnvironmentIdentity} from '../state/identity.js'
import {describeOwner, mayDelete, mayUse, ownershipOf, type Mark, type Ownership} from '../state/ownership.js'
import type {K3dCluster} from '../tools/k3d.js'
import {connectEnvironment, type Connection} from './connect.js'
import {createProject, type Confirm, type Project, type RunControls} from './project.js'
import {holdLeaseIfShared} from '../state/lease.js'
import {lockEnvironment} from '../state/lock.js'

export interface DownOptions {
  keepCluster: boolean
  keepData: boolean
  purge: boolean
  /** --delete-namespace: also delete a namespace devctl did not create (asks first). */
  deleteNamespace: boolean
}

export interface DownResult {
  /** What `down` acted on: the kube context, the namespace, and the k3d cluster (if any). */
  target: {context: string; namespace: string; cluster?: string}
  removed: string[]
  kept: string[]
}

/** Nothing made by devctl from an identity it never had. */
const NO_IDENTITY: EnvironmentIdentity = {id: '', dir: '', adopted: []}

interface Teardown {
  project: Project
  identity: EnvironmentIdentity
  options: DownOptions
  controls: RunControls
  result: DownResult
}

async function uninstallRelease({project, controls, result}: Teardown, connection: Connection): Promise<void> {
  const {names} = project
  // helm runs the chart's pre-delete hooks, bounded by the same limit as a deploy.
  const ref = {release: names.release, namespace: names.namespace, kube: connection.kubeTarget, timeoutMs: project.timeouts.deploy}
  if (await project.tools.helm.uninstall(ref, controls.forceSignal)) result.removed.push(`release ${names.release}`)
  else result.kept.push(`release ${names.release} (there was none)`)
}

/** devctl's own objects in the namespace; with keepData the volumes (the data) and the passwords they need stay for the next up. */
async function removeServices({project, options, result}: Teardown, kube: KubeClient): Promise<void> {
  const namespace = project.names.namespace
  const kinds = options.keepData ? (['StatefulSet', 'Service', 'ConfigMap'] as const) : (['StatefulSet', 'Service', 'ConfigMap', 'Secret'] as const)
  for (const kind of kinds) {
    for (const object of await kube.list(kind, namespace, {labelSelector: MANAGED_BY_SELECTOR})) {
      await kube.delete(kind, namespace, object.metadata!.name!)
      result.removed.push(`${kind} ${object.metadata!.name}`)
    }
  }
  for (const claim of await kube.list('PersistentVolumeClaim', namespace, {labelSelector: MANAGED_BY_SELECTOR})) {
    if (options.keepData) {
      result.kept.push(`volume ${claim.metadata!.name} (--keep-data)`)
    } else {
      await kube.delete('PersistentVolumeClaim', namespace, claim.metadata!.name!)
      result.removed.push(`volume ${claim.metadata!.name}`)
    }
  }
}

/** The namespace as found: whose it is (no ownership: there is none), or that this account may not read namespaces. */
interface FoundNamespace {
  permitted: boolean
  ownership?: Ownership
  mark: Mark
}

async function findNamespace({project, identity}: Teardown, kube: KubeClient): Promise<FoundNamespace> {
  const name = project.names.namespace
  const found = await ifPermitted(kube.get('Namespace', undefined, name))
  if (!found.permitted || !found.value) return {permitted: found.permitted, mark: {}}
  const mark = namespaceMark(found.value)
  return {permitted: true, ownership: ownershipOf(mark, identity, `namespace ${name}`), mark}
}

/** The namespace goes only when this checkout created it; one it did not goes only with --delete-namespace and consent. */
async function removeNamespace(teardown: Teardown, kube: KubeClient, namespace: FoundNamespace, confirm: Confirm): Promise<void> {
  const {project, options, result} = teardown
  const name = project.names.namespace
  // --keep-data keeps it (the volumes are in it); another checkout's is still named: nothing in it was removed.
  if (options.keepData && namespace.ownership !== 'foreign') return
  if (!namespace.permitted) return void result.kept.push(`namespace ${name} (this account may not read or delete namespaces)`)
  if (!namespace.ownership) return
  if (!mayDelete(namespace.ownership)) {
    const owner = describeOwner(namespace.ownership, namespace.mark)
    const asked = !options.keepData && options.deleteNamespace && (await confirm({flag: '--yes', message: `Delete namespace ${name}, which belongs to ${owner}, with everything in it?`, details: []}))
    if (!asked) return void result.kept.push(`namespace ${name} (it belongs to ${owner}; --delete-namespace deletes it, asking first)`)
  }
  await kube.delete('Namespace', undefined, name)
  result.removed.push(`namespace ${name}`)
}

/**
 * After a Ctrl-C, what was under way (helm, k3d) was let finish; nothing new starts, and the
 * user hears what was removed and that `down` did not get to the rest.
 */
function stopIfInterrupted(controls: RunControls, result: DownResult): void {
  if (!controls.signal.aborted) return
  throw new InterruptedError(result.removed.length ? `Interrupted after removing ${result.removed.join(', ')}.` : 'Interrupted before anything was removed.', {
    hint: 'Run `devctl down` again to finish.',
  })
}

/**
 * What to do with the k3d cluster: delete it (everything goes with it), stop it, keep it (and
 * why), or leave it untouched: a cluster `up` would not use is another's, its release and data too.
 */
type ClusterPlan = {action: 'delete' | 'stop'} | {action: 'keep' | 'leave'; why: string}

function clusterPlan(teardown: Teardown, cluster: K3dCluster): ClusterPlan {
  const {options, identity, project} = teardown
  const mark = clusterMark(cluster.labels)
  const ownership = ownershipOf(mark, identity, `cluster ${project.names.clusterName}`)
  if (!mayUse(ownership)) return {action: 'leave', why: `it belongs to ${describeOwner(ownership, mark)}; devctl changed nothing in it`}
  if (!mayDelete(ownership)) return {action: 'keep', why: `it belongs to ${describeOwner(ownership, mark)}`}
  if (options.keepCluster) return {action: 'keep', why: '--keep-cluster'}
  return {action: options.keepData ? 'stop' : 'delete'}
}

export async function down(loaded: LoadedConfig, options: DownOptions, controls: RunControls): Promise<DownResult> {
  const project = createProject(loaded, controls.kubeModule)
  const {names} = project
  const k3d = project.config.cluster.provider === 'k3d'
  const result: DownResult = {target: {context: names.kubeContext, namespace: names.namespace, ...(k3d ? {cluster: names.clusterName} : {})}, removed: [], kept: []}
  const lock = await lockEnvironment(project.stateDir, 'down')
  try {
    return await tearDown({project, identity: (await readIdentity(project.stateDir, project.dir)) ?? NO_IDENTITY, options, controls, result})
  } finally {
    await lock.release()
  }
}

async function tearDown(teardown: Teardown): Promise<DownResult> {
  const {project, options, controls, result} = teardown
  const {names} = project
  const k3d = project.config.cluster.provider === 'k3d'
  const cluster = k3d ? ((await project.tools.k3d.find(names.clusterName, controls.signal)) ?? null) : undefined
  const plan = cluster ? clusterPlan(teardown, cluster) : undefined

  if (k3d && !cluster) {
    result.kept.push(`cluster ${names.clusterName} (there was none)`)
  } else if (plan?.action === 'leave') {
    result.kept.push(`cluster ${names.clusterName} (${plan.why})`)
  } else if (cluster && !cluster.running) {
    // A stopped cluster's release cannot be uninstalled (its pre-delete hooks would need it running).
    if (plan?.action === 'delete') await act(teardown, () => deleteCluster(teardown))
    else result.kept.push(`cluster ${names.clusterName} (stopped; its data is kept)`)
  } else {
    const connection = await connectEnvironment(project, controls.signal, cluster)
    const lease = await holdLeaseIfShared(!k3d, connection.kube, names.namespace, 'down', (message) => result.kept.push(`no Lease: ${message}`))
    try {
      await removeFromCluster(teardown, connection, plan)
    } finally {
      await lease?.release()
    }
  }

  if (options.purge && (await exists(project.stateDir))) {
    await rm(project.stateDir, {recursive: true, force: true})
    result.removed.push('.devctl/ (generated passwords and local state)')
  }
  return result
}

/** Do one removal, then stop there if Ctrl-C came meanwhile. */
async function act(teardown: Teardown, action: () => Promise<void>): Promise<void> {
  await action()
  stopIfInterrupted(teardown.controls, teardown.result)
}

/** With the cluster running: uninstall, then delete the cluster — or clean the namespace, and stop or keep the cluster. */
async function removeFromCluster(teardown: Teardown, connection: Connection, plan: ClusterPlan | undefined): Promise<void> {
  const {project, controls, result} = teardown
  const {clusterName} = project.names
  const namespace = await findNamespace(teardown, connection.kube)
  // Another checkout's namespace (`up` refuses it without --adopt): its release and data are not this one's to remove.
  const anotherCheckouts = namespace.ownership === 'foreign'
  if (!anotherCheckouts) await act(teardown, () => uninstallRelease(teardown, connection))
  // Deleting the cluster removes everything in it; only the kept cases need finer work.
  if (plan?.action === 'delete') return act(teardown, () => deleteCluster(teardown))
  if (!anotherCheckouts) await act(teardown, () => removeServices(teardown, connection.kube))
  await act(teardown, () => removeNamespace(teardown, connection.kube, namespace, controls.confirm ?? (async () => false)))
  if (plan?.action === 'stop') {
    // The data lives inside the cluster: stop it (freeing CPU and memory) rather than delete it.
    await act(teardown, async () => {
      await project.tools.k3d.stop(clusterName, controls.forceSignal)
      result.removed.push(`running cluster ${clusterName} (stopped; \`devctl up\` starts it with the data)`)
    })
  } else if (plan?.action === 'keep') {
    result.kept.push(`cluster ${clusterName} (${plan.why})`)
  }
}

/** "Postgres and Redis": the services whose data lives in the cluster ('' for none). */
function inClusterData(project: Project): string {
  const services = (['postgres', 'redis'] as const).filter((name) => project.config.services[name].enabled && !project.config.services[name].external)
  return services.map((name) => (name === 'postgres' ? 'Postgres' : 'Redis')).join(' and ')
}

async function deleteCluster({project, controls, result}: Teardown): Promise<void> {
  const name = project.names.clusterName
  await project.tools.k3d.delete(name, controls.forceSignal)
  const data = inClusterData(project)
  result.removed.push(`k3d cluster ${name} and everything in it${data ? `: the ${data} data (\`devctl down --keep-data\` keeps it)` : ''}`)
  // The cluster's credentials are worthless now.
  await rm(join(project.stateDir, 'kubeconfig'), {force: true})
}
