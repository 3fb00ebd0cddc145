/**
 * What helm's action package does to a cluster, through REST only: build objects from a
 * release manifest, check ownership, create/update/delete them (client-side patches for helm 3,
 * server-side apply for helm 4), run hooks in weight order with their delete policies, and wait.
 * Every wait runs on the simulator clock, so `--timeout 5m` is scenario time.
 */
import type {KubeObject, SimClock} from '../apiserver/contract.js'
import {classify, type Manifest, parseManifests, sortByKind, splitTemplateOutput, uninstallOrder} from './helm-chart.js'
import {type Hook, helmNow, type Release, type ReleaseStorage} from './helm-release.js'
import type {HelmVersion} from './host.js'
import {KubeApiError, type KubeClient, NoKindMatchError} from './kube-client.js'
import {kstatus, legacyReady} from './readiness.js'

export type WaitStrategy = 'none' | 'legacy' | 'watcher'

/** hashicorp/go-multierror's format, which helm 3 uses for batched operations. */
export function multiError(errors: string[]): string {
  if (errors.length === 1) return `1 error occurred:\n\t* ${errors[0]}\n\n`
  return `${errors.length} errors occurred:\n\t${errors.map((e) => `* ${e}`).join('\n\t')}\n\n`
}

function clone<T>(value: T): T {
  return structuredClone(value)
}

function describe(object: KubeObject): string {
  return object.metadata.namespace ? `${object.kind} "${object.metadata.name}" in namespace "${object.metadata.namespace}"` : `${object.kind} "${object.metadata.name}"`
}

const managedBy = 'app.kubernetes.io/managed-by'
const releaseNameKey = 'meta.helm.sh/release-name'
const releaseNamespaceKey = 'meta.helm.sh/release-namespace'

/** A JSON merge patch that turns `from` into `to` for maps (lists are replaced whole). */
function mergePatch(from: unknown, to: unknown): unknown {
  if (typeof from !== 'object' || from === null || Array.isArray(from) || typeof to !== 'object' || to === null || Array.isArray(to)) return to
  const patch: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(to)) patch[key] = mergePatch((from as Record<string, unknown>)[key], value)
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null
  return patch
}

export class ReleaseEngine {
  constructor(
    readonly kube: KubeClient,
    readonly helm: HelmVersion,
    readonly clock: SimClock,
    readonly signal: AbortSignal,
    /** helm 4's server-side apply (its default); otherwise client-side creates and patches. */
    readonly serverSide: boolean,
  ) {}

  private sleep(ms: number): Promise<void> {
    return this.clock.sleep(ms, this.signal)
  }

  /** Resolves after `ms` of scenario time (a --timeout). */
  deadline(ms: number): {expired: () => boolean; cancel: () => void} {
    let expired = false
    const stop = new AbortController()
    this.clock.sleep(ms, AbortSignal.any([stop.signal, this.signal])).then(
      () => (expired = true),
      () => undefined,
    )
    return {expired: () => expired, cancel: () => stop.abort()}
  }

  /** helm's KubeClient.Build + setMetadataVisitor: namespaced objects get the release namespace. */
  async build(manifests: readonly Manifest[], release: {name: string; namespace: string}, ownership: boolean): Promise<KubeObject[]> {
    return Promise.all(
      manifests.map(async (manifest) => {
        const object = clone(manifest.object)
        let namespaced: boolean
        try {
          namespaced = await this.kube.isNamespaced(object.apiVersion, object.kind)
        } catch (error) {
          if (!(error instanceof NoKindMatchError)) throw error
          throw new Error(`resource mapping not found for name: "${object.metadata.name}" namespace: "${object.metadata.namespace ?? ''}" from "": ${error.message}\nensure CRDs are installed first`)
        }
        if (namespaced) object.metadata.namespace ??= release.namespace
        else delete object.metadata.namespace
        if (ownership) {
          object.metadata.labels = {...object.metadata.labels, [managedBy]: 'Helm'}
          object.metadata.annotations = {...object.metadata.annotations, [releaseNameKey]: release.name, [releaseNamespaceKey]: release.namespace}
        }
        return object
      }),
    )
  }

