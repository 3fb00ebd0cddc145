/**
 * What `init` reads from a chart on disk to wire it: its values.yaml (which value paths it
 * has, to offer them as answers) and its values.schema.json (whether it forbids keys it does
 * not know at the top level, which rules out a `shared:` block). A chart from a repository or
 * an OCI registry is not fetched by `init`: it has neither, and the flags say what to do.
 */
import {readFile} from 'node:fs/promises'
import {resolve} from 'node:path'

import {parse} from 'yaml'

import type {ChartSource} from '../config/schema.js'
import {parseValuePath, type PathStep} from '../config/value-path.js'
import {displayPath, MAX_ALIAS_COUNT} from '../config/yaml-file.js'
import {ConfigError} from '../errors.js'

export interface ChartFiles {
  /** The chart's default values; undefined when it has no values.yaml. */
  values?: unknown
  /** Its values schema forbids unknown top-level keys (additionalProperties or unevaluatedProperties false). */
  strictTopLevel: boolean
  /** With a strict schema (and no patternProperties): the top-level keys it allows. */
  allowedTopLevel?: string[]
}

async function readIfPresent(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined
    throw error
  })
}

/**
 * The chart's default values, read as leniently as helm reads them (Mastodon's has a duplicate
 * key): they only suggest answers, so one devctl cannot read suggests nothing rather than
 * stopping init.
 */
function chartValues(text: string | undefined): unknown {
  if (text === undefined) return undefined
  try {
    return parse(text, {uniqueKeys: false, maxAliasCount: MAX_ALIAS_COUNT})
  } catch {
    return undefined
  }
}

/** The files of a local chart, or undefined for a chart elsewhere (or a directory not there yet). */
export async function readChartFiles(projectDir: string, chart: ChartSource): Promise<ChartFiles | undefined> {
  if (chart.path === undefined) return undefined
  const dir = resolve(projectDir, chart.path)
  const chartYaml = await readIfPresent(resolve(dir, 'Chart.yaml'))
  if (chartYaml === undefined) return undefined
  const values = chartValues(await readIfPresent(resolve(dir, 'values.yaml')))
  const schemaPath = resolve(dir, 'values.schema.json')
  const schemaText = await readIfPresent(schemaPath)
  let schema: unknown
  try {
    // JSON is YAML; helm itself reads the schema as JSON, so a broken one fails there too.
    schema = schemaText === undefined ? undefined : parse(schemaText)
  } catch {
    throw new ConfigError(`${displayPath(schemaPath)} is not valid JSON, so helm would refuse the chart.`, {hint: "Fix the chart's values.schema.json."})
  }
  const top = schema !== null && typeof schema === 'object' ? (schema as Record<string, unknown>) : {}
  const strictTopLevel = top.additionalProperties === false || top.unevaluatedProperties === false
  const properties = top.properties !== null && typeof top.properties === 'object' ? Object.keys(top.properties) : []
  return {values, strictTopLevel, allowedTopLevel: strictTopLevel && top.patternProperties === undefined ? properties : undefined}
}

const ABSENT = Symbol('absent')

function valueAtSteps(value: unknown, steps: PathStep[]): unknown {
  let current = value
  for (const step of steps) {
    if (step.kind === 'key' && current !== null && typeof current === 'object' && !Array.isArray(current) && step.key in current) {
      current = (current as Record<string, unknown>)[step.key]
    } else if (step.kind === 'index' && Array.isArray(current) && step.index < current.length) {
      current = current[step.index]
    } else {
      return ABSENT
    }
  }
  return current
}

/** Does the chart's values.yaml have this path (even with an empty value)? */
export function chartHasPath(files: ChartFiles | undefined, path: string): boolean {
  return files?.values !== undefined && valueAtSteps(files.values, parseValuePath(path)) !== ABSENT
}

/** The chart's default at a path (undefined when it has none). */
export function chartValueAt(files: ChartFiles | undefined, path: string): unknown {
  const value = files?.values === undefined ? ABSENT : valueAtSteps(files.values, parseValuePath(path))
  return value === ABSENT ? undefined : value
}

/** Top-level keys of `values` the chart's strict schema would reject (helm refuses to install then). */
export function keysTheSchemaRejects(files: ChartFiles | undefined, values: unknown): string[] {
  const allowed = files?.allowedTopLevel
  if (!allowed || values === null || typeof values !== 'object') return []
  return Object.keys(values).filter((key) => !allowed.includes(key))
}
