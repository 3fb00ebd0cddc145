/**
 * What to deploy, as `up` or `upgrade` asks for it: the chart, the values files and `--set`
 * overrides, and helm's view of it.
 */
import type {SetValue} from '../../chart/set-syntax.js'
import type {ChartSource} from '../../config/schema.js'
import type {InstallOptions} from '../../tools/helm.js'
import type {Project} from '../project.js'

/** What to deploy: the chart, the values and settings, as `up` or `upgrade` asks for them. */
export interface DeployRequest {
  /** The chart as configured (its version may be a range): what the fingerprint keeps. */
  chart: ChartSource
  /**
   * `upgrade` with a repository or OCI chart given as a range (or no version): the newest
   * version the range allows now, deployed as exactly that, and the version deployed before.
   * The fingerprint keeps the range, so `up` stays a no-op without asking the repository.
   */
  resolvedChart?: {version: string; deployed?: string}
  /** Absolute paths, in the order helm reads them. */
  valuesFiles: string[]
  set: Record<string, SetValue>
  /** --force: deploy even when nothing changed. */
  force: boolean
}

/** `upgrade`'s additions on top of devctl.yaml. */
export interface RequestOverrides {
  force?: boolean
  /** Replaces devctl.yaml's values files (an --image-tag staged copy). */
  valuesFiles?: string[]
  extraValuesFiles?: string[]
  extraSet?: Record<string, SetValue>
  /** --chart-version: this version (or range) instead of devctl.yaml's. */
  chartVersion?: string
  resolvedChart?: DeployRequest['resolvedChart']
}

export function deployRequest(project: Project, overrides: RequestOverrides = {}): DeployRequest {
  const configured = project.config.app.chart
  return {
    chart: overrides.chartVersion ? {...configured, version: overrides.chartVersion} : configured,
    resolvedChart: overrides.resolvedChart,
    valuesFiles: [...(overrides.valuesFiles ?? project.valuesFiles), ...(overrides.extraValuesFiles ?? [])],
    set: {...project.config.app.set, ...overrides.extraSet},
    force: overrides.force ?? false,
  }
}

/** helm's view of the request (the exact chart version when a range was resolved). */
export function installOptions(project: Project, request: DeployRequest): Omit<InstallOptions, 'kube' | 'timeoutMs'> {
  return {
    release: project.names.release,
    namespace: project.names.namespace,
    chart: request.resolvedChart ? {...request.chart, version: request.resolvedChart.version} : request.chart,
    baseDir: project.dir,
    valuesFiles: request.valuesFiles,
    set: request.set,
    skipSchemaValidation: project.config.app.skipSchemaValidation,
  }
}
