import type {KubeObject} from './contract.js'
import {deepFreeze} from './json.js'

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED'

/** One committed change, as watches replay it. Objects are frozen; clone before editing. */
export interface Change {
  type: ChangeType
  storage: string
  resourceVersion: number
  object: KubeObject
  /** The object before this change (MODIFIED and DELETED), so watches can tell selector exits. */
  previous?: KubeObject
}

export type ChangeListener = (change: Change) => void

/** How many recent changes a watch can resume from before it gets 410 Gone. */
const historyLimit = 20_000

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name
}

/**
 * Every object of one cluster, keyed by storage bucket, with one cluster-wide resourceVersion
 * counter (like etcd's revision) and a window of recent changes for watch resumption.
 */
export class ObjectStore {
  private revision = 1
  private readonly buckets = new Map<string, Map<string, KubeObject>>()
  private history: Change[] = []
  /** Changes at or below this revision are no longer replayable. */
  private compactedRevision = 0
  private readonly listeners = new Set<ChangeListener>()

  currentRevision(): number {
    return this.revision
  }

  /** Oldest revision a watch may resume from (exclusive), as in "too old resource version: X (Y)". */
  oldestResumableRevision(): number {
    return this.compactedRevision
  }

  get(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.buckets.get(storage)?.get(objectKey(namespace, name))
  }

  list(storage: string, namespace?: string): KubeObject[] {
    const bucket = this.buckets.get(storage)
    if (!bucket) return []
    const items = [...bucket.values()]
    const selected = namespace === undefined ? items : items.filter((item) => item.metadata.namespace === namespace)
    return selected.sort(compareObjects)
  }

  /** Stores a new object, stamping the next resourceVersion. The caller set everything else. */
  create(storage: string, object: KubeObject): KubeObject {
    const stored = this.stamp(object)
    this.bucket(storage).set(objectKey(stored.metadata.namespace, stored.metadata.name), stored)
    this.publish({type: 'ADDED', storage, resourceVersion: this.revision, object: stored})
    return stored
  }

  update(storage: string, object: KubeObject): KubeObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name)
    const bucket = this.bucket(storage)
    const previous = bucket.get(key)
    if (!previous) throw new Error(`update of missing object ${storage} ${key}`)
    const stored = this.stamp(object)
    bucket.set(key, stored)
    this.publish({type: 'MODIFIED', storage, resourceVersion: this.revision, object: stored, previous})
    return stored
  }

  /** Removes an object; the DELETED event carries a fresh resourceVersion like the real apiserver. */
  remove(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = objectKey(namespace, name)
    const bucket = this.bucket(storage)
    const previous = bucket.get(key)
    if (!previous) return undefined
    bucket.delete(key)
    const gone = this.stamp(previous)
    this.publish({type: 'DELETED', storage, resourceVersion: this.revision, object: gone, previous})
    return gone
  }

  /** Changes after `revision`, or undefined when they have been compacted away. */
  changesSince(revision: number): Change[] | undefined {
    if (revision < this.compactedRevision) return undefined
    const first = this.history.findIndex((change) => change.resourceVersion > revision)
    return first < 0 ? [] : this.history.slice(first)
  }

  compact(): void {
    this.history = []
    this.compactedRevision = this.revision
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private bucket(storage: string): Map<string, KubeObject> {
    let bucket = this.buckets.get(storage)
    if (!bucket) {
      bucket = new Map()
      this.buckets.set(storage, bucket)
    }
    return bucket
  }

  private stamp(object: KubeObject): KubeObject {
    this.revision += 1
    return deepFreeze({...object, metadata: {...object.metadata, resourceVersion: String(this.revision)}})
  }

  private publish(change: Change): void {
    this.history.push(change)
    if (this.history.length > historyLimit) {
      const dropped = this.history.splice(0, this.history.length - historyLimit)
      this.compactedRevision = dropped.at(-1)?.resourceVersion ?? this.compactedRevision
    }
    for (const listener of [...this.listeners]) listener(change)
  }
}

function compareObjects(a: KubeObject, b: KubeObject): number {
  return compareStrings(objectKey(a.metadata.namespace, a.metadata.name), objectKey(b.metadata.namespace, b.metadata.name))
}

/** Byte order, as etcd returns keys. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
