/**
 * A fake environment for the workflows' unit tests: a Kubernetes API holding objects (every
 * change devctl asks for is recorded, in order), helm releases kept as helm keeps them (Secrets
 * labelled owner=helm, the payload gzipped JSON), and stand-ins for the helm, k3d and docker
 * processes that record each call. A project directory with devctl.yaml, values and a chart
 * goes with it, so the workflows read real files.
 */
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {FINGERPRINT_LABEL} from '../../src/chart/fingerprint.js'
import {userValues} from '../../src/chart/values-diff.js'
import {loadConfig, type LoadedConfig} from '../../src/config/load.js'
import {ApiRefusedError} from '../../src/kube/api-failure.js'
import type {KubeClient, ListOptions, WatchEvent} from '../../src/kube/client.js'
import type {KindName, KindObject, KubernetesObject} from '../../src/kube/types.js'
import type {InstallOptions, ReleaseRef} from '../../src/tools/helm.js'
import type {K3dCluster} from '../../src/tools/k3d.js'
import type {Connection} from '../../src/workflows/connect.js'
import type {Emit, WorkflowEvent} from '../../src/workflows/events.js'
import type {StepRun} from '../../src/workflows/pipeline.js'
import type {Confirm, KubeModule, RunControls, Tools} from '../../src/workflows/project.js'
import {tempDir} from '../helpers/cli.js'

type Listener = (event: WatchEvent, object: KubernetesObject) => void

/** `a=b,c=d`: every pair must match (the only selectors devctl sends). */
function selects(selector: string | undefined, object: KubernetesObject): boolean {
  if (!selector) return true
  return selector.split(',').every((pair) => {
    const [key, value] = pair.split('=')
    return object.metadata?.labels?.[key!] === value
  })
}

export class FakeKube {
  /** Every change devctl asked for, in order: `apply Secret demo/devctl-redis`, `delete Namespace demo`. */
  readonly writes: string[] = []
  /** Kinds this account may not read (a 403), as a namespace-scoped account may not read Namespaces. */
  readonly forbidden = new Set<KindName>()
  private readonly objects = new Map<string, KubernetesObject>()
  private readonly watchers = new Map<string, Set<Listener>>()
  private resourceVersion = 1

  // --- the test's side ------------------------------------------------------------------

  /** An object that is there already (not a change devctl made). */
  put<K extends KindName>(kind: K, object: KindObject<K>): void {
    this.store(kind, {...object, kind})
  }

  /** Gone without devctl asking for it (helm removed it). */
  forget(kind: KindName, namespace: string | undefined, name: string): void {
    const object = this.find(kind, namespace, name)
    if (!object) return
    this.objects.delete(key(kind, namespace, name))
    this.notify(kind, 'delete', object)
  }

  find<K extends KindName>(kind: K, namespace: string | undefined, name: string): KindObject<K> | undefined {
    return this.objects.get(key(kind, namespace, name)) as KindObject<K> | undefined
  }

  names(kind: KindName, namespace?: string): string[] {
    return [...this.objects.values()].filter((o) => o.kind === kind && o.metadata?.namespace === namespace).map((o) => o.metadata!.name!)
  }

  /** A revision of `release` as helm stores it: Secret sh.helm.release.v1.<release>.v<N>. */
  putRevision(namespace: string, release: string, revision: number, status: string, options: {fingerprint?: string; chart?: {name: string; version: string}} = {}): void {
    const payload = {name: release, version: revision, info: {status, description: status}, chart: options.chart ? {metadata: options.chart} : undefined}
    // The API's base64 around helm's own base64 of the gzipped JSON.
    const stored = Buffer.from(gzipSync(JSON.stringify(payload)).toString('base64')).toString('base64')
    this.put('Secret', {
      metadata: {
        name: `sh.helm.release.v1.${release}.v${revision}`,
        namespace,
        labels: {owner: 'helm', name: release, status, version: String(revision), ...(options.fingerprint ? {[FINGERPRINT_LABEL]: options.fingerprint} : {})},
      },
      type: 'helm.sh/release.v1',
      data: {release: stored},
    })
  }

