/**
 * `devctl upgrade`: "see what would change (values, chart version), get consent, deploy while
 * the migration runs again, roll out; on failure explain it and — this being a dev tool — roll
 * back to the last good revision and check the rollback worked." Two phases, so the consent
 * question comes between a plan the user has seen and a deploy that has not started.
 */
import {mkdir, readFile} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'

import semver from 'semver'
import {parse as parseYaml} from 'yaml'

import {describeMigration} from '../chart/manifests.js'
import type {SetValue} from '../chart/set-syntax.js'
import {diffValues, userValues, type ValueChange} from '../chart/values-diff.js'
import type {LoadedConfig} from '../config/load.js'
import {readYamlFile} from '../config/yaml-file.js'
import {ChartError, DevctlError, UsageError} from '../errors.js'
import {setAnchoredValue} from '../scaffold/anchors.js'
import {writeFileAtomic} from '../scaffold/files.js'
import {count} from '../text.js'
import {createContext, type RunControls} from './context.js'
import {connectEnvironment} from './connect.js'
import type {ReleaseHistory} from '../tools/helm.js'
import {outlineOf, runPipeline, type LeafStep, type Step, type StepOutcome, type StepRun} from './pipeline.js'
import {changeReason, configuredChart, deployStep, installOptions, prepareDeploy} from './steps/chart.js'
import {prerequisitesStep} from './steps/prerequisites.js'
import {releasePods, rolloutStep, type RolloutContext, type WorkloadStatus} from './steps/rollout.js'
import {namespaceStep} from './steps/services.js'
import type {PodSummary} from '../diagnose/pod.js'

export const IMAGE_TAG_ANCHOR = 'imageTag'

export interface UpgradeOptions {
  set: Record<string, SetValue>
  /** Extra values files (absolute paths), applied after devctl.yaml's. */
  valuesFiles: string[]
  imageTag?: string
  chartVersion?: string
  rollback: boolean
  timeout?: string
}

export interface UpgradePlan {
  release: string
  fromRevision?: number
  changed: boolean
  reason: string
  values: ValueChange[]
  chart: {from?: string; to?: string}
  /** The chart crossed devctl.yaml's breakingVersion: uninstall, then install (data kept). */
  reinstall: boolean
  migration: string
  recovered?: string
}

export interface UpgradeResult {
  plan: UpgradePlan
  upgraded: boolean
  rolledBack?: {toRevision: number; verified: boolean}
  workloads: WorkloadStatus[]
  pods: PodSummary[]
  steps: StepOutcome[]
  durationMs: number
}

interface UpgradeContext extends RolloutContext {
  plan?: UpgradePlan
  /** --image-tag: the values file to rewrite on success, and its new text. */
  pendingValuesEdit?: {path: string; text: string}
}

/** "web-worker-0.1.0" → "0.1.0" (helm history's chart column). */
function chartVersionOf(chart: string | undefined): string | undefined {
  return chart ? /-(\d+\.\d+\.\d+[^\s]*)$/.exec(chart)?.[1] : undefined
}

async function localChartVersion(ctx: UpgradeContext): Promise<string | undefined> {
  const chart = installOptions(ctx).chart
  if (chart.path === undefined) return chart.version
  const text = await readFile(resolve(ctx.loaded.dir, chart.path, 'Chart.yaml'), 'utf8').catch(() => undefined)
  return text ? (parseYaml(text) as {version?: string}).version : undefined
}

/** --image-tag: edit a copy of the values file that defines &imageTag; the original changes only on success. */
async function stageImageTag(ctx: UpgradeContext, tag: string): Promise<void> {
  for (const [index, file] of ctx.valuesFiles.entries()) {
    // Read as every values file is: a missing or broken one is a config error at file:line:col.
    const {text} = await readYamlFile(file, 'values file')
    const edited = setAnchoredValue(text, IMAGE_TAG_ANCHOR, tag)
    if (edited === undefined) continue
    const staged = join(ctx.stateDir, `upgrade-${basename(file)}`)
    await mkdir(ctx.stateDir, {recursive: true, mode: 0o700})
    await writeFileAtomic(staged, edited)
    ctx.valuesFiles = ctx.valuesFiles.with(index, staged)
    ctx.pendingValuesEdit = {path: file, text: edited}
    return
  }
  throw new UsageError(`--image-tag needs a shared setting with the anchor &${IMAGE_TAG_ANCHOR} in your values files (${ctx.config.app.values.join(', ')}), and none has it.`, {
    hint: `Add \`shared: {image: {tag: &${IMAGE_TAG_ANCHOR} "1.0.0"}}\` and \`image: {tag: *${IMAGE_TAG_ANCHOR}}\` (devctl init writes these), or use --set image.tag=TAG.`,
  })
}

