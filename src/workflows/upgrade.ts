/**
 * `devctl upgrade`: "see what would change (values, chart version), get consent, deploy while
 * the migration runs again, roll out; on failure explain it and — this being a dev tool — roll
 * back to the last good revision and check the rollback worked." Two phases, so the consent
 * question comes between a plan the user has seen and a deploy that has not started: the plan
 * only reads (the cluster, the values, the chart), and nothing is applied before consent.
 */
import {readFile, rm} from 'node:fs/promises'
import {basename, isAbsolute, join, relative, resolve} from 'node:path'

import semver from 'semver'
import {parse as parseYaml} from 'yaml'

import {describeMigration} from '../chart/manifests.js'
import {latestRelease, releaseHistory, type ReleaseHistory, type ReleaseRecord} from '../chart/release-record.js'
import {isPending} from '../chart/release-recovery.js'
import type {SetValue} from '../chart/set-syntax.js'
import {chartValuesDiff, userValues, type ValueChange} from '../chart/values-diff.js'
import type {LoadedConfig} from '../config/load.js'
import {automaticName, type Snapshot} from '../data/snapshots.js'
import {displayPath, readYamlFile} from '../config/yaml-file.js'
import type {PodSummary} from '../diagnose/pod.js'
import {ChartError, DevctlError, UsageError} from '../errors.js'
import type {NamespaceWatch} from '../kube/namespace-watch.js'
import {setAnchoredValue} from '../scaffold/anchors.js'
import {applyUpgradeOverrides} from '../scaffold/config-document.js'
import {isSecretKey, redact} from '../secrets/redact.js'
import {ensureStateDir, writeFileAtomic} from '../system/files.js'
import {holdLeaseIfShared, type HeldLease} from '../state/lease.js'
import {lockEnvironment} from '../state/lock.js'
import {count, formatBytes} from '../text.js'
import {formatCommand} from '../tools/command-line.js'
import {rollbackArgs, type ReleaseRef} from '../tools/helm.js'
import {connectEnvironment, noteRetries, type Connection} from './connect.js'
import {restoreStep, snapshotsBeforeMigration, snapshotStep} from './db.js'
import {formatDuration, Pipeline, type Step, type StepGroup, type StepOutcome, type StepRun, type Titled} from './pipeline.js'
import {createProject, runAgain, type Confirm, type Project, type RunControls} from './project.js'
import {deployedImageValues} from './steps/build.js'
import {deploy, deployGroup, planDeploy, recoverStuckRelease, type DeployPlan, type DeployTarget} from './steps/chart.js'
import {startDeployment} from './steps/deployment.js'
import {prerequisitesStep, type Prerequisites} from './steps/prerequisites.js'
import {deployRequest, installOptions, type DeployRequest} from './steps/request.js'
import {deployedWorkloads, rolloutStep, workloadPods, type RolloutInput, type WorkloadStatus} from './steps/rollout.js'
import {namespaceStep, watchNamespace} from './steps/services.js'

export const IMAGE_TAG_ANCHOR = 'imageTag'

export interface UpgradeOptions {
  set: Record<string, SetValue>
  /** Extra values files (absolute paths), applied after devctl.yaml's. */
  valuesFiles: string[]
  imageTag?: string
  chartVersion?: string
  rollback: boolean
  timeout?: string
  /** When the migration fails or the upgrade is rolled back: restore the snapshot taken before the migration (asked before the upgrade starts). */
  restoreData?: boolean
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
  /** A revision left pending by an interrupted helm, to be dropped (with consent) before deploying. */
  stuck?: {revision: number; status: string}
  /** What devctl.yaml will say once the upgrade succeeded (--set, --values, --chart-version), so `up` deploys the same. */
  keeps: string[]
  /** --set keys that may hold a secret: deployed, never written into devctl.yaml (the next `up` drops them). */
  notKept: string[]
  /** Postgres is snapshotted before the migration runs (services.postgres.snapshots.beforeMigration). */
  snapshot: boolean
}

/** upgraded; nothing to do; the user said no; or it failed and was rolled back (then it throws). */
export type UpgradeOutcome = 'upgraded' | 'unchanged' | 'declined'

export interface UpgradeResult {
  plan: UpgradePlan
  outcome: UpgradeOutcome
  workloads: WorkloadStatus[]
  pods: PodSummary[]
  steps: StepOutcome[]
  durationMs: number
  /** The snapshot taken before the migration (`devctl db restore NAME` undoes its changes to the data). */
  snapshot?: {name: string; bytes: number; durationMs: number}
}