  /** The release's revisions, oldest first, as `revision status`. */
  revisions(namespace: string, release: string): string[] {
    return this.releaseSecrets(namespace, release).map((s) => `${s.metadata!.labels!.version} ${s.metadata!.labels!.status}`)
  }

  releaseSecrets(namespace: string, release: string): KubernetesObject[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === 'Secret' && o.metadata?.namespace === namespace && selects(`owner=helm,name=${release}`, o))
      .sort((a, b) => Number(a.metadata!.labels!.version) - Number(b.metadata!.labels!.version))
  }

  /** This fake as the client the workflows take. */
  get client(): KubeClient {
    return this as unknown as KubeClient
  }

  /** The module devctl loads lazily, connecting every client to this API. */
  module(): Promise<KubeModule> {
    return Promise.resolve({KubeClient: {connect: () => this}} as unknown as KubeModule)
  }

  // --- the KubeClient calls workflows make ----------------------------------------------

  onRetry(): () => void {
    return () => {}
  }

  async get<K extends KindName>(kind: K, namespace: string | undefined, name: string): Promise<KindObject<K> | undefined> {
    this.refuseIfForbidden(kind, 'get', namespace, name)
    return structuredClone(this.find(kind, namespace, name))
  }

  async list<K extends KindName>(kind: K, namespace: string | undefined, options: ListOptions = {}): Promise<Array<KindObject<K>>> {
    this.refuseIfForbidden(kind, 'list', namespace)
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (namespace === undefined || o.metadata?.namespace === namespace) && selects(options.labelSelector, o))
      .map((o) => structuredClone(o) as KindObject<K>)
  }

  async apply<T extends KubernetesObject>(object: T): Promise<T> {
    this.writes.push(`apply ${describe(object.kind!, object.metadata?.namespace, object.metadata!.name!)}`)
    return this.store(object.kind as KindName, object) as T
  }

  async create<K extends KindName>(kind: K, object: KindObject<K>): Promise<KindObject<K> | undefined> {
    this.writes.push(`create ${describe(kind, object.metadata?.namespace, object.metadata!.name!)}`)
    if (this.find(kind, object.metadata?.namespace, object.metadata!.name!)) return undefined
    return this.store(kind, {...object, kind}) as KindObject<K>
  }

  async replace<K extends KindName>(kind: K, object: KindObject<K>): Promise<KindObject<K> | undefined> {
    this.writes.push(`replace ${describe(kind, object.metadata?.namespace, object.metadata!.name!)}`)
    const current = this.find(kind, object.metadata?.namespace, object.metadata!.name!)
    if (current?.metadata?.resourceVersion !== object.metadata?.resourceVersion) return undefined
    return this.store(kind, {...object, kind}) as KindObject<K>
  }

  async delete(kind: KindName, namespace: string | undefined, name: string): Promise<boolean> {
    this.writes.push(`delete ${describe(kind, namespace, name)}`)
    const object = this.find(kind, namespace, name)
    if (!object) return false
    this.objects.delete(key(kind, namespace, name))
    // A namespace takes what is in it along.
    if (kind === 'Namespace') for (const [k, o] of this.objects) if (o.metadata?.namespace === name) this.objects.delete(k)
    this.notify(kind, 'delete', object)
    return true
  }

  async watch<K extends KindName, T extends KubernetesObject = KindObject<K>>(
    kind: K,
    namespace: string | undefined,
    _options: ListOptions,
    onChange: (event: WatchEvent, object: T) => void,
    signal: AbortSignal,
  ): Promise<void> {
    for (const object of await this.list(kind, namespace)) onChange('add', object as unknown as T)
    const listeners = this.watchers.get(kind) ?? new Set()
    this.watchers.set(kind, listeners)
    const listener = onChange as Listener
    listeners.add(listener)
    signal.addEventListener('abort', () => listeners.delete(listener), {once: true})
  }

  // --- internals ------------------------------------------------------------------------

  private store(kind: KindName, object: KubernetesObject): KubernetesObject {
    const name = object.metadata!.name!
    const existed = this.find(kind, object.metadata?.namespace, name)
    const stored = structuredClone({...object, kind, metadata: {...object.metadata, resourceVersion: String(++this.resourceVersion)}})
    this.objects.set(key(kind, object.metadata?.namespace, name), stored)
    this.notify(kind, existed ? 'update' : 'add', stored)
    return structuredClone(stored)
  }

  private notify(kind: KindName, event: WatchEvent, object: KubernetesObject): void {
    for (const listener of this.watchers.get(kind) ?? []) listener(event, structuredClone(object))
  }

  private refuseIfForbidden(kind: KindName, verb: string, namespace?: string, name?: string): void {
    if (!this.forbidden.has(kind)) return
    throw new ApiRefusedError(`${kind} ${name ?? ''}: forbidden`, 403, {verb, resource: `${kind.toLowerCase()}s`, group: '', namespace, name})
  }
}

