/**
 * Runs the REAL helm 3 and helm 4 binaries (from `node scripts/extract-tools.mjs`) against the
 * web-worker chart (or another chart directory) and parses what they render into objects.
 */
import {spawn} from 'node:child_process'
import {accessSync, constants} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseAllDocuments} from 'yaml'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export const chartDir = join(root, 'presets', 'web-worker', 'chart')
export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures')

export interface Helm {
  name: 'helm3' | 'helm4'
  bin: string
}

export const helms: Helm[] = [
  {name: 'helm3', bin: join(root, '.tools', 'helm3', 'helm')},
  {name: 'helm4', bin: join(root, '.tools', 'helm4', 'helm')},
]

/** Fails loudly, naming the fix, when the binaries were never extracted. */
export function requireHelmBinaries(): void {
  for (const helm of helms) {
    try {
      accessSync(helm.bin, constants.X_OK)
    } catch {
      throw new Error(`${helm.bin} is missing or not executable: run \`node scripts/extract-tools.mjs\` first`)
    }
  }
}

export interface RunResult {
  exitCode: number
  stdout: string
  stderr: string
}

export function run(bin: string, args: string[], options: {input?: string; env?: NodeJS.ProcessEnv} = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, {env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({exitCode: code ?? -1, stdout, stderr}))
    // A command that exits without reading its input (a failing one) would fail the write.
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input)
  })
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {name: string; labels?: Record<string, string>; annotations?: Record<string, string>}
}

export interface RenderOptions {
  /** The chart directory (default: the web-worker preset's chart). */
  chart?: string
  /** Values given as a file on stdin (`-f -`), after any valuesFiles. */
  values?: Record<string, unknown>
  valuesFiles?: string[]
  release?: string
  extraArgs?: string[]
}

function valuesArgs(options: RenderOptions): string[] {
  const files = (options.valuesFiles ?? []).flatMap((file) => ['-f', file])
  return options.values ? [...files, '-f', '-'] : files
}

/** `helm template`, throwing with helm's own stderr when it fails. */
export async function renderChart(helm: Helm, options: RenderOptions = {}): Promise<KubeObject[]> {
  const result = await templateChart(helm, options)
  if (result.exitCode !== 0) throw new Error(`${helm.name} template failed (exit ${result.exitCode}):\n${result.stderr}`)
  return parseManifests(result.stdout)
}

export function templateChart(helm: Helm, options: RenderOptions = {}): Promise<RunResult> {
  const args = ['template', options.release ?? 'rel', options.chart ?? chartDir, '--namespace', 'dev', ...valuesArgs(options), ...(options.extraArgs ?? [])]
  return run(helm.bin, args, {input: options.values ? JSON.stringify(options.values) : undefined})
}

export function lintChart(helm: Helm, options: RenderOptions = {}): Promise<RunResult> {
  return run(helm.bin, ['lint', options.chart ?? chartDir, '--strict', ...valuesArgs(options)], {
    input: options.values ? JSON.stringify(options.values) : undefined,
  })
}

/** Every document of a multi-document manifest; a duplicate key or bad YAML throws. */
export function parseManifests(manifest: string): KubeObject[] {
  const objects: KubeObject[] = []
  for (const doc of parseAllDocuments(manifest)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML is invalid: ${doc.errors.map((e) => e.message).join('; ')}`)
    const value: unknown = doc.toJS()
    if (value !== null) objects.push(value as KubeObject)
  }
  return objects
}

export function ofKind<T>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[]
}

/** The one object of that kind and name; throws, listing what was rendered, if absent. */
export function findObject<T>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
  if (!found) {
    const rendered = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')
    throw new Error(`no ${kind}/${name} rendered; got: ${rendered}`)
  }
  return found as T
}

export function hasObject(objects: KubeObject[], kind: string, name: string): boolean {
  return objects.some((o) => o.kind === kind && o.metadata.name === name)
}
