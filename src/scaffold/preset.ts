/**
 * Presets are data: `presets/<name>/preset.yaml` (prompts, defaults, shared settings, wiring)
 * plus an optional bundled chart. Adding a preset needs no TypeScript change; this module
 * only reads and validates them.
 */
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'

import * as z from 'zod'

import {ConfigError, UsageError} from '../errors.js'
import {PACKAGE_ROOT} from '../package-root.js'
import {exists} from '../system/files.js'
import {formatLocation, nodeAtPath, nodeOffset, readYamlFile, toPlainData} from '../config/yaml-file.js'
import {valuePathProblem} from '../config/value-path.js'

export const PRESETS_DIR = join(PACKAGE_ROOT, 'presets')

const anchorName = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, {error: 'must be letters and digits, starting with a letter'})

/** A value path (config/value-path.ts), e.g. `env.DATABASE_HOST` or `envFromSecrets[].secretName`. */
const valuePath = z.string().superRefine((path, ctx) => {
  const problem = valuePathProblem(path)
  if (problem) ctx.addIssue({code: 'custom', message: `must be a value path: ${problem}`})
})

const service = z.enum(['postgres', 'redis'])

const sharedSetting = z.strictObject({
  anchor: anchorName,
  /** Where the setting lives under the top-level `shared:` block. */
  path: valuePath,
  /** A literal, or a {{placeholder}} filled from the answers (see scaffold/context.ts). */
  value: z.union([z.string(), z.number(), z.boolean()]),
  comment: z.string().optional(),
  /** Only written when this service is enabled. */
  requires: service.optional(),
})

const wiring = z.strictObject({
  path: valuePath,
  anchor: anchorName,
})

/**
 * A question `init` asks for a bring-your-own chart: where does the chart take this setting?
 * The answer offered is the first candidate the chart's own values.yaml has.
 */
const wiringQuestion = z.strictObject({
  anchor: anchorName,
  message: z.string(),
  candidates: z.array(valuePath).default([]),
})

const portMapping = z.strictObject({host: z.int(), container: z.int()})

export const presetSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/),
  description: z.string(),
  chart: z.discriminatedUnion('source', [
    /** A chart shipped in the preset directory and copied into the project. */
    z.strictObject({source: z.literal('bundled'), directory: z.string(), target: z.string()}),
    /** The team's own chart: `init` asks where it is. */
    z.strictObject({source: z.literal('ask'), default: z.string().optional()}),
  ]),
  defaults: z
    .strictObject({
      postgres: z.boolean().default(true),
      redis: z.boolean().default(true),
      ports: z.array(portMapping).default([]),
    })
    .prefault({}),
  shared: z.array(sharedSetting).default([]),
  wiring: z.array(wiring).default([]),
  wiringQuestions: z.array(wiringQuestion).default([]),
  /** Plain values written as they are (after {{placeholder}} filling). */
  values: z.record(z.string(), z.unknown()).default({}),
})

export type Preset = z.output<typeof presetSchema> & {dir: string}
export type SharedSetting = z.output<typeof sharedSetting>
export type Wiring = z.output<typeof wiring>
export type WiringQuestion = z.output<typeof wiringQuestion>

export async function listPresets(presetsDir = PRESETS_DIR): Promise<string[]> {
  const entries = await readdir(presetsDir, {withFileTypes: true})
  const names: string[] = []
  for (const entry of entries) {
    if (entry.isDirectory() && (await exists(join(presetsDir, entry.name, 'preset.yaml')))) names.push(entry.name)
  }
  return names.sort()
}

export async function loadPreset(name: string, presetsDir = PRESETS_DIR): Promise<Preset> {
  const available = await listPresets(presetsDir)
  if (!available.includes(name)) {
    throw new UsageError(`There is no preset named "${name}".`, {hint: `Choose one of: ${available.join(', ')} (--preset NAME).`})
  }
  const dir = join(presetsDir, name)
  const source = await readYamlFile(join(dir, 'preset.yaml'), 'preset manifest')
  const result = presetSchema.safeParse(toPlainData(source, 'preset manifest'))
  if (!result.success) {
    const issue = result.error.issues[0]!
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
    const at = formatLocation(source, nodeOffset(nodeAtPath(source.doc, path).node))
    throw new ConfigError(`${at}: preset "${name}" is invalid at "${path.join('.')}": ${issue.message}.`, {
      hint: 'This is a problem with the preset itself; fix its preset.yaml.',
    })
  }
  const preset: Preset = {...result.data, dir}
  const anchors = new Set(preset.shared.map((s) => s.anchor))
  const unknown = [...preset.wiring, ...preset.wiringQuestions].find((w) => !anchors.has(w.anchor))
  if (unknown) {
    throw new ConfigError(`Preset "${name}" wires a value to an anchor "${unknown.anchor}" that its shared settings never define.`, {
      hint: "Add the anchor to the preset's shared settings.",
    })
  }
  return preset
}
