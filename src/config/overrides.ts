/** Command-line overrides of devctl.yaml, checked at the edge and applied after validation. */
import semver from 'semver'

import {UsageError} from '../errors.js'
import {resolveNames, type LoadedConfig} from './load.js'
import type {ChartSource} from './schema.js'

/** `--context NAME`: deploy into an existing cluster instead of the configured one. */
export function withContextOverride(loaded: LoadedConfig, context: string | undefined): LoadedConfig {
  if (!context) return loaded
  const config = {...loaded.config, cluster: {provider: 'existing' as const, context}}
  return {...loaded, config, resolved: resolveNames(config)}
}

/** The OCI distribution spec's tag grammar: what a registry accepts after the image name's colon. */
const OCI_TAG = /^[\w][\w.-]{0,127}$/

/** `--image-tag`: a tag a registry can hold, or a usage error before anything is written. */
export function imageTagFlagValue(tag: string | undefined): string | undefined {
  if (tag === undefined || OCI_TAG.test(tag)) return tag
  throw new UsageError(`--image-tag ${JSON.stringify(tag)} is not an image tag: a tag is 1 to 128 letters, digits, "_", "." and "-", and does not start with "." or "-".`, {
    hint: 'For example --image-tag 1.4.2 or --image-tag main-3f2a1c9.',
  })
}

/** `--chart-version`: a version or semver range, for a chart that has one to choose (repository or OCI). */
export function chartVersionFlagValue(version: string | undefined, chart: ChartSource): string | undefined {
  if (version === undefined) return undefined
  if (semver.validRange(version) === null) {
    throw new UsageError(`--chart-version ${JSON.stringify(version)} is not a chart version or semver range.`, {hint: 'For example --chart-version 1.4.2, or a range such as --chart-version "~1.4".'})
  }
  if (chart.path !== undefined) {
    throw new UsageError(
      `--chart-version chooses among the versions of a repository or OCI chart, and app.chart in devctl.yaml is the directory ${chart.path}: its version is the one in its Chart.yaml.`,
      {
        hint: "Change the chart's Chart.yaml (or point app.chart at a repository), then run `devctl upgrade` without --chart-version.",
      },
    )
  }
  return version
}
