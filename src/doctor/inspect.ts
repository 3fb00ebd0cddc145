/**
 * Everything doctor looks at, gathered once and side by side: tool versions, the Docker daemon,
 * devctl.yaml and the files it names, the cluster, host ports, disk space, the kube API. The
 * checks (checks.ts) only judge these facts, so each check is a pure function tested on its own.
 */
import {stat, statfs} from 'node:fs/promises'
import {resolve} from 'node:path'

import {findConfigFile, loadConfig, type LoadedConfig} from '../config/load.js'
import {readValuesFile} from '../config/yaml-file.js'
import {ClusterError, ConfigError, DevctlError, isAbortError} from '../errors.js'
import {missingPasswords} from '../secrets/store.js'
import {portsToBind, probeHostPorts, type ClusterBinding, type HostPortProbe} from '../cluster/host-ports.js'
import {readCreatedWith} from '../cluster/k3d-config.js'
import {Docker, type DockerInfo} from '../tools/docker.js'
import {Helm} from '../tools/helm.js'
import {K3d, type K3dCluster} from '../tools/k3d.js'
import {Kubectl} from '../tools/kubectl.js'
import {ToolNotFoundError} from '../tools/process.js'
import {ifPermitted} from '../kube/api-failure.js'
import {connectEnvironment} from '../workflows/connect.js'
import {createProject, type KubeModule, type Project} from '../workflows/project.js'
import type {Platform} from './platform.js'

/** How long the kube API may take to answer one small GET before doctor calls it unreachable. */
const KUBE_API_TIMEOUT_MS = 10_000

/** What one look at a tool or file found: a value, "not installed / not there", or a failure. */
export type Probe<T> = {state: 'ok'; value: T} | {state: 'missing'} | {state: 'failed'; error: DevctlError}

export type ConfigFact =
  | {state: 'missing'; searchedFrom: string}
  | {state: 'invalid'; path: string; error: DevctlError}
  /** `fileErrors`: the values files or chart directory devctl.yaml names are missing or invalid. */
  | {state: 'valid'; loaded: LoadedConfig; fileErrors: DevctlError[]}

export type PortFact = HostPortProbe

export interface DiskFact {
  what: 'project' | 'Docker'
  path: string
  freeBytes: number
}

export interface KubeFact {
  context: string
  server?: string
}

export interface MachineFacts {
  platform: Platform
  node: {version: string; required: string}
  config: ConfigFact
  docker: Probe<DockerInfo>
  k3d: Probe<string>
  helm: Probe<{version: string; major: number}>
  kubectl: Probe<string>
  disk: DiskFact[]
  /** Whether .devctl/secrets.yaml holds every password devctl.yaml needs (and is valid); not looked at without a valid devctl.yaml. */
  secrets?: Probe<boolean>
  /** The project's k3d cluster (undefined value: none yet); not looked for when docker, k3d or devctl.yaml are unusable. */
  cluster?: Probe<K3dCluster | undefined>
  /** The host ports the cluster will bind; not looked at when the cluster already runs (it holds them). */
  ports?: PortFact[]
  /** A small request to the cluster's API through the project's kube context. */
  kube?: Probe<KubeFact>
}

export interface InspectOptions {
  cwd: string
  /** --config: an explicit devctl.yaml (else found by walking up from cwd). */
  configPath?: string
  platform: Platform
  node: {version: string; required: string}
  /** Loads the kube client module (lazily: `() => import('../kube/client.js')`). */
  loadKube: () => Promise<KubeModule>
  signal?: AbortSignal
}

/** Run one look; "not installed" and devctl's own errors become facts; Ctrl-C and bugs go on up. */
async function probe<T>(look: () => Promise<T>): Promise<Probe<T>> {
  try {
    return {state: 'ok', value: await look()}
  } catch (error) {
    if (isAbortError(error)) throw error
    if (error instanceof ToolNotFoundError) return {state: 'missing'}
    if (error instanceof DevctlError) return {state: 'failed', error}
    throw error
  }
}

