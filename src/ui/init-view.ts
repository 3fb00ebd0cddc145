import {relative} from 'node:path'

import type {ChalkInstance} from 'chalk'

import type {InitResult} from '../scaffold/init.js'

export function renderInitResult(result: InitResult, dir: string, t: ChalkInstance): string {
  const lines = [`${t.green('✔')} devctl is set up for ${t.bold(result.project)} (preset ${result.preset}, namespace ${result.namespace}).`, '']
  for (const file of result.files) {
    const name = relative(dir, file.path) || '.'
    const notes: string[] = []
    if (file.backup) notes.push(`previous version kept as ${relative(dir, file.backup)}`)
    if (file.changedKeys?.length) notes.push(`changed: ${file.changedKeys.join(', ')}`)
    lines.push(`  ${file.action.padEnd(11)} ${name}${notes.length ? t.dim(`  (${notes.join('; ')})`) : ''}`)
  }
  for (const warning of result.warnings) lines.push('', `${t.yellow('⚠')} ${warning}`)
  lines.push('', `Next: ${t.cyan('devctl up')} brings the environment up; ${t.cyan('devctl doctor')} checks your machine first.`, '')
  return lines.join('\n')
}
