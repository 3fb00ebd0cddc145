/**
 * Watch streams: newline-delimited JSON events over a chunked response, resumable from a recent
 * resourceVersion, with an `ERROR` event carrying a 410 `Expired` Status when that version has
 * been compacted away, bookmarks on request, and the initial-events protocol of watch-list.
 */
import type {ServerResponse} from 'node:http'

import type {KubeObject} from './contract.js'
import {toServed} from './conversion.js'
import {expired} from './errors.js'
import {apiVersionOf, type ResourceType} from './resources.js'
import {fieldsMatch, labelsMatch, type FieldSelector, type LabelSelector} from './selectors.js'
import type {Change, ObjectStore} from './store.js'

export interface WatchRequest {
  type: ResourceType
  namespace: string | undefined
  labels: LabelSelector
  fields: FieldSelector
  resourceVersion: string | undefined
  allowBookmarks: boolean
  sendInitialEvents: boolean
  timeoutSeconds: number | undefined
  /** Turns each event's object into what the client asked for (e.g. a one-row Table). */
  render: (object: KubeObject, first: boolean) => unknown
}

interface OpenWatch {
  request: WatchRequest
  response: ServerResponse
  close(): void
}

export class WatchHub {
  private readonly open = new Set<OpenWatch>()

  constructor(private readonly store: ObjectStore) {}

  serve(request: WatchRequest, response: ServerResponse): void {
    const {type} = request
    response.writeHead(200, {'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked'})
    response.flushHeaders()
    let first = true
    const send = (eventType: string, object: unknown): void => {
      response.write(`${JSON.stringify({type: eventType, object})}\n`)
    }
    const sendObject = (eventType: string, stored: KubeObject): void => {
      send(eventType, request.render(toServed(type, stored), first))
      first = false
    }
    const matches = (object: KubeObject | undefined): boolean =>
      object !== undefined &&
      (!type.namespaced || request.namespace === undefined || object.metadata.namespace === request.namespace) &&
      labelsMatch(request.labels, object.metadata.labels) &&
      fieldsMatch(request.fields, toServed(type, object))
    const deliver = (change: Change): void => {
      if (change.storage !== type.storage) return
      const now = matches(change.object)
      const before = change.type === 'MODIFIED' ? matches(change.previous) : false
      if (change.type === 'ADDED' && now) sendObject('ADDED', change.object)
      else if (change.type === 'DELETED' && matches(change.previous)) sendObject('DELETED', change.object)
      else if (change.type === 'MODIFIED' && now) sendObject(before ? 'MODIFIED' : 'ADDED', change.object)
      else if (change.type === 'MODIFIED' && before) sendObject('DELETED', change.object)
    }

    const requested = request.resourceVersion
    const resumeFrom = requested === undefined || requested === '' || requested === '0' || request.sendInitialEvents ? undefined : Number(requested)
    if (resumeFrom !== undefined) {
      const missed = Number.isFinite(resumeFrom) ? this.store.changesSince(resumeFrom) : undefined
      if (!missed) {
        const oldest = this.store.oldestResumableRevision()
        send('ERROR', expired(`too old resource version: ${requested} (${oldest})`).toStatus())
        response.end()
        return
      }
      for (const change of missed) deliver(change)
    } else {
      for (const object of this.store.list(type.storage)) if (matches(object)) sendObject('ADDED', object)
      if (request.sendInitialEvents && request.allowBookmarks) {
        send('BOOKMARK', this.bookmark(type, {'k8s.io/initial-events-end': 'true'}))
      }
    }

    const unsubscribe = this.store.subscribe(deliver)
    const timer = request.timeoutSeconds !== undefined && request.timeoutSeconds > 0 ? setTimeout(() => entry.close(), request.timeoutSeconds * 1000) : undefined
    const entry: OpenWatch = {
      request,
      response,
      close: () => {
        if (!this.open.delete(entry)) return
        unsubscribe()
        if (timer) clearTimeout(timer)
        response.end()
      },
    }
    this.open.add(entry)
    response.on('close', () => entry.close())
  }

  private bookmark(type: ResourceType, annotations?: Record<string, string>): object {
    return {
      kind: type.kind,
      apiVersion: apiVersionOf(type),
      metadata: {resourceVersion: String(this.store.currentRevision()), ...(annotations ? {annotations} : {})},
    }
  }

  /** Periodic bookmarks for watches that asked for them, so clients can resume cheaply. */
  sendBookmarks(): void {
    for (const watch of this.open) {
      if (watch.request.allowBookmarks) watch.response.write(`${JSON.stringify({type: 'BOOKMARK', object: this.bookmark(watch.request.type)})}\n`)
    }
  }

  closeAll(): void {
    for (const watch of [...this.open]) watch.close()
  }
}
