/**
 * `devctl dev`: "bring the environment up, then watch the code: on every change rebuild the
 * images whose code changed, redeploy, wait for the migration and the rollout, and show the
 * logs of the pods that were replaced — until Ctrl-C, which leaves the environment running."
 * Each round is a cycle with its own step events and a closing line with its durations; a
 * failed cycle is explained and the watching goes on. A change to devctl.yaml (or any change
 * after a failed `up`) runs the whole `up` again; a values file or the chart redeploys without
 * building.
 */
import {resolve} from 'node:path'

import {imageBuilds, type BuiltImage} from '../build/images.js'
import {readIgnoreRules} from '../build/context.js'
import type {LoadedConfig} from '../config/load.js'
import {ProjectWatcher, type ChangeBatch, type WatchedProject} from '../dev/watch.js'
import {DevctlError, ExitCode, InterruptedError} from '../errors.js'
import {selects} from '../kube/readiness.js'
import {componentOf, instancesOf} from '../logs/pods.js'
import {followContainerRun} from '../logs/tail.js'
import {holdLeaseIfShared} from '../state/lease.js'
import {lockEnvironment} from '../state/lock.js'
import {connectEnvironment, type Connection} from './connect.js'
import type {WorkflowEvent} from './events.js'
import {formatDuration, Pipeline, type StepOutcome} from './pipeline.js'
import {createProject, type Project, type RunControls} from './project.js'
import {buildImages, imagesStep, imageWarnings} from './steps/build.js'
import {deploy, deployGroup, planStep, type DeployTarget} from './steps/chart.js'
import {startDeployment} from './steps/deployment.js'
import {deployRequest} from './steps/request.js'
import {deployedWorkloads, rolloutStep} from './steps/rollout.js'
import {watchNamespace} from './steps/services.js'
import {up, type UpOptions, type UpResult} from './up.js'

export interface DevOptions extends UpOptions {
  /** Quiet time after a change before a cycle starts. */
  debounceMs: number
}

/** Where a cycle's time went. */
export interface CycleDurations {
  build?: number
  images?: number
  deploy?: number
  rollout?: number
}

/** What started a cycle: `dev` itself, devctl.yaml, an image's code, values or the chart, or a change after a failed `up`. */
export type CycleTrigger = 'start' | 'config' | 'images' | 'values' | 'retry'

export interface CycleFailure {
  kind: string
  exitCode: number
  message: string
  details: string[]
  hint?: string
}

export type DevEvent =
  | WorkflowEvent
  | {type: 'cycle:start'; cycle: number; trigger: CycleTrigger; changes: string[]}
  | {type: 'cycle:end'; cycle: number; status: 'done' | 'unchanged' | 'failed'; summary: string; durationMs: number; durations: CycleDurations; result?: UpResult; error?: CycleFailure}
  | {type: 'watching'; paths: string[]}
  /** A line of a pod the last cycle started. */
  | {type: 'log'; pod: string; container: string; component?: string; line: string}

export interface DevControls extends Omit<RunControls, 'emit'> {
  emit: (event: DevEvent) => void
  /** devctl.yaml read again after it changed (with the command line's overrides). */
  reload(): Promise<LoadedConfig>
}

/** What stays open between cycles: the cluster connection, the namespace's watch, the images as last built. */
interface Session {
  project: Project
  target: DeployTarget
  images: Map<string, BuiltImage>
  close(): void
}

async function openSession(loaded: LoadedConfig, options: DevOptions, controls: DevControls, result: UpResult): Promise<Session> {
  const project = createProject(loaded, controls.kubeModule, {timeout: options.timeout})
  const connection: Connection = await connectEnvironment(project, controls.signal)
  const [watch, helm] = await Promise.all([watchNamespace(project, connection.kube, controls.signal), project.tools.helm.version(controls.signal)])
  const builds = imageBuilds(project.config.build, project.dir, project.stateDir)
  const images = new Map<string, BuiltImage>()
  for (const image of result.images ?? []) {
    const build = builds.find((b) => b.config.name === image.name)
    if (build) images.set(image.name, {name: image.name, ref: image.ref, tag: image.ref.slice(image.ref.lastIndexOf(':') + 1), id: image.id, built: false, files: 0, build})
  }
  return {project, target: {project, connection, watch, helmMajor: helm.major}, images, close: () => watch.close()}
}

/** The logs of the pods a cycle started, followed until the next cycle replaces them. */
class PodLogs {
  private following = new AbortController()

  constructor(private readonly controls: DevControls) {}

