/**
 * What the real apiserver does to an object between decoding and storage: API defaulting, the
 * admission plugins a k3s cluster runs (ServiceAccount, DefaultStorageClass,
 * DefaultTolerationSeconds), IP/port allocation, and the validation a client would most
 * plausibly trip over (names, required fields, selectors, immutable fields).
 */
import {randomBytes} from 'node:crypto'

import {invalid, invalidField, requiredField, type StatusCause, unsupportedField} from './errors.js'
import {isJsonObject, jsonEqual, scalarText, type Json, type JsonObject} from './json.js'
import type {ResourceType} from './resources.js'
import {labelsMatch, selectorFromSpec, type LabelSelectorSpec} from './selectors.js'
import type {Container, PodSpec, Service} from './types.js'

export interface AdmissionContext {
  now(): string
  allocateClusterIP(): string
  allocateNodePort(): number
  defaultStorageClass(): string | undefined
}

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

const subdomainHelp =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const labelHelp =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
const dns1035Help =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"

/** Kinds whose names must be DNS labels rather than subdomains. */
const labelNamedKinds = new Set(['Namespace'])
const dns1035NamedKinds = new Set(['Service'])
// RBAC objects only need names that are one URL path segment (`system:discovery`).
const pathSegmentNamedKinds = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'])

const nameAlphabet = 'bcdfghjklmnpqrstvwxz2456789'

/** The 5-character suffix generateName and controllers append (`web-7d4b9c-x2x9q`). */
export function randomSuffix(length = 5): string {
  const bytes = randomBytes(length)
  return [...bytes].map((byte) => nameAlphabet[byte % nameAlphabet.length]).join('')
}

function imagePullPolicy(image: string): string {
  const lastSegment = image.split('/').at(-1) ?? image
  if (image.includes('@')) return 'IfNotPresent'
  return !lastSegment.includes(':') || lastSegment.endsWith(':latest') ? 'Always' : 'IfNotPresent'
}

function defaultProbe(probe: unknown): void {
  if (!isJsonObject(probe)) return
  probe.timeoutSeconds ??= 1
  probe.periodSeconds ??= 10
  probe.successThreshold ??= 1
  probe.failureThreshold ??= 3
}

function defaultContainer(container: JsonObject): void {
  container.terminationMessagePath ??= '/dev/termination-log'
  container.terminationMessagePolicy ??= 'File'
  if (typeof container.image === 'string') container.imagePullPolicy ??= imagePullPolicy(container.image)
  container.resources ??= {}
  if (Array.isArray(container.ports)) for (const port of container.ports) if (isJsonObject(port)) port.protocol ??= 'TCP'
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) defaultProbe(container[probe])
}

/** Defaults of a PodSpec, in a pod or a workload's template. */
function defaultPodSpec(spec: JsonObject, restartPolicy: string | undefined): void {
  if (restartPolicy) spec.restartPolicy ??= restartPolicy
  spec.terminationGracePeriodSeconds ??= 30
  spec.dnsPolicy ??= 'ClusterFirst'
  spec.securityContext ??= {}
  spec.schedulerName ??= 'default-scheduler'
  for (const list of ['containers', 'initContainers']) {
    const containers = spec[list]
    if (Array.isArray(containers)) for (const container of containers) if (isJsonObject(container)) defaultContainer(container)
  }
}

function defaultTemplate(owner: JsonObject, restartPolicy: string | undefined): void {
  const spec = isJsonObject(owner.spec) ? owner.spec : undefined
  const template = spec && isJsonObject(spec.template) ? spec.template : undefined
  if (!template) return
  template.metadata ??= {}
  if (isJsonObject(template.spec)) defaultPodSpec(template.spec, restartPolicy)
}

function qosClass(spec: PodSpec): string {
  const containers = [...spec.containers, ...(spec.initContainers ?? [])]
  const resources = containers.map((container) => container.resources ?? {})
  const any = resources.some((r) => Object.keys(r.requests ?? {}).length > 0 || Object.keys(r.limits ?? {}).length > 0)
  if (!any) return 'BestEffort'
  const guaranteed = resources.every((r) =>
    ['cpu', 'memory'].every((name) => {
      const limit = r.limits?.[name]
      const request = r.requests?.[name] ?? limit
      return limit !== undefined && request === limit
    }),
  )
  return guaranteed ? 'Guaranteed' : 'Burstable'
}

