/**
 * Values devctl composes for a chart (devctl.yaml `app.wiring.values`): one string such as
 * `{{redis.host}}:{{redis.port}}` that YAML anchors cannot build, or a literal such as a Secret
 * name or `redis.enabled: false`. devctl.yaml owns them; the first values file holds the result,
 * so helm (and a person reading the file) sees it. `init` writes them, and `init --update` and
 * `up` rewrite one that no longer matches what devctl.yaml composes — `up` says so.
 */
import {stat} from 'node:fs/promises'
import {join} from 'node:path'

import {isScalar, type Scalar} from 'yaml'

import type {LoadedConfig, ResolvedNames} from '../config/load.js'
import type {DevctlConfig} from '../config/schema.js'
import {MissingFactError, renderTemplate} from '../config/template.js'
import {formatLocation, nodeOffset, parseYamlText, readYamlFile, toPlainData} from '../config/yaml-file.js'
import {ConfigError} from '../errors.js'
import {publicFacts} from '../services/facts.js'
import {nodeAtValuePath, setAtValuePath} from './document-paths.js'
import {writeFileAtomic} from '../system/files.js'

export const COMPOSED_COMMENT = ' set by devctl from app.wiring.values in devctl.yaml'

export interface ComposedValue {
  path: string
  value: string | number | boolean
}

export function composeValues(config: DevctlConfig, names: ResolvedNames): ComposedValue[] {
  const facts = publicFacts(config, names)
  return Object.entries(config.app.wiring.values).map(([path, template]) => {
    if (typeof template !== 'string') return {path, value: template}
    try {
      return {path, value: renderTemplate(template, (fact) => facts.get(fact))}
    } catch (error) {
      // The schema rules out a disabled service's facts; anything else here is a bug.
      if (error instanceof MissingFactError) throw new ConfigError(`app.wiring.values "${path}" refers to {{${error.fact}}}, which devctl has no value for.`)
      throw error
    }
  })
}

export interface ComposedChange {
  /** file:line:col of the value. */
  location: string
  path: string
  from: unknown
  to: string | number | boolean
}

/** Where composed values live: the first values file (the one `init` writes). */
export function composedValuesFile(loaded: LoadedConfig): string | undefined {
  const [first] = loaded.config.app.values
  return first === undefined ? undefined : join(loaded.dir, first)
}

/**
 * Make the values file hold what devctl.yaml composes now, changing only the values that
 * differ (comments and everything else kept). Returns what it changed.
 */
export async function syncComposedValues(loaded: LoadedConfig): Promise<ComposedChange[]> {
  const file = composedValuesFile(loaded)
  const composed = composeValues(loaded.config, loaded.resolved)
  if (!file || composed.length === 0) return []
  const source = await readYamlFile(file, 'values file')
  const changes: ComposedChange[] = []
  for (const {path, value} of composed) {
    const node = nodeAtValuePath(source.doc, path)
    const current: unknown = isScalar(node) ? node.value : node?.toJSON()
    if (current === value) continue
    const scalar = source.doc.createNode(value) as Scalar
    scalar.comment = COMPOSED_COMMENT
    setAtValuePath(source.doc, path, scalar, 'replace')
    changes.push({location: formatLocation(source, nodeOffset(node)), path, from: current, to: value})
  }
  if (changes.length === 0) return []
  const text = source.doc.toString()
  // What we write must still read back as a values file.
  toPlainData(parseYamlText(file, text, 'values file'), 'values file')
  const mode = (await stat(file)).mode & 0o777
  await writeFileAtomic(file, text, mode)
  return changes
}

export function describeComposedChange(change: ComposedChange): string {
  const was = change.from === undefined ? 'was missing' : `was ${JSON.stringify(change.from)}`
  return `${change.location}: ${change.path} ${was}; devctl set it to ${JSON.stringify(change.to)}, as app.wiring.values in devctl.yaml composes it (change it there).`
}
