/**
 * Deployments: one ReplicaSet per pod template (named by its pod-template-hash, numbered by the
 * revision annotation), rolling updates within maxSurge/maxUnavailable or Recreate, and the
 * status and conditions `kubectl rollout status` reads, including ProgressDeadlineExceeded.
 */
import type {ClusterApi} from '../api.js'
import type {EventRecorder} from '../events.js'
import {clone, jsonEqual} from '../json.js'
import type {ResourceType} from '../resources.js'
import type {Change} from '../store.js'
import type {Condition, Deployment, ReplicaSet} from '../types.js'
import type {Controller, ControllerRuntime} from './runtime.js'
import {annotation, controllerOf, controllerReference, controlledPods, intOrPercent, keyOf, ownerKeys, setCondition, splitKey, templateHash, templateWithoutHash, withoutZeros} from './support.js'

const source = {component: 'deployment-controller'}
const revisionKey = 'deployment.kubernetes.io/revision'

function revisionOf(replicaSet: ReplicaSet): number {
  return Number(annotation(replicaSet, revisionKey) ?? 0)
}

function replicasOf(replicaSet: ReplicaSet): number {
  return replicaSet.spec.replicas ?? 0
}

export class DeploymentController implements Controller {
  readonly name = 'deployment-controller'
  /** Wall-clock ms of the last progress per deployment uid, for progressDeadlineSeconds. */
  private readonly lastProgress = new Map<string, number>()

  constructor(
    private readonly api: ClusterApi,
    private readonly runtime: ControllerRuntime,
    private readonly events: EventRecorder,
    private readonly types: {deployment: ResourceType; replicaSet: ResourceType; pod: ResourceType},
  ) {}

  keysFor(change: Change): string[] {
    if (change.storage === this.types.deployment.storage) return [keyOf(change.object)]
    if (change.storage === this.types.replicaSet.storage) {
      const owner = controllerOf(change.object) ?? (change.previous ? controllerOf(change.previous) : undefined)
      return owner?.kind === 'Deployment' ? [`${change.object.metadata.namespace ?? ''}/${owner.name}`] : []
    }
    // Recreate starts the new pods once the old ones are gone, and a Terminating pod's final removal
    // changes no ReplicaSet status: like kube-controller-manager's deletePod handler, tell its Deployment.
    if (change.storage === this.types.pod.storage && change.type === 'DELETED') {
      const namespace = change.object.metadata.namespace ?? ''
      return ownerKeys(change, this.types.pod.storage, 'ReplicaSet').flatMap((key) => {
        const replicaSet = this.api.find(this.types.replicaSet, namespace, splitKey(key)[1]) as ReplicaSet | undefined
        const owner = replicaSet && controllerOf(replicaSet)
        return owner?.kind === 'Deployment' ? [`${namespace}/${owner.name}`] : []
      })
    }
    return []
  }

  reconcile(key: string): void {
    if (key === '*') {
      for (const deployment of this.api.list(this.types.deployment, undefined)) this.reconcile(keyOf(deployment))
      return
    }
    const [namespace, name] = splitKey(key)
    const deployment = this.api.find(this.types.deployment, namespace, name) as Deployment | undefined
    if (!deployment || deployment.metadata.deletionTimestamp !== undefined) return
    const owned = (this.api.list(this.types.replicaSet, namespace) as ReplicaSet[]).filter((rs) => controllerOf(rs)?.uid === deployment.metadata.uid && rs.metadata.deletionTimestamp === undefined)
    const template = deployment.spec.template
    let newReplicaSet = owned.find((rs) => jsonEqual(templateWithoutHash(rs.spec.template), templateWithoutHash(template)))
    const oldReplicaSets = owned.filter((rs) => rs !== newReplicaSet).sort((a, b) => revisionOf(a) - revisionOf(b))
    const maxRevision = Math.max(0, ...owned.map(revisionOf))
    const desired = deployment.spec.replicas ?? 1
    const maxSurge = intOrPercent(deployment.spec.strategy?.rollingUpdate?.maxSurge, desired, true, Math.ceil(desired * 0.25))
    let progressed = false

    if (deployment.spec.paused !== true) {
      if (!newReplicaSet) {
        newReplicaSet = this.createReplicaSet(deployment, maxRevision + 1, desired, maxSurge)
        progressed = true
      } else if (revisionOf(newReplicaSet) < maxRevision) {
        newReplicaSet = this.writeReplicaSet(newReplicaSet, (rs) => {
          rs.metadata.annotations = {...rs.metadata.annotations, [revisionKey]: String(maxRevision + 1)}
        })
      }
      if (newReplicaSet) progressed = this.rollOut(deployment, newReplicaSet, oldReplicaSets, maxSurge) || progressed
    }
    this.writeStatus(deployment, newReplicaSet, progressed)
  }