export async function inspectMachine(options: InspectOptions): Promise<MachineFacts> {
  const {signal} = options
  const tools = {docker: new Docker(), k3d: new K3d(), helm: new Helm()}
  const [config, docker, k3d, helm, kubectl] = await Promise.all([
    inspectConfig(options),
    probe(() => tools.docker.info(signal)),
    probe(() => tools.k3d.version(signal)),
    probe(() => tools.helm.version(signal)),
    probe(() => new Kubectl().version(signal)),
  ])
  // The kube client costs about a second to load: only when there is a cluster to talk to.
  let loadKube = (): void => {}
  const kubeModule = new Promise<KubeModule>((resolve, reject) => (loadKube = () => void options.loadKube().then(resolve, reject)))
  const ctx = config.state === 'valid' ? createProject(config.loaded, kubeModule) : undefined
  const usesK3d = ctx?.config.cluster.provider === 'k3d'
  const canAskK3d = usesK3d && docker.state === 'ok' && k3d.state === 'ok'

  const [disk, secrets, cluster] = await Promise.all([
    diskFacts(ctx?.loaded.dir ?? options.cwd, docker.state === 'ok' && docker.value.rootDir?.startsWith('/') ? docker.value.rootDir : undefined),
    ctx ? probe(async () => (await missingPasswords(ctx.loaded.dir, ctx.config)).length === 0) : undefined,
    ctx && canAskK3d ? probe(() => tools.k3d.find(ctx.names.clusterName, signal)) : undefined,
  ])
  const runningCluster = cluster?.state === 'ok' && cluster.value?.running ? cluster.value : undefined
  const reachKube = ctx !== undefined && (runningCluster !== undefined || !usesK3d)
  if (reachKube) loadKube()
  const [ports, kube] = await Promise.all([
    ctx && usesK3d && !runningCluster && cluster?.state === 'ok' ? portFacts(ctx, cluster.value) : undefined,
    ctx && reachKube ? probe(() => reachKubeApi(ctx, runningCluster, signal)) : undefined,
  ])
  return {platform: options.platform, node: options.node, config, docker, k3d, helm, kubectl, disk, secrets, cluster, ports, kube}
}

async function inspectConfig(options: InspectOptions): Promise<ConfigFact> {
  const path = options.configPath ? resolve(options.cwd, options.configPath) : await findConfigFile(options.cwd)
  if (!path) return {state: 'missing', searchedFrom: options.cwd}
  try {
    const loaded = await loadConfig(path, options.cwd)
    return {state: 'valid', loaded, fileErrors: await referencedFileErrors(loaded)}
  } catch (error) {
    if (error instanceof DevctlError) return {state: 'invalid', path, error}
    throw error
  }
}

/** The values files and chart directory devctl.yaml names: there, and valid YAML. */
async function referencedFileErrors(loaded: LoadedConfig): Promise<DevctlError[]> {
  const errors: DevctlError[] = []
  const chartPath = loaded.config.app.chart.path
  if (
    chartPath !== undefined &&
    !(await stat(resolve(loaded.dir, chartPath)).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    errors.push(
      new ConfigError(`The chart directory ${chartPath} (app.chart.path in devctl.yaml) does not exist.`, {hint: 'Fix app.chart.path, or run `devctl init --update` to copy the preset chart back.'}),
    )
  }
  for (const file of loaded.config.app.values) {
    try {
      await readValuesFile(resolve(loaded.dir, file))
    } catch (error) {
      if (!(error instanceof DevctlError)) throw error
      errors.push(error)
    }
  }
  return errors
}

/** Free space for the project and for Docker's data, once per filesystem; paths not on this machine are left out. */
async function diskFacts(projectDir: string, dockerRoot: string | undefined): Promise<DiskFact[]> {
  const facts: DiskFact[] = []
  const devices = new Set<number>()
  const places = [{what: 'project' as const, path: projectDir}, ...(dockerRoot ? [{what: 'Docker' as const, path: dockerRoot}] : [])]
  for (const place of places) {
    const [info, fs] = await Promise.all([stat(place.path).catch(() => undefined), statfs(place.path).catch(() => undefined)])
    if (!info || !fs || devices.has(info.dev)) continue
    devices.add(info.dev)
    facts.push({...place, freeBytes: fs.bavail * fs.bsize})
  }
  return facts
}

/** Each port starting the cluster will bind (the same answer `up` gets): free, or who holds it and what to do. */
async function portFacts(project: Project, cluster: K3dCluster | undefined): Promise<PortFact[]> {
  const binding: ClusterBinding = cluster ? {exists: true, running: cluster.running, createdWith: await readCreatedWith(project.stateDir)} : {exists: false}
  return probeHostPorts(portsToBind(project.config, project.names, binding), project.names, binding)
}

/** `k3d kubeconfig get` (or the configured context), then one cheap GET through the kube client. */
async function reachKubeApi(ctx: Project, cluster: K3dCluster | undefined, signal?: AbortSignal): Promise<KubeFact> {
  const {kube, kubeTarget} = await connectEnvironment(ctx, signal, cluster ?? null)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterError(`The Kubernetes API of context ${kubeTarget.context} did not answer within ${KUBE_API_TIMEOUT_MS / 1000}s.`)), KUBE_API_TIMEOUT_MS)
  })
  try {
    // A refusal is an answer too: an account limited to its namespace may not read namespace objects.
    await Promise.race([ifPermitted(kube.get('Namespace', undefined, ctx.names.namespace)), timeout])
  } finally {
    clearTimeout(timer)
  }
  return {context: kubeTarget.context, server: kube.server}
}
