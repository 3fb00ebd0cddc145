/**
 * The questions `init` asks, each answerable by a flag. Flag values are validated here, at the
 * edge; defaults come from the preset, or from the existing devctl.yaml when updating.
 */
import {existsSync} from 'node:fs'
import {basename, join} from 'node:path'

import {splitAssignment, splitUnescaped, typedValue} from '../chart/set-syntax.js'
import type {Wiring as ChartWiring} from '../config/schema.js'
import {FACTS, factsUsed, serviceOf, templateProblem} from '../config/template.js'
import {VALUE_PATH_EXAMPLES, valuePathProblem} from '../config/value-path.js'
import {UsageError} from '../errors.js'
import {POSTGRES, REDIS} from '../services/naming.js'
import type {Prompter} from '../ui/prompter.js'
import {chartHasPath, chartValueAt, readChartFiles, type ChartFiles} from './chart-files.js'
import type {Auth, ConfigAnswers} from './config-document.js'
import {listPresets, loadPreset, type Preset, type Wiring} from './preset.js'
import type {ValuesLayout} from './values-document.js'

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
  'wire-secret'?: string[]
  'wire-value'?: string[]
  'values-layout'?: string
  'postgres-auth'?: string
  'redis-auth'?: string
  build?: boolean
}

export interface InitAnswers extends Omit<ConfigAnswers, 'valuesFile'> {
  preset: Preset
  /** For bring-your-own charts: the value paths the user named, as aliases to the anchors. */
  wiring: Wiring[]
  /** Where the values file defines its anchors. */
  layout: ValuesLayout
  /** What a local chart says about its values (bring-your-own). */
  chartFiles?: ChartFiles
}

/** What an existing devctl.yaml already says, used as defaults by `init --update`. */
export interface ExistingAnswers {
  project?: string
  namespace?: string
  chart?: ConfigAnswers['chart']
  postgres?: boolean
  redis?: boolean
  ports?: ConfigAnswers['ports']
  layout?: ValuesLayout
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
    if (!name) throw new UsageError(`--chart-name is required with a chart repository URL (${location}).`, {hint: "Pass --chart-name NAME, the chart's name in that repository."})
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

  const suggestedName = basename(context.dir)
    .toLowerCase()
    .replaceAll(/[^a-z0-9-]+/g, '-')
    .replaceAll(/^-+|-+$/g, '')
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

  // What the chart itself says (a local chart only): the value paths it has, whether it allows a `shared:` block.
  const chartFiles = preset.wiringQuestions.length > 0 ? await readChartFiles(context.dir, chart) : undefined
  const services = {postgres, redis}
  const chartWiring = preset.wiringQuestions.length > 0 ? await askChartWiring(flags, prompter, services) : undefined
  const wiring = await askWiring(preset, flags, prompter, services, chartFiles, chartWiring)
  const layout = (flags['values-layout'] as ValuesLayout | undefined) ?? existing.layout ?? (chartFiles?.strictTopLevel ? 'inline' : 'shared')
  const auth: Auth = {postgres: flags['postgres-auth'] as Auth['postgres'], redis: flags['redis-auth'] as Auth['redis']}
  const build = await askBuild(preset, flags, prompter, context.dir, project)
  return {preset, project, namespace, chart, postgres, redis, ports, wiring, chartWiring, layout, auth, chartFiles, build}
}

/**
 * A project with a Dockerfile is offered `build:` — its image built by `up` and `dev`, tagged
 * into the chart at image.repository and the preset's &imageTag (else image.tag).
 */
async function askBuild(preset: Preset, flags: InitFlags, prompter: Prompter, dir: string, project: string): Promise<ConfigAnswers['build']> {
  const hasDockerfile = existsSync(join(dir, 'Dockerfile'))
  if (flags.build && !hasDockerfile) throw new UsageError(`--build builds the image of ./Dockerfile, and ${dir} has no Dockerfile.`, {hint: 'Add a Dockerfile first, or leave out --build.'})
  if (!hasDockerfile || flags.build === false) return undefined
  const wanted =
    flags.build ??
    (await prompter.confirm({
      flag: '--build/--no-build',
      message: 'This project has a Dockerfile. Build its image on every `devctl up` (only when the code changed), and on every save with `devctl dev`?',
      default: true,
    }))
  if (!wanted) return undefined
  const tag = preset.shared.some((s) => s.anchor === 'imageTag') ? '&imageTag' : 'image.tag'
  return [{name: project, context: '.', dockerfile: 'Dockerfile', tag, repository: 'image.repository'}]
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
  const name = flags['chart-name'] ?? (isRepo ? await prompter.input({flag: '--chart-name', message: 'Chart name in that repository:', default: existing.chart?.name}) : undefined)
  const version =
    flags['chart-version'] ??
    (isRepo || location.startsWith('oci://')
      ? (await prompter.input({flag: '--chart-version', message: 'Chart version or range (empty for the latest):', default: existing.chart?.version ?? ''})) || undefined
      : undefined)
  return parseChartLocation(location, name, version)
}

