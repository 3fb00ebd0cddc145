/**
 * The Helm values file `init` writes: shared settings defined once with an anchor each
 * (`&dbHost`) and every place the chart needs them filled with an alias (`*dbHost`). The
 * anchors live under a `shared:` block, or — for a chart whose values schema forbids keys it
 * does not know — each at its first real use. Values devctl composes from its settings
 * (app.wiring.values) are written as plain values. Built with yaml's Document API so `--update`
 * can edit a user's file in place and keep their comments, anchors and extra keys.
 */
import {Document, isMap, isScalar, Scalar, type YAMLMap, type Node} from 'yaml'

import type {Preset, SharedSetting, Wiring} from './preset.js'
import {fillPlaceholders, type ScaffoldContext} from './context.js'
import {anchorsBeforeAliases, findAnchored, setAtValuePath, valuePathOf} from './document-paths.js'
import {COMPOSED_COMMENT, type ComposedValue} from './composed-values.js'

export const SHARED_KEY = 'shared'

/** Where the anchors live: a `shared:` block, or each at its first use (strict values schemas). */
export type ValuesLayout = 'shared' | 'inline'

const HEADER = {
  shared: [
    ' Helm values for local development, written by `devctl init`.',
    ' Shared settings are defined once under `shared:` with an anchor (&name) and reused',
    ' with an alias (*name) wherever the chart needs them: change a setting there, once.',
  ],
  inline: [
    ' Helm values for local development, written by `devctl init`.',
    " The chart's values schema allows no extra keys, so each shared setting is defined once,",
    ' at its first use, with an anchor (&name), and reused with an alias (*name) wherever the',
    ' chart needs it: change a setting there, once.',
  ],
  passwords: [' Passwords are never in this file: devctl keeps them in .devctl/secrets.yaml and gives', ' them to the chart as Kubernetes Secrets.'],
}

export interface ValuesPlan {
  layout: ValuesLayout
  shared: Array<SharedSetting & {resolved: string | number | boolean}>
  wiring: Wiring[]
  /** Values devctl composes from devctl.yaml's app.wiring.values. */
  composed: ComposedValue[]
  values: Record<string, unknown>
}

/** Which shared settings, wiring and plain values apply, given the answers. */
export function planValues(preset: Preset, context: ScaffoldContext, wiring = preset.wiring, options: {layout?: ValuesLayout; composed?: ComposedValue[]} = {}): ValuesPlan {
  const layout = options.layout ?? 'shared'
  const enabled = preset.shared.filter((s) => s.requires === undefined || context[s.requires].enabled)
  const anchors = new Set(enabled.map((s) => s.anchor))
  const applicable = wiring.filter((w) => anchors.has(w.anchor))
  return {
    layout,
    shared: enabled.map((s) => ({...s, resolved: fillPlaceholders(s.value, context) as string | number | boolean})),
    wiring: applicable,
    composed: options.composed ?? [],
    values: fillPlaceholders(preset.values, context) as Record<string, unknown>,
  }
}

export function buildValuesDocument(plan: ValuesPlan): Document {
  const doc = new Document({})
  doc.commentBefore = [...HEADER[plan.layout], ...HEADER.passwords].join('\n')
  applyPlan(doc, plan)
  // A blank line before each top-level section keeps the file easy to scan.
  for (const pair of (doc.contents as YAMLMap).items) {
    const key = isScalar(pair.key) ? pair.key : (doc.createNode(pair.key) as Scalar)
    key.spaceBefore = true
    pair.key = key
  }
  return doc
}

function anchoredScalar(doc: Document, setting: ValuesPlan['shared'][number]): Scalar {
  const node = doc.createNode(setting.resolved) as Scalar
  node.anchor = setting.anchor
  if (typeof setting.resolved === 'string' && /^\d/.test(setting.resolved)) node.type = Scalar.QUOTE_DOUBLE
  if (setting.comment) node.comment = ` ${setting.comment}`
  return node
}

/**
 * Apply the plan to an existing document in place: shared settings get their new values
 * (keeping the anchor, wherever it is), missing settings and wiring are added, composed values
 * are set, everything else is left alone.
 */
export function applyPlan(doc: Document, plan: ValuesPlan): {changed: string[]} {
  const changed: string[] = []
  if (!isMap(doc.contents)) doc.contents = doc.createNode({})

  // Settings not in the document yet; with the inline layout they are placed at their first use.
  const unplaced = new Map<string, Scalar>()
  for (const setting of plan.shared) {
    const existing = findAnchored(doc, setting.anchor)
    if (existing) {
      if (existing.value !== setting.resolved) {
        existing.value = setting.resolved
        changed.push(valuePathOf(doc, existing) ?? `&${setting.anchor}`)
      }
    } else if (plan.layout === 'shared') {
      const path = `${SHARED_KEY}.${setting.path}`
      setAtValuePath(doc, path, anchoredScalar(doc, setting), 'replace')
      changed.push(path)
    } else {
      // Defined at its first use below; a setting nothing uses has nowhere to live.
      unplaced.set(setting.anchor, anchoredScalar(doc, setting))
    }
  }

  for (const {path, anchor} of plan.wiring) {
    const first = unplaced.get(anchor)
    const node: Node = first ?? doc.createAlias(findAnchored(doc, anchor)!, anchor)
    if (setAtValuePath(doc, path, node, 'if-absent')) {
      unplaced.delete(anchor)
      changed.push(path)
    }
  }

  for (const {path, value} of plan.composed) {
    const node = doc.createNode(value) as Scalar
    node.comment = COMPOSED_COMMENT
    if (setAtValuePath(doc, path, node, 'replace')) changed.push(path)
  }

  for (const [key, value] of Object.entries(plan.values)) {
    if (!doc.hasIn([key])) {
      doc.setIn([key], doc.createNode(value))
      changed.push(key)
    }
  }
  anchorsBeforeAliases(doc)
  return {changed}
}