/** "web-worker-0.1.0" → "0.1.0" (helm history's chart column). */
function chartVersionOf(chart: string | undefined): string | undefined {
  return chart ? /-(\d+\.\d+\.\d+[^\s]*)$/.exec(chart)?.[1] : undefined
}

async function localChartVersion(project: Project, request: DeployRequest): Promise<string | undefined> {
  const chart = installOptions(project, request).chart
  if (chart.path === undefined) return chart.version
  const text = await readFile(resolve(project.dir, chart.path, 'Chart.yaml'), 'utf8').catch(() => undefined)
  return text ? (parseYaml(text) as {version?: string}).version : undefined
}

/** --image-tag: the values file that defines &imageTag, edited; the original changes only once the upgrade succeeded. */
interface ImageTagEdit {
  /** The user's values file, and its edited text. */
  path: string
  text: string
  /** The edited copy helm reads meanwhile (in .devctl/, removed when the upgrade ends). */
  staged: string
  /** devctl.yaml's values files with the staged copy in place of the user's. */
  valuesFiles: string[]
}

async function stageImageTag(project: Project, tag: string): Promise<ImageTagEdit> {
  for (const [index, file] of project.valuesFiles.entries()) {
    // Read as every values file is: a missing or broken one is a config error at file:line:col.
    const {text} = await readYamlFile(file, 'values file')
    const edited = setAnchoredValue(text, IMAGE_TAG_ANCHOR, tag)
    if (edited === undefined) continue
    const staged = join(project.stateDir, `upgrade-${basename(file)}`)
    await ensureStateDir(project.stateDir)
    await writeFileAtomic(staged, edited)
    return {path: file, text: edited, staged, valuesFiles: project.valuesFiles.with(index, staged)}
  }
  throw new UsageError(`--image-tag needs a shared setting with the anchor &${IMAGE_TAG_ANCHOR} in your values files (${project.config.app.values.join(', ')}), and none has it.`, {
    hint: `Add \`shared: {image: {tag: &${IMAGE_TAG_ANCHOR} "1.0.0"}}\` and \`image: {tag: *${IMAGE_TAG_ANCHOR}}\` (devctl init writes these), or use --set image.tag=TAG.`,
  })
}

/** --set, --values, --chart-version: devctl.yaml edited in place, written once the upgrade succeeded. */
interface ConfigEdit {
  path: string
  text: string
  changes: string[]
}

/** A --set that may carry a secret (a password of devctl's, or a key named like one): devctl.yaml is committed, it never gets one. */
function mayBeSecret(key: string, value: SetValue): boolean {
  return redact(String(value)) !== String(value) || isSecretKey(key)
}

/**
 * The one model of an upgrade's flags: devctl.yaml says what is deployed. Its overrides are kept
 * there (comments and layout kept) once it succeeded, so the next `up` deploys the same instead
 * of silently dropping them; a failed or rolled-back upgrade keeps nothing.
 */
async function stageConfigEdit(project: Project, options: UpgradeOptions): Promise<{edit?: ConfigEdit; notKept: string[]}> {
  const {doc} = await readYamlFile(project.loaded.path, 'devctl.yaml')
  const set = Object.fromEntries(Object.entries(options.set).filter(([key, value]) => !mayBeSecret(key, value)))
  const notKept = Object.keys(options.set).filter((key) => !(key in set))
  const inProject = (file: string) => {
    const rel = relative(project.dir, file)
    return rel.startsWith('..') || isAbsolute(rel) ? file : rel
  }
  const changes = applyUpgradeOverrides(doc, {set, valuesFiles: options.valuesFiles.map(inProject), chartVersion: options.chartVersion})
  return {edit: changes.length ? {path: project.loaded.path, text: doc.toString(), changes} : undefined, notKept}
}

const connectStep: Step<Project, Connection> = {
  id: 'connect',
  title: (project) => `Cluster ${project.config.cluster.provider === 'k3d' ? project.names.clusterName : project.names.kubeContext}`,
  async execute(project, run) {
    const connection = await connectEnvironment(project, run.signal)
    run.title(project.config.cluster.provider === 'k3d' ? `Cluster ${project.names.clusterName}: connected` : `Cluster: context ${project.names.kubeContext} (namespace ${project.names.namespace})`)
    return connection
  },
}

