/**
 * The one stream of events a workflow emits. The task list (TTY), the plain line output (CI,
 * pipes) and --json are three renderings of it; workflows never print.
 */
import type {PodSummary} from '../diagnose/pod.js'
import type {StepOutline} from './pipeline.js'

export type StepStatus = 'done' | 'skipped' | 'failed'

export type WorkflowEvent =
  /**
   * The steps that run next, in order, only those that apply: a view that lists steps before
   * they run (the live task list) shows them below what ran so far.
   */
  | {type: 'outline'; steps: StepOutline[]}
  | {type: 'step:start'; step: string; title: string; parent?: string}
  /** The step's title changes (e.g. "Cluster demo: creating" → "Cluster demo: waiting for DNS"). */
  | {type: 'step:title'; step: string; title: string}
  /** A transient status line under the step. */
  | {type: 'step:note'; step: string; message: string}
  /** A log line worth showing as it happens (migration output, helm's own lines). */
  | {type: 'step:log'; step: string; source: string; line: string}
  | {type: 'step:end'; step: string; status: StepStatus; title: string; durationMs: number; message?: string}
  /** A pod of the step changed (phase, readiness, restarts, reason). */
  | {type: 'pod'; step: string; pod: PodSummary}
  | {type: 'pod:gone'; step: string; name: string}
  | {type: 'warning'; message: string}

export type Emit = (event: WorkflowEvent) => void

export type EventOf<T extends WorkflowEvent['type']> = Extract<WorkflowEvent, {type: T}>
