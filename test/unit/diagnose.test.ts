import {describe, expect, it} from 'vitest'

import {emptyStorageClassClaims} from '../../src/diagnose/claims.js'
import {eventsWorthShowing, missingReference} from '../../src/diagnose/explain.js'
import {containerImage, HINTS, hintFor, isFatal, summarizePod} from '../../src/diagnose/pod.js'
import type {V1ContainerStatus, V1Pod} from '../../src/kube/types.js'

function pod(overrides: {containers?: V1ContainerStatus[]; inits?: V1ContainerStatus[]; phase?: string; conditions?: NonNullable<V1Pod['status']>['conditions']; reason?: string}): V1Pod {
  const containers = overrides.containers ?? [{name: 'app', ready: true, restartCount: 0, image: 'x', imageID: '', state: {running: {}}}]
  return {
    metadata: {name: 'web-1', namespace: 'demo'},
    spec: {containers: containers.map((c) => ({name: c.name})), initContainers: overrides.inits?.map((c) => ({name: c.name}))},
    status: {phase: overrides.phase ?? 'Running', containerStatuses: containers, initContainerStatuses: overrides.inits, conditions: overrides.conditions, reason: overrides.reason},
  }
}

const waiting = (reason: string, message?: string, extra: Partial<V1ContainerStatus> = {}): V1ContainerStatus => ({
  name: 'app',
  ready: false,
  restartCount: 0,
  image: 'x',
  imageID: '',
  state: {waiting: {reason, message}},
  ...extra,
})