  follow(session: Session, since: number): void {
    this.stop()
    const {watch, connection, project} = session.target
    const workloads = deployedWorkloads(watch, project.names.release)
    const signal = this.following.signal
    const pods = watch
      .list('Pod')
      .filter((pod) => !pod.metadata?.deletionTimestamp && workloads.some((w) => selects(w.selector, pod)) && new Date(pod.metadata?.creationTimestamp ?? 0).getTime() >= since - 1000)
    for (const pod of pods) {
      const name = pod.metadata?.name ?? ''
      for (const instance of instancesOf(pod).filter((i) => !i.init)) {
        const output = {
          line: (line: string) => this.controls.emit({type: 'log', pod: name, container: instance.container, component: componentOf(pod), line}),
          trouble: (message: string) => this.controls.emit({type: 'warning', message: `${name}/${instance.container}: ${message}`}),
        }
        followContainerRun(connection.kube, project.names.namespace, name, instance, () => watch.get('Pod', name), output, signal).catch((error: unknown) => {
          if (!signal.aborted) output.trouble(`following its log failed: ${(error as Error).message}`)
        })
      }
    }
  }

  stop(): void {
    this.following.abort()
    this.following = new AbortController()
  }
}

function durationsOf(steps: StepOutcome[]): CycleDurations {
  const took = (id: string) => steps.find((s) => s.id === id && s.status === 'done')?.durationMs
  return {build: took('build'), images: took('images'), deploy: took('deploy'), rollout: took('rollout')}
}

/** What a cycle did with the images: which it built now, and whether any was moved to the cluster (and how). */
interface ImageWork {
  rebuilt: string[]
  unchanged: string[]
  moved?: 'import' | 'registry'
}

/** "api rebuilt in 4.2s, imported in 1.1s, deployed in 2.0s, rolled out in 3.1s". */
function describeCycle(changes: string[], images: ImageWork, steps: StepOutcome[], deployed: boolean, built = 'rebuilt'): string {
  const d = durationsOf(steps)
  const parts: string[] = []
  const took = (ms: number | undefined) => (ms === undefined ? '' : ` in ${formatDuration(ms)}`)
  if (images.rebuilt.length > 0) parts.push(`${images.rebuilt.join(', ')} ${built}${took(d.build)}`)
  else if (images.unchanged.length > 0 && d.build !== undefined) parts.push(`${images.unchanged.join(', ')} unchanged`)
  else if (changes.length > 0) parts.push(`${changes.slice(0, 2).join(', ')}${changes.length > 2 ? ` (+${changes.length - 2})` : ''} changed`)
  if (images.moved) parts.push(`${images.moved === 'import' ? 'imported' : 'pushed'}${took(d.images)}`)
  if (deployed) parts.push(`deployed${took(d.deploy)}`, `rolled out${took(d.rollout)}`)
  else parts.push('nothing to redeploy')
  return parts.join(', ')
}

function imageWork(images: Array<{name: string; built: boolean; moved: boolean; via: 'import' | 'registry'}>, builtNow: ReadonlySet<string>): ImageWork {
  return {
    rebuilt: images.filter((image) => image.built && builtNow.has(image.name)).map((image) => image.name),
    unchanged: images.filter((image) => !image.built && builtNow.has(image.name)).map((image) => image.name),
    moved: images.find((image) => image.moved)?.via,
  }
}

function failureOf(error: unknown): CycleFailure {
  if (error instanceof DevctlError) return {kind: error.kind, exitCode: error.exitCode, message: error.message, details: error.details, hint: error.hint}
  return {
    kind: 'unexpected',
    exitCode: ExitCode.unexpected,
    message: error instanceof Error ? error.message : String(error),
    details: [],
    hint: 'This is a bug in devctl: run `devctl up --debug` for the stack trace and include it in a report.',
  }
}

function isInterruption(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || error instanceof InterruptedError
}

/** The whole `up` as a cycle (the first one, and after devctl.yaml changed); the session to reuse, if it succeeded. */
async function upCycle(loaded: LoadedConfig, options: DevOptions, controls: DevControls, logs: PodLogs, cycle: number, trigger: CycleTrigger, changes: string[]): Promise<Session | undefined> {
  const started = Date.now()
  controls.emit({type: 'cycle:start', cycle, trigger, changes})
  try {
    const result = await up(loaded, options, controls)
    const session = await openSession(loaded, options, controls, result)
    logs.follow(session, started)
    const images = result.images ?? []
    const summary = `${result.project} is up: ${describeCycle(changes, imageWork(images, new Set(images.map((i) => i.name))), result.steps, result.release.deployed, trigger === 'start' ? 'built' : 'rebuilt')}`
    controls.emit({type: 'cycle:end', cycle, status: result.release.deployed ? 'done' : 'unchanged', summary, durationMs: Date.now() - started, durations: durationsOf(result.steps), result})
    return session
  } catch (error) {
    if (isInterruption(error, controls.signal)) throw error
    const failure = failureOf(error)
    controls.emit({type: 'cycle:end', cycle, status: 'failed', summary: failure.message, durationMs: Date.now() - started, durations: {}, error: failure})
    return undefined
  }
}

/**
 * A change to code or values: rebuild what changed, redeploy, roll out. A failure is explained in
 * the cycle's end; returns it, so the caller can tell a cluster that went away.
 */
