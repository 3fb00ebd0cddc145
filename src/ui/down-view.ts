import type {ChalkInstance} from 'chalk'

import type {DownResult} from '../workflows/down.js'

export function renderDownResult(result: DownResult, t: ChalkInstance): string {
  const lines: string[] = []
  for (const item of result.removed) lines.push(`${t.green('✔')} removed ${item}`)
  for (const item of result.kept) lines.push(`${t.dim('•')} kept ${item}`)
  if (result.removed.length === 0) lines.push(t.dim('Nothing to remove: the environment was already down.'))
  return `${lines.join('\n')}\n`
}