/** Admission for new pods: the service account token volume and the default tolerations. */
function admitPod(pod: JsonObject): void {
  const spec = pod.spec as JsonObject
  spec.serviceAccountName ??= 'default'
  spec.serviceAccount ??= spec.serviceAccountName
  spec.enableServiceLinks ??= true
  spec.preemptionPolicy ??= 'PreemptLowerPriority'
  spec.priority ??= 0
  const tolerations = Array.isArray(spec.tolerations) ? spec.tolerations : []
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((toleration) => isJsonObject(toleration) && toleration.key === key)) {
      tolerations.push({key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300})
    }
  }
  spec.tolerations = tolerations
  const volumeName = `kube-api-access-${randomSuffix()}`
  if (spec.automountServiceAccountToken !== false) {
    const volumes = Array.isArray(spec.volumes) ? spec.volumes : []
    volumes.push({
      name: volumeName,
      projected: {
        defaultMode: 420,
        sources: [
          {serviceAccountToken: {expirationSeconds: 3607, path: 'token'}},
          {configMap: {name: 'kube-root-ca.crt', items: [{key: 'ca.crt', path: 'ca.crt'}]}},
          {downwardAPI: {items: [{fieldRef: {apiVersion: 'v1', fieldPath: 'metadata.namespace'}, path: 'namespace'}]}},
        ],
      },
    })
    spec.volumes = volumes
    for (const list of ['containers', 'initContainers']) {
      const containers = spec[list]
      if (!Array.isArray(containers)) continue
      for (const container of containers) {
        if (!isJsonObject(container)) continue
        const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts : []
        mounts.push({name: volumeName, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount'})
        container.volumeMounts = mounts
      }
    }
  }
  pod.status = {phase: 'Pending', qosClass: qosClass(spec as unknown as PodSpec)}
}

function defaultService(service: JsonObject, old: JsonObject | undefined, context: AdmissionContext): void {
  const spec = isJsonObject(service.spec) ? service.spec : (service.spec = {})
  spec.type ??= 'ClusterIP'
  spec.sessionAffinity ??= 'None'
  if (spec.type !== 'ExternalName') {
    const previous = old && isJsonObject(old.spec) ? old.spec : undefined
    spec.clusterIP ??= previous?.clusterIP ?? context.allocateClusterIP()
    spec.clusterIPs ??= spec.clusterIP === 'None' ? ['None'] : [spec.clusterIP]
    spec.ipFamilies ??= ['IPv4']
    spec.ipFamilyPolicy ??= 'SingleStack'
    spec.internalTrafficPolicy ??= 'Cluster'
  }
  const needsNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer'
  if (needsNodePorts) spec.externalTrafficPolicy ??= 'Cluster'
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true
  const previousPorts = old && isJsonObject(old.spec) && Array.isArray(old.spec.ports) ? old.spec.ports : []
  if (Array.isArray(spec.ports)) {
    for (const port of spec.ports) {
      if (!isJsonObject(port)) continue
      port.protocol ??= 'TCP'
      port.targetPort ??= port.port ?? null
      if (needsNodePorts && port.nodePort === undefined) {
        const kept = previousPorts.find((p) => isJsonObject(p) && p.port === port.port && isJsonObject(p) && p.nodePort !== undefined)
        port.nodePort = isJsonObject(kept) && typeof kept.nodePort === 'number' ? kept.nodePort : context.allocateNodePort()
      }
    }
  }
  if (!old) service.status = {loadBalancer: {}}
}

function defaultJob(job: JsonObject): void {
  const spec = job.spec as JsonObject
  const uid = (job.metadata as JsonObject).uid as string
  const name = (job.metadata as JsonObject).name as string
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1
    spec.parallelism = 1
  }
  spec.parallelism ??= 1
  spec.backoffLimit ??= 6
  spec.completionMode ??= 'NonIndexed'
  spec.suspend ??= false
  spec.podReplacementPolicy ??= 'TerminatingOrFailed'
  if (spec.manualSelector !== true && spec.selector === undefined) {
    spec.selector = {matchLabels: {'batch.kubernetes.io/controller-uid': uid}}
    const template = spec.template as JsonObject
    const metadata = isJsonObject(template.metadata) ? template.metadata : (template.metadata = {})
    metadata.labels = {
      ...(isJsonObject(metadata.labels) ? metadata.labels : {}),
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'controller-uid': uid,
      'job-name': name,
    }
  }
  defaultTemplate(job, undefined)
}

