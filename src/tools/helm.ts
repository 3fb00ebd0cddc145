/**
 * helm 3 and helm 4, driven as processes. Only flags both majors share are used; devctl does
 * its own waiting (helm's waiting modes deadlock with post-install hooks), so no --wait.
 * JSON output is parsed into types here; failures become ChartErrors with helm's own words.
 */
import {basename, isAbsolute, resolve} from 'node:path'

import semver from 'semver'
import * as z from 'zod'

import {setArgument, type SetValue} from '../chart/set-syntax.js'
import {ChartError, ConfigError, PrerequisiteError} from '../errors.js'
import type {ChartSource} from '../config/schema.js'
import {parseToolJson} from './json-output.js'
import {runAllowingFailure, tail, type RunOptions, type RunResult} from './process.js'

/** --labels on releases arrived in helm 3.13; devctl stores its content hash there. */
export const MIN_HELM_VERSION = '3.13.0'

/** Where helm finds the cluster: an explicit kubeconfig file and/or a context. */
export interface KubeTarget {
  kubeconfig?: string
  context: string
}

export interface ReleaseRef {
  release: string
  namespace: string
  kube: KubeTarget
}

export interface InstallOptions extends ReleaseRef {
  chart: ChartSource
  /** Directory relative chart paths are resolved against (where devctl.yaml lives). */
  baseDir: string
  valuesFiles: string[]
  set: Record<string, SetValue>
  labels?: Record<string, string>
  /** helm's own --timeout (its hooks and --wait). */
  timeoutMs: number
  description?: string
  /** helm 3.16+: render without checking the values against values.schema.json. */
  skipSchemaValidation?: boolean
}

/** --skip-schema-validation arrived in helm 3.16. */
export const SKIP_SCHEMA_VALIDATION_HELM = '3.16.0'

export const PENDING_STATUSES = ['pending-install', 'pending-upgrade', 'pending-rollback'] as const

/** helm's error text without its noise: "Error: " prefixes, multierror bullets, blank lines. */
export function cleanHelmError(stderr: string): string[] {
  return tail(stderr, 15)
    .filter((line) => !/^(WARNING|walk\.go|W\d{4} )/.test(line.trim()))
    .map((line) =>
      line
        .replace(/^Error:\s*/, '')
        .replace(/^\s*\*\s*/, '')
        .trim(),
    )
    .filter((line) => line !== '' && !/^\d+ errors? occurred:$/.test(line))
}

function chartArgs(chart: ChartSource, baseDir: string): string[] {
  const version = chart.version ? ['--version', chart.version] : []
  if (chart.path !== undefined) return [isAbsolute(chart.path) ? chart.path : resolve(baseDir, chart.path), ...version]
  if (chart.oci !== undefined) return [chart.oci, ...version, ...(chart.plainHttp ? ['--plain-http'] : [])]
  return [chart.name!, '--repo', chart.repo!, ...version]
}

/** helm's --timeout takes Go durations ("5m", "1m30s"); whole seconds are enough. */
export function helmDuration(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000))
  const parts = [
    [Math.floor(seconds / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ] as const
  return parts.map(([amount, unit]) => (amount ? `${amount}${unit}` : '')).join('')
}

function kubeArgs(kube: KubeTarget): string[] {
  return [...(kube.kubeconfig ? ['--kubeconfig', kube.kubeconfig] : []), '--kube-context', kube.context]
}

function valueArgs(options: Pick<InstallOptions, 'valuesFiles' | 'set' | 'skipSchemaValidation'>): string[] {
  const args = options.valuesFiles.flatMap((file) => ['-f', file])
  if (options.skipSchemaValidation) args.push('--skip-schema-validation')
  for (const [key, value] of Object.entries(options.set)) {
    // Strings stay strings ("1.0" must not become 1); numbers and booleans keep their type.
    args.push(typeof value === 'string' ? '--set-string' : '--set', setArgument(key, value))
  }
  return args
}

/** What `helm upgrade --dry-run --output json` prints that devctl reads: the release it would make. */
const dryRunRelease = z.object({manifest: z.string(), hooks: z.array(z.object({manifest: z.string()})).optional()})

/** A schema helm had to fetch from the internet and could not (helm 3: `Get "URL": dial tcp ...`, helm 4: `failing loading "URL": HTTP request failed ...`). */
const UNREACHABLE_SCHEMA = /(?:Get|failing loading) "(https?:\/\/[^"]+)": (?:dial tcp|HTTP request failed|net\/http|context deadline)/

/**
 * A chart that did not render: values its values.schema.json rejects are the values' fault
 * (helm 3 and 4 word this the same) — unless the schema itself could not be loaded.
 */
