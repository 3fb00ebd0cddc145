/**
 * Every failure devctl expects is one of these classes. Each class owns an exit code, so
 * scripts can tell "your config is wrong" from "the migration failed" without parsing text.
 * The table is documented in the README (keep the two in step; a unit test checks it).
 */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  config: 3,
  prerequisites: 4,
  cluster: 5,
  chart: 6,
  migration: 7,
  rollout: 8,
  timeout: 9,
  fileConflict: 10,
  checksFailed: 11,
  busy: 12,
  build: 13,
  interrupted: 130,
} as const

export type ExitCodeName = keyof typeof ExitCode

export interface DevctlErrorOptions {
  /** One line telling the user what to do next. */
  hint?: string
  /** Extra lines shown under the message (logs, events); already redacted. */
  details?: string[]
  cause?: unknown
}

export abstract class DevctlError extends Error {
  abstract readonly kind: ExitCodeName
  hint?: string
  details: string[]

  constructor(message: string, options: DevctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.hint = options.hint
    this.details = options.details ?? []
  }

  get exitCode(): number {
    return ExitCode[this.kind]
  }

  /**
   * Add what a diagnosis found, keeping the error's class (and so its exit code): a timeout
   * explained is still a timeout.
   */
  explain(explanation: {context?: string; details?: string[]; hint?: string}): this {
    if (explanation.context) this.message = `${explanation.context}: ${this.message}`
    if (explanation.details) this.details = [...this.details, ...explanation.details]
    if (explanation.hint) this.hint = explanation.hint
    return this
  }
}

/** Bad flags or arguments, or an answer that is needed but could not be asked for. */
export class UsageError extends DevctlError {
  readonly kind = 'usage'
}

/** devctl.yaml, a values file or a preset is invalid. */
export class ConfigError extends DevctlError {
  readonly kind = 'config'
}

/** A tool, daemon, port or file devctl needs is missing or unusable. */
export class PrerequisiteError extends DevctlError {
  readonly kind = 'prerequisites'
}

export class ClusterError extends DevctlError {
  readonly kind = 'cluster'
}

/** helm failed, or the chart could not be found or rendered. */
export class ChartError extends DevctlError {
  readonly kind = 'chart'
}

export class MigrationError extends DevctlError {
  readonly kind = 'migration'
}

/** A workload did not become ready (crash loop, image pull, unschedulable, ...). */
export class RolloutError extends DevctlError {
  readonly kind = 'rollout'
}

export class StepTimeoutError extends DevctlError {
  readonly kind = 'timeout'
}

/** devctl refused to overwrite a file the user owns. */
export class FileConflictError extends DevctlError {
  readonly kind = 'fileConflict'
}

/** `doctor` found at least one failing check. */
export class ChecksFailedError extends DevctlError {
  readonly kind = 'checksFailed'
}

/** Another devctl is changing the same environment right now. */
export class EnvironmentBusyError extends DevctlError {
  readonly kind = 'busy'
}

/** An image devctl builds (build: in devctl.yaml) failed to build, or to reach the cluster. */
export class BuildError extends DevctlError {
  readonly kind = 'build'
}

export class InterruptedError extends DevctlError {
  readonly kind = 'interrupted'
  constructor(message = 'Interrupted.', options: DevctlErrorOptions = {}) {
    super(message, options)
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof InterruptedError || (error instanceof Error && (error.name === 'AbortError' || (error as {code?: string}).code === 'ABORT_ERR'))
}
