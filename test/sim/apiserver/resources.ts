/**
 * The API surface one simulated cluster serves: every resource type with the names, scope, verbs
 * and subresources discovery reports. Types added at runtime (CustomResourceDefinitions) land
 * here too, so discovery and routing always agree.
 */
export interface Subresource {
  name: string
  kind: string
  /** Group/version of `kind` when it is not the parent's, e.g. Scale is autoscaling/v1. */
  group?: string
  version?: string
  verbs: string[]
}

export interface ResourceType {
  group: string
  version: string
  /** Plural, lower case: `deployments`. */
  resource: string
  kind: string
  singular: string
  namespaced: boolean
  shortNames: string[]
  categories: string[]
  verbs: string[]
  subresources: Subresource[]
  /** Storage bucket; several served versions of one kind share it (core and events.k8s.io events). */
  storage: string
  /** Served from a CustomResourceDefinition: list items carry apiVersion and kind. */
  custom: boolean
  /** metadata.generation counts spec changes. */
  tracksGeneration: boolean
}

export const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
const statusVerbs = ['get', 'patch', 'update']

export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version
}

export function splitApiVersion(apiVersion: string): {group: string; version: string} {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? {group: '', version: apiVersion} : {group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1)}
}

interface TypeSpec {
  kind: string
  resource?: string
  namespaced?: boolean
  shortNames?: string[]
  categories?: string[]
  verbs?: string[]
  status?: boolean
  scale?: boolean
  extraSubresources?: Subresource[]
  storage?: string
  tracksGeneration?: boolean
}

function define(group: string, version: string, spec: TypeSpec, custom = false): ResourceType {
  const resource = spec.resource ?? `${spec.kind.toLowerCase()}s`
  const subresources: Subresource[] = []
  if (spec.status) subresources.push({name: 'status', kind: spec.kind, verbs: statusVerbs})
  if (spec.scale) subresources.push({name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: statusVerbs})
  subresources.push(...(spec.extraSubresources ?? []))
  return {
    group,
    version,
    resource,
    kind: spec.kind,
    singular: spec.kind.toLowerCase(),
    namespaced: spec.namespaced ?? true,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    verbs: spec.verbs ?? allVerbs,
    subresources,
    storage: spec.storage ?? `${group}/${resource}`,
    custom,
    tracksGeneration: spec.tracksGeneration ?? custom,
  }
}

const all = ['all']