const connectStep: LeafStep<UpgradeContext> = {
  id: 'connect',
  title: (ctx) => `Cluster ${ctx.config.cluster.provider === 'k3d' ? ctx.names.clusterName : ctx.names.kubeContext}`,
  async execute(ctx, run) {
    const connection = await connectEnvironment(ctx, run.signal, ctx.config.cluster.provider === 'k3d' ? (ctx.existingCluster ?? null) : undefined)
    ctx.kube = connection.kube
    ctx.kubeTarget = connection.kubeTarget
    return `Cluster ${ctx.names.clusterName}: connected`
  },
}

/** A repository or OCI chart given as a range (or no version) moves to the newest version it allows now. */
async function resolveChartRange(ctx: UpgradeContext, run: StepRun, history: ReleaseHistory): Promise<void> {
  const chart = configuredChart(ctx)
  if (chart.path !== undefined || (chart.version !== undefined && semver.valid(chart.version))) return
  run.note(`looking up the newest chart within ${chart.version ?? 'any version'}`)
  const version = await ctx.tools.helm.resolveChartVersion(chart, ctx.loaded.dir, run.signal)
  ctx.resolvedChart = {version, deployed: chartVersionOf(history.findLast((h) => h.status === 'deployed')?.chart)}
}

const planUpgradeStep: LeafStep<UpgradeContext> = {
  id: 'plan',
  title: (ctx) => `Upgrade ${ctx.names.release}: what changes`,
  async execute(ctx, run) {
    const ref = {release: ctx.names.release, namespace: ctx.names.namespace, kube: ctx.kubeTarget!}
    const history = await ctx.tools.helm.history(ref, run.signal)
    await resolveChartRange(ctx, run, history)
    const deploy = await prepareDeploy(ctx, run)
    const previous = deploy.previous
    if (!previous) throw new ChartError(`Release ${ctx.names.release} is not installed yet, so there is nothing to upgrade.`, {hint: 'Run `devctl up` first.'})
    const options = installOptions(ctx)
    const [before, after, toVersion] = await Promise.all([
      ctx.tools.helm.getValues(ref, run.signal),
      userValues(options.valuesFiles, options.set),
      localChartVersion(ctx),
    ])
    const fromVersion = chartVersionOf(history.find((h) => h.revision === previous.revision)?.chart)
    const breaking = ctx.config.app.breakingVersion
    const reinstall = Boolean(breaking && fromVersion && toVersion && semver.valid(toVersion) && semver.lt(fromVersion, breaking) && semver.gte(toVersion, breaking))
    const values = diffValues(before, after)
    ctx.plan = {
      release: ctx.names.release,
      fromRevision: previous.revision,
      changed: !deploy.unchanged,
      reason: deploy.unchanged ? 'nothing changed' : changeReason(ctx),
      values,
      chart: {from: fromVersion, to: toVersion},
      reinstall,
      migration: deploy.rendered ? describeMigration(deploy.rendered.migration) : 'none',
      recovered: ctx.recovered,
    }
    return deploy.unchanged ? `Upgrade ${ctx.names.release}: nothing changed (revision ${previous.revision})` : `Upgrade ${ctx.names.release}: ${count(values.length, 'value')} changed${reinstall ? `; chart crosses breakingVersion ${breaking}: reinstall` : ''}`
  },
}

const reinstallStep: LeafStep<UpgradeContext> = {
  id: 'reinstall',
  title: 'Uninstall before reinstalling (breaking chart version)',
  skip: (ctx) => (ctx.plan?.reinstall ? undefined : 'no breaking chart version'),
  async execute(ctx, run) {
    // Postgres and Redis are not part of the release: their data survives this.
    await ctx.tools.helm.uninstall({release: ctx.names.release, namespace: ctx.names.namespace, kube: ctx.kubeTarget!, timeout: ctx.config.app.timeouts.deploy}, run.mustFinishSignal)
    ctx.deploy!.previous = undefined
    return `Uninstalled ${ctx.names.release} ${ctx.plan!.chart.from} (data in Postgres/Redis kept)`
  },
}