describe('pod diagnosis', () => {
  it('reads a healthy pod as Running and ready', () => {
    const summary = summarizePod(pod({}))
    expect(summary).toMatchObject({status: 'Running', ready: 1, total: 1, restarts: 0})
    expect(summary.reason).toBeUndefined()
  })

  // One row per reason in the hint table: the state that produces it, and whether it is fatal.
  const cases: Array<[string, V1Pod, boolean]> = [
    ['ErrImagePull', pod({containers: [waiting('ErrImagePull', 'pull access denied')]}), true],
    ['ImagePullBackOff', pod({containers: [waiting('ImagePullBackOff', 'Back-off pulling image "nope:1"')]}), true],
    ['InvalidImageName', pod({containers: [waiting('InvalidImageName')]}), true],
    ['CreateContainerConfigError', pod({containers: [waiting('CreateContainerConfigError', 'secret "db" not found')]}), true],
    ['CreateContainerError', pod({containers: [waiting('CreateContainerError')]}), true],
    ['RunContainerError', pod({containers: [waiting('RunContainerError')]}), true],
    ['CrashLoopBackOff', pod({containers: [waiting('CrashLoopBackOff', 'back-off 10s', {restartCount: 3, lastState: {terminated: {exitCode: 1, reason: 'Error'}}})]}), true],
    ['OOMKilled', pod({containers: [waiting('CrashLoopBackOff', 'back-off', {restartCount: 2, lastState: {terminated: {exitCode: 137, reason: 'OOMKilled'}}})]}), true],
    ['Error', pod({phase: 'Failed', containers: [{name: 'app', ready: false, restartCount: 0, image: 'x', imageID: '', state: {terminated: {exitCode: 2, reason: 'Error'}}}]}), false],
    [
      'Unschedulable',
      pod({phase: 'Pending', containers: [], conditions: [{type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.'}]}),
      true,
    ],
    ['NotReady', pod({containers: [{name: 'app', ready: false, started: true, restartCount: 0, image: 'x', imageID: '', state: {running: {}}}]}), false],
    ['Evicted', pod({phase: 'Failed', reason: 'Evicted'}), true],
  ]

  it.each(cases)('%s: summarized with its reason, a hint, and the right fatality', (reason, input, fatal) => {
    const summary = summarizePod(input)
    expect(summary.reason).toBe(reason)
    expect(hintFor(summary.reason)?.action).toMatch(/\w{4,}/)
    expect(isFatal(summary)).toBe(fatal)
  })

  it('has a test case for every reason it can hint at, except the ones explained elsewhere', () => {
    const explainedElsewhere = ['BackoffLimitExceeded', 'DeadlineExceeded', 'PodInitializing']
    expect(Object.keys(HINTS).sort()).toEqual([...cases.map(([reason]) => reason), ...explainedElsewhere].sort())
  })

  it("fills the placeholders it knows: the failing container's image and the k3d cluster", () => {
    const failing: V1Pod = {
      ...pod({containers: [waiting('ImagePullBackOff')]}),
      spec: {initContainers: [{name: 'migrate', image: 'app:2'}], containers: [{name: 'app', image: 'ghcr.io/acme/app:1.2.3'}]},
    }
    const summary = summarizePod(failing)
    expect(containerImage(failing, summary.container)).toBe('ghcr.io/acme/app:1.2.3')
    expect(hintFor(summary.reason, {image: containerImage(failing, summary.container), k3dCluster: 'shop'})?.action).toContain('run `k3d image import ghcr.io/acme/app:1.2.3 -c shop` or push it')
    // Unknown (an existing cluster): left as a placeholder.
    expect(hintFor('ErrImagePull', {image: 'app:1'})?.action).toContain('`k3d image import app:1 -c CLUSTER`')
  })

  it('says what to fix, never which command to run again (the failure report ends with the exact one)', () => {
    for (const hint of Object.values(HINTS)) expect(hint.action).not.toMatch(/devctl (up|upgrade)/)
  })

  it('calls a container that keeps crashing a crash loop even while it is briefly running', () => {
    const between = summarizePod(
      pod({containers: [{name: 'app', ready: false, started: true, restartCount: 5, image: 'x', imageID: '', state: {running: {}}, lastState: {terminated: {exitCode: 1, reason: 'Error'}}}]}),
    )
    expect(between).toMatchObject({reason: 'CrashLoopBackOff', message: 'restarted 5 times; last exit code 1 (Error)'})
    expect(isFatal(between)).toBe(true)
    const recovered = summarizePod(
      pod({containers: [{name: 'app', ready: true, started: true, restartCount: 5, image: 'x', imageID: '', state: {running: {}}, lastState: {terminated: {exitCode: 1}}}]}),
    )
    expect(recovered.reason).toBeUndefined()
  })

  it('does not call a first crash fatal: a dependency may still be warming up', () => {
    const once = summarizePod(pod({containers: [waiting('CrashLoopBackOff', 'back-off 10s', {restartCount: 1})]}))
    expect(once.reason).toBe('CrashLoopBackOff')
    expect(isFatal(once)).toBe(false)
  })

  it('shows init progress like kubectl, and init failures as Init:<reason>', () => {
    const running = pod({phase: 'Pending', inits: [{name: 'migrate', ready: false, restartCount: 0, image: 'x', imageID: '', state: {running: {}}}], containers: [waiting('PodInitializing')]})
    expect(summarizePod(running).status).toBe('Init:0/1')
    const crashing = pod({phase: 'Pending', inits: [{...waiting('CrashLoopBackOff', 'back-off', {restartCount: 3}), name: 'migrate'}], containers: [waiting('PodInitializing')]})
    expect(summarizePod(crashing)).toMatchObject({status: 'Init:CrashLoopBackOff', reason: 'CrashLoopBackOff', container: 'migrate'})
  })

  it('names the exact missing Secret or key of a CreateContainerConfigError', () => {
    expect(missingReference('secret "devctl-postgres" not found')).toBe('Secret "devctl-postgres" does not exist')
    expect(missingReference("couldn't find key PGPASSWORD in Secret demo/devctl-postgres")).toBe('key "PGPASSWORD" is missing from Secret devctl-postgres (namespace demo)')
    expect(missingReference('configmap "settings" not found')).toBe('ConfigMap "settings" does not exist')
    expect(missingReference('something else')).toBeUndefined()
  })

  it("shows only the events that add to the pod's state: each fact once", () => {
    const registry =
      'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/busybox:does-not-exist": failed to resolve reference "docker.io/library/busybox:does-not-exist": not found'
    const pulling = summarizePod(pod({containers: [waiting('ImagePullBackOff', `Back-off pulling image "busybox:does-not-exist": ErrImagePull: ${registry}`)]}))
    const event = (type: string, reason: string, message: string) => ({metadata: {}, involvedObject: {}, type, reason, message})
    const events = [
      event('Normal', 'Pulling', 'Pulling image "busybox:does-not-exist"'),
      event('Warning', 'Failed', `Failed to pull image "busybox:does-not-exist": ${registry}`),
      event('Warning', 'Failed', 'Error: ErrImagePull'),
      event('Normal', 'BackOff', 'Back-off pulling image "busybox:does-not-exist"'),
      event('Warning', 'Failed', 'Error: ImagePullBackOff'),
      event('Warning', 'FailedMount', 'MountVolume.SetUp failed for volume "certs" : secret "tls" not found'),
    ]
    expect(eventsWorthShowing(events, pulling).map((e) => e.reason)).toEqual(['FailedMount'])
    // The kubelet alternates ErrImagePull and ImagePullBackOff: the other one's event restates the state.
    const pullError = summarizePod(pod({containers: [waiting('ErrImagePull', registry)]}))
    expect(eventsWorthShowing(events, pullError).map((e) => e.reason)).toEqual(['FailedMount'])
    const notReady = summarizePod(pod({containers: [{name: 'app', ready: false, started: true, restartCount: 0, image: 'x', imageID: '', state: {running: {}}}]}))
    expect(eventsWorthShowing([event('Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503')], notReady)).toHaveLength(1)
    const crashing = summarizePod(pod({containers: [waiting('CrashLoopBackOff', 'back-off 40s restarting failed container=app', {restartCount: 3})]}))
    expect(eventsWorthShowing([event('Warning', 'BackOff', 'Back-off restarting failed container app in pod web-1')], crashing)).toEqual([])
  })
})

describe('a claim helm cannot upgrade', () => {
  const claim = (name: string, spec: object) => ({apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: {name}, spec: {accessModes: ['ReadWriteOnce'], ...spec}})
  const refused = (name: string) =>
    `cannot patch "${name}" with kind PersistentVolumeClaim: PersistentVolumeClaim "${name}" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims`
  const again = 'run `devctl up` again'

  it('names the claims the chart renders with an empty storageClassName, and the class to set', () => {
    const objects = [claim('m-assets', {storageClassName: null}), claim('m-system', {storageClassName: ''}), claim('m-other', {storageClassName: null})]
    const found = emptyStorageClassClaims([`UPGRADE FAILED: ${refused('m-assets')} && ${refused('m-system')}`], objects, again)
    expect(found?.detail).toMatch(/^PersistentVolumeClaims m-assets, m-system: the chart renders storageClassName empty, the cluster gave each claim its default class/)
    expect(found?.hint).toBe(
      "Set the chart's storage class value for PersistentVolumeClaims m-assets, m-system to the class they have (local-path on k3d; `kubectl get pvc` shows it) in your values file, then run `devctl up` again.",
    )
  })

  it('says nothing about a claim that names its class, leaves it out, or was not refused', () => {
    expect(emptyStorageClassClaims([refused('a')], [claim('a', {storageClassName: 'local-path'})], again)).toBeUndefined()
    // Left out (not rendered at all): helm's patch does not touch what the cluster filled in.
    expect(emptyStorageClassClaims([refused('a')], [claim('a', {})], again)).toBeUndefined()
    expect(emptyStorageClassClaims(['UPGRADE FAILED: something else'], [claim('a', {storageClassName: null})], again)).toBeUndefined()
  })
})