type Services = {postgres: boolean; redis: boolean}

/** "a.b, c[0].d" → the paths; a comma inside a key is written "\\,". */
function splitPaths(text: string): string[] {
  return splitUnescaped(text, ',')
    .map((p) => p.trim())
    .filter(Boolean)
}

/** What is wrong with an answer to a wiring question, or undefined. */
function pathsProblem(answer: string): string | undefined {
  if (answer.trim() === NOT_WIRED) return undefined
  const paths = splitPaths(answer)
  if (paths.length === 0) return `write a value path such as ${VALUE_PATH_EXAMPLES}, or "${NOT_WIRED}"`
  for (const path of paths) {
    const problem = valuePathProblem(path)
    if (problem) return problem
  }
  return undefined
}

function parsePaths(answer: string): string[] {
  return answer.trim() === NOT_WIRED ? [] : splitPaths(answer)
}

/**
 * Where the chart takes each shared setting. `--wire ANCHOR=PATH[,PATH...]` (repeatable, the
 * paths add up; "-" for none) answers a question; otherwise a person is asked, offered the
 * first candidate path the chart's values.yaml has, and without a prompt that offer (or
 * nothing) is taken — never a path the chart does not have.
 */
async function askWiring(preset: Preset, flags: InitFlags, prompter: Prompter, services: Services, chartFiles: ChartFiles | undefined, chartWiring?: ChartWiring): Promise<Wiring[]> {
  if (preset.wiringQuestions.length === 0) return preset.wiring
  const given = new Map<string, string[]>()
  for (const spec of flags.wire ?? []) {
    const match = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(spec)
    if (!match)
      throw new UsageError(`--wire: "${spec}" is not ANCHOR=VALUE.PATH.`, {
        hint: `For example --wire dbHost=global.externalDatabase.host (several paths: --wire dbHost=a.host,b.host; "${NOT_WIRED}" for a setting the chart does not take).`,
      })
    const [, anchor, answer] = match as unknown as [string, string, string]
    if (!preset.wiringQuestions.some((q) => q.anchor === anchor)) {
      throw new UsageError(`--wire: "${anchor}" is not a setting of the ${preset.name} preset.`, {hint: `Use one of: ${preset.wiringQuestions.map((q) => q.anchor).join(', ')}.`})
    }
    const problem = pathsProblem(answer)
    if (problem) throw new UsageError(`--wire ${anchor}: ${problem}.`, {hint: `Write value paths such as ${VALUE_PATH_EXAMPLES}.`})
    const before = given.get(anchor)
    const paths = parsePaths(answer)
    if (before !== undefined && (before.length === 0) !== (paths.length === 0)) {
      throw new UsageError(`--wire ${anchor} is given both as "${NOT_WIRED}" (not wired) and with a path.`, {hint: 'Give one of them.'})
    }
    given.set(anchor, [...(before ?? []), ...paths])
  }
  const anchors = new Map(preset.shared.map((s) => [s.anchor, s]))
  // A path devctl writes a composed value to, or one where the chart already names a Secret
  // devctl will create for it (its own default), is not also offered for an alias.
  const declared = new Set(Object.keys(chartWiring?.secrets ?? {}))
  const claimed = (path: string) => path in (chartWiring?.values ?? {}) || declared.has(String(chartValueAt(chartFiles, path)))
  const wiring: Wiring[] = []
  for (const question of preset.wiringQuestions) {
    const requires = anchors.get(question.anchor)?.requires
    if (requires && !services[requires]) continue
    const offered = question.candidates.find((path) => chartHasPath(chartFiles, path) && !claimed(path))
    const paths =
      given.get(question.anchor) ??
      parsePaths(
        await prompter.input({
          flag: `--wire ${question.anchor}=PATH`,
          message: `${question.message} (several: separate with commas; "${NOT_WIRED}" if it takes none):`,
          default: offered ?? NOT_WIRED,
          validate: pathsProblem,
        }),
      )
    for (const path of new Set(paths)) wiring.push({path, anchor: question.anchor})
  }
  return [...preset.wiring, ...wiring]
}

const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/
const OWN_SECRETS = new Set<string>([POSTGRES.secret, REDIS.secret])
const CUSTOM_TEMPLATE = 'custom'

function secretNameProblem(name: string): string | undefined {
  if (!SECRET_NAME.test(name)) return `"${name}" is not a Secret name: use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`
  if (OWN_SECRETS.has(name)) return `"${name}" is devctl's own Secret; a chart can read it directly (wire dbSecret/redisSecret)`
  return undefined
}

function secretKeyProblem(key: string): string | undefined {
  return SECRET_KEY.test(key) ? undefined : `"${key}" is not a Secret key: use letters, digits, "-", "_" and "."`
}

