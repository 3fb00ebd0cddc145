/**
 * Kubernetes object types, re-exported type-only so the rest of devctl can name them without
 * loading @kubernetes/client-node (which costs ~300 ms at startup).
 */
import type {
  CoreV1Event,
  V1ConfigMap,
  V1DaemonSet,
  V1Deployment,
  V1Ingress,
  V1Job,
  V1Lease,
  V1Namespace,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ReplicaSet,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node'

export type {
  KubernetesObject,
  V1ConfigMap,
  V1ContainerStatus,
  V1DaemonSet,
  V1Ingress,
  V1Deployment,
  CoreV1Event as V1Event,
  V1Job,
  V1Lease,
  V1Namespace,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodSpec,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node'

/** The kinds devctl lists and watches, with their REST coordinates (no discovery round-trip). */
export const KINDS = {
  Namespace: {apiVersion: 'v1', plural: 'namespaces', namespaced: false},
  Node: {apiVersion: 'v1', plural: 'nodes', namespaced: false},
  Pod: {apiVersion: 'v1', plural: 'pods', namespaced: true},
  Event: {apiVersion: 'v1', plural: 'events', namespaced: true},
  Secret: {apiVersion: 'v1', plural: 'secrets', namespaced: true},
  ConfigMap: {apiVersion: 'v1', plural: 'configmaps', namespaced: true},
  Service: {apiVersion: 'v1', plural: 'services', namespaced: true},
  PersistentVolumeClaim: {apiVersion: 'v1', plural: 'persistentvolumeclaims', namespaced: true},
  Deployment: {apiVersion: 'apps/v1', plural: 'deployments', namespaced: true},
  StatefulSet: {apiVersion: 'apps/v1', plural: 'statefulsets', namespaced: true},
  DaemonSet: {apiVersion: 'apps/v1', plural: 'daemonsets', namespaced: true},
  ReplicaSet: {apiVersion: 'apps/v1', plural: 'replicasets', namespaced: true},
  Job: {apiVersion: 'batch/v1', plural: 'jobs', namespaced: true},
  Ingress: {apiVersion: 'networking.k8s.io/v1', plural: 'ingresses', namespaced: true},
  Lease: {apiVersion: 'coordination.k8s.io/v1', plural: 'leases', namespaced: true},
} as const

export type KindName = keyof typeof KINDS

/** The object type of each kind, so `list('Pod')` is a `V1Pod[]` without naming the type at every call. */
export interface KindObjects {
  Namespace: V1Namespace
  Node: V1Node
  Pod: V1Pod
  Event: CoreV1Event
  Secret: V1Secret
  ConfigMap: V1ConfigMap
  Service: V1Service
  PersistentVolumeClaim: V1PersistentVolumeClaim
  Deployment: V1Deployment
  StatefulSet: V1StatefulSet
  DaemonSet: V1DaemonSet
  ReplicaSet: V1ReplicaSet
  Job: V1Job
  Ingress: V1Ingress
  Lease: V1Lease
}

export type KindObject<K extends KindName> = KindObjects[K]

export function collectionPath(kind: KindName, namespace?: string): string {
  const {apiVersion, plural, namespaced} = KINDS[kind]
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  return namespaced && namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`
}
