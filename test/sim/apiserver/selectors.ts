import {badRequest} from './errors.js'
import {scalarText, valueAt} from './json.js'

/** One parsed requirement of a label selector, in the semantics of k8s.io/apimachinery/pkg/labels. */
export interface LabelRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'
  values: string[]
}

export type LabelSelector = LabelRequirement[]

/** The API's structured selector (`spec.selector` of workloads). */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>
  matchExpressions?: Array<{key: string; operator: string; values?: string[]}>
}

const requirementPattern = /^\s*(!)?\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*(?:(==|=|!=|>|<)\s*([-A-Za-z0-9_.]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$/

/** Parses `app=web,tier in (a,b),!legacy`. Throws a 400 like the real apiserver for bad input. */
export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text) return []
  return splitTopLevel(text).map((part) => {
    const match = requirementPattern.exec(part)
    if (!match) throw badRequest(`unable to parse requirement: found '${part.trim()}', expected: identifier`)
    const [, negated, key = '', operator, value = '', setOperator, setValues] = match
    if (negated) {
      if (operator || setOperator) throw badRequest(`unable to parse requirement: found '${operator ?? setOperator}', expected: ',' or 'end of string'`)
      return {key, operator: 'DoesNotExist', values: []}
    }
    if (setOperator) {
      const values = (setValues ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
      return {key, operator: setOperator === 'in' ? 'In' : 'NotIn', values}
    }
    switch (operator) {
      case undefined:
        return {key, operator: 'Exists', values: []}
      case '=':
      case '==':
        return {key, operator: 'In', values: [value]}
      case '!=':
        return {key, operator: 'NotIn', values: [value]}
      case '>':
        return {key, operator: 'Gt', values: [value]}
      default:
        return {key, operator: 'Lt', values: [value]}
    }
  })
}

/** Splits on commas that are not inside `( )`. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = []
  let depth = 0
  let current = ''
  for (const char of text) {
    if (char === '(') depth++
    if (char === ')') depth--
    if (char === ',' && depth === 0) {
      parts.push(current)
      current = ''
    } else {
      current += char
    }
  }
  parts.push(current)
  return parts.filter((part) => part.trim() !== '')
}

export function selectorFromSpec(spec: LabelSelectorSpec | undefined): LabelSelector {
  if (!spec) return []
  const fromLabels: LabelSelector = Object.entries(spec.matchLabels ?? {}).map(([key, value]) => ({key, operator: 'In', values: [value]}))
  const fromExpressions: LabelSelector = (spec.matchExpressions ?? []).map((expression) => ({
    key: expression.key,
    operator: expressionOperator(expression.operator),
    values: expression.values ?? [],
  }))
  return [...fromLabels, ...fromExpressions]
}

function expressionOperator(operator: string): LabelRequirement['operator'] {
  switch (operator) {
    case 'In':
    case 'NotIn':
    case 'Exists':
    case 'DoesNotExist':
      return operator
    default:
      throw badRequest(`"${operator}" is not a valid label selector operator`)
  }
}

export function labelsMatch(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  return selector.every((requirement) => {
    const value = labels?.[requirement.key]
    switch (requirement.operator) {
      case 'In':
        return value !== undefined && requirement.values.includes(value)
      case 'NotIn':
        return value === undefined || !requirement.values.includes(value)
      case 'Exists':
        return value !== undefined
      case 'DoesNotExist':
        return value === undefined
      case 'Gt':
        return value !== undefined && Number(value) > Number(requirement.values[0])
      case 'Lt':
        return value !== undefined && Number(value) < Number(requirement.values[0])
    }
  })
}

/** `metav1.FormatLabelSelector`: `app=web,tier in (a,b)`, or `<none>`. */
export function formatLabelSelector(spec: LabelSelectorSpec | undefined): string {
  const requirements = selectorFromSpec(spec).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  if (requirements.length === 0) return '<none>'
  return requirements.map(formatRequirement).join(',')
}

function formatRequirement(requirement: LabelRequirement): string {
  const values = [...requirement.values].sort()
  switch (requirement.operator) {
    case 'In':
      return values.length === 1 ? `${requirement.key}=${values[0]}` : `${requirement.key} in (${values.join(',')})`
    case 'NotIn':
      return values.length === 1 ? `${requirement.key}!=${values[0]}` : `${requirement.key} notin (${values.join(',')})`
    case 'Exists':
      return requirement.key
    case 'DoesNotExist':
      return `!${requirement.key}`
    case 'Gt':
      return `${requirement.key}>${values[0]}`
    case 'Lt':
      return `${requirement.key}<${values[0]}`
  }
}

/** `labels.FormatLabels`: sorted `k=v` pairs, or `<none>`. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort()
  return keys.length === 0 ? '<none>' : keys.map((key) => `${key}=${labels?.[key] ?? ''}`).join(',')
}

export interface FieldRequirement {
  field: string
  equals: boolean
  value: string
}

export type FieldSelector = FieldRequirement[]

export function parseFieldSelector(text: string | null | undefined): FieldSelector {
  if (!text) return []
  return text
    .split(',')
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const match = /^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part)
      if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`)
      return {field: match[1] ?? '', equals: match[2] !== '!=', value: match[3] ?? ''}
    })
}

/** Field selectors each kind supports beyond metadata.name and metadata.namespace (as the real registries). */
const supportedFields: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Namespace: ['status.phase'],
  Secret: ['type'],
  Node: ['spec.unschedulable'],
  Job: ['status.successful'],
  ReplicaSet: ['status.replicas'],
  PersistentVolumeClaim: [],
}

/** Throws the real 400 for a field the kind cannot be selected by. */
export function checkFieldSelector(kind: string, selector: FieldSelector): void {
  for (const requirement of selector) {
    const generic = requirement.field === 'metadata.name' || requirement.field === 'metadata.namespace'
    if (!generic && !(supportedFields[kind] ?? []).includes(requirement.field)) {
      throw badRequest(`field label not supported: ${requirement.field}`)
    }
  }
}

export function fieldsMatch(selector: FieldSelector, object: unknown): boolean {
  return selector.every((requirement) => {
    const actual = fieldValue(object, requirement.field)
    return (actual === requirement.value) === requirement.equals
  })
}

function fieldValue(object: unknown, field: string): string {
  const path = field === 'source' ? ['source', 'component'] : field.split('.')
  const value = valueAt(object, path)
  if (field === 'status.successful') return scalarText(valueAt(object, ['status', 'succeeded']), '0')
  if (field === 'spec.unschedulable' || field === 'spec.hostNetwork') return scalarText(value, 'false')
  return scalarText(value)
}
