/**
 * Event recording as the real components do it: kubelet and controllers write core/v1 events
 * (count and lastTimestamp grow on repeats), the scheduler writes events.k8s.io-style ones
 * (eventTime, series). Names are `<object>.<hex timestamp>` like the real recorders'.
 */
import type {ClusterApi} from './api.js'
import type {KubeObject} from './contract.js'
import {clone} from './json.js'
import type {ResourceType} from './resources.js'
import type {CoreEvent} from './types.js'

export interface EventSource {
  component: string
  host?: string
}

export interface EventSpec {
  type: 'Normal' | 'Warning'
  reason: string
  message: string
  source: EventSource
  /** `spec.containers{app}` for container events. */
  fieldPath?: string
  /** Scheduler-style event (events.k8s.io): eventTime and series instead of counts. */
  action?: string
}

function microTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z').replace(/:(\d{2})Z$/, ':$1.000000Z')
}

export class EventRecorder {
  private readonly names = new Map<string, string>()
  private sequence = 0

  constructor(
    private readonly api: ClusterApi,
    private readonly eventType: ResourceType,
  ) {}

  record(involved: KubeObject, spec: EventSpec): void {
    const namespace = involved.metadata.namespace ?? 'default'
    const key = [involved.metadata.uid, spec.fieldPath, spec.reason, spec.message, spec.source.component, spec.type].join('\u0000')
    const now = this.api.now()
    const existingName = this.names.get(key)
    const existing = existingName ? (this.api.find(this.eventType, namespace, existingName) as CoreEvent | undefined) : undefined
    if (existing) {
      const next = clone(existing)
      if (spec.action) next.series = {count: (next.series?.count ?? 1) + 1, lastObservedTime: microTime(now)}
      else {
        next.count = (next.count ?? 1) + 1
        next.lastTimestamp = now.replace(/\.\d+Z$/, 'Z')
      }
      this.api.writeInternal(this.eventType, next)
      return
    }
    const seconds = now.replace(/\.\d+Z$/, 'Z')
    const name = `${involved.metadata.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`
    const involvedObject = {
      kind: involved.kind,
      namespace: involved.metadata.namespace,
      name: involved.metadata.name,
      uid: involved.metadata.uid,
      apiVersion: involved.apiVersion,
      resourceVersion: involved.metadata.resourceVersion,
      ...(spec.fieldPath ? {fieldPath: spec.fieldPath} : {}),
    }
    const common = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {name, namespace},
      involvedObject,
      reason: spec.reason,
      message: spec.message,
      type: spec.type,
      reportingComponent: spec.source.component,
    }
    // events.k8s.io-style (an action, eventTime) or the core recorder's (source, first/last timestamps, count).
    const event: CoreEvent = spec.action
      ? {...common, source: {}, firstTimestamp: null, lastTimestamp: null, eventTime: microTime(now), action: spec.action, reportingInstance: spec.source.host ?? spec.source.component}
      : {
          ...common,
          source: {component: spec.source.component, ...(spec.source.host ? {host: spec.source.host} : {})},
          firstTimestamp: seconds,
          lastTimestamp: seconds,
          count: 1,
          eventTime: null,
          reportingInstance: spec.source.host ?? '',
        }
    try {
      this.api.createInternal(this.eventType, event)
      this.names.set(key, name)
    } catch {
      // Events are best effort, as in the real recorders (e.g. the namespace is terminating).
    }
  }
}
