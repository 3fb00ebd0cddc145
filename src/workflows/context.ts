/**
 * What the up/upgrade/down/status workflows share: the loaded config, the tools, the cluster
 * connection, and what earlier steps found out. Built once per command run.
 */
import {join} from 'node:path'

import type {LoadedConfig} from '../config/load.js'
import type {DevctlConfig} from '../config/schema.js'
import type {ResolvedNames} from '../config/load.js'
import type {KubeClient} from '../kube/client.js'
import type {NamespaceWatch} from '../kube/namespace-watch.js'
import {STATE_DIR, type ProjectSecrets} from '../secrets/store.js'
import {Docker} from '../tools/docker.js'
import {Helm, type KubeTarget} from '../tools/helm.js'
import {K3d} from '../tools/k3d.js'
import type {Emit} from './events.js'
import {parseDuration} from '../config/duration.js'

export type KubeModule = typeof import('../kube/client.js')

export interface Tools {
  docker: Docker
  k3d: K3d
  helm: Helm
}

/** A yes/no question a workflow needs answered (the command asks, or --yes answers). */
export type Confirm = (question: {message: string; flag: string; details: string[]}) => Promise<boolean>

/** What a command hands a workflow: where events go, Ctrl-C, the lazily loaded client, consent. */
export interface RunControls {
  emit: Emit
  signal: AbortSignal
  forceSignal: AbortSignal
  kubeModule: Promise<KubeModule>
  confirm?: Confirm
}

export interface WorkflowContext {
  loaded: LoadedConfig
  config: DevctlConfig
  names: ResolvedNames
  tools: Tools
  /** The Kubernetes client module, imported early so its ~300 ms overlap other work. */
  kubeModule: Promise<KubeModule>
  /** Absolute paths of the values files, in order. */
  valuesFiles: string[]
  stateDir: string
  confirm: Confirm
  /** --timeout: overrides every step's timeout from devctl.yaml. */
  timeoutOverride?: string
  secrets?: ProjectSecrets
  helmMajor?: number
  kubeTarget?: KubeTarget
  kube?: KubeClient
  watch?: NamespaceWatch
}

export function createContext(loaded: LoadedConfig, kubeModule: Promise<KubeModule>, confirm: Confirm = async () => false): WorkflowContext {
  return {
    confirm,
    loaded,
    config: loaded.config,
    names: loaded.resolved,
    tools: {docker: new Docker(), k3d: new K3d(), helm: new Helm()},
    kubeModule,
    valuesFiles: loaded.config.app.values.map((file) => join(loaded.dir, file)),
    stateDir: join(loaded.dir, STATE_DIR),
  }
}

/** The kube client, connected by the cluster step; a bug if used before. */
export function kubeOf(ctx: WorkflowContext): KubeClient {
  if (!ctx.kube) throw new Error('the cluster step has not connected yet')
  return ctx.kube
}

export function watchOf(ctx: WorkflowContext): NamespaceWatch {
  if (!ctx.watch) throw new Error('the namespace step has not started watching yet')
  return ctx.watch
}

export function timeoutOf(ctx: WorkflowContext, step: keyof DevctlConfig['app']['timeouts']): number {
  return parseDuration(ctx.timeoutOverride ?? ctx.config.app.timeouts[step])
}
