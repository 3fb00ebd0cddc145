/**
 * One deploy in progress, as the helm and migration steps share it: what is deployed, when it
 * began (objects created since belong to it), helm's progress and the migration step's end.
 */
import type {RenderedChart} from '../../chart/manifests.js'
import type {DevctlError} from '../../errors.js'
import type {KubernetesObject} from '../../kube/types.js'
import type {DeployPlan, DeployTarget} from './chart.js'
import type {DeployRequest} from './request.js'
import type {MigrationLogs} from './migration.js'

export interface Deployment extends DeployTarget {
  request: DeployRequest
  plan: DeployPlan & {rendered: RenderedChart}
  /** When this deploy began: objects created since belong to it. */
  startedAt: number
  /**
   * helm's progress, for the migration step: a hook Job passed when helm got past its hooks;
   * once it succeeded, each rendered workload's generation as the API has it (did helm change it?).
   */
  helm: {state: 'running' | 'succeeded' | 'failed'; error?: DevctlError; generations?: Map<string, number>}
  /** The migration step's end, however it ended (its failure explained and reported), and the logs it kept. */
  migration: {done: Promise<void>; ended(): void; logs?: MigrationLogs}
}

export function startDeployment(target: DeployTarget, request: DeployRequest, plan: DeployPlan & {rendered: RenderedChart}): Deployment {
  let ended!: () => void
  const done = new Promise<void>((resolve) => (ended = resolve))
  return {...target, request, plan, startedAt: Date.now(), helm: {state: 'running'}, migration: {done, ended}}
}

export function createdDuringDeploy(deployment: Deployment, object: KubernetesObject): boolean {
  // Timestamps have second precision; anything from the same second as the start counts.
  return new Date(object.metadata?.creationTimestamp ?? 0).getTime() >= deployment.startedAt - 1000
}
