/**
 * The garbage collector: dependents of a deleted owner are deleted (background), or freed when
 * the owner was deleted with propagationPolicy=Orphan; an owner deleted in the foreground waits
 * until its blocking dependents are gone.
 */
import type {ClusterApi} from '../api.js'
import type {KubeObject} from '../contract.js'
import {clone} from '../json.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {Controller} from './runtime.js'

interface Located {
  type: ResourceType
  object: KubeObject
}

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector'
  private snapshot: Located[] | undefined

  constructor(private readonly api: ClusterApi) {}

  keysFor(change: Change): string[] {
    if (change.type === 'DELETED' && change.object.metadata.uid) return [`gone:${change.object.metadata.uid}`]
    const finalizers = (change.object.metadata.finalizers as string[] | undefined) ?? []
    if (change.object.metadata.deletionTimestamp !== undefined && (finalizers.includes('orphan') || finalizers.includes('foregroundDeletion'))) {
      return [`finalize:${change.storage}|${change.object.metadata.namespace ?? ''}|${change.object.metadata.name}`]
    }
    // A dependent went away: an owner deleted in the foreground may now be free to go.
    if (change.type === 'DELETED' || change.object.metadata.deletionTimestamp !== undefined) {
      return (change.object.metadata.ownerReferences ?? []).map((reference) => `owner:${reference.uid}`)
    }
    return []
  }

  reconcile(key: string): void {
    this.snapshot = undefined
    if (key === '*') return
    if (key.startsWith('gone:')) this.collectDependents(key.slice('gone:'.length))
    else if (key.startsWith('finalize:')) {
      const [storage = '', namespace = '', name = ''] = key.slice('finalize:'.length).split('|')
      const type = this.api.registry.byStorage(storage)
      const owner = type ? this.api.find(type, namespace || undefined, name) : undefined
      if (type && owner) this.finalize(type, owner)
    } else if (key.startsWith('owner:')) {
      const owner = this.everything().find(({object}) => object.metadata.uid === key.slice('owner:'.length))
      if (owner && owner.object.metadata.deletionTimestamp !== undefined) this.finalize(owner.type, owner.object)
    }
  }

  /** Every stored object that can have owners, once per reconcile. */
  private everything(): Located[] {
    if (this.snapshot) return this.snapshot
    const seen = new Set<string>(['/events'])
    const result: Located[] = []
    for (const type of this.api.registry.all()) {
      if (seen.has(type.storage)) continue
      seen.add(type.storage)
      for (const object of this.api.list(type, undefined)) result.push({type, object})
    }
    this.snapshot = result
    return result
  }

  private dependentsOf(uid: string): Located[] {
    return this.everything().filter(({object}) => object.metadata.ownerReferences?.some((reference) => reference.uid === uid))
  }

  private collectDependents(uid: string): void {
    for (const {type, object} of this.dependentsOf(uid)) {
      const others = (object.metadata.ownerReferences ?? []).filter((reference) => reference.uid !== uid && this.ownerExists(reference.uid))
      if (others.length > 0) {
        this.dropOwner(type, object, uid)
      } else if (object.metadata.deletionTimestamp === undefined) {
        this.api.delete(type, object.metadata.namespace, object.metadata.name, {propagationPolicy: 'Background'})
      }
    }
  }

  private ownerExists(uid: string): boolean {
    return this.everything().some(({object}) => object.metadata.uid === uid)
  }

  private dropOwner(type: ResourceType, object: KubeObject, uid: string): void {
    const next = clone(object)
    next.metadata.ownerReferences = (next.metadata.ownerReferences ?? []).filter((reference) => reference.uid !== uid)
    if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences
    this.api.writeInternal(type, next)
  }

  private finalize(type: ResourceType, owner: KubeObject): void {
    const uid = owner.metadata.uid ?? ''
    const finalizers = (owner.metadata.finalizers as string[] | undefined) ?? []
    const dependents = this.dependentsOf(uid)
    let remaining = [...finalizers]
    if (finalizers.includes('orphan')) {
      for (const {type: dependentType, object} of dependents) this.dropOwner(dependentType, object, uid)
      remaining = remaining.filter((finalizer) => finalizer !== 'orphan')
    } else if (finalizers.includes('foregroundDeletion')) {
      for (const {type: dependentType, object} of dependents) {
        if (object.metadata.deletionTimestamp === undefined) this.api.delete(dependentType, object.metadata.namespace, object.metadata.name, {propagationPolicy: 'Foreground'})
      }
      this.snapshot = undefined
      const blocking = this.dependentsOf(uid).filter(({object}) => object.metadata.ownerReferences?.some((reference) => reference.uid === uid && reference.blockOwnerDeletion))
      if (blocking.length === 0) remaining = remaining.filter((finalizer) => finalizer !== 'foregroundDeletion')
    }
    if (remaining.length === finalizers.length) return
    const next = clone(owner)
    next.metadata.finalizers = remaining
    if (remaining.length === 0) delete next.metadata.finalizers
    this.api.writeInternal(type, next)
  }
}
