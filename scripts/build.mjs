#!/usr/bin/env node
// Builds into a fresh directory and swaps it in, so a run of the CLI (or a test) that is using
// dist/ never sees it half-deleted, and files of removed modules never linger.
import {execFileSync} from 'node:child_process'
import {build} from 'esbuild'
import {readdir, rename, rm} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const compiled = join(root, `dist.tsc-${process.pid}`)
const next = join(root, `dist.next-${process.pid}`)
const previous = join(root, `dist.prev-${process.pid}`)
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', compiled], {stdio: 'inherit'})
  await bundleCommands(compiled, next)
} catch (error) {
  if (!(error instanceof Error && 'status' in error)) console.error(error)
  await rm(next, {recursive: true, force: true})
  process.exit(1)
} finally {
  await rm(compiled, {recursive: true, force: true})
}
await rename(join(root, 'dist'), previous).catch(() => {})
await rename(next, join(root, 'dist'))
await rm(previous, {recursive: true, force: true})

/**
 * Start-up is mostly module loading: a command's ~500 modules (execa, zod, yaml, oclif's own)
 * cost ~100 ms more one by one than bundled, and @kubernetes/client-node's hundreds ~500 ms.
 * Each command becomes one file, with what commands share in chunks (so a class, an error
 * above all, is one class everywhere); what a command loads lazily (`import()`: the Kubernetes
 * client, execa, listr2, the prompts) stays a chunk of its own, loaded only when needed.
 * @oclif/core stays outside: bin/run.js and the plugins must see the same one.
 */
async function bundleCommands(from, to) {
  // Topics are directories: commands/db/shell.js is `devctl db shell`.
  const commands = (await readdir(join(from, 'commands'), {recursive: true})).filter((file) => file.endsWith('.js')).map((file) => join(from, 'commands', file))
  await build({
    // oclif loads the hooks package.json names from dist/src/hooks; scripts/build-schema.mjs
    // imports the config schema from dist/src/config/schema.js.
    entryPoints: [...commands, join(from, 'src', 'hooks', 'command-not-found.js'), join(from, 'src', 'config', 'schema.js')],
    outdir: to,
    outbase: from,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
    external: ['@oclif/core'],
    // CommonJS dependencies inside the bundle still call require().
    banner: {js: "import {createRequire as __devctlCreateRequire} from 'node:module'; const require = __devctlCreateRequire(import.meta.url);"},
  })
}
