/**
 * Services: Endpoints and an EndpointSlice listing the selected pods (ready ones as addresses,
 * the others as notReadyAddresses), and k3s's ServiceLB giving LoadBalancer services the node
 * addresses as their ingress.
 */
import type {ClusterApi} from '../api.js'
import {clone, jsonEqual} from '../json.js'
import type {ResourceType} from '../resources.js'
import {labelsMatch, selectorFromSpec} from '../selectors.js'
import type {Change} from '../store.js'
import type {Node, Pod, Service, ServicePort} from '../types.js'
import type {Controller} from './runtime.js'
import {isReady, isTerminal, keyOf, splitKey} from './support.js'

function selects(service: Service, labels: Record<string, string> | undefined): boolean {
  const selector = service.spec.selector
  return selector !== undefined && Object.keys(selector).length > 0 && labelsMatch(selectorFromSpec({matchLabels: selector}), labels)
}

/** The pod port a service port sends traffic to (named target ports are looked up in the pod). */
function targetPort(port: ServicePort, pod: Pod): number | undefined {
  const target = port.targetPort ?? port.port
  if (typeof target === 'number') return target
  if (/^\d+$/.test(target)) return Number(target)
  for (const container of pod.spec.containers) {
    const found = container.ports?.find((candidate) => candidate.name === target)
    if (found) return found.containerPort
  }
  return undefined
}

export class EndpointsController implements Controller {
  readonly name = 'endpoint-controller'

  constructor(
    private readonly api: ClusterApi,
    private readonly types: {service: ResourceType; pod: ResourceType; endpoints: ResourceType; slice: ResourceType; node: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.service.storage) return [keyOf(change.object)]
    if (change.storage === this.types.node.storage) return ['*']
    if (change.storage !== this.types.pod.storage) return []
    const namespace = change.object.metadata.namespace
    return (this.api.list(this.types.service, namespace) as Service[])
      .filter((service) => selects(service, change.object.metadata.labels) || (change.previous !== undefined && selects(service, change.previous.metadata.labels)))
      .map(keyOf)
  }

  reconcile(key: string): void {
    if (key === '*') {
      for (const service of this.api.list(this.types.service, undefined)) this.reconcile(keyOf(service))
      return
    }
    const [namespace, name] = splitKey(key)
    const service = this.api.find(this.types.service, namespace, name) as Service | undefined
    if (!service || service.metadata.deletionTimestamp !== undefined) return
    if (service.spec.type === 'LoadBalancer') this.assignLoadBalancer(service)
    if (!service.spec.selector || Object.keys(service.spec.selector).length === 0) return
    const pods = (this.api.list(this.types.pod, namespace) as Pod[]).filter(
      (pod) => selects(service, pod.metadata.labels) && pod.status?.podIP && !isTerminal(pod) && pod.metadata.deletionTimestamp === undefined,
    )
    const address = (pod: Pod): Record<string, unknown> => ({
      ip: pod.status?.podIP,
      nodeName: pod.spec.nodeName,
      targetRef: {kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid},
    })
    const ports = (service.spec.ports ?? []).flatMap((port) => {
      const resolved = pods.map((pod) => targetPort(port, pod)).find((value) => value !== undefined) ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port)
      return [{...(port.name ? {name: port.name} : {}), port: resolved, protocol: port.protocol ?? 'TCP', ...(port.appProtocol ? {appProtocol: port.appProtocol} : {})}]
    })
    const ready = pods.filter(isReady)
    const notReady = pods.filter((pod) => !isReady(pod))
    const subsets =
      pods.length === 0
        ? undefined
        : [
            {
              ...(ready.length > 0 ? {addresses: ready.map(address)} : {}),
              ...(notReady.length > 0 ? {notReadyAddresses: notReady.map(address)} : {}),
              ports,
            },
          ]
    this.writeEndpoints(service, subsets)
    this.writeSlice(service, pods, ports)
  }

  private writeEndpoints(service: Service, subsets: object[] | undefined): void {
    const {namespace, name} = service.metadata
    const current = this.api.find(this.types.endpoints, namespace, name)
    const labels = {...service.metadata.labels, 'endpoints.kubernetes.io/managed-by': 'endpoint-controller'}
    if (!current) {
      this.api.createInternal(this.types.endpoints, {apiVersion: 'v1', kind: 'Endpoints', metadata: {name, namespace, labels}, ...(subsets ? {subsets} : {})})
      return
    }
    if (jsonEqual(current.subsets, subsets) && jsonEqual(current.metadata.labels, labels)) return
    const next = clone(current)
    next.metadata.labels = labels
    next.metadata.annotations = {...next.metadata.annotations, 'endpoints.kubernetes.io/last-change-trigger-time': this.api.now().replace(/\.\d+Z$/, 'Z')}
    if (subsets) next.subsets = subsets
    else delete next.subsets
    this.api.writeInternal(this.types.endpoints, next)
  }

  private writeSlice(service: Service, pods: Pod[], ports: object[]): void {
    const {namespace, name} = service.metadata
    const endpoints = pods.map((pod) => ({
      addresses: [pod.status?.podIP ?? ''],
      conditions: {ready: isReady(pod), serving: isReady(pod), terminating: false},
      nodeName: pod.spec.nodeName,
      targetRef: {kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid},
    }))
    const existing = this.api.list(this.types.slice, namespace).find((slice) => slice.metadata.labels?.['kubernetes.io/service-name'] === name)
    if (!existing) {
      this.api.createInternal(this.types.slice, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: '',
          generateName: `${name}-`,
          namespace,
          labels: {...service.metadata.labels, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'kubernetes.io/service-name': name},
          ownerReferences: [{apiVersion: 'v1', kind: 'Service', name, uid: service.metadata.uid ?? '', controller: true, blockOwnerDeletion: true}],
        },
        addressType: 'IPv4',
        endpoints,
        ports,
      })
      return
    }
    if (jsonEqual(existing.endpoints, endpoints) && jsonEqual(existing.ports, ports)) return
    const next = clone(existing)
    next.endpoints = endpoints
    next.ports = ports
    this.api.writeInternal(this.types.slice, next)
  }

  /** k3s ServiceLB: a LoadBalancer service is reachable on every node's address. */
  private assignLoadBalancer(service: Service): void {
    const ingress = (this.api.list(this.types.node, undefined) as Node[])
      .map((node) => node.status.addresses.find((address) => address.type === 'InternalIP')?.address)
      .filter((ip): ip is string => ip !== undefined)
      .map((ip) => ({ip, ipMode: 'VIP'}))
    if (jsonEqual(service.status?.loadBalancer?.ingress, ingress)) return
    const next = clone(service)
    next.status = {...next.status, loadBalancer: {ingress}}
    this.api.writeInternal(this.types.service, next)
  }
}
