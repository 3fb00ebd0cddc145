/**
 * `devctl forward` (and `up --forward`, `db url`): "forward the app's Services and devctl's
 * Postgres and Redis to local ports, and keep them working while pods come and go, until
 * Ctrl-C". The forwarding itself is src/data/forward.ts; this finds what to forward.
 */
import type {LoadedConfig} from '../config/load.js'
import {Forwarder, forwardSpecs, type Forward, type ForwardEvent} from '../data/forward.js'
import {ClusterError} from '../errors.js'
import {NamespaceWatch} from '../kube/namespace-watch.js'
import {POSTGRES, REDIS} from '../services/naming.js'
import {connectEnvironment} from './connect.js'
import {createProject, type RunControls} from './project.js'

export interface ForwardOptions {
  /** Only these names (as the table shows them): `db url` forwards "postgres" alone. */
  only?: string[]
  /** Local ports to use, by name, over devctl.yaml's forward.ports. */
  ports?: Record<string, number>
}

export interface ForwardSession {
  namespace: string
  forwards: Forward[]
  /** devctl.yaml pins a port for a name that nothing here has (a typo, or a Service that is gone). */
  unmatched: string[]
  /** Resolves when the forwarding stopped (the run's signal aborted). */
  stopped: Promise<void>
}

export async function startForwarding(
  loaded: LoadedConfig,
  options: ForwardOptions,
  controls: Pick<RunControls, 'signal' | 'kubeModule'>,
  onEvent: (event: ForwardEvent) => void,
): Promise<ForwardSession> {
  const project = createProject(loaded, controls.kubeModule)
  const {namespace, release} = project.names
  const {kube} = await connectEnvironment(project, controls.signal)
  const watch = await NamespaceWatch.start(kube, namespace, ['Pod', 'Service'], controls.signal)
  const {postgres, redis} = project.config.services
  const own = [...(postgres.enabled && !postgres.external ? [POSTGRES.service] : []), ...(redis.enabled && !redis.external ? [REDIS.service] : [])]
  const pinned = {...project.config.forward.ports, ...options.ports}
  const specs = forwardSpecs(watch.list('Service'), {release, own, pinned}).filter((spec) => !options.only || options.only.includes(spec.name))
  if (specs.length === 0) {
    watch.close()
    throw new ClusterError(
      `There is nothing to forward in namespace ${namespace}: ${options.only ? `no ${options.only.join(' or ')} Service` : `no Service of release ${release}, nor devctl's Postgres or Redis`}.`,
      {
        hint: 'Run `devctl up` first (`devctl status` shows what runs).',
      },
    )
  }
  const forwarder = new Forwarder(kube, watch, onEvent)
  let forwards: Forward[]
  try {
    forwards = await forwarder.start(specs, controls.signal)
  } catch (error) {
    watch.close()
    throw error
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      forwarder.close()
      watch.close()
      resolve()
    }
    if (controls.signal.aborted) stop()
    else controls.signal.addEventListener('abort', stop, {once: true})
  })
  const names = new Set(specs.map((spec) => spec.name))
  const unmatched = options.only ? [] : Object.keys(project.config.forward.ports).filter((name) => !names.has(name))
  return {namespace, forwards, unmatched, stopped}
}
