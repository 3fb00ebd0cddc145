/**
 * Kubernetes' protobuf encoding, decoded for what `kubectl create secret|configmap|namespace|
 * serviceaccount|deployment|job|service|token|role|rolebinding` and `kubectl auth` send that way (client-go's typed clients prefer
 * protobuf for built-in types), and the DeleteOptions helm's typed client sends with the delete
 * of a release Secret: the fields those set, not whole schemas.
 * Envelope: the magic `k8s\0`, then a runtime.Unknown {typeMeta, raw}; raw is the object's message.
 */
import {bodyMediaTypes, unsupportedMediaType} from './errors.js'
import {isJsonObject, type JsonObject} from './json.js'

export const protobufContentType = 'application/vnd.kubernetes.protobuf'
const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00])

interface Field {
  number: number
  /** 0 varint, 2 length-delimited */
  wire: number
  value: bigint | Buffer
}

function readVarint(buffer: Buffer, offset: number): [bigint, number] {
  let result = 0n
  let shift = 0n
  let position = offset
  for (;;) {
    const byte = buffer[position]
    if (byte === undefined) throw new Error('truncated varint')
    position++
    result |= BigInt(byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return [result, position]
    shift += 7n
  }
}

function fields(buffer: Buffer): Field[] {
  const result: Field[] = []
  let offset = 0
  while (offset < buffer.length) {
    const [key, afterKey] = readVarint(buffer, offset)
    const number = Number(key >> 3n)
    const wire = Number(key & 7n)
    if (wire === 0) {
      const [value, next] = readVarint(buffer, afterKey)
      result.push({number, wire, value})
      offset = next
    } else if (wire === 2) {
      const [length, start] = readVarint(buffer, afterKey)
      const end = start + Number(length)
      result.push({number, wire, value: buffer.subarray(start, end)})
      offset = end
    } else if (wire === 5) {
      offset = afterKey + 4
    } else if (wire === 1) {
      offset = afterKey + 8
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`)
    }
  }
  return result
}

/** `int` is a plain int32 (0 means unset, as gogo-protobuf always writes it); `int?` a pointer that may be 0. */
type FieldType = 'string' | 'bytes' | 'bool' | 'int' | 'int?' | 'stringMap' | 'bytesMap' | 'strings' | {message: Schema; repeated?: boolean}

interface Schema {
  [number: number]: [name: string, type: FieldType]
}

const ownerReference: Schema = {1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['controller', 'bool'], 7: ['blockOwnerDeletion', 'bool']}

const objectMeta: Schema = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  5: ['uid', 'string'],
  6: ['resourceVersion', 'string'],
  11: ['labels', 'stringMap'],
  12: ['annotations', 'stringMap'],
  13: ['ownerReferences', {message: ownerReference, repeated: true}],
  14: ['finalizers', 'strings'],
}

const localObjectReference: Schema = {1: ['name', 'string']}

const labelSelector: Schema = {1: ['matchLabels', 'stringMap']}
const containerPort: Schema = {1: ['name', 'string'], 2: ['hostPort', 'int'], 3: ['containerPort', 'int'], 4: ['protocol', 'string']}
const envVar: Schema = {1: ['name', 'string'], 2: ['value', 'string']}
const container: Schema = {
  1: ['name', 'string'],
  2: ['image', 'string'],
  3: ['command', 'strings'],
  4: ['args', 'strings'],
  5: ['workingDir', 'string'],
  6: ['ports', {message: containerPort, repeated: true}],
  7: ['env', {message: envVar, repeated: true}],
  14: ['imagePullPolicy', 'string'],
}
const podSpec: Schema = {
  2: ['containers', {message: container, repeated: true}],
  3: ['restartPolicy', 'string'],
  4: ['terminationGracePeriodSeconds', 'int?'],
  8: ['serviceAccountName', 'string'],
  20: ['initContainers', {message: container, repeated: true}],
}
const podTemplateSpec: Schema = {1: ['metadata', {message: objectMeta}], 2: ['spec', {message: podSpec}]}
const intOrString: Schema = {2: ['intVal', 'int?'], 3: ['strVal', 'string']}
const servicePort: Schema = {1: ['name', 'string'], 2: ['protocol', 'string'], 3: ['port', 'int'], 4: ['targetPort', {message: intOrString}], 5: ['nodePort', 'int']}

const resourceAttributes: Schema = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
}
const nonResourceAttributes: Schema = {1: ['path', 'string'], 2: ['verb', 'string']}

const policyRule: Schema = {1: ['verbs', 'strings'], 2: ['apiGroups', 'strings'], 3: ['resources', 'strings'], 4: ['resourceNames', 'strings'], 5: ['nonResourceURLs', 'strings']}
const subject: Schema = {1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string']}
const roleRef: Schema = {1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string']}
const role: Schema = {1: ['metadata', {message: objectMeta}], 2: ['rules', {message: policyRule, repeated: true}]}
const roleBinding: Schema = {1: ['metadata', {message: objectMeta}], 2: ['subjects', {message: subject, repeated: true}], 3: ['roleRef', {message: roleRef}]}
const deleteOptions: Schema = {
  1: ['gracePeriodSeconds', 'int?'],
  2: ['preconditions', {message: {1: ['uid', 'string'], 2: ['resourceVersion', 'string']}}],
  3: ['orphanDependents', 'bool'],
  4: ['propagationPolicy', 'string'],
  5: ['dryRun', 'strings'],
}

const schemas: Record<string, Schema> = {
  // `kubectl create role|clusterrole|rolebinding|clusterrolebinding`.
  'rbac.authorization.k8s.io/v1/Role': role,
  'rbac.authorization.k8s.io/v1/ClusterRole': role,
  'rbac.authorization.k8s.io/v1/RoleBinding': roleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': roleBinding,
  // `kubectl auth can-i`, `kubectl auth whoami` and `kubectl create token`.
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: ['metadata', {message: objectMeta}],
    2: [
      'spec',
      {
        message: {
          1: ['resourceAttributes', {message: resourceAttributes}],
          2: ['nonResourceAttributes', {message: nonResourceAttributes}],
        },
      },
    ],
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': {1: ['metadata', {message: objectMeta}], 2: ['spec', {message: {1: ['namespace', 'string']}}]},
  'authentication.k8s.io/v1/SelfSubjectReview': {1: ['metadata', {message: objectMeta}]},
  'authentication.k8s.io/v1/TokenRequest': {1: ['metadata', {message: objectMeta}], 2: ['spec', {message: {1: ['audiences', 'strings'], 4: ['expirationSeconds', 'int?']}}]},
  'v1/Secret': {1: ['metadata', {message: objectMeta}], 2: ['data', 'bytesMap'], 3: ['type', 'string'], 4: ['stringData', 'stringMap'], 5: ['immutable', 'bool']},
  'v1/ConfigMap': {1: ['metadata', {message: objectMeta}], 2: ['data', 'stringMap'], 3: ['binaryData', 'bytesMap'], 4: ['immutable', 'bool']},
  'v1/Namespace': {1: ['metadata', {message: objectMeta}], 2: ['spec', {message: {1: ['finalizers', 'strings']}}]},
  'v1/Pod': {1: ['metadata', {message: objectMeta}], 2: ['spec', {message: podSpec}]},
  'v1/Service': {
    1: ['metadata', {message: objectMeta}],
    2: ['spec', {message: {1: ['ports', {message: servicePort, repeated: true}], 2: ['selector', 'stringMap'], 3: ['clusterIP', 'string'], 4: ['type', 'string']}}],
  },
  'apps/v1/Deployment': {
    1: ['metadata', {message: objectMeta}],
    2: [
      'spec',
      {
        message: {
          1: ['replicas', 'int?'],
          2: ['selector', {message: labelSelector}],
          3: ['template', {message: podTemplateSpec}],
          5: ['minReadySeconds', 'int'],
        },
      },
    ],
  },
  'batch/v1/Job': {
    1: ['metadata', {message: objectMeta}],
    2: [
      'spec',
      {
        message: {
          1: ['parallelism', 'int?'],
          2: ['completions', 'int?'],
          3: ['activeDeadlineSeconds', 'int?'],
          6: ['template', {message: podTemplateSpec}],
          7: ['backoffLimit', 'int?'],
        },
      },
    ],
  },
  'v1/ServiceAccount': {
    1: ['metadata', {message: objectMeta}],
    3: ['imagePullSecrets', {message: localObjectReference, repeated: true}],
    4: ['automountServiceAccountToken', 'bool'],
  },
}

function mapEntry(buffer: Buffer, valueAsBase64: boolean): [string, string] {
  let key = ''
  let value = ''
  for (const field of fields(buffer)) {
    if (!(field.value instanceof Buffer)) continue
    if (field.number === 1) key = field.value.toString('utf8')
    if (field.number === 2) value = valueAsBase64 ? field.value.toString('base64') : field.value.toString('utf8')
  }
  return [key, value]
}

function decodeMessage(buffer: Buffer, schema: Schema): JsonObject {
  const result: JsonObject = {}
  for (const field of fields(buffer)) {
    const entry = schema[field.number]
    if (!entry) continue
    const [name, type] = entry
    const bytes = field.value instanceof Buffer ? field.value : undefined
    if (type === 'bool' || type === 'int' || type === 'int?') {
      const number = typeof field.value === 'bigint' ? field.value : 0n
      if (type === 'int' && number === 0n) continue
      result[name] = type === 'bool' ? number !== 0n : Number(number)
    } else if (!bytes) {
      continue
    } else if (type === 'string') {
      // Strings are always on the wire; empty means unset, as JSON's omitempty would have it.
      if (bytes.length > 0) result[name] = bytes.toString('utf8')
    } else if (type === 'bytes') {
      result[name] = bytes.toString('base64')
    } else if (type === 'strings') {
      result[name] = [...((result[name] as string[] | undefined) ?? []), bytes.toString('utf8')]
    } else if (type === 'stringMap' || type === 'bytesMap') {
      const [key, value] = mapEntry(bytes, type === 'bytesMap')
      const entries = result[name]
      result[name] = {...(isJsonObject(entries) ? entries : {}), [key]: value}
    } else {
      const decoded = decodeMessage(bytes, type.message)
      // An IntOrString is a number or a string in JSON.
      const value = type.message === intOrString ? (decoded.strVal ?? decoded.intVal ?? 0) : decoded
      result[name] = type.repeated ? [...((result[name] as JsonObject[] | undefined) ?? []), value] : value
    }
  }
  return result
}

/** The JSON form of a protobuf-encoded request body; 415 for kinds this server cannot decode. */
export function decodeProtobuf(body: Buffer): JsonObject {
  if (!body.subarray(0, 4).equals(magic)) throw unsupportedMediaType(protobufContentType, bodyMediaTypes)
  let apiVersion = ''
  let kind = ''
  let raw: Buffer = Buffer.alloc(0)
  for (const field of fields(body.subarray(4))) {
    if (!(field.value instanceof Buffer)) continue
    if (field.number === 1) {
      for (const meta of fields(field.value)) {
        if (!(meta.value instanceof Buffer)) continue
        if (meta.number === 1) apiVersion = meta.value.toString('utf8')
        if (meta.number === 2) kind = meta.value.toString('utf8')
      }
    } else if (field.number === 2) {
      raw = field.value
    }
  }
  // DeleteOptions is registered in every group-version; client-go names the one it deletes in.
  const schema = kind === 'DeleteOptions' ? deleteOptions : schemas[`${apiVersion}/${kind}`]
  // Only these kinds are decoded; others are refused as a server without protobuf would.
  if (!schema) throw unsupportedMediaType(protobufContentType, bodyMediaTypes)
  return {apiVersion, kind, ...decodeMessage(raw, schema)}
}
