/**
 * The Helm values file `init` writes: shared settings defined once under `shared:` with an
 * anchor each (`&dbHost`), and every place the chart needs them filled with an alias
 * (`*dbHost`). Built with yaml's Document API so `--update` can edit a user's file in place
 * and keep their comments, anchors and extra keys.
 */
import {Document, isAlias, isMap, isScalar, isSeq, Scalar, type YAMLMap, type YAMLSeq, type Node} from 'yaml'

import type {Preset, SharedSetting} from './preset.js'
import {fillPlaceholders, type ScaffoldContext} from './context.js'

export const SHARED_KEY = 'shared'

const HEADER = [
  ' Helm values for local development, written by `devctl init`.',
  ' Shared settings are defined once under `shared:` with an anchor (&name) and reused',
  ' with an alias (*name) wherever the chart needs them: change a setting there, once.',
  ' Passwords are never in this file: devctl keeps them in .devctl/secrets.yaml and gives',
  ' them to the chart as Kubernetes Secrets (see envFromSecrets).',
].join('\n')

export interface ValuesPlan {
  shared: Array<SharedSetting & {resolved: string | number | boolean}>
  wiring: Array<{path: string; anchor: string}>
  values: Record<string, unknown>
}

/** Which shared settings, wiring and plain values apply, given the answers. */
export function planValues(preset: Preset, context: ScaffoldContext, wiring = preset.wiring): ValuesPlan {
  const shared = preset.shared
    .filter((s) => s.requires === undefined || context[s.requires].enabled)
    .map((s) => ({...s, resolved: fillPlaceholders(s.value, context) as string | number | boolean}))
  const anchors = new Set(shared.map((s) => s.anchor))
  return {
    shared,
    wiring: wiring.filter((w) => anchors.has(w.anchor)),
    values: fillPlaceholders(preset.values, context) as Record<string, unknown>,
  }
}

export function buildValuesDocument(plan: ValuesPlan): Document {
  const doc = new Document({})
  doc.commentBefore = HEADER
  applyPlan(doc, plan)
  // A blank line before each top-level section keeps the file easy to scan.
  for (const pair of (doc.contents as YAMLMap).items) {
    const key = isScalar(pair.key) ? pair.key : (doc.createNode(pair.key) as Scalar)
    key.spaceBefore = true
    pair.key = key
  }
  return doc
}

/**
 * Apply the plan to an existing document in place: shared settings get their new values
 * (keeping the anchor), missing settings and wiring are added, everything else is left alone.
 */
export function applyPlan(doc: Document, plan: ValuesPlan): {changed: string[]} {
  const changed: string[] = []
  if (!isMap(doc.contents)) doc.contents = doc.createNode({})

  const anchored = new Map<string, Node>()
  for (const setting of plan.shared) {
    const path = [SHARED_KEY, ...splitPath(setting.path)]
    const existing = doc.getIn(path, true)
    if (isScalar(existing)) {
      if (existing.value !== setting.resolved) {
        existing.value = setting.resolved
        changed.push(`${SHARED_KEY}.${setting.path}`)
      }
      existing.anchor = setting.anchor
      anchored.set(setting.anchor, existing)
    } else {
      const node = doc.createNode(setting.resolved) as Scalar
      node.anchor = setting.anchor
      if (typeof setting.resolved === 'string' && /^\d/.test(setting.resolved)) node.type = Scalar.QUOTE_DOUBLE
      if (setting.comment) node.comment = ` ${setting.comment}`
      doc.setIn(path, node)
      anchored.set(setting.anchor, node)
      changed.push(`${SHARED_KEY}.${setting.path}`)
    }
  }

  for (const {path, anchor} of plan.wiring) {
    const target = anchored.get(anchor)!
    if (wireAlias(doc, path, target, anchor)) changed.push(path)
  }

  for (const [key, value] of Object.entries(plan.values)) {
    if (!doc.hasIn([key])) {
      doc.setIn([key], doc.createNode(value))
      changed.push(key)
    }
  }
  return {changed}
}

/** Put `*anchor` at `path` unless something is already there. Returns whether it wrote. */
function wireAlias(doc: Document, path: string, target: Node, anchor: string): boolean {
  const alias = doc.createAlias(target as Scalar, anchor)
  const appendAt = path.indexOf('[]')
  if (appendAt === -1) {
    const segments = splitPath(path)
    if (doc.hasIn(segments)) return false
    doc.setIn(segments, alias)
    return true
  }
  // `list[].key`: one list item per alias, e.g. envFromSecrets: [{secretName: *dbSecret}]
  const listPath = splitPath(path.slice(0, appendAt))
  const itemPath = splitPath(path.slice(appendAt + 3))
  let list = doc.getIn(listPath, true)
  if (!isSeq(list)) {
    list = doc.createNode([])
    doc.setIn(listPath, list)
  }
  const seq = list as YAMLSeq
  const alreadyThere = seq.items.some((item) => {
    const value = itemPath.length && isMap(item) ? item.getIn(itemPath, true) : item
    return isAlias(value) && value.source === anchor
  })
  if (alreadyThere) return false
  if (itemPath.length === 0) {
    seq.items.push(alias)
  } else {
    const item = doc.createNode({}) as YAMLMap
    item.setIn(itemPath, alias)
    seq.items.push(item)
  }
  return true
}

export function splitPath(path: string): string[] {
  return path.split('.').filter(Boolean)
}