function key(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`
}

function describe(kind: string, namespace: string | undefined, name: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`
}

/** helm as a process would be: each call that renders or changes something recorded (`template`, `upgrade --install demo`); releases kept in the fake API. */
export class FakeHelm {
  readonly calls: string[] = []
  /** What `helm template` renders. */
  manifests = ''
  /** The chart's own defaults (`helm show values`). */
  defaults: Record<string, unknown> = {}
  /** The values each revision was given, by revision. */
  readonly suppliedValues = new Map<number, Record<string, unknown>>()

  constructor(private readonly kube: FakeKube) {}

  async version(): Promise<{version: string; major: number}> {
    return {version: '3.17.2', major: 3}
  }

  async template(): Promise<string> {
    this.calls.push('template')
    return this.manifests
  }

  /** `helm upgrade --dry-run` of the installed release: what its next revision renders. */
  async renderUpgrade(): Promise<string> {
    this.calls.push('upgrade --dry-run')
    return this.manifests
  }

  async showValues(): Promise<Record<string, unknown>> {
    return structuredClone(this.defaults)
  }

  async getValues(ref: ReleaseRef & {revision?: number; all?: boolean}): Promise<Record<string, unknown>> {
    const supplied = this.suppliedValues.get(ref.revision ?? Number(this.kube.revisions(ref.namespace, ref.release).at(-1)?.split(' ')[0])) ?? {}
    return structuredClone(ref.all ? {...this.defaults, ...supplied} : supplied)
  }

  async upgradeInstall(options: InstallOptions): Promise<void> {
    this.calls.push(`upgrade --install ${options.release}`)
    const last = this.kube.releaseSecrets(options.namespace, options.release).at(-1)
    const revision = Number(last?.metadata?.labels?.version ?? 0) + 1
    if (last) this.kube.putRevision(options.namespace, options.release, revision - 1, 'superseded')
    this.kube.putRevision(options.namespace, options.release, revision, 'deployed', {fingerprint: options.labels?.[FINGERPRINT_LABEL]})
    this.suppliedValues.set(revision, await userValues(options.valuesFiles, options.set))
  }

  async uninstall(ref: ReleaseRef): Promise<boolean> {
    this.calls.push(`uninstall ${ref.release}`)
    const secrets = this.kube.releaseSecrets(ref.namespace, ref.release)
    for (const secret of secrets) this.kube.forget('Secret', ref.namespace, secret.metadata!.name!)
    return secrets.length > 0
  }

  async rollback(ref: ReleaseRef & {revision: number}): Promise<void> {
    this.calls.push(`rollback ${ref.release} ${ref.revision}`)
  }
}