/** Sets API defaults and admission results on `object` (mutated). `old` is set on updates. */
export function admit(type: ResourceType, object: JsonObject, old: JsonObject | undefined, context: AdmissionContext): void {
  if (type.custom) return
  const spec = isJsonObject(object.spec) ? object.spec : undefined
  const metadata = object.metadata as JsonObject
  switch (`${type.group}/${type.kind}`) {
    case '/Pod':
      if (spec) defaultPodSpec(spec, 'Always')
      if (!old && spec) admitPod(object)
      break
    case 'apps/Deployment':
      if (!spec) break
      spec.replicas ??= 1
      spec.strategy ??= {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: '25%', maxSurge: '25%'}}
      spec.revisionHistoryLimit ??= 10
      spec.progressDeadlineSeconds ??= 600
      defaultTemplate(object, 'Always')
      break
    case 'apps/ReplicaSet':
      if (spec) spec.replicas ??= 1
      defaultTemplate(object, 'Always')
      break
    case 'apps/StatefulSet':
      if (!spec) break
      spec.replicas ??= 1
      spec.podManagementPolicy ??= 'OrderedReady'
      spec.updateStrategy ??= {type: 'RollingUpdate', rollingUpdate: {partition: 0}}
      spec.revisionHistoryLimit ??= 10
      spec.persistentVolumeClaimRetentionPolicy ??= {whenDeleted: 'Retain', whenScaled: 'Retain'}
      if (Array.isArray(spec.volumeClaimTemplates)) {
        for (const claim of spec.volumeClaimTemplates) {
          if (!isJsonObject(claim)) continue
          claim.apiVersion ??= 'v1'
          claim.kind ??= 'PersistentVolumeClaim'
          if (isJsonObject(claim.spec)) claim.spec.volumeMode ??= 'Filesystem'
          claim.status ??= {phase: 'Pending'}
        }
      }
      defaultTemplate(object, 'Always')
      break
    case 'apps/DaemonSet':
      if (!spec) break
      spec.updateStrategy ??= {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 1, maxSurge: 0}}
      spec.revisionHistoryLimit ??= 10
      defaultTemplate(object, 'Always')
      break
    case 'batch/Job':
      if (spec && !old) defaultJob(object)
      else defaultTemplate(object, undefined)
      break
    case 'batch/CronJob':
      if (!spec) break
      spec.concurrencyPolicy ??= 'Allow'
      spec.suspend ??= false
      spec.successfulJobsHistoryLimit ??= 3
      spec.failedJobsHistoryLimit ??= 1
      break
    case '/Service':
      defaultService(object, old, context)
      break
    case '/Secret': {
      object.type ??= 'Opaque'
      if (isJsonObject(object.stringData)) {
        const data = isJsonObject(object.data) ? object.data : {}
        for (const [key, value] of Object.entries(object.stringData)) data[key] = Buffer.from(scalarText(value)).toString('base64')
        object.data = data
        delete object.stringData
      }
      break
    }
    case '/Namespace':
      metadata.labels = {...(isJsonObject(metadata.labels) ? metadata.labels : {}), 'kubernetes.io/metadata.name': metadata.name as string}
      object.spec = {finalizers: ['kubernetes'], ...(spec ?? {})}
      if (!old) object.status = {phase: 'Active'}
      break
    case '/PersistentVolumeClaim':
      if (!spec) break
      spec.volumeMode ??= 'Filesystem'
      if (!old && spec.storageClassName === undefined) {
        const storageClass = context.defaultStorageClass()
        if (storageClass) spec.storageClassName = storageClass
      }
      if (!old) {
        object.status = {phase: 'Pending'}
        const finalizers = Array.isArray(metadata.finalizers) ? metadata.finalizers : []
        if (!finalizers.includes('kubernetes.io/pvc-protection')) metadata.finalizers = [...finalizers, 'kubernetes.io/pvc-protection']
      }
      break
    case 'storage.k8s.io/StorageClass':
      object.reclaimPolicy ??= 'Delete'
      object.volumeBindingMode ??= 'Immediate'
      break
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      if (!spec) break
      const names = isJsonObject(spec.names) ? spec.names : {}
      names.singular ??= typeof names.kind === 'string' ? names.kind.toLowerCase() : ''
      names.listKind ??= `${scalarText(names.kind)}List`
      const now = context.now()
      object.status = {
        acceptedNames: names,
        conditions: [
          {type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now},
          {type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now},
        ],
        storedVersions: Array.isArray(spec.versions) ? spec.versions.filter((v) => isJsonObject(v) && v.storage === true).map((v) => (v as JsonObject).name ?? '') : [],
      }
      break
    }
  }
}

