/** Serving one stored object under another API version (core/v1 Event ↔ events.k8s.io/v1 Event). */
import type {KubeObject} from './contract.js'
import {apiVersionOf, type ResourceType} from './resources.js'

const eventFieldPairs: Array<[core: string, events: string]> = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
  ['reportingComponent', 'reportingController'],
]

function renameFields(object: KubeObject, pairs: Array<[from: string, to: string]>): KubeObject {
  const result: KubeObject = {...object}
  for (const [from, to] of pairs) {
    if (from in result) {
      result[to] = result[from]
      delete result[from]
    }
  }
  return result
}

function isEventsGroup(type: ResourceType): boolean {
  return type.group === 'events.k8s.io' && type.kind === 'Event'
}

/** The stored object as the client asked for it. */
export function toServed(type: ResourceType, stored: KubeObject): KubeObject {
  const served = isEventsGroup(type) ? renameFields(stored, eventFieldPairs) : {...stored}
  served.apiVersion = apiVersionOf(type)
  served.kind = type.kind
  return served
}

/** A client's object in the storage version of its bucket. */
export function toStored(type: ResourceType, served: KubeObject): KubeObject {
  if (!isEventsGroup(type)) return served
  const stored = renameFields(
    served,
    eventFieldPairs.map(([core, events]) => [events, core]),
  )
  stored.apiVersion = 'v1'
  return stored
}
