/**
 * Before anything is created: render the chart with the real values (the same helm, `helm
 * template`, no cluster needed), check it — the chart's values schema and templates, the
 * migration devctl.yaml names, the Secret keys the chart reads from devctl — and detect its
 * migration, so a chart or values error surfaces in about a second instead of after the cluster
 * and the databases were made. Inputs that passed before are not rendered again: the
 * fingerprint decides, and a no-op `up` stays fast.
 */
import {fingerprint, lastCheckedFingerprint, recordCheckedFingerprint} from '../../chart/fingerprint.js'
import {analyzeChart, parseManifests, type DeployPhase, type RenderedChart} from '../../chart/manifests.js'
import {userValues} from '../../chart/values-diff.js'
import {isFatal, summarizePod} from '../../diagnose/pod.js'
import {missingProvidedKeys, missingSecret, secretReferences, valuePathsNaming, wiringError, type SecretReference, type WiringContext} from '../../diagnose/wiring.js'
import type {ConfigError} from '../../errors.js'
import type {KubernetesObject, V1Pod} from '../../kube/types.js'
import type {KubeTarget} from '../../tools/helm.js'
import {credentialSecretKeys} from '../../services/manifests.js'
import type {Step} from '../pipeline.js'
import type {Project} from '../project.js'
import {installOptions, type DeployRequest} from './request.js'

/** The deploy's inputs, fingerprinted, and (unless they passed before) the chart they render. */
export interface ChartCheck {
  fingerprint: string
  rendered?: RenderedChart
}

/** What devctl.yaml and the request deploy, as one hash (the release keeps it as a label). */
export async function deployFingerprint(project: Project, helmMajor: number, request: DeployRequest): Promise<string> {
  const options = installOptions(project, request)
  return fingerprint({
    chart: request.chart,
    baseDir: options.baseDir,
    valuesFiles: options.valuesFiles,
    set: options.set,
    extra: {release: options.release, namespace: options.namespace, services: project.config.services, migration: project.config.app.migration, helm: helmMajor},
  })
}

/** What devctl provides to a chart, and where the request's values name a Secret (for the hint). */
async function wiringContext(project: Project, request: Pick<DeployRequest, 'valuesFiles' | 'set'>, secret: string): Promise<WiringContext> {
  const values = await userValues(request.valuesFiles, request.set).catch(() => ({}))
  return {provided: credentialSecretKeys(project.config), project: project.config.project, valuePaths: valuePathsNaming(values, secret)}
}

/**
 * The chart rendered with the request's values, then every check devctl can make without a
 * cluster: by `helm template`, or — for an upgrade of the installed release, given its cluster —
 * as that upgrade's next revision renders it (`.Release.Revision` is 1 in `helm template`).
 */
export async function renderChart(project: Project, request: DeployRequest, phase: DeployPhase, signal: AbortSignal, release?: KubeTarget): Promise<RenderedChart> {
  const options = installOptions(project, request)
  const manifests =
    phase === 'upgrade' && release
      ? await project.tools.helm.renderUpgrade({...options, kube: release, timeoutMs: project.timeouts.deploy}, signal)
      : await project.tools.helm.template({...options, isUpgrade: phase === 'upgrade'}, signal)
  const rendered = analyzeChart(parseManifests(manifests), project.config.app.migration, {phase, release: project.names.release})
  // A key devctl's own Secrets lack can never appear: say so now, not as a pod that cannot start.
  const missing = missingProvidedKeys(secretReferences(rendered.objects), credentialSecretKeys(project.config))
  if (missing.length > 0) throw wiringError(missing, await wiringContext(project, request, missing[0]!.secret))
  return rendered
}

/**
 * A pod that cannot start because a Secret or key it reads does not exist, when devctl is the
 * one that should provide it (its own Secret lacks the key, or nothing creates the Secret): the
 * wiring error, instead of a migration or rollout failure. With the rendered chart, every key
 * the chart reads of that Secret is named, not only the first the kubelet tripped over.
 */
export async function podWiringError(project: Project, pod: V1Pod, objects: KubernetesObject[] = []): Promise<ConfigError | undefined> {
  const summary = summarizePod(pod)
  if (summary.reason !== 'CreateContainerConfigError' || !isFatal(summary)) return undefined
  const missing = missingSecret(summary.message)
  if (!missing) return undefined
  const provided = credentialSecretKeys(project.config).get(missing.secret)
  const fromChart = secretReferences(objects).filter((ref) => ref.secret === missing.secret && (!provided || (ref.key !== undefined && !provided.includes(ref.key))))
  const references: SecretReference[] = fromChart.length ? fromChart : [{...missing, where: `pod ${summary.name}, container ${summary.container ?? '?'}`}]
  return wiringError(references, await wiringContext(project, {valuesFiles: project.valuesFiles, set: project.config.app.set}, missing.secret))
}

export interface ChartCheckInput {
  project: Project
  request: DeployRequest
  helmMajor: number
  /** Install or upgrade, as far as is known before the cluster is reached (the plan renders again if it was wrong). */
  phase: DeployPhase
}

/** `up`'s second step, before the cluster: the chart renders with these values and passes devctl's checks. */
export const chartCheckStep: Step<ChartCheckInput, ChartCheck> = {
  id: 'chart',
  title: (project) => `Chart ${project.names.release}: render and check`,
  async execute({project, request, helmMajor, phase}, run) {
    const release = project.names.release
    const hash = await deployFingerprint(project, helmMajor, request)
    if (!request.force && (await lastCheckedFingerprint(project.stateDir)) === hash) {
      run.title(`Chart ${release}: unchanged since it last passed its checks`)
      return {fingerprint: hash}
    }
    run.note('rendering the chart with your values (helm template)')
    const rendered = await renderChart(project, request, phase, run.signal)
    await recordCheckedFingerprint(project.stateDir, hash)
    run.title(`Chart ${release}: renders with your values, ${rendered.objects.length} objects checked`)
    return {fingerprint: hash, rendered}
  },
}
