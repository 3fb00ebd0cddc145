import type {ChalkInstance} from 'chalk'

import type {DownResult} from '../workflows/down.js'

export function renderDownResult(result: DownResult, t: ChalkInstance): string {
  const {context, namespace, cluster} = result.target
  const lines: string[] = [t.dim(`Context ${context}${cluster ? ` (k3d cluster ${cluster})` : ''}, namespace ${namespace}:`)]
  for (const item of result.removed) lines.push(`${t.green('✔')} removed ${item}`)
  for (const item of result.kept) lines.push(`${t.dim('•')} kept ${item}`)
  if (result.removed.length === 0) lines.push(t.dim('Nothing to remove: the environment was already down.'))
  return `${lines.join('\n')}\n`
}