function renderFailure(stderr: string, options: Pick<InstallOptions, 'release' | 'valuesFiles'>): ChartError | ConfigError {
  const details = cleanHelmError(stderr)
  const missing = /found in Chart\.yaml, but missing in charts\/ directory: (.+)$/m.exec(stderr)?.[1]?.trim()
  if (missing) {
    return new ChartError(`The chart declares subcharts its charts/ directory does not hold (${missing}): helm renders no chart with a dependency missing, even one its values switch off.`, {
      details,
      hint: `For a database devctl runs for you, delete its entry under dependencies: in the chart's Chart.yaml (and switch it off in your values, e.g. postgresql.enabled: false); for the others, \`helm dependency build\` the chart.`,
    })
  }
  const unreachable = UNREACHABLE_SCHEMA.exec(stderr)?.[1]
  if (unreachable) {
    return new ChartError(
      `The chart's values.schema.json refers to a schema on the internet that helm could not fetch (${unreachable}): your values were not checked, and nothing says they are wrong.`,
      {
        details,
        hint: `Connect this machine to the internet, or render without the chart's schema: app.skipSchemaValidation: true in devctl.yaml (helm ${SKIP_SCHEMA_VALIDATION_HELM} or newer).`,
      },
    )
  }
  if (/values don't meet the specifications of the schema/.test(stderr)) {
    return new ConfigError(`The values do not meet the chart's values.schema.json (release ${options.release}).`, {
      details,
      hint: `Fix what it names in your values files (${options.valuesFiles.map((file) => basename(file)).join(', ') || 'none'}) or app.set in devctl.yaml; \`helm template\` shows the same error.`,
    })
  }
  return new ChartError(`helm could not render the chart for release ${options.release}.`, {
    details,
    hint: 'Fix the chart or the values it complains about (`helm template` shows the same error).',
  })
}

/** `helm rollback` of a release to a revision (also what devctl tells a person to run by hand). */
export function rollbackArgs(ref: ReleaseRef & {revision: number}): string[] {
  return ['rollback', ref.release, String(ref.revision), '--namespace', ref.namespace, ...kubeArgs(ref.kube)]
}

/** The `helm upgrade --install` arguments for a release (also what --dry-run shows). */
export function upgradeInstallArgs(options: InstallOptions): string[] {
  const labels = Object.entries(options.labels ?? {}).map(([k, v]) => `${k}=${v}`)
  return [
    'upgrade',
    '--install',
    options.release,
    ...chartArgs(options.chart, options.baseDir),
    // The namespace step makes sure it exists (and a namespace-scoped account may not create one).
    '--namespace',
    options.namespace,
    ...valueArgs(options),
    '--timeout',
    helmDuration(options.timeoutMs),
    ...(labels.length ? ['--labels', labels.join(',')] : []),
    ...(options.description ? ['--description', options.description] : []),
    ...kubeArgs(options.kube),
  ]
}

export class Helm {
  constructor(private readonly binary = 'helm') {}

  private async helm(args: string[], options: RunOptions = {}): Promise<RunResult> {
    // Plain, stable output: no colours, no update notices.
    return runAllowingFailure(this.binary, args, {...options, env: {NO_COLOR: '1', ...options.env}})
  }

  async version(signal?: AbortSignal): Promise<{version: string; major: number}> {
    const result = await this.helm(['version', '--template', '{{.Version}}'], {signal})
    const version = semver.coerce(result.stdout.trim())?.version
    if (result.exitCode !== 0 || !version) throw new PrerequisiteError(`Could not read helm's version (\`helm version\` said: ${result.stderr || result.stdout}).`)
    return {version, major: semver.major(version)}
  }

  static assertSupported(version: string, needs: {skipSchemaValidation?: boolean} = {}): void {
    if (semver.lt(version, MIN_HELM_VERSION) || semver.major(version) > 4) {
      throw new PrerequisiteError(`helm ${version} is not supported: devctl needs helm ${MIN_HELM_VERSION} or newer, 3.x or 4.x.`, {
        hint: 'Install a supported helm (https://helm.sh/docs/intro/install/).',
      })
    }
    if (needs.skipSchemaValidation && semver.lt(version, SKIP_SCHEMA_VALIDATION_HELM)) {
      throw new PrerequisiteError(
        `helm ${version} cannot render without the chart's values.schema.json (app.skipSchemaValidation: true in devctl.yaml): that needs helm ${SKIP_SCHEMA_VALIDATION_HELM} or newer.`,
        {
          hint: 'Install a newer helm (https://helm.sh/docs/intro/install/), or remove app.skipSchemaValidation.',
        },
      )
    }
  }

  /** Render the chart locally (no cluster), hooks included. */
  async template(options: Omit<InstallOptions, 'kube' | 'labels' | 'timeoutMs' | 'description'> & {isUpgrade?: boolean}, signal?: AbortSignal): Promise<string> {
    const args = ['template', options.release, ...chartArgs(options.chart, options.baseDir), '--namespace', options.namespace, ...valueArgs(options)]
    if (options.isUpgrade) args.push('--is-upgrade')
    const result = await this.helm(args, {signal})
    if (result.exitCode !== 0) throw renderFailure(result.stderr, options)
    return result.stdout
  }