  /** The objects of a stored release's manifest. */
  async buildFromManifest(manifest: string, release: {name: string; namespace: string}): Promise<KubeObject[]> {
    return this.build(classify(splitTemplateOutput(manifest)).manifests, release, true)
  }

  /**
   * helm's existingResourceConflict: objects that already exist must belong to this release and
   * are adopted; with --take-ownership (requireAdoption) any existing object is adopted.
   */
  async adoptable(objects: KubeObject[], release: {name: string; namespace: string}, takeOwnership: boolean): Promise<KubeObject[]> {
    const adopted: KubeObject[] = []
    for (const object of objects) {
      const live = await this.kube.get({...object, name: object.metadata.name, namespace: object.metadata.namespace})
      if (!live) continue
      if (takeOwnership) {
        adopted.push(object)
        continue
      }
      const problems: string[] = []
      const labels = live.metadata.labels ?? {}
      const annotations = live.metadata.annotations ?? {}
      if (labels[managedBy] !== 'Helm') problems.push(`label validation error: ${labels[managedBy] === undefined ? 'missing key' : 'key'} "${managedBy}": must be set to "Helm"`)
      for (const [key, want] of [[releaseNameKey, release.name], [releaseNamespaceKey, release.namespace]] as const) {
        if (annotations[key] !== want) problems.push(`annotation validation error: ${annotations[key] === undefined ? `missing key "${key}": must be set to "${want}"` : `key "${key}" must equal "${want}": current value is "${annotations[key]}"`}`)
      }
      if (problems.length > 0) throw new Error(`${describe(object)} exists and cannot be imported into the current release: invalid ownership metadata; ${problems.join('; ')}`)
      adopted.push(object)
    }
    return adopted
  }

  /** Creates an object with a POST, or a server-side apply. */
  async create(object: KubeObject): Promise<void> {
    if (this.serverSide) await this.kube.apply(object, 'helm', false)
    else await this.kube.create(object)
  }

  /** Brings a live object to `target`: a patch from the previous manifest, or an apply. */
  async update(previous: KubeObject | undefined, target: KubeObject): Promise<void> {
    if (this.serverSide) {
      await this.kube.apply(target, 'helm', true)
      return
    }
    await this.kube.patch(target, mergePatch(previous ?? {}, target))
  }

  /** helm's Create for a batch, with helm 3's aggregated error. */
  async createAll(objects: KubeObject[]): Promise<void> {
    const errors: string[] = []
    for (const object of objects) {
      await this.create(object).catch((error: unknown) => {
        if (!(error instanceof KubeApiError)) throw error
        errors.push(error.message)
      })
    }
    if (errors.length > 0) throw new Error(this.helm === 3 ? multiError(errors) : errors.join('\n'))
  }

