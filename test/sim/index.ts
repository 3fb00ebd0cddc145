/**
 * The simulator for tests: a docker host with k3d and docker stand-ins on PATH, the real helm of
 * the chosen major beside them, each k3d cluster a real Kubernetes API on loopback. Start one
 * per test file:
 *
 *   const sim = await startSimulator({helmVersion: 3})
 *   await execa('devctl', ['up'], {env: sim.env})
 *   sim.cluster('demo')?.list('v1', 'Pod', 'default')
 *   await sim.stop()
 */
import {constants} from 'node:fs'
import {access, mkdir, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {type ApiServer, createApiServer, createClock, loadScenario, parseScenario, type Scenario} from './apiserver/index.js'
import {type Daemon, startDaemon} from './host/daemon.js'
import {runDocker} from './host/docker.js'
import {type CommandRecord, ToolExit, type ToolIO, type ToolName} from './host/exec.js'
import {type Fault, type HelmVersion, SimHost} from './host/host.js'
import {type ImageStore, SimRegistry} from './host/images.js'
import {runK3d} from './host/k3d.js'
import {mergeKubeconfig, readKubeconfig, writeKubeconfig} from './host/kubeconfig.js'
import {createNamespaceUser, type NamespaceUser, type NamespaceUserOptions} from './namespace-user.js'

export type {CommandRecord, Fault, HelmVersion, ImageStore, NamespaceUser, NamespaceUserOptions, SimRegistry}

const simDir = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(simDir, '..', '..')

export interface SimulatorOptions {
  helmVersion: HelmVersion
  /** A scenario name from test/sim/scenarios ('happy'), a path to a scenario file, or a scenario object. */
  scenario?: string | object
  /** Multiplies every simulated duration: 0.01 (the default) in tests, 1 for a person watching. */
  timeFactor?: number
  dockerRunning?: boolean
  memoryBytes?: number
  cpus?: number
}

export interface Simulator {
  /**
   * For child processes: stand-ins and the helm wrapper first on PATH, the daemon's address, the
   * real helm's path, HOME/KUBECONFIG/HELM_* in a temp dir.
   */
  readonly env: Record<string, string>
  readonly kubeconfigPath: string
  readonly daemonUrl: string
  /** The API server of a created cluster, undefined if there is none by that name. */
  cluster(name: string): ApiServer | undefined
  /** What the stand-ins and the real helm were asked, oldest first (argv as given, secrets included). */
  commands(tool?: ToolName): CommandRecord[]
  injectFault(fault: Fault): Promise<void>
  setScenario(scenario: string | object): Promise<void>
  /** `k3d cluster create <name> [args]` done in-process, for tests that start from an existing cluster. */
  createCluster(name: string, args?: string[]): Promise<ApiServer>
  /**
   * A user who may act only in one namespace of cluster `name` (namespace, Role, RoleBinding,
   * token), added to the kubeconfig as context `<user>@k3d-<name>` (over HTTPS).
   */
  createNamespaceUser(cluster: string, options: NamespaceUserOptions): Promise<NamespaceUser>
  /**
   * A registry outside any cluster (a team's), answering to each of `hosts`: the names this machine
   * pushes to and the clusters' nodes pull from (`registry.team.test`, `registry.internal:5000`).
   */
  addRegistry(hosts: string[]): SimRegistry
  /** The docker host's image store (what `docker build` made, `docker images` lists). */
  readonly images: ImageStore
  stop(): Promise<void>
}

/** A scenario given by name (test/sim/scenarios/<name>.yaml), path or value, checked. */
function scenarioFrom(scenario: string | object): Scenario {
  return typeof scenario === 'string' ? loadScenario(scenario) : parseScenario(scenario)
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const scenario = options.scenario === undefined ? undefined : scenarioFrom(options.scenario)
  const helm = join(repoRoot, '.tools', `helm${options.helmVersion}`, 'helm')
  await access(helm, constants.X_OK).catch(() => {
    throw new Error(`the real helm ${options.helmVersion} is not at ${helm}: run \`npm run tools\` first`)
  })
  const root = await mkdtemp(join(tmpdir(), 'devctl-sim-'))
  const home = join(root, 'home')
  await mkdir(join(home, '.kube'), {recursive: true})
  const host = new SimHost({
    helmVersion: options.helmVersion,
    clock: createClock(options.timeFactor ?? 0.01),
    createApiServer,
    scenario,
    dockerRunning: options.dockerRunning ?? true,
    memoryBytes: options.memoryBytes ?? 16 * 1024 ** 3,
    cpus: options.cpus ?? 8,
  })
  let daemon: Daemon
  try {
    daemon = await startDaemon(host, {k3d: runK3d, docker: (invocation, io, h) => runDocker(invocation, io, h.docker, h.clock)})
  } catch (error) {
    await rm(root, {recursive: true, force: true})
    throw error
  }
  const kubeconfigPath = join(home, '.kube', 'config')
  const env: Record<string, string> = {
    PATH: `${join(simDir, 'bin')}:${process.env.PATH ?? ''}`,
    DEVCTL_SIM_DAEMON: daemon.url,
    DEVCTL_SIM_HELM: helm,
    HOME: home,
    KUBECONFIG: kubeconfigPath,
    HELM_CACHE_HOME: join(root, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(root, 'helm', 'config'),
    HELM_DATA_HOME: join(root, 'helm', 'data'),
  }

  return {
    env,
    kubeconfigPath,
    daemonUrl: daemon.url,
    cluster: (name) => host.clusters.get(name)?.api,
    commands: (tool) => daemon.commands(tool),
    injectFault: (fault) => host.injectFault(fault),
    setScenario: (scenario) => host.setScenario(scenarioFrom(scenario)),
    async createCluster(name, args = []) {
      let output = ''
      const io: ToolIO = {
        stdout: (text) => (output += text),
        stderr: (text) => (output += text),
        readStdin: async () => '',
        abandoned: new AbortController().signal,
      }
      const invocation = {tool: 'k3d' as const, argv: ['cluster', 'create', name, ...args], cwd: root, env: {HOME: home, KUBECONFIG: kubeconfigPath, LOG_COLORS: 'false'}, stdoutIsTTY: false}
      const code = await runK3d(invocation, io, host).catch((error: unknown) => {
        if (error instanceof ToolExit && 'exit' in error.outcome) return error.outcome.exit
        throw error
      })
      const api = host.clusters.get(name)?.api
      if (code !== 0 || !api) throw new Error(`k3d cluster create ${name} failed (exit ${code}):\n${output}`)
      return api
    },
    async createNamespaceUser(name, options) {
      const cluster = host.clusters.get(name)
      if (!cluster?.api) throw new Error(`no running cluster named ${JSON.stringify(name)}`)
      const created = await createNamespaceUser(cluster.api, cluster.userToken, {namePrefix: `k3d-${name}`, ...options})
      const existing = (await readKubeconfig(kubeconfigPath)) ?? {}
      await writeKubeconfig(kubeconfigPath, mergeKubeconfig(existing, created.kubeconfig, {overwrite: true, switchContext: false}))
      return created
    },
    addRegistry(hosts) {
      const registry = new SimRegistry(hosts)
      host.registries.push(registry)
      return registry
    },
    images: host.docker.images,
    async stop() {
      await daemon.close()
      await host.close()
      await rm(root, {recursive: true, force: true})
    },
  }
}
