/**
 * Start-up is part of the product: --help and every command's module load must not pull in
 * the Kubernetes client (~300 ms) or listr2. Checked on the built output by following static
 * imports from each command (dynamic `import()` is how heavy modules are meant to be loaded):
 * through the bundle's chunks, where esbuild names each package it put in a chunk in a
 * `// node_modules/<package>/...` comment.
 */
import {readdir, readFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'

import {describe, expect, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'

const DIST = join(REPO_ROOT, 'dist')
const HEAVY = ['@kubernetes/client-node', 'listr2', '@inquirer/prompts']
/** Commands that never run a process must not pay for execa either. */
const NO_PROCESSES = ['init.js']
const STATIC_IMPORT = /^\s*import\s+(?:[^'"]+?\s+from\s+)?['"]([^'"]+)['"]/gm
const BUNDLED_MODULE = /^\/\/ node_modules\/((?:@[^/\n]+\/)?[^/\n]+)\//gm

/** Every bare package reachable from `file` through static imports, with the chain that reaches it. */
async function staticPackages(file: string, seen = new Map<string, string[]>(), chain: string[] = []): Promise<Map<string, string[]>> {
  const source = await readFile(file, 'utf8')
  for (const match of source.matchAll(STATIC_IMPORT)) {
    const specifier = match[1]!
    if (specifier.startsWith('.')) {
      const target = resolve(dirname(file), specifier)
      if (!seen.has(target)) {
        seen.set(target, [...chain, target])
        await staticPackages(target, seen, [...chain, target])
      }
    } else if (!specifier.startsWith('node:') && !seen.has(specifier)) {
      seen.set(specifier, [...chain, specifier])
    }
  }
  for (const match of source.matchAll(BUNDLED_MODULE)) if (!seen.has(match[1]!)) seen.set(match[1]!, [...chain, `${match[1]} (bundled)`])
  return seen
}

describe('start-up cost', () => {
  it('no command statically imports the Kubernetes client, listr2 or inquirer (nor execa where no process runs)', async () => {
    // Topics (`db shell`) are subdirectories.
    const commands = (await readdir(join(DIST, 'commands'), {recursive: true})).filter((f) => f.endsWith('.js'))
    expect(commands.length).toBeGreaterThan(3)
    const offenders: string[] = []
    for (const command of commands) {
      const reachable = await staticPackages(join(DIST, 'commands', command))
      for (const heavy of NO_PROCESSES.includes(command) ? [...HEAVY, 'execa'] : HEAVY) {
        const via = [...reachable.entries()].find(([name]) => name === heavy || name.startsWith(`${heavy}/`))
        if (via) offenders.push(`${command} → ${via[1].map((p) => p.replace(`${DIST}/`, '')).join(' → ')}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('imports @kubernetes/client-node from exactly one source module, and execa from exactly one', async () => {
    const files = (await readdir(join(REPO_ROOT, 'src'), {recursive: true})).filter((f) => f.endsWith('.ts'))
    const importers = async (pkg: string) => {
      const found: string[] = []
      for (const file of files) {
        const text = await readFile(join(REPO_ROOT, 'src', file), 'utf8')
        // Statically, or lazily (`await import('execa')`) where only some runs need it.
        if (new RegExp(`^import (?!type )[^;]*from '${pkg}'|\\bimport\\('${pkg}'\\)`, 'm').test(text)) found.push(file)
      }
      return found
    }
    expect(await importers('@kubernetes/client-node')).toEqual(['kube/client.ts'])
    expect(await importers('execa')).toEqual(['tools/process.ts'])
  })

  it('keeps the oclif commands in the top-level commands/ as thin adapters over src/', async () => {
    const commands = (await readdir(join(REPO_ROOT, 'commands'), {recursive: true})).filter((f) => f.endsWith('.ts'))
    expect(commands.length).toBeGreaterThan(3)
    expect((await readdir(join(REPO_ROOT, 'src'))).includes('commands')).toBe(false)
    const strays: string[] = []
    for (const command of commands) {
      const text = await readFile(join(REPO_ROOT, 'commands', command), 'utf8')
      for (const match of text.matchAll(/from '([^']+)'|import\('([^']+)'\)/g)) {
        const specifier = match[1] ?? match[2]!
        if (!(/^(\.\.\/)+src\//.test(specifier) || specifier.startsWith('node:') || specifier.startsWith('@oclif/'))) strays.push(`${command}: ${specifier}`)
      }
    }
    expect(strays).toEqual([])
  })
})
