/**
 * The registry layer of one cluster: what a REST verb does to the store. HTTP handlers and the
 * simulated controllers both go through it, so defaulting, validation, generation, finalizers,
 * graceful pod deletion and deletion propagation behave the same whoever writes.
 */
import {randomUUID} from 'node:crypto'

import {admit, randomSuffix, validate, type AdmissionContext} from './admission.js'
import type {KubeObject} from './contract.js'
import {toServed, toStored} from './conversion.js'
import {alreadyExists, ApiError, badRequest, conflict, forbidden, notFound, objectModified, patchMediaTypes, unsupportedMediaType, type StatusBody} from './errors.js'
import {recordUpdate, serverSideApply} from './fields.js'
import {clone, dropNullFields, isJsonObject, jsonEqual, scalarText, type JsonObject} from './json.js'
import {jsonPatch, mergePatch, strategicMergePatch} from './patch.js'
import {apiVersionOf, type ResourceRegistry, type ResourceType} from './resources.js'
import {checkFieldSelector, fieldsMatch, labelsMatch, parseFieldSelector, parseLabelSelector} from './selectors.js'
import type {ObjectStore} from './store.js'

export interface WriteOptions {
  /** Who writes; recorded in managedFields for requests from clients. */
  fieldManager?: string
  /** A component (not a client) creates it: status is kept as given. */
  internal?: boolean
  subresource?: string
  dryRun?: boolean
}

export interface DeleteOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground'
  gracePeriodSeconds?: number
  preconditions?: {uid?: string; resourceVersion?: string}
  dryRun?: boolean
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply'

export interface ListOptions {
  labelSelector?: string | null
  fieldSelector?: string | null
}

export type DeleteResult = {kind: 'object'; object: KubeObject} | {kind: 'status'; status: StatusBody}

/** Pod phases after which a pod needs no graceful termination. */
function isFinished(object: KubeObject): boolean {
  const phase = (object.status as {phase?: string} | undefined)?.phase
  return phase === 'Succeeded' || phase === 'Failed'
}

/** Everything of an object except metadata and status: a change here bumps metadata.generation. */
function specPart(object: JsonObject): JsonObject {
  const rest: JsonObject = {...object}
  delete rest.metadata
  delete rest.status
  delete rest.apiVersion
  delete rest.kind
  return rest
}

/** Equal for storage purposes: ignores resourceVersion, as etcd skips a write that changes nothing. */
function sameStoredObject(a: KubeObject, b: KubeObject): boolean {
  return jsonEqual({...a, metadata: {...a.metadata, resourceVersion: undefined}}, {...b, metadata: {...b.metadata, resourceVersion: undefined}})
}

export interface ClusterHooks {
  /** Called after every committed write of a CustomResourceDefinition (create, update, delete). */
  customResourceDefinitionChanged(crd: KubeObject, deleted: boolean): void
}

export class ClusterApi {
  constructor(
    readonly store: ObjectStore,
    readonly registry: ResourceRegistry,
    private readonly admission: AdmissionContext,
    private readonly hooks: ClusterHooks,
  ) {}

  now(): string {
    return this.admission.now()
  }

  // ---- reads ---------------------------------------------------------------------------------

  find(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(type.storage, type.namespaced ? namespace : undefined, name)
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const object = this.find(type, namespace, name)
    if (!object) throw notFound(type, name)
    return toServed(type, object)
  }

  /** Stored objects matching the selectors; throws 400 on a malformed or unsupported selector. */
  list(type: ResourceType, namespace: string | undefined, options: ListOptions = {}): KubeObject[] {
    const labels = parseLabelSelector(options.labelSelector)
    const fields = parseFieldSelector(options.fieldSelector)
    checkFieldSelector(type.kind, fields)
    return this.store
      .list(type.storage, type.namespaced ? namespace : undefined)
      .map((object) => toServed(type, object))
      .filter((object) => labelsMatch(labels, object.metadata.labels) && fieldsMatch(fields, object))
  }

  // ---- writes from clients -------------------------------------------------------------------

