#!/usr/bin/env node
// Builds into a fresh directory and swaps it in, so a run of the CLI (or a test) that is using
// dist/ never sees it half-deleted, and files of removed modules never linger.
import {execFileSync} from 'node:child_process'
import {build} from 'esbuild'
import {rename, rm} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const next = join(root, `dist.next-${process.pid}`)
const previous = join(root, `dist.prev-${process.pid}`)
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', next], {stdio: 'inherit'})
  await bundleKubeClient(join(next, 'src', 'kube', 'client.js'))
  await rm(join(next, 'src', 'kube', 'client.js.map'), {force: true})
} catch (error) {
  if (!(error instanceof Error && 'status' in error)) console.error(error)
  await rm(next, {recursive: true, force: true})
  process.exit(1)
}
await rename(join(root, 'dist'), previous).catch(() => {})
await rename(next, join(root, 'dist'))
await rm(previous, {recursive: true, force: true})

/**
 * @kubernetes/client-node is hundreds of small ES modules: loading them one by one costs
 * ~700 ms on a small machine, bundled ~170 ms. devctl's own modules stay outside the bundle,
 * so their classes (errors above all) are the same ones everywhere.
 */
async function bundleKubeClient(file) {
  await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // CommonJS dependencies inside the bundle still call require().
    banner: {js: "import {createRequire as __devctlCreateRequire} from 'node:module'; const require = __devctlCreateRequire(import.meta.url);"},
    plugins: [
      {
        name: 'devctl-modules-external',
        setup(pluginBuild) {
          pluginBuild.onResolve({filter: /^\.\.?\//}, (args) => (args.importer === file ? {path: args.path, external: true} : undefined))
        },
      },
    ],
  })
}
