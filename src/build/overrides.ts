/**
 * How a built image reaches the chart without touching the user's values files: an overlay
 * values file devctl owns (.devctl/build-values.yaml), read by helm after them, that sets the
 * tag (and repository) at every place `build[].tag`/`.repository` names — a value path, or an
 * anchor (`&imageTag`: where it is defined and every alias to it). Its content is part of the
 * release fingerprint, so a new tag redeploys and the same tag changes nothing.
 */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {isAlias, isMap, isPair, isScalar, isSeq, stringify} from 'yaml'

import {parseValuePath, type PathStep} from '../config/value-path.js'
import {displayPath, formatLocation, nodeAtPath, nodeOffset, readYamlFile, toPlainData} from '../config/yaml-file.js'
import {ConfigError} from '../errors.js'
import {writeFileAtomic} from '../system/files.js'

export const BUILD_VALUES_FILE = 'build-values.yaml'

/** The overlay's path in the state directory. */
export function buildValuesFile(stateDir: string): string {
  return join(stateDir, BUILD_VALUES_FILE)
}

type Segment = string | number
type Values = Record<string, unknown>

/** One value to set: where (as devctl.yaml says it) and what. */
export interface Override {
  /** `&imageTag` or a value path. */
  target: string
  value: string
  /** devctl.yaml's key path of the target (build.0.tag), for errors. */
  configPath: Segment[]
}

interface ValuesFile {
  path: string
  data: Values
  /** Value paths (as segments) where each anchor is defined or aliased. */
  anchors: Map<string, Segment[][]>
}

async function readValues(path: string): Promise<ValuesFile> {
  const source = await readYamlFile(path, 'values file')
  const data = (toPlainData(source, 'values file') ?? {}) as Values
  const anchors = new Map<string, Segment[][]>()
  const note = (name: string, at: Segment[]) => anchors.set(name, [...(anchors.get(name) ?? []), at])
  const walk = (node: unknown, at: Segment[]) => {
    if (isAlias(node)) return note(node.source, at)
    if ((isScalar(node) || isMap(node) || isSeq(node)) && node.anchor) note(node.anchor, at)
    if (isMap(node)) for (const pair of node.items) if (isPair(pair) && isScalar(pair.key)) walk(pair.value, [...at, String(pair.key.value)])
    if (isSeq(node)) node.items.forEach((item, index) => walk(item, [...at, index]))
  }
  walk(source.doc.contents, [])
  return {path, data, anchors}
}

function isValues(value: unknown): value is Values {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** helm's merge of values files: mappings merge key by key, anything else (a list too) is replaced. */
function merge(base: Values, over: Values): Values {
  const out: Values = {...base}
  for (const [key, value] of Object.entries(over)) out[key] = isValues(value) && isValues(out[key]) ? merge(out[key], value) : value
  return out
}

function valueAt(data: unknown, at: Segment[]): unknown {
  let current = data
  for (const segment of at) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<Segment, unknown>)[segment]
  }
  return current
}

/** A value path's steps as segments of the merged values (`env[name=TAG]` becomes that item's index). */
function segmentsOf(steps: PathStep[], merged: Values): Segment[] | string {
  const at: Segment[] = []
  for (const step of steps) {
    if (step.kind === 'key') at.push(step.key)
    else if (step.kind === 'index') at.push(step.index)
    else if (step.kind === 'append') return 'has [] (append), and a tag goes in one place: name the item (list[0] or list[name=X])'
    else {
      const list = valueAt(merged, at)
      const index = Array.isArray(list) ? list.findIndex((item) => isValues(item) && String(item[step.key]) === step.value) : -1
      if (index < 0) return `has [${step.key}=${step.value}], and the values files have no such item`
      at.push(index)
    }
  }
  return at
}

/**
 * Set `value` at `at` in the overlay. helm replaces a list a later file gives, so where the
 * path runs through a list the overlay carries the whole list, as the values files have it.
 */
function setIn(overlay: Values, merged: Values, at: Segment[], value: unknown): void {
  const listAt = at.findIndex((segment) => typeof segment === 'number')
  if (listAt < 0) {
    let current = overlay
    for (const segment of at.slice(0, -1)) {
      if (!isValues(current[segment as string])) current[segment as string] = {}
      current = current[segment as string] as Values
    }
    current[at.at(-1) as string] = value
    return
  }
  const listPath = at.slice(0, listAt)
  const list = structuredClone(valueAt(overlay, listPath) ?? valueAt(merged, listPath)) as unknown[]
  let current: unknown = list
  for (const segment of at.slice(listAt, -1)) {
    const next = (current as Record<Segment, unknown>)[segment]
    if (next === null || typeof next !== 'object') (current as Record<Segment, unknown>)[segment] = {}
    current = (current as Record<Segment, unknown>)[segment]
  }
  ;(current as Record<Segment, unknown>)[at.at(-1)!] = value
  setIn(overlay, merged, listPath, list)
}

async function configError(configFile: string, configPath: Segment[], message: string, hint: string): Promise<ConfigError> {
  const source = await readYamlFile(configFile, 'devctl.yaml').catch(() => undefined)
  const where = source ? formatLocation(source, nodeOffset(nodeAtPath(source.doc, configPath).node)) : displayPath(configFile)
  return new ConfigError(`${where}: "${configPath.join('.')}" ${message}`, {hint})
}

/** The overlay values for these overrides, from the values files helm reads (in order). */
export async function overlayValues(valuesFiles: string[], overrides: Override[], configFile: string): Promise<Values> {
  const files = await Promise.all(valuesFiles.map(readValues))
  const merged = files.reduce<Values>((all, file) => merge(all, file.data), {})
  const overlay: Values = {}
  for (const override of overrides) {
    if (override.target.startsWith('&')) {
      const anchor = override.target.slice(1)
      const places = files.flatMap((file) => file.anchors.get(anchor) ?? [])
      if (places.length === 0) {
        const shown = valuesFiles.map((file) => displayPath(file)).join(', ') || 'none are listed under app.values'
        throw await configError(
          configFile,
          override.configPath,
          `names the anchor &${anchor}, and no values file defines it (${shown}).`,
          `Define it where the chart takes the tag, e.g. \`image: {tag: &${anchor} "1.0.0"}\`, or give a value path such as image.tag.`,
        )
      }
      for (const at of places) setIn(overlay, merged, at, override.value)
      continue
    }
    const at = segmentsOf(parseValuePath(override.target), merged)
    if (typeof at === 'string') throw await configError(configFile, override.configPath, `${at}.`, 'Give the path of the one value the chart reads.')
    setIn(overlay, merged, at, override.value)
  }
  return overlay
}

const HEADER =
  '# Written by devctl from build: in devctl.yaml (the images it built); helm reads it after your values files.\n# Not yours to edit: it is rewritten on every `devctl up` and `devctl dev` cycle.\n'

/** Write the overlay when its content changed; returns its path. */
export async function writeOverlay(stateDir: string, overlay: Values): Promise<string> {
  const path = buildValuesFile(stateDir)
  const text = `${HEADER}${stringify(overlay)}`
  const current = await readFile(path, 'utf8').catch(() => undefined)
  if (current !== text) await writeFileAtomic(path, text, 0o600)
  return path
}