function builtinTypes(): ResourceType[] {
  const core = (spec: TypeSpec): ResourceType => define('', 'v1', spec)
  const apps = (spec: TypeSpec): ResourceType => define('apps', 'v1', {tracksGeneration: true, ...spec})
  return [
    core({kind: 'ConfigMap', shortNames: ['cm']}),
    core({kind: 'Endpoints', resource: 'endpoints', shortNames: ['ep']}),
    core({kind: 'Event', shortNames: ['ev']}),
    core({kind: 'LimitRange', shortNames: ['limits']}),
    core({
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      status: true,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      extraSubresources: [{name: 'finalize', kind: 'Namespace', verbs: ['update']}],
    }),
    core({kind: 'Node', namespaced: false, shortNames: ['no'], status: true}),
    core({kind: 'PersistentVolumeClaim', shortNames: ['pvc'], status: true}),
    core({kind: 'PersistentVolume', namespaced: false, shortNames: ['pv'], status: true}),
    core({
      kind: 'Pod',
      shortNames: ['po'],
      categories: all,
      status: true,
      extraSubresources: [
        {name: 'binding', kind: 'Binding', verbs: ['create']},
        {name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create']},
        {name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get']},
        {name: 'log', kind: 'Pod', verbs: ['get']},
        {name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get']},
      ],
    }),
    core({kind: 'PodTemplate'}),
    core({kind: 'ReplicationController', shortNames: ['rc'], categories: all, status: true, scale: true, tracksGeneration: true}),
    core({kind: 'ResourceQuota', shortNames: ['quota'], status: true}),
    core({kind: 'Secret'}),
    core({kind: 'ServiceAccount', shortNames: ['sa'], extraSubresources: [{name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create']}]}),
    core({kind: 'Service', shortNames: ['svc'], categories: all, status: true, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']}),
    apps({kind: 'ControllerRevision'}),
    apps({kind: 'DaemonSet', shortNames: ['ds'], categories: all, status: true}),
    apps({kind: 'Deployment', shortNames: ['deploy'], categories: all, status: true, scale: true}),
    apps({kind: 'ReplicaSet', shortNames: ['rs'], categories: all, status: true, scale: true}),
    apps({kind: 'StatefulSet', shortNames: ['sts'], categories: all, status: true, scale: true}),
    define('autoscaling', 'v2', {kind: 'HorizontalPodAutoscaler', shortNames: ['hpa'], categories: all, status: true, tracksGeneration: true}),
    define('batch', 'v1', {kind: 'CronJob', shortNames: ['cj'], categories: all, status: true, tracksGeneration: true}),
    define('batch', 'v1', {kind: 'Job', categories: all, status: true, tracksGeneration: true}),
    define('policy', 'v1', {kind: 'PodDisruptionBudget', shortNames: ['pdb'], status: true, tracksGeneration: true}),
    define('networking.k8s.io', 'v1', {kind: 'IngressClass', resource: 'ingressclasses', namespaced: false}),
    define('networking.k8s.io', 'v1', {kind: 'Ingress', resource: 'ingresses', shortNames: ['ing'], status: true}),
    define('networking.k8s.io', 'v1', {kind: 'NetworkPolicy', resource: 'networkpolicies', shortNames: ['netpol'], tracksGeneration: true}),
    define('storage.k8s.io', 'v1', {kind: 'StorageClass', resource: 'storageclasses', namespaced: false, shortNames: ['sc']}),
    define('storage.k8s.io', 'v1', {kind: 'CSIDriver', namespaced: false}),
    define('storage.k8s.io', 'v1', {kind: 'CSINode', namespaced: false}),
    define('storage.k8s.io', 'v1', {kind: 'VolumeAttachment', namespaced: false, status: true}),
    define('rbac.authorization.k8s.io', 'v1', {kind: 'ClusterRoleBinding', namespaced: false}),
    define('rbac.authorization.k8s.io', 'v1', {kind: 'ClusterRole', namespaced: false}),
    define('rbac.authorization.k8s.io', 'v1', {kind: 'RoleBinding'}),
    define('rbac.authorization.k8s.io', 'v1', {kind: 'Role'}),
    define('coordination.k8s.io', 'v1', {kind: 'Lease'}),
    define('discovery.k8s.io', 'v1', {kind: 'EndpointSlice'}),
    define('events.k8s.io', 'v1', {kind: 'Event', shortNames: ['ev'], storage: '/events'}),
    define('apiextensions.k8s.io', 'v1', {kind: 'CustomResourceDefinition', namespaced: false, shortNames: ['crd', 'crds'], status: true, tracksGeneration: true}),
    define('admissionregistration.k8s.io', 'v1', {kind: 'MutatingWebhookConfiguration', namespaced: false}),
    define('admissionregistration.k8s.io', 'v1', {kind: 'ValidatingWebhookConfiguration', namespaced: false}),
    define('scheduling.k8s.io', 'v1', {kind: 'PriorityClass', resource: 'priorityclasses', namespaced: false, shortNames: ['pc']}),
    define('node.k8s.io', 'v1', {kind: 'RuntimeClass', namespaced: false}),
    define('authentication.k8s.io', 'v1', {kind: 'SelfSubjectReview', namespaced: false, verbs: ['create']}),
    define('authorization.k8s.io', 'v1', {kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create']}),
    define('authorization.k8s.io', 'v1', {kind: 'SelfSubjectRulesReview', namespaced: false, verbs: ['create']}),
    define('helm.cattle.io', 'v1', {kind: 'HelmChart', status: true}, true),
    define('helm.cattle.io', 'v1', {kind: 'HelmChartConfig'}, true),
    define('k3s.cattle.io', 'v1', {kind: 'Addon'}, true),
    define('k3s.cattle.io', 'v1', {kind: 'ETCDSnapshotFile', namespaced: false, status: true}, true),
  ]
}

/** Traefik's CRDs, installed on k3s by the helm-install-traefik-crd job. */
function traefikTypes(): ResourceType[] {
  const kinds = ['IngressRoute', 'IngressRouteTCP', 'IngressRouteUDP', 'Middleware', 'MiddlewareTCP', 'ServersTransport', 'ServersTransportTCP', 'TLSOption', 'TLSStore', 'TraefikService']
  return kinds.map((kind) => define('traefik.io', 'v1alpha1', {kind, resource: `${kind.toLowerCase()}s`}, true))
}

export interface CustomResourceSpec {
  group: string
  versions: string[]
  kind: string
  plural: string
  singular: string
  namespaced: boolean
  shortNames: string[]
  categories: string[]
  status: boolean
  scale: boolean
}

export class ResourceRegistry {
  private readonly types: ResourceType[]

  constructor(options: {traefik: boolean}) {
    this.types = [...builtinTypes(), ...(options.traefik ? traefikTypes() : [])]
  }

  all(): readonly ResourceType[] {
    return this.types
  }

  /** Groups in discovery order (core first, then by first registration), each with its versions. */
  groups(): Array<{group: string; versions: string[]}> {
    const byGroup = new Map<string, string[]>()
    for (const type of this.types) {
      const versions = byGroup.get(type.group) ?? []
      if (!versions.includes(type.version)) versions.push(type.version)
      byGroup.set(type.group, versions)
    }
    return [...byGroup].map(([group, versions]) => ({group, versions}))
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.types.filter((type) => type.group === group && type.version === version)
  }

  byResource(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find((type) => type.group === group && type.version === version && type.resource === resource)
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const {group, version} = splitApiVersion(apiVersion)
    return this.types.find((type) => type.group === group && type.version === version && type.kind === kind)
  }

  /** The served type to use for a kind in a storage bucket when the version does not matter. */
  byStorage(storage: string): ResourceType | undefined {
    return this.types.find((type) => type.storage === storage)
  }

  registerCustom(spec: CustomResourceSpec): void {
    this.unregisterCustom(spec.group, spec.plural)
    for (const version of spec.versions) {
      this.types.push(
        define(
          spec.group,
          version,
          {
            kind: spec.kind,
            resource: spec.plural,
            namespaced: spec.namespaced,
            shortNames: spec.shortNames,
            categories: spec.categories,
            status: spec.status,
            scale: spec.scale,
            storage: `${spec.group}/${spec.plural}`,
          },
          true,
        ),
      )
      const added = this.types.at(-1)
      if (added) added.singular = spec.singular
    }
  }

  unregisterCustom(group: string, plural: string): void {
    for (let index = this.types.length - 1; index >= 0; index--) {
      const type = this.types[index]
      if (type?.custom && type.group === group && type.resource === plural) this.types.splice(index, 1)
    }
  }
}