  private createReplicaSet(deployment: Deployment, revision: number, desired: number, maxSurge: number): ReplicaSet | undefined {
    const hash = templateHash(deployment.spec.template)
    const template = clone(deployment.spec.template)
    template.metadata = {...template.metadata, labels: {...template.metadata?.labels, 'pod-template-hash': hash}}
    const replicaSet: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${deployment.metadata.name}-${hash}`,
        namespace: deployment.metadata.namespace,
        labels: {...template.metadata.labels},
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(desired),
          'deployment.kubernetes.io/max-replicas': String(desired + maxSurge),
          [revisionKey]: String(revision),
        },
        ownerReferences: [controllerReference(deployment)],
      },
      spec: {
        replicas: 0,
        minReadySeconds: deployment.spec.minReadySeconds ?? 0,
        selector: {...deployment.spec.selector, matchLabels: {...deployment.spec.selector.matchLabels, 'pod-template-hash': hash}},
        template,
      },
    }
    const created = this.api.createInternal(this.types.replicaSet, replicaSet) as ReplicaSet
    this.writeDeployment(deployment, (next) => {
      next.metadata.annotations = {...next.metadata.annotations, [revisionKey]: String(revision)}
      const now = this.api.now().replace(/\.\d+Z$/, 'Z')
      next.status = {
        ...next.status,
        conditions: setCondition(
          next.status?.conditions,
          {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetCreated',
            message: `Created new replica set "${created.metadata.name}"`,
          },
          now,
          true,
        ),
      }
    })
    return created
  }

  /** Scales the new ReplicaSet up and the old ones down; returns whether anything moved. */
  private rollOut(deployment: Deployment, newReplicaSet: ReplicaSet, oldReplicaSets: ReplicaSet[], maxSurge: number): boolean {
    const desired = deployment.spec.replicas ?? 1
    const all = [newReplicaSet, ...oldReplicaSets]
    let moved = false
    const scale = (replicaSet: ReplicaSet, to: number): ReplicaSet => {
      const from = replicasOf(replicaSet)
      if (from === to) return replicaSet
      moved = true
      const updated =
        this.writeReplicaSet(replicaSet, (rs) => {
          rs.spec.replicas = to
          rs.metadata.annotations = {...rs.metadata.annotations, 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/max-replicas': String(desired + maxSurge)}
        }) ?? replicaSet
      this.events.record(deployment, {
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        message: `Scaled ${to > from ? 'up' : 'down'} replica set ${replicaSet.metadata.name} to ${to} from ${from}`,
        source,
      })
      return updated
    }

    if (deployment.spec.strategy?.type === 'Recreate') {
      for (const old of oldReplicaSets) scale(old, 0)
      const oldPods = oldReplicaSets.flatMap((rs) => controlledPods(this.api, this.types.pod, rs)).filter((pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed')
      if (oldPods.length === 0) scale(newReplicaSet, desired)
      return moved
    }

    const maxUnavailableRaw = intOrPercent(deployment.spec.strategy?.rollingUpdate?.maxUnavailable, desired, false, Math.floor(desired * 0.25))
    const maxUnavailable = maxSurge === 0 && maxUnavailableRaw === 0 ? 1 : maxUnavailableRaw
    let current = newReplicaSet
    if (replicasOf(current) > desired) current = scale(current, desired)
    else if (replicasOf(current) < desired) {
      const total = all.reduce((sum, rs) => sum + replicasOf(rs), 0)
      const room = desired + maxSurge - total
      if (room > 0) current = scale(current, replicasOf(current) + Math.min(room, desired - replicasOf(current)))
    }

    const oldTotal = oldReplicaSets.reduce((sum, rs) => sum + replicasOf(rs), 0)
    if (oldTotal === 0) return moved
    const available = (rs: ReplicaSet): number => rs.status?.availableReplicas ?? 0
    const allTotal = replicasOf(current) + oldTotal
    const minAvailable = desired - maxUnavailable
    const newUnavailable = replicasOf(current) - available(current)
    let budget = allTotal - minAvailable - newUnavailable
    // Unhealthy old pods go first: removing them costs no availability.
    for (const old of oldReplicaSets) {
      if (budget <= 0) break
      const unhealthy = replicasOf(old) - available(old)
      const cut = Math.min(unhealthy, budget)
      if (cut > 0) {
        scale(old, replicasOf(old) - cut)
        budget -= cut
      }
    }
    const liveOld = oldReplicaSets.map((old) => (this.api.find(this.types.replicaSet, old.metadata.namespace, old.metadata.name) as ReplicaSet | undefined) ?? old)
    const availableNow = available(current) + liveOld.reduce((sum, rs) => sum + Math.min(available(rs), replicasOf(rs)), 0)
    let healthyBudget = availableNow - minAvailable
    for (const old of liveOld) {
      if (healthyBudget <= 0) break
      const cut = Math.min(replicasOf(old), healthyBudget)
      if (cut > 0) {
        scale(old, replicasOf(old) - cut)
        healthyBudget -= cut
      }
    }
    this.cleanUpHistory(deployment)
    return moved
  }

  /** Keeps at most revisionHistoryLimit old, scaled-down ReplicaSets. */
  private cleanUpHistory(deployment: Deployment): void {
    const limit = deployment.spec.revisionHistoryLimit ?? 10
    const owned = (this.api.list(this.types.replicaSet, deployment.metadata.namespace) as ReplicaSet[]).filter((rs) => controllerOf(rs)?.uid === deployment.metadata.uid)
    const template = templateWithoutHash(deployment.spec.template)
    const idle = owned
      .filter((rs) => replicasOf(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !jsonEqual(templateWithoutHash(rs.spec.template), template))
      .sort((a, b) => revisionOf(a) - revisionOf(b))
    for (const old of idle.slice(0, Math.max(0, idle.length - limit))) {
      this.api.delete(this.types.replicaSet, old.metadata.namespace, old.metadata.name, {propagationPolicy: 'Background'})
    }
  }

  private writeStatus(deployment: Deployment, newReplicaSet: ReplicaSet | undefined, progressed: boolean): void {
    const namespace = deployment.metadata.namespace
    const owned = (this.api.list(this.types.replicaSet, namespace) as ReplicaSet[]).filter((rs) => controllerOf(rs)?.uid === deployment.metadata.uid)
    const fresh = newReplicaSet ? owned.find((rs) => rs.metadata.uid === newReplicaSet.metadata.uid) : undefined
    const sum = (pick: (rs: ReplicaSet) => number): number => owned.reduce((total, rs) => total + pick(rs), 0)
    const desired = deployment.spec.replicas ?? 1
    const replicas = sum((rs) => rs.status?.replicas ?? 0)
    const updated = fresh?.status?.replicas ?? 0
    const ready = sum((rs) => rs.status?.readyReplicas ?? 0)
    const availableCount = sum((rs) => rs.status?.availableReplicas ?? 0)
    const unavailable = Math.max(0, sum(replicasOf) - availableCount)
    const maxUnavailable = intOrPercent(deployment.spec.strategy?.rollingUpdate?.maxUnavailable, desired, false, Math.floor(desired * 0.25))
    const current = this.api.find(this.types.deployment, namespace, deployment.metadata.name) as Deployment | undefined
    if (!current) return
    const next = clone(current)
    const now = this.api.now().replace(/\.\d+Z$/, 'Z')
    let conditions: Condition[] | undefined = next.status?.conditions
    const minimum = deployment.spec.strategy?.type === 'Recreate' ? desired : desired - maxUnavailable
    conditions = setCondition(
      conditions,
      availableCount >= minimum
        ? {type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.'}
        : {type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.'},
      now,
      true,
    )

    const uid = deployment.metadata.uid ?? ''
    const before = next.status
    const statusMoved =
      !before ||
      before.updatedReplicas !== (updated || undefined) ||
      before.readyReplicas !== (ready || undefined) ||
      before.availableReplicas !== (availableCount || undefined) ||
      before.replicas !== (replicas || undefined)
    if (progressed || statusMoved || !this.lastProgress.has(uid)) this.lastProgress.set(uid, Date.now())
    const name = fresh?.metadata.name ?? ''
    const complete = updated === desired && replicas === updated && availableCount >= updated && (fresh ? replicasOf(fresh) === desired : false)
    const deadline = (deployment.spec.progressDeadlineSeconds ?? 600) * 1000
    const idleFor = (Date.now() - (this.lastProgress.get(uid) ?? Date.now())) / this.runtime.clock.factor
    const progressing = conditions.find((c) => c.type === 'Progressing')
    if (complete) {
      conditions = setCondition(conditions, {type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.`}, now, true)
    } else if (idleFor >= deadline && progressing?.reason !== 'NewReplicaSetAvailable') {
      conditions = setCondition(conditions, {type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.`}, now, true)
    } else if (fresh && (progressed || statusMoved || progressing?.reason === 'NewReplicaSetAvailable')) {
      const reason = progressing?.reason === 'NewReplicaSetCreated' && !statusMoved ? 'NewReplicaSetCreated' : 'ReplicaSetUpdated'
      const message = reason === 'NewReplicaSetCreated' ? `Created new replica set "${name}"` : `ReplicaSet "${name}" is progressing.`
      conditions = setCondition(conditions, {type: 'Progressing', status: 'True', reason, message}, now, true)
      if (reason === 'ReplicaSetUpdated') conditions = conditions.map((c) => (c.type === 'Progressing' ? {...c, lastUpdateTime: now} : c))
    }
    if (!complete && progressing?.reason !== 'ProgressDeadlineExceeded') this.runtime.after(Math.max(0, deadline - idleFor) + 1, this, keyOf(deployment))
    next.status = {
      ...withoutZeros({
        observedGeneration: deployment.metadata.generation,
        replicas,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: availableCount,
        unavailableReplicas: unavailable,
      }),
      conditions: [...conditions].sort((a, b) => (a.type === 'Available' ? -1 : b.type === 'Available' ? 1 : 0)),
    }
    this.api.writeInternal(this.types.deployment, next)
  }

  private writeDeployment(deployment: Deployment, edit: (next: Deployment) => void): void {
    const current = this.api.find(this.types.deployment, deployment.metadata.namespace, deployment.metadata.name)
    if (!current) return
    const next = clone(current) as Deployment
    edit(next)
    this.api.writeInternal(this.types.deployment, next)
  }

  private writeReplicaSet(replicaSet: ReplicaSet, edit: (next: ReplicaSet) => void): ReplicaSet | undefined {
    const current = this.api.find(this.types.replicaSet, replicaSet.metadata.namespace, replicaSet.metadata.name)
    if (!current) return undefined
    const next = clone(current) as ReplicaSet
    edit(next)
    return this.api.writeInternal(this.types.replicaSet, next) as ReplicaSet | undefined
  }
}