function nameCauses(kind: string, name: unknown, generateName: unknown): StatusCause[] {
  if (typeof name !== 'string' || name === '') {
    return typeof generateName === 'string' && generateName !== '' ? [] : [requiredField('metadata.name', 'name or generateName is required')]
  }
  if (labelNamedKinds.has(kind) && (!dns1123Label.test(name) || name.length > 63)) return [invalidField('metadata.name', name, labelHelp)]
  if (dns1035NamedKinds.has(kind) && (!dns1035Label.test(name) || name.length > 63)) return [invalidField('metadata.name', name, dns1035Help)]
  if (pathSegmentNamedKinds.has(kind)) {
    if (name === '.' || name === '..') return [invalidField('metadata.name', name, `may not be '${name}'`)]
    const bad = ['/', '%'].find((c) => name.includes(c))
    return bad ? [invalidField('metadata.name', name, `may not contain '${bad}'`)] : []
  }
  if (!dns1123Subdomain.test(name) || name.length > 253) return [invalidField('metadata.name', name, subdomainHelp)]
  return []
}

function containerCauses(containers: unknown, field: string, required: boolean): StatusCause[] {
  if (!Array.isArray(containers) || containers.length === 0) return required ? [requiredField(field)] : []
  const causes: StatusCause[] = []
  const seen = new Set<string>()
  containers.forEach((raw, index) => {
    const container = raw as Partial<Container>
    const at = `${field}[${index}]`
    if (!container.name) causes.push(requiredField(`${at}.name`))
    else if (!dns1123Label.test(container.name)) causes.push(invalidField(`${at}.name`, container.name, labelHelp))
    else if (seen.has(container.name)) causes.push({reason: 'FieldValueDuplicate', message: `Duplicate value: "${container.name}"`, field: `${at}.name`})
    if (container.name) seen.add(container.name)
    if (!container.image) causes.push(requiredField(`${at}.image`))
  })
  return causes
}

function podSpecCauses(spec: unknown, prefix: string, restartPolicies: string[]): StatusCause[] {
  if (!isJsonObject(spec)) return [requiredField(prefix)]
  const causes = [...containerCauses(spec.containers, `${prefix}.containers`, true), ...containerCauses(spec.initContainers, `${prefix}.initContainers`, false)]
  const policy = spec.restartPolicy
  if (typeof policy === 'string' && !restartPolicies.includes(policy)) causes.push(unsupportedField(`${prefix}.restartPolicy`, policy, restartPolicies))
  return causes
}

function selectorCauses(object: JsonObject): StatusCause[] {
  const spec = object.spec as JsonObject
  const selector = spec.selector as LabelSelectorSpec | undefined
  const template = isJsonObject(spec.template) ? spec.template : undefined
  const labels = template && isJsonObject(template.metadata) ? (template.metadata.labels as Record<string, string> | undefined) : undefined
  if (!selector || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)) {
    return [requiredField('spec.selector')]
  }
  if (!labelsMatch(selectorFromSpec(selector), labels)) {
    return [invalidField('spec.template.metadata.labels', goMap(labels), '`selector` does not match template `labels`')]
  }
  return []
}

/** How Go prints a map[string]string in field errors. */
function goMap(labels: Record<string, string> | undefined): string {
  const entries = Object.keys(labels ?? {})
    .sort()
    .map((key) => `"${key}":"${labels?.[key] ?? ''}"`)
  return `map[string]string{${entries.join(', ')}}`
}

