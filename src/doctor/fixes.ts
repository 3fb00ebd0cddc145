/**
 * The fixes devctl can make itself (`devctl doctor --fix`, each after the user agreed): start a
 * stopped cluster, move busy host ports in devctl.yaml (edited in place, comments kept),
 * generate .devctl/secrets.yaml, and make .devctl and its secrets private again.
 */
import {chmod, readFile, stat} from 'node:fs/promises'

import {isScalar} from 'yaml'

import {validateConfig} from '../config/load.js'
import {parseYamlText} from '../config/yaml-file.js'
import {CONFIG_FILE_NAME} from '../config/schema.js'
import {ensureGitignored, writeFileAtomic} from '../system/files.js'
import {ensureSecrets, STATE_DIR} from '../secrets/store.js'
import {K3d} from '../tools/k3d.js'
import type {AutoFix, PortMove} from './types.js'

/** "cluster.ports[0].host" → ["cluster", "ports", 0, "host"] */
export function parseKeyPath(key: string): Array<string | number> {
  return key
    .replaceAll(/\[(\d+)\]/g, '.$1')
    .split('.')
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment))
}

/**
 * Set the ports in devctl.yaml's text. Ports the file already states are replaced where they
 * stand, so every other byte stays as the user wrote it; a port left at its default (the
 * registry's) is added through the YAML document (comments kept). The result is validated before it is returned: a
 * fix must never leave an invalid file behind.
 */
export function movePortsInConfig(path: string, text: string, moves: readonly PortMove[]): string {
  const {doc} = parseYamlText(path, text, CONFIG_FILE_NAME)
  const stated = moves.map((move) => {
    const node = doc.getIn(parseKeyPath(move.configKey), true)
    return isScalar(node) && node.range ? {start: node.range[0], end: node.range[1], to: move.to} : undefined
  })
  let updated: string
  if (stated.every((edit) => edit !== undefined)) {
    // Right to left, so earlier offsets stay valid.
    updated = stated.sort((a, b) => b.start - a.start).reduce((out, edit) => `${out.slice(0, edit.start)}${edit.to}${out.slice(edit.end)}`, text)
  } else {
    for (const move of moves) doc.setIn(parseKeyPath(move.configKey), move.to)
    updated = doc.toString()
  }
  validateConfig(parseYamlText(path, updated, CONFIG_FILE_NAME))
  return updated
}

async function movePorts(path: string, moves: readonly PortMove[]): Promise<void> {
  const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)])
  await writeFileAtomic(path, movePortsInConfig(path, text, moves), info.mode & 0o777)
}

export async function applyFix(fix: AutoFix, signal: AbortSignal): Promise<void> {
  switch (fix.kind) {
    case 'start-cluster':
      return new K3d().start(fix.cluster, signal)
    case 'move-ports':
      return movePorts(fix.configPath, fix.moves)
    case 'create-secrets':
      await ensureSecrets(fix.projectDir, fix.passwords)
      await ensureGitignored(fix.projectDir, `${STATE_DIR}/`)
      return
    case 'make-private':
      for (const repair of fix.repairs) await chmod(repair.path, repair.mode)
  }
}
