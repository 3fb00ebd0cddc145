/**
 * Namespaces: every new one gets the `kube-root-ca.crt` ConfigMap and the `default`
 * ServiceAccount; a deleted one is Terminating until everything in it is gone (pods stop
 * gracefully), then disappears. Conditions as the namespace controller reports them.
 */
import type {ClusterApi} from '../api.js'
import type {KubeObject} from '../contract.js'
import {clone} from '../json.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {Condition} from '../types.js'
import type {Controller} from './runtime.js'

const rootCertificate = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy',
  'dmVyLWNhQDE3MzIzNDU2NzgwHhcNMjQxMTIzMDcwMDAwWhcNMzQxMTIxMDcwMDAw',
  'WjAjMSEwHwYDVQQDDBhrM3Mtc2VydmVyLWNhQDE3MzIzNDU2NzgwWTATBgcqhkjO',
  'PQIBBggqhkjOPQMBBwNCAAQsimulatedclusterrootcertificatenotrealAAAA',
  '-----END CERTIFICATE-----',
  '',
].join('\n')

export class NamespaceController implements Controller {
  readonly name = 'namespace-controller'

  constructor(
    private readonly api: ClusterApi,
    private readonly types: {namespace: ResourceType; configMap: ResourceType; serviceAccount: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.namespace.storage) return [change.object.metadata.name]
    const namespace = change.object.metadata.namespace
    if (change.type === 'DELETED' && namespace) {
      const owner = this.api.find(this.types.namespace, undefined, namespace)
      if (owner?.metadata.deletionTimestamp !== undefined) return [namespace]
    }
    return []
  }

  reconcile(key: string): void {
    const names = key === '*' ? this.api.list(this.types.namespace, undefined).map((ns) => ns.metadata.name) : [key]
    for (const name of names) {
      const namespace = this.api.find(this.types.namespace, undefined, name)
      if (!namespace) continue
      if (namespace.metadata.deletionTimestamp === undefined) this.ensureDefaults(name)
      else this.finalize(namespace)
    }
  }

  private ensureDefaults(namespace: string): void {
    const {configMap, serviceAccount} = this.types
    if (!this.api.find(configMap, namespace, 'kube-root-ca.crt')) {
      this.api.createInternal(configMap, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'kube-root-ca.crt',
          namespace,
          annotations: {
            'kubernetes.io/description':
              'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
          },
        },
        data: {'ca.crt': rootCertificate},
      })
    }
    if (!this.api.find(serviceAccount, namespace, 'default')) {
      this.api.createInternal(serviceAccount, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'default', namespace}})
    }
  }

  private finalize(namespace: KubeObject): void {
    const name = namespace.metadata.name
    const remaining = new Map<string, number>()
    const storages = new Set<string>()
    for (const type of this.api.registry.all()) {
      if (!type.namespaced || storages.has(type.storage)) continue
      storages.add(type.storage)
      for (const object of this.api.list(type, name)) {
        remaining.set(type.resource, (remaining.get(type.resource) ?? 0) + 1)
        if (object.metadata.deletionTimestamp === undefined) this.api.delete(type, name, object.metadata.name, {propagationPolicy: 'Background'})
      }
    }
    const current = this.api.find(this.types.namespace, undefined, name)
    if (!current) return
    const next = clone(current)
    const left = [...remaining].filter(([resource]) => resource !== 'events')
    if (left.length === 0) {
      next.spec = {...(next.spec as object), finalizers: []}
      this.api.writeInternal(this.types.namespace, next)
      this.api.removeInternal(this.types.namespace, next)
      return
    }
    const described = left.map(([resource, count]) => `${resource}. has ${count} resource instances`).join(', ')
    const previous = (current.status as {conditions?: Condition[]} | undefined)?.conditions ?? []
    const now = this.api.now().replace(/\.\d+Z$/, 'Z')
    const condition = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
      const before = previous.find((c) => c.type === type)
      const unchanged = before?.status === status && before.reason === reason && before.message === message
      return {type, status, lastTransitionTime: unchanged ? before.lastTransitionTime : now, reason, message}
    }
    next.status = {
      phase: 'Terminating',
      conditions: [
        condition('NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered', 'All resources successfully discovered'),
        condition('NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions', 'All legacy kube types successfully parsed'),
        condition('NamespaceDeletionContentFailure', 'False', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'),
        condition('NamespaceContentRemaining', 'True', 'SomeResourcesRemain', `Some resources are remaining: ${described}`),
        condition('NamespaceFinalizersRemaining', 'False', 'ContentHasNoFinalizers', 'All content-preserving finalizers finished'),
      ],
    }
    this.api.writeInternal(this.types.namespace, next)
  }
}
