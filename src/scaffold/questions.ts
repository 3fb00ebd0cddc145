/**
 * The questions `init` asks, each answerable by a flag. Flag values are validated here, at the
 * edge; defaults come from the preset, or from the existing devctl.yaml when updating.
 */
import {basename} from 'node:path'

import {UsageError} from '../errors.js'
import type {Prompter} from '../ui/prompter.js'
import type {ConfigAnswers} from './config-document.js'
import {isValuePath, listPresets, loadPreset, type Preset, type Wiring} from './preset.js'

export interface InitFlags {
  preset?: string
  name?: string
  namespace?: string
  chart?: string
  'chart-name'?: string
  'chart-version'?: string
  postgres?: boolean
  redis?: boolean
  port?: string[]
  wire?: string[]
}

export interface InitAnswers extends Omit<ConfigAnswers, 'valuesFile'> {
  preset: Preset
  /** For bring-your-own charts: the value paths the user named, as aliases to the anchors. */
  wiring: Wiring[]
}

/** What an existing devctl.yaml already says, used as defaults by `init --update`. */
export interface ExistingAnswers {
  project?: string
  namespace?: string
  chart?: ConfigAnswers['chart']
  postgres?: boolean
  redis?: boolean
  ports?: ConfigAnswers['ports']
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const NOT_WIRED = '-'

function validateDnsLabel(value: string): string | undefined {
  return DNS_LABEL.test(value) ? undefined : `"${value}" is not a valid name: use lowercase letters, digits and "-" (at most 63), starting and ending with a letter or digit.`
}

function checked(flag: string, value: string, validate: (v: string) => string | undefined): string {
  const problem = validate(value)
  if (problem) throw new UsageError(`${flag}: ${problem}`, {hint: `Pass a valid value to ${flag}.`})
  return value
}

/** "8080:80,8443:443" → port mappings. */
export function parsePorts(specs: string[]): ConfigAnswers['ports'] {
  return specs
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
    .map((spec) => {
      const match = /^(\d{1,5}):(\d{1,5})$/.exec(spec)
      const host = Number(match?.[1])
      const container = Number(match?.[2])
      if (!match || host < 1 || host > 65535 || container < 1 || container > 65535) {
        throw new UsageError(`--port: "${spec}" is not a port mapping.`, {hint: 'Write it as HOST:CONTAINER, e.g. --port 8080:80.'})
      }
      return {host, container}
    })
}

function formatPorts(ports: ConfigAnswers['ports']): string {
  return ports.map((p) => `${p.host}:${p.container}`).join(',')
}

/** A chart location as typed by a person: a directory, an https repository URL, or oci://. */
export function parseChartLocation(location: string, name: string | undefined, version: string | undefined): ConfigAnswers['chart'] {
  const withVersion = version ? {version} : {}
  if (location.startsWith('oci://')) return {oci: location, ...withVersion}
  if (/^https?:\/\//.test(location)) {
    if (!name) throw new UsageError(`--chart-name is required with a chart repository URL (${location}).`, {hint: 'Pass --chart-name NAME, the chart\'s name in that repository.'})
    return {repo: location, name, ...withVersion}
  }
  return {path: location, ...withVersion}
}

function describeChart(chart: ConfigAnswers['chart']): string | undefined {
  return chart.path ?? chart.oci ?? chart.repo
}

const SUGGESTED_PRESET = 'web-worker'

export async function gatherAnswers(flags: InitFlags, prompter: Prompter, context: {dir: string; existing?: ExistingAnswers}): Promise<InitAnswers> {
  const existing = context.existing ?? {}
  const presetNames = await listPresets()
  const presetName =
    flags.preset ??
    (await prompter.select({
      flag: '--preset',
      message: 'Which preset fits your project?',
      // The complete one: bring-your-own only makes sense to someone who already has a chart.
      suggestion: presetNames.includes(SUGGESTED_PRESET) ? SUGGESTED_PRESET : undefined,
      choices: await Promise.all(presetNames.map(async (name) => ({value: name, description: (await loadPreset(name)).description}))),
    }))
  const preset = await loadPreset(presetName)

  const suggestedName = basename(context.dir).toLowerCase().replaceAll(/[^a-z0-9-]+/g, '-').replaceAll(/^-+|-+$/g, '')
  const project = flags.name
    ? checked('--name', flags.name, validateDnsLabel)
    : await prompter.input({
        flag: '--name',
        message: 'Project name (used for the cluster, release and namespace):',
        default: existing.project,
        // Offered to a person only: without a prompt the name must be said (--name).
        suggestion: suggestedName || undefined,
        validate: validateDnsLabel,
      })

  const namespace = flags.namespace
    ? checked('--namespace', flags.namespace, validateDnsLabel)
    : await prompter.input({flag: '--namespace', message: 'Kubernetes namespace:', default: existing.namespace ?? project, validate: validateDnsLabel})

  const chart = await askChart(preset, flags, prompter, existing)

  const postgres = flags.postgres ?? (await prompter.confirm({flag: '--postgres/--no-postgres', message: 'Run Postgres in the cluster?', default: existing.postgres ?? preset.defaults.postgres}))
  const redis = flags.redis ?? (await prompter.confirm({flag: '--redis/--no-redis', message: 'Run Redis in the cluster?', default: existing.redis ?? preset.defaults.redis}))

  const ports = flags.port
    ? parsePorts(flags.port)
    : parsePorts([
        await prompter.input({
          flag: '--port',
          message: 'Host ports to map into the cluster (HOST:CONTAINER, comma-separated; 80 reaches the ingress):',
          default: formatPorts(existing.ports ?? preset.defaults.ports),
          validate: (value) => {
            try {
              parsePorts([value])
              return undefined
            } catch (error) {
              return (error as Error).message
            }
          },
        }),
      ])

  const wiring = await askWiring(preset, flags, prompter, {postgres, redis})
  return {preset, project, namespace, chart, postgres, redis, ports, wiring}
}

async function askChart(preset: Preset, flags: InitFlags, prompter: Prompter, existing: ExistingAnswers): Promise<ConfigAnswers['chart']> {
  if (preset.chart.source === 'bundled' && !flags.chart) return existing.chart ?? {path: `./${preset.chart.target}`}
  const location =
    flags.chart ??
    (await prompter.input({
      flag: '--chart',
      message: 'Where is the chart? (a directory, a chart repository URL, or an oci:// reference)',
      default: (existing.chart && describeChart(existing.chart)) ?? (preset.chart.source === 'ask' ? preset.chart.default : undefined),
    }))
  const isRepo = /^https?:\/\//.test(location)
  const name =
    flags['chart-name'] ??
    (isRepo ? await prompter.input({flag: '--chart-name', message: 'Chart name in that repository:', default: existing.chart?.name}) : undefined)
  const version =
    flags['chart-version'] ??
    (isRepo || location.startsWith('oci://')
      ? (await prompter.input({flag: '--chart-version', message: 'Chart version or range (empty for the latest):', default: existing.chart?.version ?? ''})) || undefined
      : undefined)
  return parseChartLocation(location, name, version)
}

async function askWiring(preset: Preset, flags: InitFlags, prompter: Prompter, services: {postgres: boolean; redis: boolean}): Promise<Wiring[]> {
  if (preset.wiringQuestions.length === 0) return preset.wiring
  const given = new Map(
    (flags.wire ?? []).map((spec) => {
      const match = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(spec)
      if (!match) throw new UsageError(`--wire: "${spec}" is not ANCHOR=VALUE.PATH.`, {hint: 'For example --wire dbHost=global.externalDatabase.host (use "-" for a setting the chart does not take).'})
      if (match[2] !== NOT_WIRED && !isValuePath(match[2]!)) {
        throw new UsageError(`--wire: "${match[2]}" is not a value path.`, {hint: 'Write a dotted path such as global.externalDatabase.host.'})
      }
      return [match[1]!, match[2]!] as const
    }),
  )
  const anchors = new Map(preset.shared.map((s) => [s.anchor, s]))
  for (const anchor of given.keys()) {
    if (!preset.wiringQuestions.some((q) => q.anchor === anchor)) {
      throw new UsageError(`--wire: "${anchor}" is not a setting of the ${preset.name} preset.`, {hint: `Use one of: ${preset.wiringQuestions.map((q) => q.anchor).join(', ')}.`})
    }
  }
  const wiring: Wiring[] = []
  for (const question of preset.wiringQuestions) {
    const requires = anchors.get(question.anchor)?.requires
    if (requires && !services[requires]) continue
    const path =
      given.get(question.anchor) ??
      (await prompter.input({
        flag: `--wire ${question.anchor}=PATH`,
        message: `${question.message} ("${NOT_WIRED}" if it takes none):`,
        default: question.default ?? NOT_WIRED,
        validate: (value) => (value === NOT_WIRED || isValuePath(value) ? undefined : 'write a dotted value path such as global.externalDatabase.host'),
      }))
    if (path !== NOT_WIRED) wiring.push({path, anchor: question.anchor})
  }
  return [...preset.wiring, ...wiring]
}