/** A repository or OCI chart given as a range (or no version) moves to the newest version it allows now. */
async function resolveChartRange(project: Project, request: DeployRequest, history: ReleaseHistory, run: StepRun): Promise<DeployRequest> {
  const chart = request.chart
  if (chart.path !== undefined || (chart.version !== undefined && semver.valid(chart.version))) return request
  run.note(`looking up the newest chart within ${chart.version ?? 'any version'}`)
  const version = await project.tools.helm.resolveChartVersion(chart, project.dir, run.signal)
  return {...request, resolvedChart: {version, deployed: chartVersionOf(history.findLast((h) => h.status === 'deployed')?.chart)}}
}

interface PlanInput {
  project: Project
  connection: Connection
  helmMajor: number
  request: DeployRequest
}

interface PlannedUpgrade {
  plan: UpgradePlan
  request: DeployRequest
  deployPlan: DeployPlan
  /** The namespace, watched from now on (the apply phase and the rollout read it). */
  watch: NamespaceWatch
}

/** Reads only: the release, its values, the chart; what would change. */
const planUpgradeStep: Step<PlanInput, PlannedUpgrade> = {
  id: 'plan',
  title: (project) => `Upgrade ${project.names.release}: what changes`,
  async execute(input, run) {
    const {project, connection} = input
    const watch = await watchNamespace(project, connection.kube, run.signal)
    try {
      return await planAgainst({...input, watch}, run)
    } catch (error) {
      watch.close()
      throw error
    }
  },
}

/** What the chart will receive differently from what the revision the upgrade starts from received. */
async function valueChanges(project: Project, ref: ReleaseRef & {revision: number}, request: DeployRequest, signal: AbortSignal): Promise<ValueChange[]> {
  const {helm} = project.tools
  const options = installOptions(project, request)
  const [supplied, computed, next, defaults] = await Promise.all([
    helm.getValues(ref, signal),
    helm.getValues({...ref, all: true}, signal),
    userValues(options.valuesFiles, options.set),
    helm.showValues(options.chart, options.baseDir, signal),
  ])
  return chartValuesDiff({supplied, computed}, {supplied: next, defaults})
}

/**
 * The revision an upgrade starts from: the latest, or — when an interrupted helm left the latest
 * pending — the last finished one before it (the pending one is dropped, with consent, before
 * the upgrade redeploys). A release with no finished revision is not there to upgrade.
 */
export function upgradeBase(history: ReleaseHistory, release: string): {previous: ReleaseRecord; stuck?: {revision: number; status: string}} {
  const latest = history.at(-1)
  const stuck = isPending(latest) ? {revision: latest.revision, status: latest.status} : undefined
  const previous: ReleaseRecord | undefined = stuck
    ? history
        .filter((h) => h.revision < stuck.revision && !h.status.startsWith('pending-'))
        .map((h) => ({revision: h.revision, status: h.status}))
        .at(-1)
    : latest
  if (!previous) throw new ChartError(`Release ${release} is not installed yet, so there is nothing to upgrade.`, {hint: 'Run `devctl up` first.'})
  return {previous, stuck}
}

/** An upgrade from a chart below devctl.yaml's breakingVersion to one at or above it reinstalls the release instead. */
export function crossesBreakingVersion(from: string | undefined, to: string | undefined, breaking: string | undefined): boolean {
  return Boolean(breaking && from && to && semver.valid(to) && semver.lt(from, breaking) && semver.gte(to, breaking))
}

