/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns
 * and cell values of kube-apiserver's printers for the kinds devctl's users look at, so the real
 * kubectl prints exactly what it prints against a real cluster.
 */
import type {KubeObject} from './contract.js'
import {toStored} from './conversion.js'
import {isJsonObject, scalarText} from './json.js'
import type {ResourceType} from './resources.js'
import {formatLabelSelector, formatLabels, type LabelSelectorSpec} from './selectors.js'
import type {Condition, Container, ContainerStatus, CoreEvent, DaemonSet, Deployment, Job, Node, PersistentVolumeClaim, Pod, ReplicaSet, Service, StatefulSet} from './types.js'

interface Column {
  name: string
  type: 'string' | 'integer' | 'boolean' | 'date'
  format?: string
  description: string
  priority?: number
}

type Cell = string | number | boolean
type Printer = (object: KubeObject, now: number) => Cell[]

interface TableSpec {
  columns: Column[]
  print: Printer
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
}
const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
}
const containersColumn: Column = {name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.'}
const imagesColumn: Column = {name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.'}
const selectorColumn: Column = {
  name: 'Selector',
  type: 'string',
  priority: 1,
  description: 'A label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set.',
}

function column(name: string, description: string, extra: Partial<Column> = {}): Column {
  return {name, type: 'string', description, ...extra}
}

/** `duration.HumanDuration`, the AGE format. */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) {
    const rest = seconds % 60
    return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`
  }
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) {
    const rest = minutes % 60
    return rest === 0 ? `${hours}h` : `${hours}h${rest}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const rest = hours % 24
    return rest === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${rest}h`
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`
  }
  return `${Math.floor(hours / 24 / 365)}y`
}

function since(timestamp: unknown, now: number): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>'
  return humanDuration(now - Date.parse(timestamp))
}

function age(object: KubeObject, now: number): string {
  return since(object.metadata.creationTimestamp, now)
}

function layoutContainers(containers: Container[] | undefined): [string, string] {
  const list = containers ?? []
  return [list.map((c) => c.name).join(','), list.map((c) => c.image).join(',')]
}

function hasCondition(conditions: Condition[] | undefined, type: string): boolean {
  const found = conditions?.find((condition) => condition.type === type)
  return found?.status === 'True'
}

function isRestartableInit(container: Container | undefined): boolean {
  return container?.restartPolicy === 'Always'
}

