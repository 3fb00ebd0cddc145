/**
 * Which pods decide a rollout: the current revision's only, as `kubectl rollout status` judges
 * it — never the old ReplicaSet's pod that is still failing while the new one starts, nor one
 * that is terminating — and what a pod line's mark says.
 */
import {describe, expect, it} from 'vitest'

import {summarizePod} from '../../src/diagnose/pod.js'
import {newReplicaSet, rolloutOf, revisionPods} from '../../src/kube/readiness.js'
import type {V1DaemonSet, V1Deployment, V1Pod, V1ReplicaSet, V1StatefulSet} from '../../src/kube/types.js'
import {podMark} from '../../src/ui/progress.js'

const template = (image: string) => ({metadata: {labels: {app: 'web'}}, spec: {containers: [{name: 'app', image}]}})

function deployment(image: string, status: NonNullable<V1Deployment['status']>, generation = 2): V1Deployment {
  return {metadata: {name: 'web', uid: 'd1', generation}, spec: {replicas: 1, selector: {matchLabels: {app: 'web'}}, template: template(image)}, status}
}

function replicaSet(name: string, image: string, revision: number): V1ReplicaSet {
  const t = template(image)
  return {
    metadata: {
      name,
      uid: name,
      annotations: {'deployment.kubernetes.io/revision': String(revision)},
      ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true}],
    },
    spec: {selector: {matchLabels: {app: 'web', 'pod-template-hash': name}}, template: {...t, metadata: {labels: {...t.metadata.labels, 'pod-template-hash': name}}}},
  }
}

function pod(name: string, owner: {kind: string; uid: string}, state: {ready?: boolean; waiting?: string; deleting?: boolean; labels?: Record<string, string>} = {}): V1Pod {
  return {
    metadata: {
      name,
      uid: name,
      labels: {app: 'web', ...state.labels},
      ownerReferences: [{apiVersion: 'apps/v1', kind: owner.kind, name: owner.uid, uid: owner.uid, controller: true}],
      ...(state.deleting ? {deletionTimestamp: new Date()} : {}),
    },
    spec: {containers: [{name: 'app', image: 'x'}]},
    status: {
      phase: state.waiting ? 'Pending' : 'Running',
      conditions: [{type: 'Ready', status: state.ready ? 'True' : 'False'}],
      containerStatuses: [{name: 'app', image: 'x', imageID: '', ready: Boolean(state.ready), restartCount: 0, state: state.waiting ? {waiting: {reason: state.waiting}} : {running: {}}}],
    },
  }
}