async function planAgainst(input: PlanInput & {watch: NamespaceWatch}, run: StepRun): Promise<PlannedUpgrade> {
  const {project, connection} = input
  const {names} = project
  const ref = {release: names.release, namespace: names.namespace, kube: connection.kubeTarget}
  const history = await releaseHistory(connection.kube, names.namespace, names.release)
  const resolved = await resolveChartRange(project, input.request, history, run)
  const {previous, stuck} = upgradeBase(history, names.release)
  const request = stuck ? {...resolved, force: true} : resolved
  // The values are read while the chart renders; not needed (and stopped) when nothing changed.
  const notNeeded = new AbortController()
  const reading = valueChanges(project, {...ref, revision: previous.revision}, request, AbortSignal.any([run.signal, notNeeded.signal]))
  reading.catch(() => {})
  const deployPlan = await planDeploy(input, request, previous, run, undefined, {releaseIsLatest: !stuck}).catch((error: unknown) => {
    notNeeded.abort()
    throw error
  })
  if (deployPlan.unchanged) notNeeded.abort()
  const [values, toVersion] = await Promise.all([deployPlan.unchanged ? [] : reading, localChartVersion(project, request)])
  const fromVersion = chartVersionOf(history.find((h) => h.revision === previous.revision)?.chart)
  const breaking = project.config.app.breakingVersion
  const reinstall = crossesBreakingVersion(fromVersion, toVersion, breaking)
  const plan: UpgradePlan = {
    release: names.release,
    fromRevision: previous.revision,
    changed: !deployPlan.unchanged,
    reason: stuck ? `revision ${stuck.revision} was left ${stuck.status} by an interrupted helm` : deployPlan.reason,
    values,
    chart: {from: fromVersion, to: toVersion},
    reinstall,
    migration: deployPlan.rendered ? describeMigration(deployPlan.rendered.migration) : 'none',
    stuck,
    keeps: [],
    notKept: [],
    snapshot: !deployPlan.unchanged && snapshotsBeforeMigration(project, deployPlan.rendered?.migration.kind ?? 'none'),
  }
  run.title(
    deployPlan.unchanged
      ? `Upgrade ${names.release}: nothing changed (revision ${previous.revision})`
      : `Upgrade ${names.release}: ${count(values.length, 'value')} changed${reinstall ? `; chart crosses breakingVersion ${breaking}: reinstall` : ''}`,
  )
  return {plan, request, deployPlan, watch: input.watch}
}

const recoverStep: Step<{project: Project; connection: Connection; consent: Confirm}, void> = {
  id: 'recover',
  title: (project) => `Recover release ${project.names.release} (an interrupted helm left it pending)`,
  async execute({project, connection, consent}, run) {
    const {recovered} = await recoverStuckRelease(project, connection, consent, run)
    run.title(`Recovered release ${project.names.release}: ${recovered ?? 'nothing was pending any more'}`)
  },
}

const reinstallStep: Step<{project: Project; connection: Connection; plan: UpgradePlan}, void> = {
  id: 'reinstall',
  title: () => 'Uninstall before reinstalling (breaking chart version)',
  async execute({project, connection, plan}, run) {
    const {names} = project
    // Postgres and Redis are not part of the release: their data survives this.
    await project.tools.helm.uninstall({release: names.release, namespace: names.namespace, kube: connection.kubeTarget, timeoutMs: project.timeouts.deploy}, run.mustFinishSignal)
    run.title(`Uninstalled ${names.release} ${plan.chart.from} (data in Postgres/Redis kept)`)
  },
}

const persistStep: Step<ImageTagEdit, void> = {
  id: 'persist',
  title: () => 'Save --image-tag in the values file',
  async execute(edit, run) {
    await writeFileAtomic(edit.path, edit.text)
    run.title(`Saved the new image tag at &${IMAGE_TAG_ANCHOR} in ${basename(edit.path)}`)
  },
}

const keepStep: Step<ConfigEdit, void> = {
  id: 'keep',
  title: () => "Keep the upgrade's flags in devctl.yaml",
  async execute(edit, run) {
    await writeFileAtomic(edit.path, edit.text)
    run.title(`Kept in devctl.yaml (the next \`devctl up\` deploys them too): ${edit.changes.join(', ')}`)
  },
}

/** Put the revision the upgrade started from back. */
function rollbackStep(revision: number): Step<{project: Project; connection: Connection}, void> {
  return {
    id: 'rollback',
    title: (project) => `Roll back ${project.names.release} to revision ${revision}`,
    async execute({project, connection}, run) {
      const {names} = project
      await project.tools.helm.rollback({release: names.release, namespace: names.namespace, kube: connection.kubeTarget, revision, timeoutMs: project.timeouts.deploy}, run.mustFinishSignal)
      run.title(`Rolled back ${names.release} to revision ${revision}`)
    },
  }
}

/** The rollback's check: the workloads of the revision put back all ready again (a rollout of its own, apart from the one that failed). */
function rollbackCheckStep(revision: number): Step<RolloutInput, WorkloadStatus[]> {
  return {
    ...rolloutStep,
    id: 'rollback-check',
    title: () => `Check revision ${revision}: every workload ready again`,
    async execute(input, run) {
      const statuses = await rolloutStep.execute(input, {...run, title: () => {}})
      run.title(`Revision ${revision} is running again: ${count(statuses.length, 'workload')} ready`)
      return statuses
    },
  }
}