/** A template's problem, including a placeholder of a service that will not run. */
function wiringTemplateProblem(template: string, secretsAllowed: boolean, services: Services): string | undefined {
  const problem = templateProblem(template, {secretsAllowed})
  if (problem) return problem
  const off = factsUsed(template).find((fact) => services[serviceOf(fact) as keyof Services] === false)
  return off ? `refers to {{${off}}}, but ${serviceOf(off)} is not enabled` : undefined
}

/**
 * The Secrets the chart expects in its own shape, and the values devctl composes for it
 * (devctl.yaml app.wiring). Flags answer them all at once; a person is asked in a loop that an
 * empty answer ends, which is also what happens without a prompt.
 */
async function askChartWiring(flags: InitFlags, prompter: Prompter, services: Services): Promise<ChartWiring> {
  const secrets: ChartWiring['secrets'] = {}
  const addSecretKey = (name: string, key: string, template: string, flag: string) => {
    const problem = secretNameProblem(name) ?? secretKeyProblem(key) ?? wiringTemplateProblem(template, true, services)
    if (problem) throw new UsageError(`${flag}: ${problem}.`, {hint: 'Write it as --wire-secret NAME/KEY=TEMPLATE, e.g. --wire-secret blog-db/password={{postgres.password}}.'})
    secrets[name] = {...secrets[name], [key]: template}
  }
  for (const spec of flags['wire-secret'] ?? []) {
    const match = /^([^/=]+)\/([^/=]+)=(.+)$/s.exec(spec)
    if (!match)
      throw new UsageError(`--wire-secret: "${spec}" is not NAME/KEY=TEMPLATE.`, {
        hint: 'For example --wire-secret blog-db/password={{postgres.password}} or --wire-secret airflow-metadata/connection={{postgres.url}}.',
      })
    addSecretKey(match[1]!, match[2]!, match[3]!, `--wire-secret ${match[1]}/${match[2]}`)
  }
  if (flags['wire-secret'] === undefined) {
    const facts = FACTS.filter((fact) => services[serviceOf(fact.name) as keyof Services])
    for (;;) {
      const name = await prompter.input({
        flag: '--wire-secret NAME/KEY=TEMPLATE',
        message: 'Does the chart read credentials from a Secret it names itself? Its name (empty: none, or no more):',
        default: '',
        validate: (value) => (value === '' ? undefined : secretNameProblem(value)),
      })
      if (name === '') break
      for (;;) {
        const key = await prompter.input({
          flag: '--wire-secret NAME/KEY=TEMPLATE',
          message: `A key the chart reads from Secret ${name} (empty: no more):`,
          default: '',
          validate: (value) => (value === '' ? undefined : secretKeyProblem(value)),
        })
        if (key === '') break
        const choice = await prompter.select({
          flag: '--wire-secret NAME/KEY=TEMPLATE',
          message: `What goes under ${name}/${key}?`,
          choices: [
            ...facts.map((fact) => ({value: `{{${fact.name}}}`, name: fact.name, description: fact.description})),
            {value: CUSTOM_TEMPLATE, name: 'text with placeholders, e.g. {{postgres.url}}?sslmode=disable'},
          ],
        })
        const template =
          choice === CUSTOM_TEMPLATE
            ? await prompter.input({flag: '--wire-secret NAME/KEY=TEMPLATE', message: `${name}/${key}:`, validate: (value) => wiringTemplateProblem(value, true, services)})
            : choice
        addSecretKey(name, key, template, `${name}/${key}`)
      }
    }
  }

  const values: ChartWiring['values'] = {}
  const parseValue = (spec: string): {path: string; value: ChartWiring['values'][string]} | string => {
    const [path, raw] = splitAssignment(spec) ?? ['', '']
    const problem = path === '' ? `"${spec}" is not PATH=TEMPLATE` : (valuePathProblem(path) ?? wiringTemplateProblem(raw, false, services))
    // A literal takes helm's --set types (false, 3); a template is rendered when written.
    return problem ?? {path, value: factsUsed(raw).length > 0 ? raw : typedValue(raw)}
  }
  const hint = 'For example --wire-value data.brokerUrl=redis://{{redis.host}}:{{redis.port}}/0 or --wire-value redis.enabled=false.'
  for (const spec of flags['wire-value'] ?? []) {
    const parsed = parseValue(spec)
    if (typeof parsed === 'string') throw new UsageError(`--wire-value: ${parsed}.`, {hint})
    values[parsed.path] = parsed.value
  }
  if (flags['wire-value'] === undefined) {
    for (;;) {
      const spec = await prompter.input({
        flag: '--wire-value PATH=TEMPLATE',
        message: 'A value devctl should write for the chart, as PATH=TEMPLATE (e.g. data.brokerUrl=redis://{{redis.host}}:{{redis.port}}/0; empty: none, or no more):',
        default: '',
        validate: (value) => {
          const parsed = value === '' ? undefined : parseValue(value)
          return typeof parsed === 'string' ? parsed : undefined
        },
      })
      if (spec === '') break
      const parsed = parseValue(spec) as {path: string; value: ChartWiring['values'][string]}
      values[parsed.path] = parsed.value
    }
  }
  return {secrets, values}
}
