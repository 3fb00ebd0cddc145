/**
 * When helm considers a resource ready. Helm 3 (and helm 4's --wait=legacy) use the polling
 * ReadyChecker; helm 4's default watcher uses kstatus, whose status and message texts end up
 * in helm 4's error output ("resource Deployment/web/demo not ready. status: InProgress, ...").
 */
import type {KubeObject} from '../apiserver/contract.js'

type Json = Record<string, unknown>

function field(object: KubeObject, path: string, fallback: number): number {
  let value: unknown = object
  for (const key of path.split('.')) value = value === null || typeof value !== 'object' ? undefined : (value as Json)[key]
  return typeof value === 'number' ? value : fallback
}

function conditions(object: KubeObject): Array<{type: string; status: string; reason?: string}> {
  return ((object.status as {conditions?: Array<{type: string; status: string; reason?: string}>} | undefined)?.conditions ?? [])
}

function condition(object: KubeObject, type: string): {type: string; status: string; reason?: string} | undefined {
  return conditions(object).find((c) => c.type === type)
}

function observedCurrent(object: KubeObject): boolean {
  return field(object, 'status.observedGeneration', 0) >= (object.metadata.generation ?? 0)
}

/** The deployment controller's maxUnavailable: 25% of replicas, rounded down, unless set. */
function maxUnavailable(object: KubeObject, replicas: number): number {
  const value = ((object.spec as Json | undefined)?.strategy as {rollingUpdate?: {maxUnavailable?: number | string}} | undefined)?.rollingUpdate?.maxUnavailable ?? '25%'
  return typeof value === 'number' ? value : Math.floor((replicas * Number.parseInt(value, 10)) / 100)
}

/** Helm 3's ReadyChecker (IsReady): a Job that has failed is an error, not "not ready yet". */
export function legacyReady(object: KubeObject, waitForJobs: boolean): boolean {
  const replicas = field(object, 'spec.replicas', 1)
  switch (object.kind) {
    case 'Deployment':
      if ((object.spec as {paused?: boolean} | undefined)?.paused) return true
      return observedCurrent(object) && field(object, 'status.updatedReplicas', 0) >= replicas && field(object, 'status.readyReplicas', 0) >= replicas - maxUnavailable(object, replicas)
    case 'StatefulSet':
      return observedCurrent(object) && field(object, 'status.readyReplicas', 0) >= replicas && field(object, 'status.updatedReplicas', 0) >= replicas - field(object, 'spec.updateStrategy.rollingUpdate.partition', 0)
    case 'DaemonSet':
      return observedCurrent(object) && field(object, 'status.numberReady', 0) >= field(object, 'status.desiredNumberScheduled', 0)
    case 'Pod':
      return condition(object, 'Ready')?.status === 'True'
    case 'PersistentVolumeClaim':
      return (object.status as {phase?: string} | undefined)?.phase === 'Bound'
    case 'Service': {
      const spec = (object.spec ?? {}) as {type?: string; clusterIP?: string}
      if (spec.type === 'ExternalName') return true
      if (spec.type === 'LoadBalancer') return ((object.status as {loadBalancer?: {ingress?: unknown[]}} | undefined)?.loadBalancer?.ingress?.length ?? 0) > 0
      return spec.clusterIP !== undefined && spec.clusterIP !== ''
    }
    case 'Job':
      if (!waitForJobs) return true
      if (condition(object, 'Failed')?.status === 'True') throw new Error(`job is failed: ${object.metadata.namespace}/${object.metadata.name}`)
      return field(object, 'status.succeeded', 0) >= field(object, 'spec.completions', 1)
    default:
      return true
  }
}

export interface KStatus {
  status: 'Current' | 'InProgress' | 'Failed'
  message: string
}

const inProgress = (message: string): KStatus => ({status: 'InProgress', message})

/** kstatus (sigs.k8s.io/cli-utils) with helm 4's job reader when `customJobs`. */
export function kstatus(object: KubeObject, customJobs: boolean): KStatus {
  const generation = object.metadata.generation ?? 0
  const observed = field(object, 'status.observedGeneration', generation)
  if (object.kind !== 'Job' && object.kind !== 'Pod' && observed < generation) return inProgress(`${object.kind} generation is ${generation}, but latest observed generation is ${observed}`)
  switch (object.kind) {
    case 'Deployment': {
      const spec = field(object, 'spec.replicas', 1)
      const [status, updated, ready, available] = ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'].map((f) => field(object, `status.${f}`, 0)) as [number, number, number, number]
      if (condition(object, 'Progressing')?.reason === 'ProgressDeadlineExceeded') return {status: 'Failed', message: 'Progress deadline exceeded'}
      if (spec > status) return inProgress(`Replicas: ${status}/${spec}`)
      if (spec > updated) return inProgress(`Updated: ${updated}/${spec}`)
      if (status > spec) return inProgress(`Pending termination: ${status - spec}`)
      if (updated > available) return inProgress(`Available: ${available}/${updated}`)
      if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`)
      const progressing = condition(object, 'Progressing')
      if (!(progressing?.status === 'True' && progressing.reason === 'NewReplicaSetAvailable')) return inProgress('ReplicaSet not Available')
      if (condition(object, 'Available')?.status !== 'True') return inProgress('Deployment not Available')
      return {status: 'Current', message: `Deployment is available. Replicas: ${status}`}
    }
    case 'StatefulSet': {
      const spec = field(object, 'spec.replicas', 1)
      const [status, ready, current] = ['replicas', 'readyReplicas', 'currentReplicas'].map((f) => field(object, `status.${f}`, 0)) as [number, number, number]
      if (spec > status) return inProgress(`Replicas: ${status}/${spec}`)
      if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`)
      if (spec > current) return inProgress(`current: ${current}/${spec}`)
      return {status: 'Current', message: `All replicas scheduled as expected. Replicas: ${status}`}
    }
    case 'Job': {
      const completions = field(object, 'spec.completions', field(object, 'spec.parallelism', 1))
      const [succeeded, failed, active] = ['succeeded', 'failed', 'active'].map((f) => field(object, `status.${f}`, 0)) as [number, number, number]
      if (condition(object, 'Complete')?.status === 'True') return {status: 'Current', message: `Job Completed. succeeded: ${succeeded}/${completions}`}
      if (condition(object, 'Failed')?.status === 'True') return {status: 'Failed', message: `Job Failed. failed: ${failed}/${completions}`}
      if (customJobs) return inProgress('Job in progress')
      if (!(object.status as {startTime?: string} | undefined)?.startTime) return inProgress('Job not started')
      return {status: 'Current', message: `Job in progress. success:${succeeded}, active: ${active}, failed: ${failed}`}
    }
    case 'Pod': {
      const phase = (object.status as {phase?: string} | undefined)?.phase
      if (phase === 'Succeeded') return {status: 'Current', message: 'Pod has completed successfully'}
      if (phase === 'Failed') return {status: 'Failed', message: 'Pod has completed, but not successfully'}
      if (condition(object, 'Ready')?.status === 'True') return {status: 'Current', message: 'Pod is Ready'}
      return inProgress(phase === 'Running' ? 'Pod is running but is not Ready' : 'Pod is in the Pending phase')
    }
    case 'PersistentVolumeClaim':
      return (object.status as {phase?: string} | undefined)?.phase === 'Bound' ? {status: 'Current', message: 'PVC is Bound'} : inProgress('PVC is not Bound')
    case 'Service':
      return {status: 'Current', message: 'Service is ready'}
    default:
      return {status: 'Current', message: 'Resource is current'}
  }
}