export interface PreparedUpgrade {
  plan: UpgradePlan
  project: Project
  prerequisites: Prerequisites
  connection: Connection
  watch: NamespaceWatch
  request: DeployRequest
  deployPlan: DeployPlan
  imageTag?: ImageTagEdit
  configEdit?: ConfigEdit
  steps: StepOutcome[]
  started: number
  /** Ends the plan's watch and removes the staged values copy; called once the upgrade is over. */
  close(): Promise<void>
}

/** The steps the apply phase runs: only those that apply to this plan. */
function applySteps(prepared: PreparedUpgrade): Array<Titled | StepGroup> {
  const {plan} = prepared
  return [
    ...(plan.stuck ? [recoverStep] : []),
    namespaceStep,
    ...(plan.reinstall ? [reinstallStep] : []),
    ...(plan.snapshot ? [snapshotStep] : []),
    deployGroup,
    rolloutStep,
    ...(prepared.imageTag ? [persistStep] : []),
    ...(prepared.configEdit ? [keepStep] : []),
  ]
}

/** Phase 1: check, connect, and work out what would change. Reads only. */
export async function planUpgrade(loaded: LoadedConfig, options: UpgradeOptions, controls: RunControls): Promise<PreparedUpgrade> {
  const started = Date.now()
  const project = createProject(loaded, controls.kubeModule, {timeout: options.timeout, commandLine: controls.commandLine})
  const pipeline = new Pipeline(project, controls)
  // Held from the plan to the end: a second devctl must not change what this one planned against.
  const lock = await lockEnvironment(project.stateDir, 'upgrade')
  let imageTag: ImageTagEdit | undefined
  let watch: NamespaceWatch | undefined
  let stopRetryNotes = () => {}
  const close = async () => {
    watch?.close()
    if (imageTag) await rm(imageTag.staged, {force: true})
    await lock.release()
  }
  try {
    pipeline.announce([prerequisitesStep, connectStep, planUpgradeStep])
    const prerequisites = await pipeline.run(prerequisitesStep, {project, adopt: false})
    // Staged after the prerequisites brought composed values in step, so the copy has them too.
    if (options.imageTag) imageTag = await stageImageTag(project, options.imageTag)
    const connection = await pipeline.run(connectStep, project)
    stopRetryNotes = noteRetries(connection, pipeline)
    const extraValuesFiles = [...(await deployedImageValues(project, options.imageTag)), ...options.valuesFiles]
    const request = deployRequest(project, {valuesFiles: imageTag?.valuesFiles, extraValuesFiles, extraSet: options.set, chartVersion: options.chartVersion})
    const planned = await pipeline.run(planUpgradeStep, {project, connection, helmMajor: prerequisites.helmMajor, request})
    watch = planned.watch
    const {edit: configEdit, notKept} = await stageConfigEdit(project, options)
    const plan = {...planned.plan, keeps: configEdit?.changes ?? [], notKept}
    return {...planned, plan, project, prerequisites, connection, imageTag, configEdit, steps: pipeline.outcomes, started, close}
  } catch (error) {
    await close()
    throw error
  } finally {
    stopRetryNotes()
  }
}

/** The upgrade did not happen: nothing to do, or the user said no. Nothing is applied. */
export async function skipUpgrade(prepared: PreparedUpgrade, outcome: Exclude<UpgradeOutcome, 'upgraded'>): Promise<UpgradeResult> {
  await prepared.close()
  return {plan: prepared.plan, outcome, workloads: [], pods: [], steps: prepared.steps, durationMs: Date.now() - prepared.started}
}

