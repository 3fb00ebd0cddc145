/** The slices of the Kubernetes object shapes the simulator reads and writes. */
import type {KubeObject} from './contract.js'
import type {LabelSelectorSpec} from './selectors.js'

export type {KubeObject}

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

export interface KeyRef {
  name: string
  key: string
  optional?: boolean
}

export interface EnvVar {
  name: string
  value?: string
  valueFrom?: {secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef; fieldRef?: {fieldPath: string}}
}

export interface EnvFromSource {
  prefix?: string
  secretRef?: {name: string; optional?: boolean}
  configMapRef?: {name: string; optional?: boolean}
}

export interface Probe {
  initialDelaySeconds?: number
  periodSeconds?: number
  failureThreshold?: number
}

export interface ResourceRequirements {
  requests?: Record<string, string>
  limits?: Record<string, string>
}

export interface Container {
  name: string
  image: string
  command?: string[]
  args?: string[]
  env?: EnvVar[]
  envFrom?: EnvFromSource[]
  resources?: ResourceRequirements
  readinessProbe?: Probe
  livenessProbe?: Probe
  startupProbe?: Probe
  /** `Always` on an init container makes it a sidecar. */
  restartPolicy?: string
  imagePullPolicy?: string
  ports?: Array<{name?: string; containerPort: number; protocol?: string}>
}

export interface Volume {
  name: string
  persistentVolumeClaim?: {claimName: string}
  secret?: {secretName: string; optional?: boolean}
  configMap?: {name: string; optional?: boolean}
}

export interface PodSpec {
  containers: Container[]
  initContainers?: Container[]
  restartPolicy?: 'Always' | 'OnFailure' | 'Never'
  nodeName?: string
  nodeSelector?: Record<string, string>
  volumes?: Volume[]
  terminationGracePeriodSeconds?: number
  activeDeadlineSeconds?: number
  readinessGates?: Array<{conditionType: string}>
  serviceAccountName?: string
  hostname?: string
  subdomain?: string
  affinity?: {nodeAffinity?: {requiredDuringSchedulingIgnoredDuringExecution?: {nodeSelectorTerms?: NodeSelectorTerm[]}}}
}

export interface NodeSelectorTerm {
  matchExpressions?: Array<{key: string; operator: string; values?: string[]}>
  matchFields?: Array<{key: string; operator: string; values?: string[]}>
}

export interface PodTemplateSpec {
  metadata?: {labels?: Record<string, string>; annotations?: Record<string, string>; name?: string}
  spec: PodSpec
}

export interface ContainerState {
  waiting?: {reason?: string; message?: string}
  running?: {startedAt: string}
  terminated?: {exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string; containerID?: string; signal?: number}
}

export interface ContainerStatus {
  name: string
  state: ContainerState
  lastState: ContainerState
  ready: boolean
  restartCount: number
  image: string
  imageID: string
  containerID?: string
  started?: boolean
  volumeMounts?: unknown[]
}

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason?: string
  message?: string
  lastTransitionTime?: string
  lastProbeTime?: string | null
  lastUpdateTime?: string
}

export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'
  conditions?: Condition[]
  containerStatuses?: ContainerStatus[]
  initContainerStatuses?: ContainerStatus[]
  hostIP?: string
  hostIPs?: Array<{ip: string}>
  podIP?: string
  podIPs?: Array<{ip: string}>
  startTime?: string
  qosClass?: string
  reason?: string
  message?: string
  nominatedNodeName?: string
}

export interface Pod extends KubeObject {
  spec: PodSpec
  status?: PodStatus
}

export interface Deployment extends KubeObject {
  spec: {
    replicas?: number
    selector: LabelSelectorSpec
    template: PodTemplateSpec
    strategy?: {type?: string; rollingUpdate?: {maxSurge?: number | string; maxUnavailable?: number | string}}
    minReadySeconds?: number
    revisionHistoryLimit?: number
    progressDeadlineSeconds?: number
    paused?: boolean
  }
  status?: {
    observedGeneration?: number
    replicas?: number
    updatedReplicas?: number
    readyReplicas?: number
    availableReplicas?: number
    unavailableReplicas?: number
    conditions?: Condition[]
  }
}

export interface ReplicaSet extends KubeObject {
  spec: {replicas?: number; selector: LabelSelectorSpec; template: PodTemplateSpec; minReadySeconds?: number}
  status?: {replicas: number; fullyLabeledReplicas?: number; readyReplicas?: number; availableReplicas?: number; observedGeneration?: number}
}

export interface PersistentVolumeClaimTemplate {
  metadata: {name: string; labels?: Record<string, string>; annotations?: Record<string, string>}
  spec: PersistentVolumeClaim['spec']
}

export interface StatefulSet extends KubeObject {
  spec: {
    replicas?: number
    selector: LabelSelectorSpec
    template: PodTemplateSpec
    serviceName?: string
    podManagementPolicy?: string
    volumeClaimTemplates?: PersistentVolumeClaimTemplate[]
    updateStrategy?: {type?: string; rollingUpdate?: {partition?: number}}
    minReadySeconds?: number
  }
  status?: Record<string, unknown>
}

export interface DaemonSet extends KubeObject {
  spec: {selector: LabelSelectorSpec; template: PodTemplateSpec; minReadySeconds?: number}
  status?: Record<string, unknown>
}

export interface Job extends KubeObject {
  spec: {
    completions?: number
    parallelism?: number
    backoffLimit?: number
    activeDeadlineSeconds?: number
    selector?: LabelSelectorSpec
    template: PodTemplateSpec
    suspend?: boolean
    ttlSecondsAfterFinished?: number
    manualSelector?: boolean
  }
  status?: {
    active?: number
    succeeded?: number
    failed?: number
    ready?: number
    terminating?: number
    startTime?: string
    completionTime?: string
    conditions?: Condition[]
    uncountedTerminatedPods?: Record<string, unknown>
  }
}

export interface ServicePort {
  name?: string
  port: number
  targetPort?: number | string
  protocol?: string
  nodePort?: number
  appProtocol?: string
}

export interface Service extends KubeObject {
  spec: {
    type?: string
    selector?: Record<string, string>
    ports?: ServicePort[]
    clusterIP?: string
    clusterIPs?: string[]
    externalIPs?: string[]
    externalName?: string
  }
  status?: {loadBalancer?: {ingress?: Array<{ip?: string; hostname?: string; ipMode?: string}>}}
}

export interface PersistentVolumeClaim extends KubeObject {
  spec: {
    accessModes?: string[]
    resources?: {requests?: Record<string, string>}
    storageClassName?: string | null
    volumeName?: string
    volumeMode?: string
  }
  status?: {phase?: string; accessModes?: string[]; capacity?: Record<string, string>}
}

export interface Node extends KubeObject {
  spec: {unschedulable?: boolean; taints?: Array<{key: string; effect: string; value?: string}>; podCIDR?: string}
  status: {
    capacity: Record<string, string>
    allocatable: Record<string, string>
    conditions: Condition[]
    addresses: Array<{type: string; address: string}>
    nodeInfo: Record<string, string>
  }
}

export interface CoreEvent extends KubeObject {
  involvedObject: {kind: string; namespace?: string; name: string; uid?: string; apiVersion?: string; resourceVersion?: string; fieldPath?: string}
  reason: string
  message: string
  source?: {component?: string; host?: string}
  firstTimestamp?: string | null
  lastTimestamp?: string | null
  eventTime?: string | null
  count?: number
  type: 'Normal' | 'Warning'
  reportingComponent?: string
  reportingInstance?: string
  series?: {count: number; lastObservedTime: string}
}