const persistStep: LeafStep<UpgradeContext> = {
  id: 'persist',
  title: 'Save --image-tag in the values file',
  skip: (ctx) => (ctx.pendingValuesEdit ? undefined : 'nothing to save'),
  async execute(ctx) {
    const edit = ctx.pendingValuesEdit!
    await writeFileAtomic(edit.path, edit.text)
    return `Saved the new image tag at &${IMAGE_TAG_ANCHOR} in ${basename(edit.path)}`
  },
}

const rollbackStep: LeafStep<UpgradeContext> = {
  id: 'rollback',
  title: (ctx) => `Roll back ${ctx.names.release} to revision ${ctx.plan?.fromRevision}`,
  async execute(ctx, run) {
    await ctx.tools.helm.rollback({release: ctx.names.release, namespace: ctx.names.namespace, kube: ctx.kubeTarget!, revision: ctx.plan!.fromRevision!, timeout: ctx.config.app.timeouts.deploy}, run.mustFinishSignal)
    // Verify against what is deployed now (the old revision), not the chart that failed.
    ctx.deploy!.rendered = undefined
    return `Rolled back ${ctx.names.release} to revision ${ctx.plan!.fromRevision}`
  },
}

const PLAN_STEPS: Array<Step<UpgradeContext>> = [prerequisitesStep, connectStep, namespaceStep, planUpgradeStep]
const APPLY_STEPS: Array<Step<UpgradeContext>> = [reinstallStep, deployStep, rolloutStep, persistStep]

export interface PreparedUpgrade {
  plan: UpgradePlan
  ctx: UpgradeContext
  steps: StepOutcome[]
  started: number
}

export function applyOutline(prepared: PreparedUpgrade): ReturnType<typeof outlineOf> {
  return outlineOf(APPLY_STEPS, prepared.ctx)
}

/** Phase 1: check, connect, and work out what would change. Changes nothing in the release. */
export async function planUpgrade(loaded: LoadedConfig, options: UpgradeOptions, controls: RunControls): Promise<PreparedUpgrade> {
  const started = Date.now()
  const ctx: UpgradeContext = {
    ...createContext(loaded, controls.kubeModule, controls.confirm),
    force: false,
    timeoutOverride: options.timeout,
    extraValuesFiles: options.valuesFiles,
    extraSet: options.set,
    chartVersionOverride: options.chartVersion,
  }
  try {
    if (options.imageTag) await stageImageTag(ctx, options.imageTag)
    const steps = await runPipeline(PLAN_STEPS, ctx, controls)
    return {plan: ctx.plan!, ctx, steps, started}
  } catch (error) {
    ctx.watch?.close()
    throw error
  }
}

/** Phase 2: deploy and roll out; on failure explain, roll back (unless told not to) and verify. */
export async function applyUpgrade(prepared: PreparedUpgrade, options: UpgradeOptions, controls: RunControls): Promise<UpgradeResult> {
  const {ctx, plan} = prepared
  const result = (steps: StepOutcome[], extra: Partial<UpgradeResult> = {}): UpgradeResult => ({
    plan,
    upgraded: plan.changed,
    workloads: ctx.workloads ?? [],
    pods: ctx.watch ? releasePods(ctx) : [],
    steps: [...prepared.steps, ...steps],
    durationMs: Date.now() - prepared.started,
    ...extra,
  })
  try {
    if (!plan.changed) return result([])
    const steps = await runPipeline(APPLY_STEPS, ctx, controls)
    return result(steps)
  } catch (error) {
    if (!(error instanceof DevctlError) || error.kind === 'interrupted' || !options.rollback || plan.fromRevision === undefined || plan.reinstall) throw error
    const migrationNote = plan.migration !== 'none' ? ' A rollback does not undo a database migration that already ran: check the schema if the new code depended on it.' : ''
    try {
      await runPipeline([rollbackStep, rolloutStep], ctx, controls)
      throw error.explain({
        details: [`rolled back to revision ${plan.fromRevision} and verified: every workload is ready again.${migrationNote}`],
        hint: error.hint ?? 'Fix the cause shown above, then run `devctl upgrade` again.',
      })
    } catch (rollbackError) {
      if (rollbackError === error) throw error
      throw error.explain({
        details: [`the rollback to revision ${plan.fromRevision} failed too: ${rollbackError instanceof Error ? rollbackError.message : String(rollbackError)}`],
        hint: 'Inspect with `devctl status` and `devctl logs`; `devctl down --keep-data && devctl up` starts over with your data.',
      })
    }
  } finally {
    ctx.watch?.close()
  }
}
