/**
 * The objects a fresh k3s cluster (as k3d creates it) already has: its namespaces, nodes, the
 * `kubernetes` service, the local-path default StorageClass and the built-in priority classes.
 * kube-system's workloads are added by the controllers (see system-workloads.ts).
 */
import {createHash, randomUUID} from 'node:crypto'

import type {ClusterApi} from './api.js'
import type {KubeObject, NodeSpec} from './contract.js'
import {parseQuantity} from './quantity.js'

export interface ClusterIdentity {
  clusterName: string
  gitVersion: string
  /** First three octets of the cluster's docker network, e.g. `172.18.0`. */
  networkPrefix: string
}

export function networkPrefixFor(clusterName: string): string {
  const digest = createHash('sha256').update(clusterName).digest()
  return `172.${18 + ((digest[0] ?? 0) % 12)}.0`
}

export function nodeAddress(identity: ClusterIdentity, index: number): string {
  return `${identity.networkPrefix}.${index + 2}`
}

function memoryInKi(quantity: string): string {
  return `${Math.round(parseQuantity(quantity) / 1024)}Ki`
}

export function nodeObject(identity: ClusterIdentity, spec: NodeSpec, index: number, now: string): KubeObject {
  const address = nodeAddress(identity, index)
  const roles: Record<string, string> = spec.role === 'server' ? {'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true'} : {}
  const resources = {cpu: spec.cpu, 'ephemeral-storage': '263112772Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: memoryInKi(spec.memory), pods: '110'}
  const condition = (type: string, status: string, reason: string, message: string): object => ({type, status, lastHeartbeatTime: now, lastTransitionTime: now, reason, message})
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/instance-type': 'k3s',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'k3s',
        ...roles,
      },
      annotations: {
        'alpha.kubernetes.io/provided-node-ip': address,
        'k3s.io/hostname': spec.name,
        'k3s.io/internal-ip': address,
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {podCIDR: `10.42.${index}.0/24`, podCIDRs: [`10.42.${index}.0/24`], providerID: `k3s://${spec.name}`},
    status: {
      capacity: resources,
      allocatable: {...resources, 'ephemeral-storage': '255953965346'},
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        {type: 'InternalIP', address},
        {type: 'Hostname', address: spec.name},
      ],
      daemonEndpoints: {kubeletEndpoint: {Port: 10250}},
      nodeInfo: {
        architecture: 'amd64',
        bootID: randomUUID(),
        containerRuntimeVersion: 'containerd://1.7.23-k3s2',
        kernelVersion: '6.8.0-49-generic',
        kubeProxyVersion: identity.gitVersion,
        kubeletVersion: identity.gitVersion,
        machineID: '',
        operatingSystem: 'linux',
        osImage: `K3s ${identity.gitVersion}`,
        systemUUID: randomUUID(),
      },
    },
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not registered`)
  return value
}

export function bootstrapCluster(api: ClusterApi, identity: ClusterIdentity, nodes: NodeSpec[]): void {
  const type = (apiVersion: string, kind: string) => required(api.registry.byKind(apiVersion, kind), kind)
  const create = (object: KubeObject): void => {
    api.createInternal(type(object.apiVersion, object.kind), object)
  }
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    create({apiVersion: 'v1', kind: 'Namespace', metadata: {name}})
  }
  const now = api.now()
  nodes.forEach((spec, index) => create(nodeObject(identity, spec, index, now)))
  create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name: 'kubernetes', namespace: 'default', labels: {component: 'apiserver', provider: 'kubernetes'}},
    spec: {type: 'ClusterIP', clusterIP: '10.43.0.1', ports: [{name: 'https', port: 443, protocol: 'TCP', targetPort: 6443}]},
  })
  create({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {name: 'kubernetes', namespace: 'default', labels: {'endpointslice.kubernetes.io/skip-mirror': 'true'}},
    subsets: [{addresses: [{ip: nodeAddress(identity, 0)}], ports: [{name: 'https', port: 6443, protocol: 'TCP'}]}],
  })
  create({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {name: 'local-path', annotations: {'storageclass.kubernetes.io/is-default-class': 'true'}},
    provisioner: 'rancher.io/local-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  })
  for (const [name, value] of [
    ['system-cluster-critical', 2000000000],
    ['system-node-critical', 2000001000],
  ] as const) {
    create({
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: {name},
      value,
      globalDefault: false,
      preemptionPolicy: 'PreemptLowerPriority',
      description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
    })
  }
}