function immutable(field: string, before: unknown, after: unknown, shown: string): StatusCause[] {
  return jsonEqual(before, after) ? [] : [{reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: field is immutable`, field}]
}

/** Throws 422 Invalid for the invalid objects a developer is likely to send. */
export function validate(type: ResourceType, object: JsonObject, old: JsonObject | undefined): void {
  const metadata = isJsonObject(object.metadata) ? object.metadata : {}
  const causes = old ? [] : nameCauses(type.kind, metadata.name, metadata.generateName)
  const spec = isJsonObject(object.spec) ? object.spec : undefined
  const oldSpec = old && isJsonObject(old.spec) ? old.spec : undefined
  if (!type.custom) {
    switch (`${type.group}/${type.kind}`) {
      case '/Pod':
        causes.push(...podSpecCauses(spec, 'spec', ['Always', 'OnFailure', 'Never']))
        if (oldSpec && spec && !jsonEqual(withoutImages(oldSpec), withoutImages(spec))) {
          causes.push({
            reason: 'FieldValueForbidden',
            field: 'spec',
            message:
              'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
          })
        }
        break
      case 'apps/Deployment':
      case 'apps/ReplicaSet':
      case 'apps/DaemonSet':
      case 'apps/StatefulSet':
        if (!spec) {
          causes.push(requiredField('spec'))
          break
        }
        causes.push(...selectorCauses(object))
        causes.push(...podSpecCauses(isJsonObject(spec.template) ? spec.template.spec : undefined, 'spec.template.spec', ['Always']))
        if (oldSpec)
          causes.push(
            ...immutable(
              'spec.selector',
              oldSpec.selector,
              spec.selector,
              `v1.LabelSelector{MatchLabels:${goMap((spec.selector as LabelSelectorSpec | undefined)?.matchLabels)}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`,
            ),
          )
        if (type.kind === 'StatefulSet' && oldSpec && !jsonEqual(statefulSetFrozen(oldSpec), statefulSetFrozen(spec))) {
          causes.push({
            reason: 'FieldValueForbidden',
            field: 'spec',
            message:
              "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
          })
        }
        break
      case 'batch/Job': {
        if (!spec) {
          causes.push(requiredField('spec'))
          break
        }
        const templateSpec = isJsonObject(spec.template) ? spec.template.spec : undefined
        causes.push(...podSpecCauses(templateSpec, 'spec.template.spec', ['OnFailure', 'Never']))
        if (isJsonObject(templateSpec) && templateSpec.restartPolicy === undefined) {
          causes.push(requiredField('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"'))
        }
        if (oldSpec) {
          causes.push(...immutable('spec.selector', oldSpec.selector, spec.selector, 'v1.LabelSelector{...}'))
          causes.push(...immutable('spec.template', oldSpec.template, spec.template, 'core.PodTemplateSpec{...}'))
          causes.push(...immutable('spec.completions', oldSpec.completions, spec.completions, scalarText(spec.completions)))
        }
        break
      }
      case '/Service': {
        const service = object as unknown as Service
        if (service.spec?.type !== 'ExternalName' && service.spec?.clusterIP !== 'None' && (service.spec?.ports ?? []).length === 0) causes.push(requiredField('spec.ports'))
        ;(service.spec?.ports ?? []).forEach((port, index) => {
          if (!Number.isInteger(port.port) || port.port < 1 || port.port > 65535) causes.push(invalidField(`spec.ports[${index}].port`, port.port, 'must be between 1 and 65535, inclusive'))
        })
        if (oldSpec && spec && oldSpec.clusterIP !== undefined && spec.clusterIP !== oldSpec.clusterIP && oldSpec.type !== 'ExternalName') {
          causes.push(...immutable('spec.clusterIPs[0]', oldSpec.clusterIP, spec.clusterIP, JSON.stringify(spec.clusterIP)))
        }
        break
      }
      case '/PersistentVolumeClaim':
        if (oldSpec && spec && !jsonEqual({...oldSpec, resources: undefined, volumeName: undefined}, {...spec, resources: undefined, volumeName: undefined})) {
          causes.push({reason: 'FieldValueForbidden', field: 'spec', message: 'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'})
        }
        break
      case '/Secret':
      case '/ConfigMap':
        if (old && old.immutable === true && (!jsonEqual(old.data, object.data) || !jsonEqual(old.binaryData, object.binaryData))) {
          causes.push({reason: 'FieldValueForbidden', field: 'data', message: `Forbidden: field is immutable when \`immutable\` is set`})
        }
        break
    }
  }
  if (causes.length > 0) throw invalid(type.kind, type.group, typeof metadata.name === 'string' ? metadata.name : '', causes)
}

function withoutImages(spec: JsonObject): JsonObject {
  const strip = (list: Json | undefined): Json | undefined => (Array.isArray(list) ? list.map((c) => (isJsonObject(c) ? {...c, image: undefined} : c)) : list)
  return {
    ...spec,
    containers: strip(spec.containers),
    initContainers: strip(spec.initContainers),
    activeDeadlineSeconds: undefined,
    tolerations: undefined,
    terminationGracePeriodSeconds: undefined,
    nodeName: undefined,
  }
}

function statefulSetFrozen(spec: JsonObject): JsonObject {
  return {
    ...spec,
    replicas: undefined,
    ordinals: undefined,
    template: undefined,
    updateStrategy: undefined,
    revisionHistoryLimit: undefined,
    persistentVolumeClaimRetentionPolicy: undefined,
    minReadySeconds: undefined,
  }
}