/** Phase 2, after consent: apply, deploy and roll out; on failure explain, roll back (unless told not to) and verify. */
export async function applyUpgrade(prepared: PreparedUpgrade, options: UpgradeOptions, controls: RunControls): Promise<UpgradeResult> {
  const {project, plan, connection, watch, request, deployPlan} = prepared
  const pipeline = new Pipeline(project, controls)
  const target: DeployTarget = {project, connection, watch, helmMajor: prepared.prerequisites.helmMajor}
  const stopRetryNotes = noteRetries(connection, pipeline)
  let lease: HeldLease | undefined
  try {
    pipeline.announce(applySteps(prepared))
    lease = await holdLeaseIfShared(project.config.cluster.provider === 'existing', connection.kube, project.names.namespace, 'upgrade', (message) => controls.emit({type: 'warning', message}))
    if (plan.stuck) await pipeline.run(recoverStep, {project, connection, consent: controls.recoverConsent ?? (async () => false)})
    await pipeline.run(namespaceStep, {project, connection, prerequisites: prepared.prerequisites, adopt: false, watch})
    if (plan.reinstall) await pipeline.run(reinstallStep, {project, connection, plan})
    const rendered = deployPlan.rendered
    if (!rendered) throw new Error('an upgrade that changes something has a rendered chart')
    // After a reinstall the release is new: its migration runs as on a first install.
    const previous = plan.reinstall ? undefined : deployPlan.previous
    // The data as it is before the migration changes it: what a failed upgrade can put back.
    const snapshot = plan.snapshot ? (await takeMigrationSnapshot(pipeline, prepared)).snapshot : undefined
    const deployment = startDeployment(target, request, {...deployPlan, previous, rendered})
    try {
      await deploy(pipeline, deployment)
      await pipeline.run(rolloutStep, {...target, workloads: rendered.workloads})
    } catch (error) {
      const recovery = await recoverFromFailure(pipeline, prepared, options, error, snapshot)
      // helm deployed the new tag and it stays deployed (Ctrl-C during the rollout, --no-rollback):
      // the values file says so too, or the next `up` would quietly put the old tag back.
      if (prepared.imageTag && deployment.helm.state === 'succeeded' && !recovery.rolledBack) {
        await writeFileAtomic(prepared.imageTag.path, prepared.imageTag.text)
        controls.emit({
          type: 'warning',
          message: `helm had deployed the new image tag before the upgrade stopped: it is saved at &${IMAGE_TAG_ANCHOR} in ${basename(prepared.imageTag.path)}, so the next \`devctl up\` keeps it.`,
        })
      }
      throw recovery.error
    }
    if (prepared.imageTag) await pipeline.run(persistStep, prepared.imageTag)
    if (prepared.configEdit) await pipeline.run(keepStep, prepared.configEdit)
    return {
      plan,
      outcome: 'upgraded',
      workloads: [],
      pods: workloadPods(watch, rendered.workloads),
      steps: [...prepared.steps, ...pipeline.outcomes],
      durationMs: Date.now() - prepared.started,
      ...(snapshot ? {snapshot: {name: snapshot.name, bytes: snapshot.bytes, durationMs: snapshot.parts[0]?.durationMs ?? 0}} : {}),
    }
  } finally {
    stopRetryNotes()
    await lease?.release()
    await prepared.close()
  }
}

/** The automatic snapshot; when it cannot be taken, nothing has been deployed yet, and the upgrade stops there. */
async function takeMigrationSnapshot(pipeline: Pipeline, prepared: PreparedUpgrade) {
  const {project, connection, plan} = prepared
  try {
    return await pipeline.run(snapshotStep, {
      project,
      kube: connection.kube,
      name: automaticName(),
      replace: false,
      services: ['postgres'],
      automatic: true,
      reason: `before the migration of revision ${(plan.fromRevision ?? 0) + 1}`,
    })
  } catch (error) {
    if (error instanceof DevctlError && error.kind !== 'interrupted') {
      error.explain({hint: `Nothing was deployed. Fix what stopped the snapshot and ${runAgain(project)}, or upgrade without one: services.postgres.snapshots.beforeMigration: false in devctl.yaml.`})
    }
    throw error
  }
}

/**
 * After a failed deploy: roll the code back (below), then the data — when the migration failed
 * or the code was rolled back, and a snapshot was taken before the migration, restore it if the
 * user said so before the upgrade started (--restore-data, or yes to the question); either way
 * the error says which happened.
 */