  /** helm's Update: create what is new, patch what exists, delete what the new manifest dropped. */
  async updateAll(current: KubeObject[], target: KubeObject[]): Promise<{created: KubeObject[]}> {
    const key = (o: KubeObject): string => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`
    const previous = new Map(current.map((o) => [key(o), o]))
    const created: KubeObject[] = []
    const errors: string[] = []
    for (const object of target) {
      try {
        const live = await this.kube.get({...object, name: object.metadata.name, namespace: object.metadata.namespace})
        if (!live) {
          await this.create(object)
          created.push(object)
        } else await this.update(previous.get(key(object)), object)
      } catch (error) {
        if (!(error instanceof KubeApiError)) throw error
        errors.push(this.helm === 3 ? `cannot patch "${object.metadata.name}" with kind ${object.kind}: ${error.message}` : error.message)
      }
    }
    if (errors.length > 0) throw new Error(errors.join(' && '))
    const wanted = new Set(target.map(key))
    const removed = current.filter((o) => !wanted.has(key(o)) && o.metadata.annotations?.['helm.sh/resource-policy'] !== 'keep')
    for (const object of sortByKind(removed, (o) => o.kind, uninstallOrder)) await this.kube.delete({...object, name: object.metadata.name, namespace: object.metadata.namespace})
    return {created}
  }

  /** Deletes in uninstall order; returns what was kept by `helm.sh/resource-policy: keep`. */
  async deleteAll(objects: KubeObject[]): Promise<KubeObject[]> {
    const kept = objects.filter((o) => o.metadata.annotations?.['helm.sh/resource-policy'] === 'keep')
    for (const object of sortByKind(objects.filter((o) => !kept.includes(o)), (o) => o.kind, uninstallOrder)) {
      await this.kube.delete({...object, name: object.metadata.name, namespace: object.metadata.namespace})
    }
    return kept
  }

  /** uninstall --wait: every object gone within the timeout. */
  async waitDeleted(objects: KubeObject[], timeoutMs: number): Promise<void> {
    for (const object of objects) await this.waitForDeletion(object, timeoutMs)
  }

  private async waitForDeletion(object: KubeObject, timeoutMs: number): Promise<void> {
    const deadline = this.deadline(timeoutMs)
    try {
      while (await this.kube.get({...object, name: object.metadata.name, namespace: object.metadata.namespace})) {
        if (deadline.expired()) throw new Error('timed out waiting for the condition')
        await this.sleep(2000)
      }
    } finally {
      deadline.cancel()
    }
  }

  private async deleteHookByPolicy(hook: Hook, policy: string, namespace: string, timeoutMs: number): Promise<void> {
    if (hook.kind === 'CustomResourceDefinition' || !hook.delete_policies.includes(policy)) return
    for (const object of await this.hookObjects(hook, namespace)) {
      await this.kube.delete({...object, name: object.metadata.name, namespace: object.metadata.namespace})
      await this.waitForDeletion(object, timeoutMs)
    }
  }

  private async hookObjects(hook: Hook, namespace: string): Promise<KubeObject[]> {
    return this.build(parseManifests(hook.path, hook.manifest), {name: '', namespace}, false)
  }

  /**
   * Runs the hooks of one event (helm's execHook): by weight then name, each created and
   * watched until it completes; the release record is written as each hook starts.
   */
  async runHooks(release: Release, event: string, timeoutMs: number, storage: ReleaseStorage): Promise<void> {
    const hooks = release.hooks.filter((h) => h.events.includes(event)).sort((a, b) => a.weight - b.weight || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const hook of hooks) {
      if (hook.delete_policies.length === 0) hook.delete_policies = ['before-hook-creation']
      await this.deleteHookByPolicy(hook, 'before-hook-creation', release.namespace, timeoutMs)
      const objects = await this.hookObjects(hook, release.namespace)
      hook.last_run = {started_at: helmNow(), phase: 'Running'}
      await storage.update(release)
      hook.last_run.phase = 'Unknown'
      try {
        for (const object of objects) await this.create(object)
      } catch (error) {
        if (!(error instanceof KubeApiError)) throw error
        hook.last_run = {...hook.last_run, completed_at: helmNow(), phase: 'Failed'}
        throw new Error(`warning: Hook ${event} ${hook.path} failed: ${error.message}`)
      }
      const failure = await this.watchHook(objects, timeoutMs)
      hook.last_run.completed_at = helmNow()
      if (failure !== undefined) {
        hook.last_run.phase = 'Failed'
        await this.deleteHookByPolicy(hook, 'hook-failed', release.namespace, timeoutMs)
        throw new Error(failure)
      }
      hook.last_run.phase = 'Succeeded'
    }
    for (const hook of [...hooks].reverse()) await this.deleteHookByPolicy(hook, 'hook-succeeded', release.namespace, timeoutMs)
  }

  /** Watches a hook's Jobs/Pods to the end; returns the failure text helm would report. */
  private async watchHook(objects: KubeObject[], timeoutMs: number): Promise<string | undefined> {
    const failures: string[] = []
    for (const object of objects.filter((o) => o.kind === 'Job' || o.kind === 'Pod')) {
      const failure = await this.watchUntilDone(object, timeoutMs)
      if (failure !== undefined) failures.push(failure)
    }
    if (failures.length === 0) return undefined
    return this.helm === 3 ? multiError(failures) : failures.join('\n')
  }

  private async watchUntilDone(object: KubeObject, timeoutMs: number): Promise<string | undefined> {
    const ref = {...object, name: object.metadata.name, namespace: object.metadata.namespace}
    const stop = new AbortController()
    const timedOut = this.clock.sleep(timeoutMs, AbortSignal.any([stop.signal, this.signal])).then(
      () => 'timeout' as const,
      () => 'cancelled' as const,
    )
    // Its own signal, so ending the wait also ends the open watch request.
    const events = this.kube.withSignal(AbortSignal.any([stop.signal, this.signal])).watchObject(ref)
    let last: KubeObject | undefined
    try {
      for (;;) {
        const next = await Promise.race([events.next(), timedOut])
        if (next === 'timeout') {
          return this.helm === 3 ? 'timed out waiting for the condition' : `resource ${object.kind}/${ref.namespace}/${ref.name} not ready. status: InProgress, message: ${last ? kstatus(last, true).message : 'Resource not found'}\ncontext deadline exceeded`
        }
        if (next === 'cancelled' || next.done) throw this.signal.reason
        const event = next.value
        if (event.type === 'DELETED') return undefined
        last = event.object
        const verdict = this.hookVerdict(event.object)
        if (verdict !== 'running') return verdict === 'done' ? undefined : verdict
      }
    } finally {
      stop.abort()
      await events.return(undefined).catch(() => undefined)
    }
  }

  /** helm 3's waitForJob/waitForPodSuccess, helm 4's custom job and pod status readers. */
  private hookVerdict(object: KubeObject): 'done' | 'running' | string {
    const status = (object.status ?? {}) as {phase?: string; conditions?: Array<{type: string; status: string; reason?: string}>}
    const ref = `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`
    if (object.kind === 'Pod') {
      if (status.phase === 'Succeeded') return 'done'
      if (status.phase === 'Failed') return this.helm === 3 ? `pod ${object.metadata.name} failed` : `resource ${ref} not ready. status: Failed, message: Pod has completed, but not successfully`
      return 'running'
    }
    const failed = status.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')
    if (status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) return 'done'
    if (failed) return this.helm === 3 ? `job ${object.metadata.name} failed: ${failed.reason ?? ''}` : `resource ${ref} not ready. status: Failed, message: ${kstatus(object, true).message}`
    return 'running'
  }

  /** helm's --wait: polls (legacy) or watches (kstatus) until every resource is ready. */
  async waitReady(objects: KubeObject[], timeoutMs: number, strategy: WaitStrategy, waitForJobs: boolean): Promise<void> {
    if (strategy === 'none') return
    const deadline = this.deadline(timeoutMs)
    try {
      for (;;) {
        const live = await Promise.all(objects.map((o) => this.kube.get({...o, name: o.metadata.name, namespace: o.metadata.namespace})))
        if (strategy === 'legacy') {
          if (live.every((o) => o !== undefined && legacyReady(o, waitForJobs))) return
          if (deadline.expired()) throw new Error('context deadline exceeded')
        } else {
          const statuses = live.map((o, i) => ({object: o ?? (objects[i] as KubeObject), status: o ? kstatus(o, waitForJobs) : {status: 'InProgress' as const, message: 'Resource not found'}}))
          const pending = statuses.filter((s) => s.status.status !== 'Current')
          const settled = pending.every((s) => s.status.status === 'Failed')
          if (pending.length === 0) return
          if (settled || deadline.expired()) {
            const lines = pending.map((s) => `resource ${s.object.kind}/${s.object.metadata.namespace ?? ''}/${s.object.metadata.name} not ready. status: ${s.status.status}, message: ${s.status.message}`)
            throw new Error([...lines, ...(settled ? [] : ['context deadline exceeded'])].join('\n'))
          }
        }
        await this.sleep(2000)
      }
    } finally {
      deadline.cancel()
    }
  }
}