  /**
   * The chart as the next `helm upgrade` of an installed release renders it: `helm template`
   * always says revision 1, and a chart that names a Job by `.Release.Revision` (Plane's
   * `<release>-api-migrate-<revision>`) gets another name on every upgrade. Needs the cluster
   * (helm reads the release's history); creates nothing. Its manifests and hooks, as one stream.
   */
  async renderUpgrade(options: InstallOptions, signal?: AbortSignal): Promise<string> {
    const args = [...upgradeInstallArgs(options), '--dry-run=client', '--output', 'json']
    const result = await this.helm(args, {signal})
    if (result.exitCode !== 0) throw renderFailure(result.stderr, options)
    const release = parseToolJson(dryRunRelease, result.stdout, 'helm upgrade --dry-run', ChartError)
    return [release.manifest, ...(release.hooks ?? []).map((hook) => hook.manifest)].join('\n---\n')
  }

  /** The exact version a repository or OCI chart reference resolves to now: the newest one its range allows. */
  async resolveChartVersion(chart: ChartSource, baseDir: string, signal?: AbortSignal): Promise<string> {
    const result = await this.helm(['show', 'chart', ...chartArgs(chart, baseDir)], {signal})
    const version = result.exitCode === 0 ? /^version:\s*["']?([^\s"']+)/m.exec(result.stdout)?.[1] : undefined
    if (!version || !semver.valid(version)) {
      throw new ChartError(`helm could not find a chart ${chart.name ?? chart.oci ?? ''} matching version ${chart.version ?? '(any)'}.`, {
        details: result.exitCode === 0 ? [`\`helm show chart\` printed no version`] : cleanHelmError(result.stderr),
        hint: 'Check app.chart in devctl.yaml (repo, name or oci, and version) or --chart-version, and that the repository is reachable.',
      })
    }
    return version
  }

  /**
   * `helm upgrade --install`. It runs shielded from the terminal's Ctrl-C (the first Ctrl-C
   * lets it finish so the release is not left pending); `signal` ends it early (SIGTERM, which
   * helm answers by marking the release failed rather than pending).
   */
  async upgradeInstall(options: InstallOptions, signal: AbortSignal): Promise<void> {
    const result = await this.helm(upgradeInstallArgs(options), {signal, ownProcessGroup: true})
    if (result.exitCode !== 0) {
      throw new ChartError(`helm upgrade --install of release ${options.release} failed.`, {details: cleanHelmError(result.stderr)})
    }
  }

  async rollback(ref: ReleaseRef & {revision: number; timeoutMs: number}, signal: AbortSignal): Promise<void> {
    const result = await this.helm([...rollbackArgs(ref), '--timeout', helmDuration(ref.timeoutMs)], {
      signal,
      ownProcessGroup: true,
    })
    if (result.exitCode !== 0) throw new ChartError(`helm rollback of ${ref.release} to revision ${ref.revision} failed.`, {details: cleanHelmError(result.stderr)})
  }

  /** Returns false when there was no release to uninstall. */
  async uninstall(ref: ReleaseRef & {timeoutMs: number}, signal: AbortSignal): Promise<boolean> {
    const result = await this.helm(['uninstall', ref.release, '--namespace', ref.namespace, '--timeout', helmDuration(ref.timeoutMs), ...kubeArgs(ref.kube)], {
      signal,
      ownProcessGroup: true,
    })
    if (result.exitCode === 0) return true
    if (/not found/.test(result.stderr)) return false
    throw new ChartError(`helm uninstall of ${ref.release} failed.`, {details: cleanHelmError(result.stderr)})
  }

  /**
   * The values of a revision of the release (for diffs), aliases already expanded: those it was
   * given, or with `all` what its chart received (its defaults coalesced with those).
   */
  async getValues(ref: ReleaseRef & {revision?: number; all?: boolean}, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const which = [...(ref.revision === undefined ? [] : ['--revision', String(ref.revision)]), ...(ref.all ? ['--all'] : [])]
    const result = await this.helm(['get', 'values', ref.release, '--namespace', ref.namespace, ...which, '-o', 'json', ...kubeArgs(ref.kube)], {signal})
    if (result.exitCode !== 0) {
      if (/not found/.test(result.stderr)) return {}
      throw new ChartError(`helm could not read the values of release ${ref.release}.`, {details: cleanHelmError(result.stderr)})
    }
    return valuesJson(result.stdout, 'helm get values -o json')
  }

  /** A chart's own defaults (its values.yaml), as helm reads them. */
  async showValues(chart: ChartSource, baseDir: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const result = await this.helm(['show', 'values', ...chartArgs(chart, baseDir), '--jsonpath', '{$}'], {signal})
    if (result.exitCode !== 0) throw new ChartError(`helm could not read the default values of chart ${chart.path ?? chart.name ?? chart.oci ?? ''}.`, {details: cleanHelmError(result.stderr)})
    return valuesJson(result.stdout, 'helm show values --jsonpath {$}')
  }
}

/** Values as helm prints them in JSON (`null` or nothing when there are none). */
function valuesJson(stdout: string, what: string): Record<string, unknown> {
  if (stdout.trim() === '') return {}
  return parseToolJson(z.record(z.string(), z.unknown()).nullable(), stdout, what, ChartError) ?? {}
}
