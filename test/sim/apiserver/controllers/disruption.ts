/** PodDisruptionBudgets: how many selected pods are healthy, and so how many may be disrupted. */
import type {ClusterApi} from '../api.js'
import {clone} from '../json.js'
import type {ResourceType} from '../resources.js'
import {labelsMatch, selectorFromSpec, type LabelSelectorSpec} from '../selectors.js'
import type {Change} from '../store.js'
import type {Pod} from '../types.js'
import type {Controller} from './runtime.js'
import {intOrPercent, isActive, isReady, keyOf, setCondition, splitKey} from './support.js'

export class DisruptionController implements Controller {
  readonly name = 'disruption-controller'

  constructor(
    private readonly api: ClusterApi,
    private readonly types: {budget: ResourceType; pod: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.budget.storage) return [keyOf(change.object)]
    if (change.storage !== this.types.pod.storage) return []
    return this.api.list(this.types.budget, change.object.metadata.namespace).map(keyOf)
  }

  reconcile(key: string): void {
    if (key === '*') {
      for (const budget of this.api.list(this.types.budget, undefined)) this.reconcile(keyOf(budget))
      return
    }
    const [namespace, name] = splitKey(key)
    const budget = this.api.find(this.types.budget, namespace, name)
    if (!budget || budget.metadata.deletionTimestamp !== undefined) return
    const spec = (budget.spec ?? {}) as {selector?: LabelSelectorSpec; minAvailable?: number | string; maxUnavailable?: number | string}
    const selector = selectorFromSpec(spec.selector)
    const pods = (this.api.list(this.types.pod, namespace) as Pod[]).filter((pod) => isActive(pod) && labelsMatch(selector, pod.metadata.labels))
    const expected = pods.length
    const healthy = pods.filter(isReady).length
    const desired = spec.minAvailable !== undefined ? intOrPercent(spec.minAvailable, expected, true, 0) : Math.max(0, expected - intOrPercent(spec.maxUnavailable, expected, true, 0))
    const allowed = Math.max(0, healthy - desired)
    const now = this.api.now().replace(/\.\d+Z$/, 'Z')
    const next = clone(budget)
    const before = (budget.status ?? {}) as {conditions?: []}
    next.status = {
      observedGeneration: budget.metadata.generation,
      currentHealthy: healthy,
      desiredHealthy: desired,
      disruptionsAllowed: allowed,
      expectedPods: expected,
      conditions: setCondition(
        before.conditions,
        allowed > 0 ? {type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: ''} : {type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: ''},
        now,
      ),
    }
    this.api.writeInternal(this.types.budget, next)
  }
}
