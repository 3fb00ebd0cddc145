/** Pods as the waiting steps see them: reported as they change, and a stop when one cannot recover. */
import {isFatal, summarizePod} from '../../diagnose/pod.js'
import {RolloutError} from '../../errors.js'
import {selects} from '../../kube/readiness.js'
import type {V1Pod} from '../../kube/types.js'
import type {NamespaceWatch} from '../../kube/namespace-watch.js'
import type {StepRun} from '../pipeline.js'

/** Report the pods a selector picks, and fail fast when one of them cannot get better. */
export function trackPods(watch: NamespaceWatch, run: StepRun, selector: Record<string, string>): V1Pod[] {
  const pods = watch.list('Pod').filter((pod) => selects(selector, pod))
  for (const pod of pods) {
    const summary = summarizePod(pod)
    run.pod(summary)
    if (isFatal(summary)) throw new FatalPodError(pod)
  }
  return pods
}

/** A pod is in a state waiting will not fix; the step's onFailure explains it. */
export class FatalPodError extends RolloutError {
  constructor(readonly pod: V1Pod) {
    const summary = summarizePod(pod)
    super(`Pod ${summary.name} is failing: ${summary.reason}${summary.message ? ` (${summary.message})` : ''}.`)
  }
}