describe('the current revision decides a rollout', () => {
  // A failed first install (image does-not-exist), then fixed: the old ReplicaSet's pod still pulls in vain while the new one starts.
  const broken = replicaSet('rs-broken', 'busybox:does-not-exist', 1)
  const fixed = replicaSet('rs-fixed', 'busybox:1.37.0', 2)
  const oldPod = pod('web-broken', {kind: 'ReplicaSet', uid: 'rs-broken'}, {waiting: 'ImagePullBackOff'})
  const newPod = pod('web-fixed', {kind: 'ReplicaSet', uid: 'rs-fixed'}, {waiting: 'ContainerCreating'})
  const rolling = deployment('busybox:1.37.0', {observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 0})

  it("finds a Deployment's new ReplicaSet by its pod template, and none before it exists", () => {
    expect(newReplicaSet(rolling, [broken, fixed])?.metadata?.name).toBe('rs-fixed')
    expect(newReplicaSet(rolling, [broken])).toBeUndefined()
  })

  it("splits the pods: the old ReplicaSet's failing pod is old, the starting one current", () => {
    const split = revisionPods('Deployment', rolling, [oldPod, newPod], [broken, fixed])
    expect(split.current.map((p) => p.metadata?.name)).toEqual(['web-fixed'])
    expect(split.old.map((p) => p.metadata?.name)).toEqual(['web-broken'])
  })

  it('calls no pod current until the controller has observed the change (a new ReplicaSet may not exist yet)', () => {
    const unseen = deployment('busybox:1.37.0', {observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0})
    expect(revisionPods('Deployment', unseen, [oldPod], [broken]).current).toEqual([])
  })

  it('says old replicas are terminating only when they are', () => {
    expect(rolloutOf('Deployment', rolling, [oldPod, newPod], [broken, fixed]).detail).toBe('0/1 of the new revision ready; 1 old replica kept until then')
    const leaving = pod('web-broken', {kind: 'ReplicaSet', uid: 'rs-broken'}, {deleting: true})
    const ready = pod('web-fixed', {kind: 'ReplicaSet', uid: 'rs-fixed'}, {ready: true})
    const finishing = deployment('busybox:1.37.0', {observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1})
    expect(rolloutOf('Deployment', finishing, [leaving, ready], [broken, fixed]).detail).toBe('1/1 of the new revision ready; 1 old replica terminating')
    const done = deployment('busybox:1.37.0', {observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1})
    expect(rolloutOf('Deployment', done, [leaving, ready], [broken, fixed])).toMatchObject({ready: true, detail: '1/1 ready'})
  })

  it('judges a rollback on the revision it brings back: the renumbered old ReplicaSet', () => {
    // helm rollback restores the first template; the controller renumbers its ReplicaSet 3.
    const back = deployment('busybox:1.37.0', {observedGeneration: 3, replicas: 2, updatedReplicas: 1, availableReplicas: 1}, 3)
    const good = replicaSet('rs-good', 'busybox:1.37.0', 3)
    const crashing = replicaSet('rs-crash', 'busybox:crash', 2)
    const split = revisionPods(
      'Deployment',
      back,
      [pod('web-good', {kind: 'ReplicaSet', uid: 'rs-good'}, {ready: true}), pod('web-crash', {kind: 'ReplicaSet', uid: 'rs-crash'}, {waiting: 'CrashLoopBackOff'})],
      [good, crashing],
    )
    expect(split.current.map((p) => p.metadata?.name)).toEqual(['web-good'])
  })

  it("takes a StatefulSet's pods at its updateRevision and a DaemonSet's at its generation", () => {
    const set: V1StatefulSet = {
      metadata: {name: 'db', uid: 's1', generation: 2},
      spec: {selector: {}, serviceName: 'db', template: {}},
      status: {observedGeneration: 2, replicas: 1, updateRevision: 'db-2', currentRevision: 'db-1'},
    }
    const setPods = [
      pod('db-0', {kind: 'StatefulSet', uid: 's1'}, {labels: {'controller-revision-hash': 'db-1'}}),
      pod('db-1', {kind: 'StatefulSet', uid: 's1'}, {labels: {'controller-revision-hash': 'db-2'}}),
    ]
    expect(revisionPods('StatefulSet', set, setPods, []).current.map((p) => p.metadata?.name)).toEqual(['db-1'])
    const daemon: V1DaemonSet = {
      metadata: {name: 'agent', uid: 'ds1', generation: 4},
      spec: {selector: {}, template: {}},
      status: {observedGeneration: 4, currentNumberScheduled: 1, desiredNumberScheduled: 1, numberMisscheduled: 0, numberReady: 0},
    }
    const daemonPods = [
      pod('agent-a', {kind: 'DaemonSet', uid: 'ds1'}, {labels: {'pod-template-generation': '3'}}),
      pod('agent-b', {kind: 'DaemonSet', uid: 'ds1'}, {labels: {'pod-template-generation': '4'}}),
    ]
    expect(revisionPods('DaemonSet', daemon, daemonPods, []).current.map((p) => p.metadata?.name)).toEqual(['agent-b'])
  })
})

describe('pod marks', () => {
  const jobPod = (phase: string, ready: boolean, terminated?: {exitCode: number; reason?: string}): V1Pod => ({
    metadata: {name: 'migrate-x'},
    spec: {restartPolicy: 'Never', containers: [{name: 'migrate', image: 'x'}]},
    status: {phase, containerStatuses: [{name: 'migrate', image: 'x', imageID: '', ready, restartCount: 0, state: terminated ? {terminated} : {running: {}}}]},
  })

  it('does not mark a running migration pod done: only a completed one gets ✔', () => {
    expect(podMark(summarizePod(jobPod('Running', true)))).toBe('…')
    expect(podMark(summarizePod(jobPod('Succeeded', false, {exitCode: 0, reason: 'Completed'})))).toBe('✔')
    expect(podMark(summarizePod(jobPod('Failed', false, {exitCode: 1, reason: 'Error'})))).toBe('✖')
  })

  it('marks a serving pod ✔ when ready, … while starting, ✖ when failing, ↓ when terminating', () => {
    expect(podMark(summarizePod(pod('a', {kind: 'ReplicaSet', uid: 'r'}, {ready: true})))).toBe('✔')
    expect(podMark(summarizePod(pod('a', {kind: 'ReplicaSet', uid: 'r'}, {waiting: 'ContainerCreating'})))).toBe('…')
    expect(podMark(summarizePod(pod('a', {kind: 'ReplicaSet', uid: 'r'}, {waiting: 'ImagePullBackOff'})))).toBe('✖')
    expect(podMark(summarizePod(pod('a', {kind: 'ReplicaSet', uid: 'r'}, {ready: true, deleting: true})))).toBe('↓')
  })
})
