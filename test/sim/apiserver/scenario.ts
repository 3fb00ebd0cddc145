/**
 * Scenarios: which workloads behave how (run, complete, fail, crash-loop, fail to pull, OOM,
 * never become ready), how long each step takes, what the containers print, and how big the
 * nodes are. Files live in test/sim/scenarios/*.yaml; see the README there for the format.
 */
import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {parse as parseYaml} from 'yaml'
import {z} from 'zod'

import {parseLabelSelector, labelsMatch} from './selectors.js'
import type {Container, Pod} from './types.js'

const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/
const duration = z.union([z.number().nonnegative(), z.string().regex(durationPattern, 'a duration like 500ms, 2s, 1.5m or 1h')])

const timingsShape = {
  /** Image pull, the first time a node pulls the image (later pulls find it present). */
  pull: duration.optional(),
  /** From pulled to Created. */
  create: duration.optional(),
  /** From Created to Started. */
  start: duration.optional(),
  /** From Started to Ready (readiness probe success); at least the probe's initialDelaySeconds. */
  ready: duration.optional(),
  /** How long a container that exits (complete, fail, crashLoop, oom) runs first. */
  runFor: duration.optional(),
  /** How long a container takes to stop after SIGTERM (bounded by the grace period). */
  terminate: duration.optional(),
}

const logsSchema = z
  .object({
    /** Literal lines printed when the container starts (after the image's default lines unless `replaceDefaults`). */
    lines: z.array(z.string()).optional(),
    /** Many generated lines: `text` with `{i}` replaced by the line number; `rate` lines per second (0 = all at once). */
    generate: z
      .object({
        lines: z.number().int().positive(),
        rate: z.number().nonnegative().default(0),
        text: z.string().default('log line {i}'),
      })
      .strict()
      .optional(),
    /** Printed right before the container exits. */
    exitLines: z.array(z.string()).optional(),
    /** Drop the image's default lines (postgres, redis, migrations, generic app). */
    replaceDefaults: z.boolean().optional(),
  })
  .strict()

export const behaviors = ['run', 'complete', 'fail', 'crashLoop', 'imagePullError', 'oom', 'neverReady'] as const

const matchSchema = z
  .object({
    /** Glob on the pod name (`web-*`). */
    pod: z.string().optional(),
    /** Glob on the owning workload's name (Deployment, StatefulSet, DaemonSet, Job). */
    workload: z.string().optional(),
    namespace: z.string().optional(),
    /** Pod labels that must all be present with these values. */
    labels: z.record(z.string(), z.string()).optional(),
    /** A label selector string (`app=web,tier in (a,b)`). */
    labelSelector: z.string().optional(),
    /** Glob on the container name. */
    container: z.string().optional(),
    /** Glob on the image (`postgres:*`, `ghcr.io/acme/*`). */
    image: z.string().optional(),
    /** Glob on the container's command and args joined by spaces (`*migrate*`). */
    command: z.string().optional(),
  })
  .strict()

const ruleSchema = z
  .object({
    match: matchSchema.default({}),
    behavior: z.enum(behaviors).optional(),
    /** Exit code for fail/crashLoop (default 1). */
    exitCode: z.number().int().min(0).max(255).optional(),
    /** fail/crashLoop: succeed (exit 0) from this attempt on, counting from 0. */
    succeedAfter: z.number().int().nonnegative().optional(),
    /** The registry's answer for imagePullError. */
    imagePullMessage: z.string().optional(),
    /**
     * The container is a REAL server on this machine (Debian's postgresql or redis-server),
     * initialised from the container's environment like the official image, its data kept with
     * the pod's volume claim; exec and port-forward reach it. See backends.ts. devctl's own
     * Postgres and Redis are, by default, where the servers are installed; `none` opts out.
     */
    backend: z.enum(['postgres', 'redis', 'none']).optional(),
    /**
     * A shell script the container runs for real on this machine, with the container's
     * environment (cluster DNS names of real servers resolved to them); its output is the
     * container's log and its exit code the container's. Overrides `behavior`.
     */
    run: z.string().min(1).optional(),
    ...timingsShape,
    logs: logsSchema.optional(),
  })
  .strict()

const scenarioSchema = z
  .object({
    name: z.string().optional(),
    description: z.string().optional(),
    /** Timings for every container unless a rule says otherwise. */
    defaults: z
      .object({
        ...timingsShape,
        /** PersistentVolume provisioning time (local-path). */
        provision: duration.optional(),
      })
      .strict()
      .optional(),
    /** Capacity of every node (overrides what the cluster was created with). */
    nodes: z.object({cpu: z.string().optional(), memory: z.string().optional()}).strict().optional(),
    /** Applied in order; a later matching rule overrides the fields it sets. */
    rules: z.array(ruleSchema).default([]),
  })
  .strict()

export type Scenario = z.infer<typeof scenarioSchema>
export type Rule = z.infer<typeof ruleSchema>
export type Behavior = (typeof behaviors)[number]
export type LogSpec = z.infer<typeof logsSchema>

export class ScenarioError extends Error {}

/** Validates a parsed scenario; `source` names it in the error (a file path or "scenario"). */
export function parseScenario(value: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(value ?? {})
  if (!result.success) throw new ScenarioError(`invalid ${source}:\n${z.prettifyError(result.error)}`)
  for (const [index, rule] of result.data.rules.entries()) {
    if (rule.match.labelSelector !== undefined) {
      try {
        parseLabelSelector(rule.match.labelSelector)
      } catch (error) {
        throw new ScenarioError(`invalid ${source}:\n✖ ${error instanceof Error ? error.message : String(error)}\n  → at rules[${index}].match.labelSelector`)
      }
    }
  }
  return result.data
}