export interface FakeK3dCluster {
  running: boolean
  /** The cluster's owner mark (its nodes' runtime labels). */
  labels?: Record<string, string>
}

/** k3d as a process would be: clusters by name, every change recorded (`delete demo`, `stop demo`). */
export class FakeK3d {
  readonly calls: string[] = []
  readonly clusters = new Map<string, FakeK3dCluster>()

  async version(): Promise<string> {
    return '5.8.3'
  }

  async find(name: string): Promise<K3dCluster | undefined> {
    const cluster = this.clusters.get(name)
    return cluster && {name, running: cluster.running, servers: 1, agents: 0, labels: cluster.labels ?? {}}
  }

  async stop(name: string): Promise<void> {
    this.calls.push(`stop ${name}`)
    this.clusters.get(name)!.running = false
  }

  async delete(name: string): Promise<void> {
    this.calls.push(`delete ${name}`)
    this.clusters.delete(name)
  }

  async kubeconfig(name: string): Promise<string> {
    return `apiVersion: v1\nkind: Config\ncurrent-context: k3d-${name}\n`
  }
}

/** The fake API, helm and k3d together, as a project's tools see them. */
export class FakeEnvironment {
  readonly kube = new FakeKube()
  readonly helm = new FakeHelm(this.kube)
  readonly k3d = new FakeK3d()
  readonly events: WorkflowEvent[] = []
  /** The questions a workflow asked, and the answers given (in order; none left: no). */
  readonly questions: string[] = []
  readonly answers: boolean[] = []

  get tools(): Tools {
    return {helm: this.helm, k3d: this.k3d, docker: {info: async () => ({})}} as unknown as Tools
  }

  /** What a command hands a workflow, connected to this fake. */
  controls(): RunControls {
    const confirm: Confirm = async (question) => {
      this.questions.push(question.message)
      return this.answers.shift() ?? false
    }
    const emit: Emit = (event) => this.events.push(event)
    return {emit, signal: new AbortController().signal, forceSignal: new AbortController().signal, kubeModule: this.kube.module(), confirm, recoverConsent: confirm}
  }

  /** A connection to the fake API, as a step takes it. */
  connection(): Connection {
    return {kube: this.kube.client, kubeTarget: {context: 'fake'}}
  }

  /** The steps that started, by id, in order. */
  stepsStarted(): string[] {
    return this.events.flatMap((event) => (event.type === 'step:start' ? [event.step] : []))
  }
}

/**
 * A project directory: devctl.yaml (`apiVersion` and `project`, then `devctlYaml`),
 * values.dev.yaml and a local chart web 0.1.0, loaded as a command would load it.
 */
export async function fakeProject(devctlYaml: string, project = 'demo'): Promise<LoadedConfig> {
  const dir = await tempDir('devctl-workflow-')
  await mkdir(join(dir, 'chart'))
  await writeFile(join(dir, 'chart', 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 0.1.0\n')
  await writeFile(join(dir, 'chart', 'values.yaml'), 'replicaCount: 1\n')
  await writeFile(join(dir, 'values.dev.yaml'), 'replicaCount: 1\n')
  await writeFile(join(dir, 'devctl.yaml'), `apiVersion: devctl.dev/v1\nproject: ${project}\n${devctlYaml}`)
  return loadConfig(join(dir, 'devctl.yaml'))
}

/** A step's run outside a pipeline: what the step said (titles, notes, warnings) is kept to read. */
export function recordingRun(): StepRun & {titles: string[]; notes: string[]; warnings: string[]} {
  const signal = new AbortController().signal
  const said = {titles: [] as string[], notes: [] as string[], warnings: [] as string[]}
  return {
    ...said,
    id: 'test',
    signal,
    mustFinishSignal: signal,
    title: (title) => said.titles.push(title),
    note: (message) => said.notes.push(message),
    warn: (message) => said.warnings.push(message),
    log: () => {},
    pod: () => {},
    podGone: () => {},
    skip: () => {},
  }
}
