/** Pods as the waiting steps see them: reported as they change, and a stop when one cannot recover. */
import {isFatal, summarizePod} from '../../diagnose/pod.js'
import {RolloutError} from '../../errors.js'
import {selects} from '../../kube/readiness.js'
import type {V1Pod} from '../../kube/types.js'
import type {NamespaceWatch} from '../../kube/namespace-watch.js'
import type {StepRun} from '../pipeline.js'

/**
 * The pods a step shows: each reported as it changes, and one that leaves the set (an old
 * revision's, a deleted one) taken off the step's lines.
 */
export class PodReport {
  private readonly shown = new Set<string>()

  constructor(private readonly run: Pick<StepRun, 'pod' | 'podGone'>) {}

  show(pods: V1Pod[]): void {
    const names = new Set(pods.map((pod) => pod.metadata?.name ?? '?'))
    for (const name of this.shown) {
      if (names.has(name)) continue
      this.shown.delete(name)
      this.run.podGone(name)
    }
    for (const pod of pods) {
      const summary = summarizePod(pod)
      this.shown.add(summary.name)
      this.run.pod(summary)
    }
  }
}

/** Stop at a pod that cannot get better: waiting longer would only waste the user's time. */
export function failOnFatalPods(pods: V1Pod[]): void {
  const fatal = pods.find((pod) => isFatal(summarizePod(pod)))
  if (fatal) throw new FatalPodError(fatal)
}

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
    // The state's message is in the pod's explanation, once.
    super(`Pod ${summary.name} is failing: ${summary.reason}.`)
  }
}