export const scenariosDirectory = resolve(import.meta.dirname, '..', 'scenarios')

/** Loads `name` (a file in test/sim/scenarios, with or without .yaml) or a path to a YAML file. */
export function loadScenario(nameOrPath: string): Scenario {
  const path = nameOrPath.includes('/') ? nameOrPath : join(scenariosDirectory, nameOrPath.endsWith('.yaml') ? nameOrPath : `${nameOrPath}.yaml`)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new ScenarioError(`no scenario ${JSON.stringify(nameOrPath)} (looked for ${path})`)
  }
  let parsed: unknown
  try {
    parsed = parseYaml(text) as unknown
  } catch (error) {
    throw new ScenarioError(`invalid ${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
  return parseScenario(parsed, path)
}

export function durationMs(value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value === 'number') return value
  const match = durationPattern.exec(value)
  const amount = Number(match?.[1] ?? 0)
  const unit = match?.[2] ?? 'ms'
  const units: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}
  return amount * (units[unit] ?? 1)
}

/** Built-in timings (simulated milliseconds); default.yaml spells the same values out. */
export const defaultTimings = {pull: 1500, create: 300, start: 200, ready: 1000, runFor: 2000, terminate: 500, provision: 500}

export interface ContainerPlan {
  behavior: Behavior
  backend?: 'postgres' | 'redis'
  run?: string
  exitCode: number
  succeedAfter?: number
  imagePullMessage?: string
  pull: number
  create: number
  start: number
  ready: number
  runFor: number
  terminate: number
  logs?: LogSpec
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${escaped}$`)
}

/** A glob, or `!glob` for "anything but". */
function globMatches(glob: string | undefined, value: string | undefined): boolean {
  if (glob === undefined) return true
  if (glob.startsWith('!')) return !globMatches(glob.slice(1), value)
  return value !== undefined && globToRegExp(glob).test(value)
}

/**
 * devctl's own Postgres and Redis (its StatefulSets) are real servers wherever this machine has
 * them installed, so what devctl does with their data (exec, snapshots) works as on a laptop.
 */
function builtInBackend(context: ContainerContext, installed: {postgres: boolean; redis: boolean}): ContainerPlan['backend'] {
  if (context.workload === 'devctl-postgres' && context.container.name === 'postgres' && installed.postgres) return 'postgres'
  if (context.workload === 'devctl-redis' && context.container.name === 'redis' && installed.redis) return 'redis'
  return undefined
}

export interface ContainerContext {
  pod: Pod
  container: Container
  /** Name of the workload that owns the pod (through its ReplicaSet for Deployments). */
  workload?: string
  init: boolean
}

function ruleMatches(rule: Rule, context: ContainerContext): boolean {
  const {match} = rule
  const labels = context.pod.metadata.labels
  return (
    globMatches(match.pod, context.pod.metadata.name) &&
    globMatches(match.workload, context.workload) &&
    globMatches(match.namespace, context.pod.metadata.namespace) &&
    globMatches(match.container, context.container.name) &&
    globMatches(match.image, context.container.image) &&
    globMatches(match.command, [...(context.container.command ?? []), ...(context.container.args ?? [])].join(' ')) &&
    Object.entries(match.labels ?? {}).every(([key, value]) => labels?.[key] === value) &&
    (match.labelSelector === undefined || labelsMatch(parseLabelSelector(match.labelSelector), labels))
  )
}

/** What one container will do, from the scenario's defaults and every rule that matches it. */
export function planContainer(scenario: Scenario, context: ContainerContext, installed = {postgres: false, redis: false}): ContainerPlan {
  const defaults = scenario.defaults ?? {}
  const exits = context.init || context.pod.spec.restartPolicy === 'Never' || context.pod.spec.restartPolicy === 'OnFailure'
  const plan: ContainerPlan = {
    behavior: exits ? 'complete' : 'run',
    exitCode: 1,
    pull: durationMs(defaults.pull, defaultTimings.pull),
    create: durationMs(defaults.create, defaultTimings.create),
    start: durationMs(defaults.start, defaultTimings.start),
    ready: durationMs(defaults.ready, defaultTimings.ready),
    runFor: durationMs(defaults.runFor, defaultTimings.runFor),
    terminate: durationMs(defaults.terminate, defaultTimings.terminate),
    backend: builtInBackend(context, installed),
  }
  for (const rule of scenario.rules) {
    if (!ruleMatches(rule, context)) continue
    if (rule.behavior) plan.behavior = rule.behavior
    if (rule.exitCode !== undefined) plan.exitCode = rule.exitCode
    if (rule.succeedAfter !== undefined) plan.succeedAfter = rule.succeedAfter
    if (rule.imagePullMessage !== undefined) plan.imagePullMessage = rule.imagePullMessage
    if (rule.backend !== undefined) plan.backend = rule.backend === 'none' ? undefined : rule.backend
    if (rule.run !== undefined) plan.run = rule.run
    for (const step of ['pull', 'create', 'start', 'ready', 'runFor', 'terminate'] as const) {
      if (rule[step] !== undefined) plan[step] = durationMs(rule[step], plan[step])
    }
    if (rule.logs) plan.logs = {...plan.logs, ...rule.logs}
  }
  return plan
}

export function provisionDelay(scenario: Scenario): number {
  return durationMs(scenario.defaults?.provision, defaultTimings.provision)
}
