/**
 * `devctl up`: "check the machine, build the images whose code changed, create or reuse the
 * cluster and get the images into it, give it Postgres, Redis and their credentials, deploy the
 * chart while its migration runs, wait for every pod, then say how to reach it." Each sentence
 * is a step; see steps/.
 */
import {stringify} from 'yaml'

import {buildValuesFile} from '../build/overrides.js'
import {k3dConfig} from '../cluster/k3d-config.js'
import {describeMigration} from '../chart/manifests.js'
import type {LoadedConfig} from '../config/load.js'
import type {PodSummary} from '../diagnose/pod.js'
import type {NamespaceWatch} from '../kube/namespace-watch.js'
import {maskSecretObjects, redact} from '../secrets/redact.js'
import {readSecrets} from '../secrets/store.js'
import {credentialSecrets, namespaceManifest, serviceManifests} from '../services/manifests.js'
import {upgradeInstallArgs} from '../tools/helm.js'
import {formatCommand} from '../tools/command-line.js'
import {holdLeaseIfShared, type HeldLease} from '../state/lease.js'
import {lockEnvironment} from '../state/lock.js'
import {noteRetries} from './connect.js'
import {outlineOf, Pipeline, type StepOutcome, type StepOutline} from './pipeline.js'
import {createProject, type RunControls} from './project.js'
import {buildGroup, buildImages, imagesStep, imageWarnings, type ImagesForChart} from './steps/build.js'
import {deploy, deployGroup, planStep} from './steps/chart.js'
import {startDeployment} from './steps/deployment.js'
import {clusterStep, type ClusterAction} from './steps/cluster.js'
import {prerequisitesStep} from './steps/prerequisites.js'
import {chartCheckStep, renderChart} from './steps/render.js'
import {deployRequest, installOptions} from './steps/request.js'
import {deployedWorkloads, rolloutStep, validateStep, workloadPods, type Endpoint, type WorkloadStatus} from './steps/rollout.js'
import {namespaceStep, runServices, servicesGroup} from './steps/services.js'

export interface UpOptions {
  force: boolean
  /** Take over a cluster (or namespace) another checkout, or not devctl, created. */
  adopt: boolean
  /** Overrides every step's timeout from devctl.yaml. */
  timeout?: string
}

export interface UpResult {
  project: string
  cluster: {provider: 'k3d' | 'existing'; name: string; context: string; action: ClusterAction}
  namespace: string
  release: {name: string; deployed: boolean; previousRevision?: number}
  migration: string
  /** The images devctl built (build: in devctl.yaml), and whether each was rebuilt and moved now. */
  images?: Array<{name: string; ref: string; id: string; built: boolean; via: 'import' | 'registry'; moved: boolean}>
  workloads: WorkloadStatus[]
  pods: PodSummary[]
  endpoints: Endpoint[]
  steps: StepOutcome[]
  durationMs: number
}

/** up's steps; the build and images steps only for a project that builds images. */
function upSteps(config: LoadedConfig['config']) {
  const images = config.build.length > 0
  return [
    prerequisitesStep,
    ...(images ? [buildGroup(config)] : []),
    chartCheckStep,
    clusterStep,
    ...(images ? [imagesStep] : []),
    namespaceStep,
    servicesGroup,
    planStep,
    deployGroup,
    rolloutStep,
    validateStep,
  ]
}

export function upOutline(loaded: LoadedConfig): StepOutline[] {
  return outlineOf({config: loaded.config, names: loaded.resolved}, upSteps(loaded.config))
}

