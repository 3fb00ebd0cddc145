#!/usr/bin/env node
// Builds into a fresh directory and swaps it in, so a run of the CLI (or a test) that is using
// dist/ never sees it half-deleted, and files of removed modules never linger.
import {execFileSync} from 'node:child_process'
import {rename, rm} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const next = join(root, `dist.next-${process.pid}`)
const previous = join(root, `dist.prev-${process.pid}`)
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', next], {stdio: 'inherit'})
} catch {
  await rm(next, {recursive: true, force: true})
  process.exit(1)
}
await rename(join(root, 'dist'), previous).catch(() => {})
await rename(next, join(root, 'dist'))
await rm(previous, {recursive: true, force: true})