/** printPod: READY, STATUS (Init:0/1, CrashLoopBackOff, Completed, Terminating...), RESTARTS. */
export function podRow(pod: Pod, now: number): Cell[] {
  const status = pod.status ?? {}
  let restarts = 0
  let restartableInitRestarts = 0
  let totalContainers = pod.spec.containers.length
  let readyContainers = 0
  let lastRestart = 0
  let lastRestartableInitRestart = 0
  let reason: string = status.reason || status.phase || ''
  if (status.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated'
  const initContainers = new Map((pod.spec.initContainers ?? []).map((c) => [c.name, c]))
  for (const container of initContainers.values()) if (isRestartableInit(container)) totalContainers++
  const finishedAt = (s: ContainerStatus): number => Date.parse(s.lastState.terminated?.finishedAt ?? '') || 0

  let initializing = false
  const initStatuses = status.initContainerStatuses ?? []
  for (const [index, container] of initStatuses.entries()) {
    restarts += container.restartCount
    lastRestart = Math.max(lastRestart, finishedAt(container))
    const restartable = isRestartableInit(initContainers.get(container.name))
    if (restartable) {
      restartableInitRestarts += container.restartCount
      lastRestartableInitRestart = Math.max(lastRestartableInitRestart, finishedAt(container))
    }
    const terminated = container.state.terminated
    const waiting = container.state.waiting
    if (terminated && terminated.exitCode === 0) continue
    if (restartable && container.started) {
      if (container.ready) readyContainers++
      continue
    }
    if (terminated) {
      reason = terminated.reason ? `Init:${terminated.reason}` : terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode}`
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`
    } else {
      reason = `Init:${index}/${pod.spec.initContainers?.length ?? 0}`
    }
    initializing = true
    break
  }

  if (!initializing || hasCondition(status.conditions, 'Initialized')) {
    restarts = restartableInitRestarts
    lastRestart = lastRestartableInitRestart
    let hasRunning = false
    const statuses = status.containerStatuses ?? []
    for (let index = statuses.length - 1; index >= 0; index--) {
      const container = statuses[index]
      if (!container) continue
      restarts += container.restartCount
      lastRestart = Math.max(lastRestart, finishedAt(container))
      const {waiting, terminated, running} = container.state
      if (waiting?.reason) reason = waiting.reason
      else if (terminated?.reason) reason = terminated.reason
      else if (terminated) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`
      else if (container.ready && running) {
        hasRunning = true
        readyContainers++
      }
    }
    if (reason === 'Completed' && hasRunning) reason = hasCondition(status.conditions, 'Ready') ? 'Running' : 'NotReady'
  }

  if (pod.metadata.deletionTimestamp !== undefined && status.reason === 'NodeLost') reason = 'Unknown'
  else if (pod.metadata.deletionTimestamp !== undefined && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating'

  const restartText = restarts !== 0 && lastRestart !== 0 ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts)
  const gates = pod.spec.readinessGates ?? []
  const readinessGates = gates.length === 0 ? '<none>' : `${gates.filter((gate) => hasCondition(status.conditions, gate.conditionType)).length}/${gates.length}`
  return [
    pod.metadata.name,
    `${readyContainers}/${totalContainers}`,
    reason,
    restartText,
    age(pod, now),
    status.podIPs?.[0]?.ip || '<none>',
    pod.spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    readinessGates,
  ]
}

function jobRow(job: Job, now: number): Cell[] {
  const status = job.status ?? {}
  const succeeded = status.succeeded ?? 0
  const parallelism = job.spec.parallelism ?? 0
  const completions = job.spec.completions !== undefined ? `${succeeded}/${job.spec.completions}` : parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`
  let duration = ''
  if (status.startTime) {
    const end = status.completionTime ? Date.parse(status.completionTime) : now
    duration = humanDuration(end - Date.parse(status.startTime))
  }
  const conditions = status.conditions
  let state = 'Running'
  if (hasCondition(conditions, 'Complete')) state = 'Complete'
  else if (hasCondition(conditions, 'Failed')) state = 'Failed'
  else if (job.metadata.deletionTimestamp !== undefined) state = 'Terminating'
  else if (hasCondition(conditions, 'Suspended')) state = 'Suspended'
  else if (hasCondition(conditions, 'FailureTarget')) state = 'FailureTarget'
  else if (hasCondition(conditions, 'SuccessCriteriaMet')) state = 'SuccessCriteriaMet'
  const [names, images] = layoutContainers(job.spec.template.spec.containers)
  return [job.metadata.name, state, completions, duration, age(job, now), names, images, formatLabelSelector(job.spec.selector)]
}

function deploymentRow(deployment: Deployment, now: number): Cell[] {
  const status = deployment.status ?? {}
  const [names, images] = layoutContainers(deployment.spec.template.spec.containers)
  return [
    deployment.metadata.name,
    `${status.readyReplicas ?? 0}/${deployment.spec.replicas ?? 0}`,
    status.updatedReplicas ?? 0,
    status.availableReplicas ?? 0,
    age(deployment, now),
    names,
    images,
    formatLabelSelector(deployment.spec.selector),
  ]
}

function replicaSetRow(replicaSet: ReplicaSet, now: number): Cell[] {
  const [names, images] = layoutContainers(replicaSet.spec.template.spec.containers)
  return [
    replicaSet.metadata.name,
    replicaSet.spec.replicas ?? 0,
    replicaSet.status?.replicas ?? 0,
    replicaSet.status?.readyReplicas ?? 0,
    age(replicaSet, now),
    names,
    images,
    formatLabelSelector(replicaSet.spec.selector),
  ]
}

function statefulSetRow(statefulSet: StatefulSet, now: number): Cell[] {
  const [names, images] = layoutContainers(statefulSet.spec.template.spec.containers)
  const ready = Number(statefulSet.status?.readyReplicas ?? 0)
  return [statefulSet.metadata.name, `${ready}/${statefulSet.spec.replicas ?? 0}`, age(statefulSet, now), names, images]
}

function daemonSetRow(daemonSet: DaemonSet, now: number): Cell[] {
  const status = daemonSet.status ?? {}
  const count = (field: string): number => Number(status[field] ?? 0)
  const [names, images] = layoutContainers(daemonSet.spec.template.spec.containers)
  return [
    daemonSet.metadata.name,
    count('desiredNumberScheduled'),
    count('currentNumberScheduled'),
    count('numberReady'),
    count('updatedNumberScheduled'),
    count('numberAvailable'),
    formatLabels((daemonSet.spec.template.spec as {nodeSelector?: Record<string, string>}).nodeSelector),
    age(daemonSet, now),
    names,
    images,
    formatLabelSelector(daemonSet.spec.selector),
  ]
}

function serviceRow(service: Service, now: number): Cell[] {
  const spec = service.spec
  const type = spec.type ?? 'ClusterIP'
  let external = '<unknown>'
  const ingress = [...new Set((service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip || entry.hostname || '').filter(Boolean))].sort().join(',')
  if (type === 'ClusterIP' || type === 'NodePort') external = (spec.externalIPs ?? []).length > 0 ? (spec.externalIPs ?? []).join(',') : '<none>'
  else if (type === 'LoadBalancer') {
    const parts = [...(ingress ? ingress.split(',') : []), ...(spec.externalIPs ?? [])]
    external = parts.length > 0 ? parts.join(',') : '<pending>'
  } else if (type === 'ExternalName') external = spec.externalName ?? ''
  const ports = (spec.ports ?? []).map((port) => (port.nodePort ? `${port.port}:${port.nodePort}/${port.protocol ?? 'TCP'}` : `${port.port}/${port.protocol ?? 'TCP'}`)).join(',')
  return [service.metadata.name, type, spec.clusterIPs?.[0] ?? '<none>', external, ports || '<none>', age(service, now), formatLabels(spec.selector)]
}

function eventRow(event: CoreEvent, now: number): Cell[] {
  const first = event.firstTimestamp ? since(event.firstTimestamp, now) : since(event.eventTime, now)
  let last = event.lastTimestamp ? since(event.lastTimestamp, now) : first
  let count = event.count ?? 0
  if (event.series) {
    last = since(event.series.lastObservedTime, now)
    count = event.series.count
  } else if (count === 0) {
    count = 1
  }
  const involved = event.involvedObject
  const target = involved.name ? `${involved.kind.toLowerCase()}/${involved.name}` : involved.kind.toLowerCase()
  const component = event.source?.component || event.reportingComponent || ''
  const instance = event.source?.host || event.reportingInstance || ''
  const source = instance ? `${component}, ${instance}` : component
  return [last, event.type, event.reason, target, involved.fieldPath ?? '', source, event.message.trim(), first, count, event.metadata.name]
}

function nodeRow(node: Node, now: number): Cell[] {
  const ready = node.status.conditions.find((condition) => condition.type === 'Ready')
  const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown']
  if (node.spec.unschedulable) status.push('SchedulingDisabled')
  const roles = new Set<string>()
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/') && key.length > 'node-role.kubernetes.io/'.length) roles.add(key.slice('node-role.kubernetes.io/'.length))
    else if (key === 'kubernetes.io/role' && value) roles.add(value)
  }
  const address = (type: string): string => node.status.addresses.find((entry) => entry.type === type)?.address ?? '<none>'
  const info = node.status.nodeInfo
  return [
    node.metadata.name,
    status.join(','),
    [...roles].sort().join(',') || '<none>',
    age(node, now),
    info.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info.osImage || '<unknown>',
    info.kernelVersion || '<unknown>',
    info.containerRuntimeVersion || '<unknown>',
  ]
}

const accessModeShort: Record<string, string> = {ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP'}

function accessModes(modes: string[] | undefined): string {
  return (modes ?? []).map((mode) => accessModeShort[mode] ?? mode).join(',')
}

function claimRow(claim: PersistentVolumeClaim, now: number): Cell[] {
  const phase = claim.metadata.deletionTimestamp !== undefined ? 'Terminating' : (claim.status?.phase ?? '')
  const bound = Boolean(claim.spec.volumeName)
  return [
    claim.metadata.name,
    phase,
    claim.spec.volumeName ?? '',
    bound ? (claim.status?.capacity?.storage ?? '') : '',
    bound ? accessModes(claim.status?.accessModes) : '',
    claim.spec.storageClassName ?? '',
    '<unset>',
    age(claim, now),
    claim.spec.volumeMode ?? '<unset>',
  ]
}

function volumeRow(volume: KubeObject, now: number): Cell[] {
  const spec = (volume.spec ?? {}) as {
    capacity?: Record<string, string>
    accessModes?: string[]
    persistentVolumeReclaimPolicy?: string
    claimRef?: {namespace?: string; name?: string}
    storageClassName?: string
    volumeMode?: string
  }
  const status = (volume.status ?? {}) as {phase?: string; reason?: string}
  const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : ''
  return [
    volume.metadata.name,
    spec.capacity?.storage ?? '',
    accessModes(spec.accessModes),
    spec.persistentVolumeReclaimPolicy ?? '',
    volume.metadata.deletionTimestamp !== undefined ? 'Terminating' : (status.phase ?? ''),
    claim,
    spec.storageClassName ?? '',
    '<unset>',
    status.reason ?? '',
    age(volume, now),
    spec.volumeMode ?? '<unset>',
  ]
}

function countOf(value: unknown): number {
  return isJsonObject(value) ? Object.keys(value).length : 0
}

const specs: Record<string, TableSpec> = {
  '/Pod': {
    columns: [
      nameColumn,
      column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      column('Status', 'The aggregate status of the containers in this pod.'),
      column('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      ageColumn,
      column('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', {priority: 1}),
      column('Node', 'NodeName indicates in which node this pod is scheduled.', {priority: 1}),
      column('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node.', {priority: 1}),
      column('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', {priority: 1}),
    ],
    print: (object, now) => podRow(object as Pod, now),
  },
  'batch/Job': {
    columns: [
      nameColumn,
      column('Status', 'Status of the job.'),
      column('Completions', 'The number of pods which reached phase Succeeded.'),
      column('Duration', 'Time required to complete the job.'),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn,
    ],
    print: (object, now) => jobRow(object as Job, now),
  },
  'apps/Deployment': {
    columns: [
      nameColumn,
      column('Ready', 'Number of the pod with ready state'),
      column('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      column('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn,
    ],
    print: (object, now) => deploymentRow(object as Deployment, now),
  },
  'apps/ReplicaSet': {
    columns: [
      nameColumn,
      column('Desired', 'Replicas is the number of desired replicas.', {type: 'integer'}),
      column('Current', 'Replicas is the most recently observed number of replicas.', {type: 'integer'}),
      column('Ready', 'The number of ready replicas for this replica set.', {type: 'integer'}),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn,
    ],
    print: (object, now) => replicaSetRow(object as ReplicaSet, now),
  },
  'apps/StatefulSet': {
    columns: [nameColumn, column('Ready', 'Number of the pod with ready state'), ageColumn, containersColumn, imagesColumn],
    print: (object, now) => statefulSetRow(object as StatefulSet, now),
  },
  'apps/DaemonSet': {
    columns: [
      nameColumn,
      column('Desired', 'The total number of nodes that should be running the daemon pod.', {type: 'integer'}),
      column('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', {type: 'integer'}),
      column('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', {type: 'integer'}),
      column('Up-to-date', 'The total number of nodes that are running updated daemon pod', {type: 'integer'}),
      column('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.', {type: 'integer'}),
      column('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
      ageColumn,
      containersColumn,
      imagesColumn,
      selectorColumn,
    ],
    print: (object, now) => daemonSetRow(object as DaemonSet, now),
  },
  '/Service': {
    columns: [
      nameColumn,
      column('Type', 'type determines how the Service is exposed.'),
      column('Cluster-IP', 'clusterIP is the IP address of the service.'),
      column('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
      column('Port(s)', 'The list of ports that are exposed by this service.'),
      ageColumn,
      column('Selector', 'Route service traffic to pods with label keys and values matching this selector.', {priority: 1}),
    ],
    print: (object, now) => serviceRow(object as Service, now),
  },
  '/Event': {
    columns: [
      column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
      column('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
      column('Reason', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      column('Object', 'The object that this event is about.'),
      column('Subobject', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', {priority: 1}),
      column('Source', 'The component reporting this event. Should be a short machine understandable string.', {priority: 1}),
      column('Message', 'A human-readable description of the status of this operation.'),
      column('First Seen', 'The time at which the event was first recorded.', {priority: 1}),
      column('Count', 'The number of times this event has occurred.', {priority: 1}),
      {...nameColumn, priority: 1},
    ],
    print: (object, now) => eventRow(object as CoreEvent, now),
  },
  '/Secret': {
    columns: [nameColumn, column('Type', 'Used to facilitate programmatic handling of secret data.'), column('Data', 'Contains the secret data.'), ageColumn],
    print: (object, now) => [object.metadata.name, scalarText(object.type), countOf(object.data), age(object, now)],
  },
  '/ConfigMap': {
    columns: [nameColumn, column('Data', 'Data contains the configuration data.'), ageColumn],
    print: (object, now) => [object.metadata.name, countOf(object.data) + countOf(object.binaryData), age(object, now)],
  },
  '/Namespace': {
    columns: [nameColumn, column('Status', 'The status of the namespace'), ageColumn],
    print: (object, now) => [object.metadata.name, String((object.status as {phase?: string} | undefined)?.phase ?? ''), age(object, now)],
  },
  '/ServiceAccount': {
    columns: [nameColumn, column('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), ageColumn],
    print: (object, now) => [object.metadata.name, Array.isArray(object.secrets) ? object.secrets.length : 0, age(object, now)],
  },
  '/Node': {
    columns: [
      nameColumn,
      column('Status', 'The status of the node'),
      column('Roles', 'The roles of the node'),
      ageColumn,
      column('Version', 'Kubelet Version reported by the node.'),
      column('Internal-IP', 'List of addresses reachable to the node.', {priority: 1}),
      column('External-IP', 'List of addresses reachable to the node.', {priority: 1}),
      column('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', {priority: 1}),
      column('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", {priority: 1}),
      column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', {priority: 1}),
    ],
    print: (object, now) => nodeRow(object as Node, now),
  },
  '/PersistentVolumeClaim': {
    columns: [
      nameColumn,
      column('Status', 'phase represents the current phase of PersistentVolumeClaim.'),
      column('Volume', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
      column('Capacity', 'capacity represents the actual resources of the underlying volume.'),
      column('Access Modes', 'accessModes contains the actual access modes the volume backing the PVC has.'),
      column('StorageClass', 'StorageClass of the pvc'),
      column('VolumeAttributesClass', 'VolumeAttributesClass of the pvc'),
      ageColumn,
      column('VolumeMode', 'volumeMode defines what type of volume is required by the claim.', {priority: 1}),
    ],
    print: (object, now) => claimRow(object as PersistentVolumeClaim, now),
  },
  '/PersistentVolume': {
    columns: [
      nameColumn,
      column('Capacity', "capacity is the description of the persistent volume's resources and capacity."),
      column('Access Modes', 'accessModes contains all ways the volume can be mounted.'),
      column('Reclaim Policy', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
      column('Status', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
      column('Claim', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
      column('StorageClass', 'StorageClass of the pv'),
      column('VolumeAttributesClass', 'VolumeAttributesClass of the pv'),
      column('Reason', 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.'),
      ageColumn,
      column('VolumeMode', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', {priority: 1}),
    ],
    print: volumeRow,
  },
  'storage.k8s.io/StorageClass': {
    columns: [
      nameColumn,
      column('Provisioner', 'provisioner indicates the type of the provisioner.'),
      column('ReclaimPolicy', 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.'),
      column('VolumeBindingMode', 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.'),
      column('AllowVolumeExpansion', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
      ageColumn,
    ],
    print: (object, now) => [
      object.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true' ? `${object.metadata.name} (default)` : object.metadata.name,
      scalarText(object.provisioner),
      scalarText(object.reclaimPolicy, 'Delete'),
      scalarText(object.volumeBindingMode, 'Immediate'),
      object.allowVolumeExpansion === true,
      age(object, now),
    ],
  },
  '/Endpoints': {
    columns: [nameColumn, column('Endpoints', 'The set of all endpoints is the union of all subsets.'), ageColumn],
    print: (object, now) => [object.metadata.name, endpointsText(object), age(object, now)],
  },
  'policy/PodDisruptionBudget': {
    columns: [
      nameColumn,
      column('Min Available', 'The minimum number of pods that must be available.'),
      column('Max Unavailable', 'The maximum number of pods that may be unavailable.'),
      column('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', {type: 'integer'}),
      ageColumn,
    ],
    print: (object, now) => {
      const spec = (object.spec ?? {}) as {minAvailable?: number | string; maxUnavailable?: number | string}
      const allowed = (object.status as {disruptionsAllowed?: number} | undefined)?.disruptionsAllowed ?? 0
      return [
        object.metadata.name,
        spec.minAvailable === undefined ? 'N/A' : String(spec.minAvailable),
        spec.maxUnavailable === undefined ? 'N/A' : String(spec.maxUnavailable),
        allowed,
        age(object, now),
      ]
    },
  },
  'autoscaling/HorizontalPodAutoscaler': {
    columns: [
      nameColumn,
      column(
        'Reference',
        'reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.',
      ),
      column('Targets', 'metrics contains the specifications for which to use to calculate the desired replica count.'),
      column('MinPods', 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.'),
      column('MaxPods', 'maxReplicas is the upper limit for the number of pods that can be set by the autoscaler.'),
      column('Replicas', 'currentReplicas is current number of replicas of pods managed by this autoscaler.'),
      ageColumn,
    ],
    print: hpaRow,
  },
  'networking.k8s.io/NetworkPolicy': {
    columns: [nameColumn, column('Pod-Selector', 'Selects the pods to which this NetworkPolicy object applies.'), ageColumn],
    print: (object, now) => [object.metadata.name, formatLabelSelector((object.spec as {podSelector?: LabelSelectorSpec} | undefined)?.podSelector), age(object, now)],
  },
  'networking.k8s.io/Ingress': {
    columns: [
      nameColumn,
      column('Class', 'The name of the IngressClass resource that should be used for additional configuration'),
      column('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
      column('Address', 'Address is a list containing ingress points for the load-balancer'),
      column('Ports', 'Ports of TLS configurations that open'),
      ageColumn,
    ],
    print: ingressRow,
  },
}

/** Without metrics the autoscaler knows no current value: `cpu: <unknown>/80%`. */
function hpaRow(object: KubeObject, now: number): Cell[] {
  const spec = (object.spec ?? {}) as {
    scaleTargetRef?: {kind?: string; name?: string}
    minReplicas?: number
    maxReplicas?: number
    metrics?: Array<{type: string; resource?: {name: string; target?: {averageUtilization?: number; averageValue?: string}}}>
  }
  const metrics = spec.metrics ?? []
  const targets =
    metrics.length === 0
      ? '<none>'
      : metrics
          .slice(0, 2)
          .map((metric) => {
            if (metric.type !== 'Resource' || !metric.resource) return '<unknown>/<unknown>'
            const target = metric.resource.target?.averageUtilization !== undefined ? `${metric.resource.target.averageUtilization}%` : (metric.resource.target?.averageValue ?? '<auto>')
            return `${metric.resource.name}: <unknown>/${target}`
          })
          .join(', ') + (metrics.length > 2 ? ` + ${metrics.length - 2} more...` : '')
  const current = (object.status as {currentReplicas?: number} | undefined)?.currentReplicas ?? 0
  return [
    object.metadata.name,
    `${spec.scaleTargetRef?.kind ?? ''}/${spec.scaleTargetRef?.name ?? ''}`,
    targets,
    spec.minReplicas === undefined ? '<unset>' : String(spec.minReplicas),
    spec.maxReplicas ?? 0,
    current,
    age(object, now),
  ]
}

function endpointsText(object: KubeObject): string {
  const subsets = Array.isArray(object.subsets) ? (object.subsets as Array<{addresses?: Array<{ip: string}>; ports?: Array<{port: number}>}>) : []
  if (subsets.length === 0) return '<none>'
  const all: string[] = []
  for (const subset of subsets) {
    const addresses = subset.addresses ?? []
    if ((subset.ports ?? []).length === 0) all.push(...addresses.map((address) => address.ip))
    else for (const port of subset.ports ?? []) all.push(...addresses.map((address) => `${address.ip}:${port.port}`))
  }
  if (all.length === 0) return ''
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',')
}

function ingressRow(object: KubeObject, now: number): Cell[] {
  const spec = (object.spec ?? {}) as {ingressClassName?: string; rules?: Array<{host?: string}>; tls?: unknown[]}
  const hosts = (spec.rules ?? []).map((rule) => rule.host).filter((host): host is string => Boolean(host))
  const shown = hosts.length > 3 ? `${hosts.slice(0, 3).join(',')} + ${(spec.rules ?? []).length - 3} more...` : hosts.join(',') || '*'
  const ingress = (object.status as {loadBalancer?: {ingress?: Array<{ip?: string; hostname?: string}>}} | undefined)?.loadBalancer?.ingress ?? []
  const address = [...new Set(ingress.map((entry) => entry.ip || entry.hostname || '').filter(Boolean))].sort().join(',')
  return [object.metadata.name, spec.ingressClassName ?? '<none>', shown, address, (spec.tls ?? []).length > 0 ? '80, 443' : '80', age(object, now)]
}

const genericSpec: TableSpec = {columns: [nameColumn, ageColumn], print: (object, now) => [object.metadata.name, age(object, now)]}

function specFor(type: ResourceType): TableSpec {
  // events.k8s.io Events print like core ones (kube-apiserver converts them for its printer).
  if (type.group === 'events.k8s.io' && type.kind === 'Event' && specs['/Event']) {
    const core = specs['/Event']
    return {columns: core.columns, print: (object, now) => core.print(toStored(type, object), now)}
  }
  return (type.custom ? undefined : specs[`${type.group}/${type.kind}`]) ?? genericSpec
}

export type IncludeObject = 'None' | 'Metadata' | 'Object'

function rowObject(object: KubeObject, include: IncludeObject): object | undefined {
  if (include === 'None') return undefined
  if (include === 'Object') return object
  return partialMetadata(object)
}

function rowConditions(type: ResourceType, object: KubeObject): object[] | undefined {
  if (type.kind !== 'Pod' || type.group !== '') return undefined
  const phase = (object.status as {phase?: string} | undefined)?.phase
  if (phase === 'Succeeded') return [{type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.'}]
  if (phase === 'Failed') return [{type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.'}]
  return undefined
}

/** A `meta.k8s.io/v1` Table of objects (already in the served version). */
export function toTable(type: ResourceType, objects: KubeObject[], options: {resourceVersion: string; continueToken?: string; include: IncludeObject; withColumns: boolean}): object {
  const spec = specFor(type)
  const now = Date.now()
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {resourceVersion: options.resourceVersion, ...(options.continueToken ? {continue: options.continueToken} : {})},
    columnDefinitions: options.withColumns ? spec.columns.map((c) => ({priority: 0, format: '', ...c})) : [],
    rows: objects.map((object) => {
      const conditions = rowConditions(type, object)
      const included = rowObject(object, options.include)
      return {cells: spec.print(object, now), ...(conditions ? {conditions} : {}), ...(included ? {object: included} : {})}
    }),
  }
}

function acceptsAs(accept: string | undefined, as: string): boolean {
  return (accept ?? '').split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim())
    return params[0] !== 'application/vnd.kubernetes.protobuf' && params.includes(`as=${as}`) && params.includes('g=meta.k8s.io') && (params.includes('v=v1') || params.includes('v=v1beta1'))
  })
}

/** Does the Accept header ask for a Table? */
export function wantsTable(accept: string | undefined): boolean {
  return acceptsAs(accept, 'Table')
}

/** Does the client (a metadata-only informer) ask for PartialObjectMetadata? */
export function wantsMetadata(accept: string | undefined, list: boolean): boolean {
  return acceptsAs(accept, list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata')
}

export function partialMetadata(object: KubeObject): object {
  return {kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata}
}