export async function up(loaded: LoadedConfig, options: UpOptions, controls: RunControls): Promise<UpResult> {
  const started = Date.now()
  const project = createProject(loaded, controls.kubeModule, {timeout: options.timeout, commandLine: controls.commandLine})
  const pipeline = new Pipeline(project, controls)
  // One devctl at a time: on this machine (the lock file), and on a shared cluster (a Lease, once the namespace exists).
  const lock = await lockEnvironment(project.stateDir, 'up')
  let lease: HeldLease | undefined
  let watch: NamespaceWatch | undefined
  let stopRetryNotes = () => {}
  try {
    const prerequisites = await pipeline.run(prerequisitesStep, {project, adopt: options.adopt})
    const built = project.config.build.length > 0 ? await buildImages(pipeline, project) : []
    // Chart and values errors before anything is created. Without a cluster yet it is a first install.
    const phase = project.config.cluster.provider === 'k3d' && !prerequisites.k3d?.cluster ? 'install' : 'upgrade'
    const checked = await pipeline.run(chartCheckStep, {project, request: deployRequest(project, {force: options.force}), helmMajor: prerequisites.helmMajor, phase})
    const cluster = await pipeline.run(clusterStep, {project, prerequisites})
    const {connection} = cluster
    stopRetryNotes = noteRetries(connection, pipeline)
    const images: ImagesForChart | undefined = built.length > 0 ? await pipeline.run(imagesStep, {project, connection, cluster: prerequisites.k3d?.cluster, images: built}) : undefined
    watch = await pipeline.run(namespaceStep, {project, connection, prerequisites, adopt: options.adopt})
    lease = await holdLeaseIfShared(project.config.cluster.provider === 'existing', connection.kube, project.names.namespace, 'up', (message) => controls.emit({type: 'warning', message}))
    const target = {project, connection, watch, helmMajor: prerequisites.helmMajor}
    await runServices(pipeline, target)

    // The built images' tags are known once they are in the cluster: the check above rendered without them.
    const request = deployRequest(project, {force: options.force, extraValuesFiles: images ? [images.valuesFile] : undefined})
    const plan = await pipeline.run(planStep, {...target, request, checked: images ? undefined : checked, recoverConsent: controls.recoverConsent ?? (async () => false)})
    if (plan.rendered && images) for (const message of imageWarnings(plan.rendered, images.images)) controls.emit({type: 'warning', message})
    if (plan.rendered) await deploy(pipeline, startDeployment(target, request, {...plan, rendered: plan.rendered}))
    else pipeline.skip(deployGroup, `unchanged since revision ${plan.previous?.revision} (--force redeploys)`)

    const workloads = plan.rendered?.workloads ?? deployedWorkloads(watch, project.names.release)
    const statuses = await pipeline.run(rolloutStep, {...target, workloads})
    const endpoints = await pipeline.run(validateStep, {project, connection, httpHostPort: cluster.httpHostPort})
    return {
      project: project.config.project,
      cluster: {provider: project.config.cluster.provider, name: project.names.clusterName, context: project.names.kubeContext, action: cluster.action},
      namespace: project.names.namespace,
      release: {name: project.names.release, deployed: !plan.unchanged, previousRevision: plan.previous?.revision},
      migration: plan.rendered ? plan.rendered.migration.kind : 'unchanged',
      images: images?.images.map(({name, ref, id, built, via, moved}) => ({name, ref, id, built, via, moved})),
      workloads: statuses,
      pods: workloadPods(watch, workloads),
      endpoints,
      steps: pipeline.outcomes,
      durationMs: Date.now() - started,
    }
  } finally {
    stopRetryNotes()
    watch?.close()
    await lease?.release()
    await lock.release()
  }
}

export interface UpPlan {
  cluster: {provider: 'k3d' | 'existing'; name: string; context: string; k3dConfig?: string}
  /** Namespace, Secrets (values masked), Postgres and Redis, as YAML. */
  manifests: string
  /** The chart as helm renders it with these values for a first install (Secrets masked), and its migration. */
  chart: {manifests: string; migration: string}
  helmCommand: string
}

/** `up --dry-run`: what would be created and run, secrets masked; changes nothing, fails as `up` would on a chart or values error. */
export async function planUp(loaded: LoadedConfig, options: UpOptions, signal: AbortSignal): Promise<UpPlan> {
  const project = createProject(loaded, undefined, {timeout: options.timeout})
  const {config, names} = project
  // Existing passwords are masked; missing ones would be generated by a real run, not now.
  const notYet = {password: '<generated on first up>'}
  const secrets = {postgres: notYet, redis: notYet, ...(await readSecrets(project.dir))}
  const services = serviceManifests(config, names)
  const objects = [namespaceManifest(names.namespace, config.project), ...credentialSecrets(config, names, secrets), ...(services.postgres ?? []), ...(services.redis ?? [])]
  const request = deployRequest(project, {force: options.force})
  const rendered = await renderChart(project, request, 'install', signal)
  // With build:, helm also reads the tags of the images `up` would build (devctl's overlay, written by the build).
  const overlay = config.build.length > 0 ? [...request.valuesFiles, buildValuesFile(project.stateDir)] : request.valuesFiles
  const args = upgradeInstallArgs({...installOptions(project, {...request, valuesFiles: overlay}), timeoutMs: project.timeouts.deploy, kube: {context: names.kubeContext}})
  const toYaml = (list: object[]) => redact(list.map((o) => stringify(o, {aliasDuplicateObjects: false})).join('---\n'))
  return {
    cluster: {
      provider: config.cluster.provider,
      name: names.clusterName,
      context: names.kubeContext,
      k3dConfig: config.cluster.provider === 'k3d' ? stringify(k3dConfig(config, names)) : undefined,
    },
    manifests: toYaml(objects),
    chart: {manifests: toYaml(maskSecretObjects(rendered.objects)), migration: rendered.migration.kind === 'none' ? rendered.migration.reason : describeMigration(rendered.migration)},
    helmCommand: formatCommand('helm', args),
  }
}