async function recoverFromFailure(
  pipeline: Pipeline,
  prepared: PreparedUpgrade,
  options: UpgradeOptions,
  error: unknown,
  snapshot: Snapshot | undefined,
): Promise<{error: unknown; rolledBack: boolean}> {
  const dataAtStake = snapshot !== undefined && error instanceof DevctlError && error.kind !== 'interrupted'
  const recovery = await rollBackAfterFailure(pipeline, prepared, options, error, dataAtStake)
  if (!snapshot || !(error instanceof DevctlError) || error.kind === 'interrupted' || !(error.kind === 'migration' || recovery.rolledBack)) return recovery
  const {name} = snapshot
  const revision = prepared.plan.fromRevision
  if (!options.restoreData) {
    error.explain({
      details: [`the database is as the migration left it; \`devctl db restore ${name}\` puts back the data from before it (snapshot ${name}, ${formatBytes(snapshot.bytes)}, revision ${revision}).`],
    })
    return recovery
  }
  try {
    const restored = await pipeline.run(restoreStep, {project: prepared.project, kube: prepared.connection.kube, snapshot, services: ['postgres']})
    error.explain({
      details: [
        `restored the database from snapshot ${name}, taken before the migration, in ${formatDuration(restored.durationMs)}: ${recovery.rolledBack ? `code and data are back at revision ${revision}` : 'the data is back as it was before the migration'}.`,
      ],
      ...(error.kind === 'migration' ? {hint: `Fix the migration (its log is above), then ${runAgain(prepared.project)}: it starts from the same data.`} : {}),
    })
  } catch (restoreError) {
    error.explain({
      details: [
        `restoring snapshot ${name} failed too: ${restoreError instanceof Error ? restoreError.message : String(restoreError)}; the data is as the migration left it (\`devctl db restore ${name}\` tries again).`,
      ],
    })
  }
  return recovery
}

/** Roll back to the revision the upgrade started from (unless told not to) and say how that went; `rolledBack`: helm put the old revision back. */
async function rollBackAfterFailure(pipeline: Pipeline, prepared: PreparedUpgrade, options: UpgradeOptions, error: unknown, dataAtStake: boolean): Promise<{error: unknown; rolledBack: boolean}> {
  const {plan, project, connection, watch} = prepared
  if (!(error instanceof DevctlError) || error.kind === 'interrupted' || plan.fromRevision === undefined || plan.reinstall) return {error, rolledBack: false}
  const revision = plan.fromRevision
  if (!options.rollback) return {error: await leftForInspection(prepared, revision, error), rolledBack: false}
  // With a snapshot from before the migration, what happens to the data is said next.
  const migrationNote = plan.migration !== 'none' && !dataAtStake ? ' A rollback does not undo a database migration that already ran: check the schema if the new code depended on it.' : ''
  let rolledBack = false
  const check = rollbackCheckStep(revision)
  try {
    pipeline.announce([rollbackStep(revision), check])
    await pipeline.run(rollbackStep(revision), {project, connection})
    rolledBack = true
    // Judge the rollback on what is deployed now (the old revision), not the chart that failed.
    await pipeline.run(check, {project, connection, watch, workloads: deployedWorkloads(watch, project.names.release)})
  } catch (rollbackError) {
    const explained = error.explain({
      details: [`the rollback to revision ${revision} failed too: ${rollbackError instanceof Error ? rollbackError.message : String(rollbackError)}`],
      // A cause already diagnosed (its fix in the hint) usually stopped the rollback too: its fix stays the next step.
      hint: error.hint ?? 'Inspect with `devctl status` and `devctl logs`; `devctl down --keep-data && devctl up` starts over with your data.',
    })
    return {error: explained, rolledBack}
  }
  const explained = error.explain({
    details: [`rolled back to revision ${revision} and verified: every workload is ready again.${migrationNote}`],
    hint: error.hint ?? `Fix the cause shown above, then ${runAgain(project)}.`,
  })
  return {error: explained, rolledBack}
}

/** --no-rollback: which revision the release was left at, and how to roll back by hand. */
async function leftForInspection(prepared: PreparedUpgrade, lastGood: number, error: DevctlError): Promise<DevctlError> {
  const {project, connection} = prepared
  const {release, namespace} = project.names
  const latest = await latestRelease(connection.kube, namespace, release).catch(() => undefined)
  // helm failed before it made a revision: the release is as it was.
  if (!latest || latest.revision <= lastGood) return error.explain({hint: error.hint ?? `Fix the cause shown above, then ${runAgain(project)}.`})
  const kube = {...connection.kubeTarget, kubeconfig: connection.kubeTarget.kubeconfig && displayPath(connection.kubeTarget.kubeconfig)}
  const byHand = formatCommand('helm', rollbackArgs({release, namespace, kube, revision: lastGood}))
  return error.explain({
    details: [`--no-rollback: release ${release} is left at revision ${latest.revision} (${latest.status}) for inspection; revision ${lastGood} is the last one that worked.`],
    hint: `Roll back by hand with \`${byHand}\`, or fix the cause and ${runAgain(project)}.`,
  })
}