  create(type: ResourceType, namespace: string | undefined, body: unknown, options: WriteOptions = {}): KubeObject {
    if (!isJsonObject(body) || !isJsonObject(body.metadata)) {
      if (isJsonObject(body) && body.metadata === undefined) body.metadata = {}
      else throw badRequest("Object 'Kind' is missing in 'null'")
    }
    const object = clone(body)
    const metadata = object.metadata as JsonObject
    this.checkKind(type, object)
    if (type.namespaced) {
      if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
      }
      metadata.namespace = namespace
      this.checkNamespaceWritable(type, namespace ?? '', typeof metadata.name === 'string' ? metadata.name : scalarText(metadata.generateName))
    } else {
      delete metadata.namespace
    }
    if ((metadata.name === undefined || metadata.name === '') && typeof metadata.generateName === 'string') {
      metadata.name = `${metadata.generateName}${randomSuffix()}`
    }
    const stored = this.prepareCreate(type, object, options.internal === true)
    if (options.fieldManager) {
      stored.metadata.managedFields = recordUpdate(undefined, stored as JsonObject, this.ownership(type, options))
    }
    return this.commitCreate(type, stored, options.dryRun)
  }

  update(type: ResourceType, namespace: string | undefined, name: string, body: unknown, options: WriteOptions = {}): KubeObject {
    if (!isJsonObject(body) || !isJsonObject(body.metadata)) throw badRequest("Object 'Kind' is missing in the request body")
    const current = this.find(type, namespace, name)
    if (!current) throw notFound(type, name)
    if (body.metadata.name !== undefined && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${scalarText(body.metadata.name)}) does not match the name on the URL (${name})`)
    }
    const requested = body.metadata.resourceVersion
    if (typeof requested === 'string' && requested !== '' && requested !== current.metadata.resourceVersion) {
      throw conflict(type, name, objectModified)
    }
    this.checkKind(type, body)
    return this.replaceFromClient(type, current, clone(body), options)
  }

  patch(type: ResourceType, namespace: string | undefined, name: string, patchType: PatchType, patch: unknown, options: WriteOptions & {force?: boolean}): KubeObject {
    const current = this.find(type, namespace, name)
    if (patchType === 'apply') return this.apply(type, namespace, name, current, patch, options)
    if (!current) throw notFound(type, name)
    if (patchType === 'strategic' && type.custom)
      throw unsupportedMediaType(
        'application/strategic-merge-patch+json',
        patchMediaTypes.filter((t) => !t.includes('strategic')),
      )
    const served = toServed(type, current)
    const patched = patchType === 'json' ? jsonPatch(served, patch) : patchType === 'merge' ? mergePatch(served, patch) : strategicMergePatch(served, patch)
    if (!isJsonObject(patched) || !isJsonObject(patched.metadata)) throw badRequest("the patch removed the object's metadata")
    const requested = patched.metadata.resourceVersion
    if (typeof requested === 'string' && requested !== current.metadata.resourceVersion) throw conflict(type, name, objectModified)
    if (patched.metadata.name !== name) throw badRequest(`the name of the object (${scalarText(patched.metadata.name)}) does not match the name on the URL (${name})`)
    return this.replaceFromClient(type, current, patched, options)
  }

  /** A patch applied to a detached object (the Scale view of a workload). */
  previewPatch(object: JsonObject, patchType: PatchType, patch: unknown): unknown {
    if (patchType === 'json') return jsonPatch(object, patch)
    if (patchType === 'strategic') return strategicMergePatch(object, patch)
    return mergePatch(object, patch)
  }

  /** POST pods/binding: what a scheduler does. */
  bindPod(namespace: string, name: string, nodeName: string): KubeObject {
    const type = this.podType()
    const current = this.find(type, namespace, name)
    if (!current) throw notFound(type, name)
    const spec = current.spec as {nodeName?: string}
    if (spec.nodeName) throw conflict(type, name, `pod ${name} is already assigned to node "${spec.nodeName}"`)
    const next = clone(current)
    ;(next.spec as {nodeName?: string}).nodeName = nodeName
    return this.store.update(type.storage, next)
  }

  podType(): ResourceType {
    const type = this.registry.byResource('', 'v1', 'pods')
    if (!type) throw new Error('pods are not registered')
    return type
  }

  private apply(type: ResourceType, namespace: string | undefined, name: string, current: KubeObject | undefined, patch: unknown, options: WriteOptions & {force?: boolean}): KubeObject {
    if (!options.fieldManager) {
      throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager'}],
      })
    }
    if (!isJsonObject(patch)) throw badRequest('error decoding YAML: the apply configuration must be an object')
    this.checkKind(type, patch)
    const metadata = isJsonObject(patch.metadata) ? patch.metadata : undefined
    if (!metadata || metadata.name !== name) {
      throw badRequest(`the name of the object (${scalarText(metadata?.name)}) does not match the name on the URL (${name})`)
    }
    if (type.namespaced && metadata.namespace !== undefined && metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
    }
    const context = {...this.ownership(type, options), force: options.force === true}
    if (!current) {
      if (options.subresource) throw notFound(type, name)
      const merged = serverSideApply(undefined, clone(patch), context)
      const mergedMetadata = merged.metadata as JsonObject
      if (type.namespaced) {
        mergedMetadata.namespace = namespace
        this.checkNamespaceWritable(type, namespace ?? '', name)
      }
      const managedFields = mergedMetadata.managedFields
      const stored = this.prepareCreate(type, merged)
      stored.metadata.managedFields = managedFields
      return this.commitCreate(type, stored, options.dryRun)
    }
    const merged = serverSideApply(toServed(type, current) as JsonObject, clone(patch), context)
    return this.replaceFromClient(type, current, merged, {...options, fieldManager: undefined}, true)
  }

  private ownership(type: ResourceType, options: WriteOptions): {manager: string; apiVersion: string; subresource?: string; custom: boolean; hasStatusSubresource: boolean; now: string} {
    return {
      manager: options.fieldManager ?? 'unknown',
      apiVersion: apiVersionOf(type),
      ...(options.subresource ? {subresource: options.subresource} : {}),
      custom: type.custom,
      hasStatusSubresource: type.subresources.some((sub) => sub.name === 'status'),
      now: this.now().replace(/\.\d+Z$/, 'Z'),
    }
  }

  private checkKind(type: ResourceType, object: JsonObject): void {
    if (typeof object.kind === 'string' && object.kind !== type.kind && object.kind !== '') {
      throw badRequest(`the API version in the data (${scalarText(object.apiVersion)}) does not match the expected API version (${apiVersionOf(type)})`)
    }
  }

  private checkNamespaceWritable(type: ResourceType, namespace: string, name: string): void {
    const owner = this.store.get('/namespaces', undefined, namespace)
    if (!owner) throw notFound({group: '', resource: 'namespaces'}, namespace)
    // Components may still report events about objects in a namespace being deleted.
    if (owner.metadata.deletionTimestamp !== undefined && !(type.kind === 'Event' && type.group === '')) {
      throw forbidden(type, name, `unable to create new content in namespace ${namespace} because it is being terminated`)
    }
  }

  private prepareCreate(type: ResourceType, object: JsonObject, keepStatus = false): KubeObject {
    dropNullFields(object)
    const metadata = object.metadata as JsonObject
    metadata.uid = randomUUID()
    metadata.creationTimestamp = this.now().replace(/\.\d+Z$/, 'Z')
    delete metadata.resourceVersion
    delete metadata.deletionTimestamp
    delete metadata.deletionGracePeriodSeconds
    delete metadata.managedFields
    if (type.tracksGeneration) metadata.generation = 1
    else delete metadata.generation
    if (!keepStatus && type.subresources.some((sub) => sub.name === 'status')) delete object.status
    object.apiVersion = apiVersionOf(type)
    object.kind = type.kind
    admit(type, object, undefined, this.admission)
    validate(type, object, undefined)
    return toStored(type, object as unknown as KubeObject)
  }

  private commitCreate(type: ResourceType, object: KubeObject, dryRun: boolean | undefined): KubeObject {
    if (this.store.get(type.storage, object.metadata.namespace, object.metadata.name)) throw alreadyExists(type, object.metadata.name)
    if (dryRun) return toServed(type, object)
    const stored = this.store.create(type.storage, object)
    if (type.kind === 'CustomResourceDefinition') this.hooks.customResourceDefinitionChanged(stored, false)
    return toServed(type, stored)
  }

  /** PUT and PATCH after the body is known: subresource scoping, defaulting, validation, generation. */
  private replaceFromClient(type: ResourceType, current: KubeObject, body: JsonObject, options: WriteOptions, applied = false): KubeObject {
    dropNullFields(body)
    const incoming = toStored(type, body as unknown as KubeObject) as JsonObject
    const old = current as unknown as JsonObject
    const hasStatus = type.subresources.some((sub) => sub.name === 'status')
    let next: JsonObject
    if (options.subresource === 'status') {
      next = {...clone(old), status: incoming.status}
    } else {
      next = incoming
      const metadata = next.metadata as JsonObject
      const oldMetadata = old.metadata as JsonObject
      for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'namespace']) {
        if (oldMetadata[field] === undefined) delete metadata[field]
        else metadata[field] = oldMetadata[field]
      }
      if (!applied) metadata.managedFields = oldMetadata.managedFields
      if (hasStatus && type.kind !== 'Namespace') {
        if (old.status === undefined) delete next.status
        else next.status = clone(old.status)
      }
      next.apiVersion = old.apiVersion
      next.kind = old.kind
      admit(type, next, old, this.admission)
      validate(type, next, old)
      if (type.tracksGeneration && !jsonEqual(specPart(next), specPart(old))) {
        metadata.generation = Number(oldMetadata.generation ?? 1) + 1
      }
    }
    if (options.fieldManager) {
      const metadata = next.metadata as JsonObject
      metadata.managedFields = recordUpdate(old, next, this.ownership(type, options)) as unknown as JsonObject[]
    }
    const nextObject = next as unknown as KubeObject
    if (options.dryRun) return toServed(type, nextObject)
    return toServed(type, this.commitUpdate(type, current, nextObject))
  }

  private commitUpdate(type: ResourceType, current: KubeObject, next: KubeObject): KubeObject {
    if (sameStoredObject(current, next)) return current
    if (next.metadata.deletionTimestamp !== undefined && ((next.metadata.finalizers as string[] | undefined) ?? []).length === 0 && !this.awaitsGracefulDeletion(type)) {
      return this.store.remove(type.storage, next.metadata.namespace, next.metadata.name) ?? next
    }
    const stored = this.store.update(type.storage, next)
    if (type.kind === 'CustomResourceDefinition') this.hooks.customResourceDefinitionChanged(stored, false)
    return stored
  }

  /** A pod or namespace with a deletionTimestamp but no finalizers still waits for its kubelet/controller. */
  private awaitsGracefulDeletion(type: ResourceType): boolean {
    return (type.kind === 'Pod' && type.group === '') || (type.kind === 'Namespace' && type.group === '')
  }

  // ---- deletion --------------------------------------------------------------------------------

  delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): DeleteResult {
    const current = this.find(type, namespace, name)
    if (!current) throw notFound(type, name)
    const {uid, resourceVersion} = options.preconditions ?? {}
    if (uid && uid !== current.metadata.uid) {
      throw conflict(type, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid ?? ''}`)
    }
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(type, name, `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`)
    }
    if (options.dryRun) return {kind: 'object', object: toServed(type, current)}
    const object = clone(current)
    const finalizers = [...((object.metadata.finalizers as string[] | undefined) ?? [])]
    const policy = options.propagationPolicy ?? this.defaultPropagation(type)
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan')
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion')

    if (type.kind === 'Namespace' && type.group === '') return {kind: 'object', object: toServed(type, this.beginNamespaceDeletion(object))}
    const graceSeconds = this.podGracePeriod(type, object, options.gracePeriodSeconds)
    if (finalizers.length === 0 && graceSeconds === 0) {
      const removed = this.store.remove(type.storage, object.metadata.namespace, object.metadata.name) ?? object
      if (type.kind === 'CustomResourceDefinition') this.hooks.customResourceDefinitionChanged(removed, true)
      return type.kind === 'Pod' ? {kind: 'object', object: toServed(type, removed)} : {kind: 'status', status: this.deletedStatus(type, removed)}
    }
    const deadline = new Date(Date.parse(this.now()) + graceSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    const alreadyDeleting = object.metadata.deletionTimestamp !== undefined
    const earlier = alreadyDeleting && String(object.metadata.deletionTimestamp) < deadline
    object.metadata.deletionTimestamp = earlier ? object.metadata.deletionTimestamp : deadline
    object.metadata.deletionGracePeriodSeconds = earlier ? object.metadata.deletionGracePeriodSeconds : graceSeconds
    if (finalizers.length > 0) object.metadata.finalizers = finalizers
    if (type.tracksGeneration && !alreadyDeleting) object.metadata.generation = Number(object.metadata.generation ?? 1) + 1
    return {kind: 'object', object: toServed(type, this.store.update(type.storage, object))}
  }

  /** Jobs orphan their pods unless told otherwise (batch/v1 keeps this for compatibility). */
  private defaultPropagation(type: ResourceType): DeleteOptions['propagationPolicy'] {
    return type.group === 'batch' && type.kind === 'Job' ? 'Orphan' : 'Background'
  }

  /** Seconds a pod gets to stop: none when unscheduled or finished, as in the pod registry. */
  private podGracePeriod(type: ResourceType, object: KubeObject, requested: number | undefined): number {
    if (type.kind !== 'Pod' || type.group !== '') return 0
    const spec = object.spec as {nodeName?: string; terminationGracePeriodSeconds?: number}
    if (!spec.nodeName || isFinished(object)) return 0
    return Math.max(0, requested ?? spec.terminationGracePeriodSeconds ?? 30)
  }

  private beginNamespaceDeletion(namespace: KubeObject): KubeObject {
    if (namespace.metadata.deletionTimestamp !== undefined) return namespace
    namespace.metadata.deletionTimestamp = this.now().replace(/\.\d+Z$/, 'Z')
    namespace.metadata.deletionGracePeriodSeconds = 0
    namespace.status = {...(namespace.status as JsonObject | undefined), phase: 'Terminating'}
    return this.store.update('/namespaces', namespace)
  }

  private deletedStatus(type: ResourceType, removed: KubeObject): StatusBody {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {name: removed.metadata.name, ...(type.group ? {group: type.group} : {}), kind: type.resource, ...(removed.metadata.uid ? {uid: removed.metadata.uid} : {})},
      code: 200,
    }
  }

  // ---- writes from controllers -----------------------------------------------------------------

  /** Creates an object on behalf of a controller (defaulted and validated like any client's). */
  createInternal(type: ResourceType, object: KubeObject): KubeObject {
    return this.create(type, object.metadata.namespace, object, {internal: true})
  }

  /**
   * Stores a controller's edit of an existing object (spec, status or metadata) without
   * client-side checks. Returns the stored object, or undefined if it is gone.
   */
  writeInternal(type: ResourceType, next: KubeObject): KubeObject | undefined {
    const current = this.find(type, next.metadata.namespace, next.metadata.name)
    if (!current || current.metadata.uid !== next.metadata.uid) return undefined
    if (type.tracksGeneration && !jsonEqual(specPart(next as JsonObject), specPart(current as JsonObject))) {
      next.metadata.generation = Number(current.metadata.generation ?? 1) + 1
    }
    return this.commitUpdate(type, current, next)
  }

  /** Final removal of a pod whose containers have stopped, or of a namespace that is empty. */
  removeInternal(type: ResourceType, object: KubeObject): void {
    const current = this.find(type, object.metadata.namespace, object.metadata.name)
    if (!current || current.metadata.uid !== object.metadata.uid) return
    if (((current.metadata.finalizers as string[] | undefined) ?? []).length > 0) return
    this.store.remove(type.storage, current.metadata.namespace, current.metadata.name)
  }
}
