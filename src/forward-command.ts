/**
 * Forwarding until Ctrl-C, as `devctl forward` and `devctl up --forward` show it: the table
 * (or one JSON line), then a line per change (a pod replaced, a connection that failed).
 */
import type {ChalkInstance} from 'chalk'

import type {LoadedConfig} from './config/load.js'
import {renderForwardEvent, renderForwardTable} from './ui/data-view.js'
import {startForwarding} from './workflows/forward.js'
import type {RunControls} from './workflows/project.js'

export interface ForwardOutput {
  theme: ChalkInstance
  /** --json: one line per record instead of the table. */
  json?: (record: object) => void
}

/** Forward until the run's signal aborts (Ctrl-C), then throw its reason, as a stream's normal end. */
export async function forwardUntilStopped(loaded: LoadedConfig, controls: Pick<RunControls, 'signal' | 'kubeModule'>, output: ForwardOutput): Promise<never> {
  const pods = new Map<string, string | undefined>()
  let started = false
  const session = await startForwarding(loaded, {}, controls, (event) => {
    if (event.type === 'pod') pods.set(event.name, event.pod)
    if (output.json) output.json({...event, type: `forward:${event.type}`})
    // The first pod of each forward is in the table; later changes are news.
    else if (started) process.stdout.write(renderForwardEvent(event, output.theme))
  })
  started = true
  if (output.json) output.json({type: 'forwarding', namespace: session.namespace, forwards: session.forwards.map((f) => ({...f, pod: pods.get(f.name)})), unmatched: session.unmatched})
  else process.stdout.write(renderForwardTable(session, pods, output.theme))
  await session.stopped
  throw controls.signal.reason
}
