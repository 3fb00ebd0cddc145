/**
 * What every workflow of one command run shares and never changes: the loaded config and its
 * names, where things live, the tools, the lazily loaded Kubernetes client and the step time
 * limits. Steps take it as part of their input; what they find out they return.
 */
import {join} from 'node:path'

import {parseDuration} from '../config/duration.js'
import type {LoadedConfig, ResolvedNames} from '../config/load.js'
import type {DevctlConfig, Timeouts} from '../config/schema.js'
import {STATE_DIR} from '../secrets/store.js'
import {Docker} from '../tools/docker.js'
import {Helm} from '../tools/helm.js'
import {K3d} from '../tools/k3d.js'
import type {Emit} from './events.js'

export type KubeModule = typeof import('../kube/client.js')

export interface Tools {
  docker: Docker
  k3d: K3d
  helm: Helm
}

export interface Project {
  loaded: LoadedConfig
  config: DevctlConfig
  names: ResolvedNames
  /** The project directory (where devctl.yaml is). */
  dir: string
  /** .devctl/ in the project directory. */
  stateDir: string
  /** Absolute paths of devctl.yaml's values files, in order. */
  valuesFiles: string[]
  tools: Tools
  /** The Kubernetes client module, imported early so its load overlaps other work. */
  kubeModule: Promise<KubeModule>
  /** Each step's time limit in ms: devctl.yaml's, or --timeout for every step. */
  timeouts: Record<keyof Timeouts, number>
  /** How the user ran this command (quoted, secrets masked), for hints that say to run it again. */
  commandLine?: string
}

/** For a run that must never reach the cluster (`up --dry-run`): using the client is a bug. */
function noCluster(): Promise<KubeModule> {
  const refused = Promise.reject(new Error('this run must not talk to the cluster'))
  // Rejects only for whoever awaits it.
  refused.catch(() => {})
  return refused
}

export function createProject(loaded: LoadedConfig, kubeModule: Promise<KubeModule> = noCluster(), options: {timeout?: string; commandLine?: string} = {}): Project {
  const configured = loaded.config.app.timeouts
  const limit = (name: keyof Timeouts) => parseDuration(options.timeout ?? configured[name])
  return {
    loaded,
    config: loaded.config,
    names: loaded.resolved,
    dir: loaded.dir,
    stateDir: join(loaded.dir, STATE_DIR),
    valuesFiles: loaded.config.app.values.map((file) => join(loaded.dir, file)),
    tools: {docker: new Docker(), k3d: new K3d(), helm: new Helm()},
    kubeModule,
    timeouts: {deploy: limit('deploy'), migration: limit('migration'), rollout: limit('rollout'), cluster: limit('cluster'), hook: limit('hook')},
    commandLine: options.commandLine,
  }
}

/** "run `devctl upgrade --set replicaCount=2` again": the user's own command, for the end of a hint. */
export function runAgain(project: Pick<Project, 'commandLine'>): string {
  return project.commandLine ? `run \`${project.commandLine}\` again` : 'run this again'
}

/** The k3d cluster devctl runs the project in (none for an existing cluster): what `k3d image import -c` takes. */
export function k3dCluster(project: Pick<Project, 'config' | 'names'>): string | undefined {
  return project.config.cluster.provider === 'k3d' ? project.names.clusterName : undefined
}

/** A yes/no question a workflow needs answered (the command asks, or a flag answers). */
export type Confirm = (question: {message: string; flag: string; details: string[]}) => Promise<boolean>

/** What a command hands a workflow: where events go, Ctrl-C, the lazily loaded client, consent. */
export interface RunControls {
  emit: Emit
  signal: AbortSignal
  forceSignal: AbortSignal
  kubeModule: Promise<KubeModule>
  /** Consent to what the user asked for (--yes answers it). */
  confirm?: Confirm
  /** Consent to drop a release revision an interrupted helm left pending (--recover answers it; --yes never does). */
  recoverConsent?: Confirm
  /** How the user ran the command (quoted, secrets masked), for hints that say to run it again. */
  commandLine?: string
}