async function changeCycle(session: Session, batch: ChangeBatch, controls: DevControls, logs: PodLogs, cycle: number): Promise<CycleFailure | undefined> {
  const {project, target} = session
  const started = Date.now()
  controls.emit({type: 'cycle:start', cycle, trigger: batch.images.size > 0 ? 'images' : 'values', changes: batch.paths})
  const pipeline = new Pipeline(project, controls)
  try {
    const lock = await lockEnvironment(project.stateDir, 'dev')
    try {
      const lease = await holdLeaseIfShared(project.config.cluster.provider === 'existing', target.connection.kube, project.names.namespace, 'dev', (message) =>
        controls.emit({type: 'warning', message}),
      )
      try {
        for (const image of batch.images.size > 0 ? await buildImages(pipeline, project, batch.images) : []) session.images.set(image.name, image)
        const images = session.images.size > 0 ? await pipeline.run(imagesStep, {project, connection: target.connection, images: [...session.images.values()]}) : undefined
        const request = deployRequest(project, {extraValuesFiles: images ? [images.valuesFile] : undefined})
        const plan = await pipeline.run(planStep, {...target, request, recoverConsent: controls.recoverConsent ?? (async () => false)})
        if (plan.rendered) {
          if (images) for (const message of imageWarnings(plan.rendered, images.images)) controls.emit({type: 'warning', message})
          await deploy(pipeline, startDeployment(target, request, {...plan, rendered: plan.rendered}))
          await pipeline.run(rolloutStep, {...target, workloads: plan.rendered.workloads})
          logs.follow(session, started)
        } else {
          pipeline.skip(deployGroup, `unchanged since revision ${plan.previous?.revision}`)
        }
        const summary = describeCycle(batch.paths, imageWork(images?.images ?? [], batch.images), pipeline.outcomes, plan.rendered !== undefined)
        controls.emit({type: 'cycle:end', cycle, status: plan.rendered ? 'done' : 'unchanged', summary, durationMs: Date.now() - started, durations: durationsOf(pipeline.outcomes)})
        return undefined
      } finally {
        await lease?.release()
      }
    } finally {
      await lock.release()
    }
  } catch (error) {
    if (isInterruption(error, controls.signal)) throw error
    const failure = failureOf(error)
    controls.emit({type: 'cycle:end', cycle, status: 'failed', summary: failure.message, durationMs: Date.now() - started, durations: durationsOf(pipeline.outcomes), error: failure})
    return failure
  }
}

async function watchedProject(loaded: LoadedConfig, project: Project): Promise<WatchedProject> {
  const builds = imageBuilds(project.config.build, project.dir, project.stateDir)
  const chart = project.config.app.chart.path
  return {
    dir: project.dir,
    configFile: loaded.path,
    valuesFiles: project.valuesFiles,
    chartDir: chart === undefined ? undefined : resolve(project.dir, chart),
    contexts: await Promise.all(builds.map(async (build) => ({name: build.config.name, dir: build.contextDir, rules: await readIgnoreRules(build.contextDir, build.dockerfile)}))),
  }
}

/** Runs until Ctrl-C (which rejects with the interruption, leaving the environment up). */
export async function dev(initial: LoadedConfig, options: DevOptions, controls: DevControls): Promise<never> {
  const logs = new PodLogs(controls)
  let loaded = initial
  let session: Session | undefined
  let watcher: ProjectWatcher | undefined
  let cycle = 0
  /** devctl.yaml changed and could not be read yet: read it again on the next change. */
  let configPending = false
  try {
    session = await upCycle(loaded, options, controls, logs, cycle, 'start', [])
    for (;;) {
      if (!watcher) {
        const project = createProject(loaded, controls.kubeModule, {timeout: options.timeout})
        watcher = await ProjectWatcher.start(await watchedProject(loaded, project), (message) => controls.emit({type: 'warning', message}))
        controls.emit({type: 'watching', paths: watcher.roots})
      }
      const batch = await watcher.next(controls.signal, options.debounceMs)
      cycle += 1
      if (batch.config || configPending || batch.ignoreRules || !session) {
        // What is built, deployed and watched may all have changed: start over, as `up`.
        const trigger: CycleTrigger = batch.config || configPending ? 'config' : session ? 'images' : 'retry'
        if (trigger === 'config') {
          try {
            loaded = await controls.reload()
            configPending = false
          } catch (error) {
            if (isInterruption(error, controls.signal)) throw error
            configPending = true
            const failure = failureOf(error)
            controls.emit({type: 'cycle:start', cycle, trigger, changes: batch.paths})
            controls.emit({type: 'cycle:end', cycle, status: 'failed', summary: failure.message, durationMs: 0, durations: {}, error: failure})
            continue
          }
        }
        session?.close()
        await watcher.close()
        watcher = undefined
        session = await upCycle(loaded, options, controls, logs, cycle, trigger, batch.paths)
        continue
      }
      const failure = await changeCycle(session, batch, controls, logs, cycle)
      // The cluster went away (or refused us): connect afresh next time, as `up`.
      if (failure?.kind === 'cluster') {
        session.close()
        session = undefined
      }
    }
  } finally {
    logs.stop()
    session?.close()
    await watcher?.close()
  }
}
