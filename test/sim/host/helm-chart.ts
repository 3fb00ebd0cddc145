/**
 * Turning a chart reference plus values into what helm would install, using the REAL helm
 * binary for everything it can do without a cluster: `helm pull` to fetch remote charts,
 * `helm template` to render (so values, --set syntax, templates and their errors are real),
 * and a second tiny render to learn the user-supplied values helm records as `config`.
 * NOTES.txt is rendered by the same real engine through `tpl`.
 */
import {spawn} from 'node:child_process'
import {cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {isAbsolute, join, relative} from 'node:path'

import {parse as parseYaml, parseAllDocuments} from 'yaml'

import type {KubeObject} from '../apiserver/contract.js'
import type {ChartFile, ChartJson, Hook} from './helm-release.js'
import type {HelmVersion} from './host.js'

/** A failure the real helm reported; `message` is its text after "Error: ". */
export class HelmRenderError extends Error {}

export const installOrder = ['PriorityClass', 'Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodSecurityPolicy', 'PodDisruptionBudget', 'ServiceAccount', 'Secret', 'SecretList', 'ConfigMap', 'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleList', 'ClusterRoleBinding', 'ClusterRoleBindingList', 'Role', 'RoleList', 'RoleBinding', 'RoleBindingList', 'Service', 'DaemonSet', 'Pod', 'ReplicationController', 'ReplicaSet', 'Deployment', 'HorizontalPodAutoscaler', 'StatefulSet', 'Job', 'CronJob', 'IngressClass', 'Ingress', 'APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']
export const uninstallOrder = ['APIService', 'Ingress', 'IngressClass', 'Service', 'CronJob', 'Job', 'StatefulSet', 'HorizontalPodAutoscaler', 'Deployment', 'ReplicaSet', 'ReplicationController', 'Pod', 'DaemonSet', 'RoleBindingList', 'RoleBinding', 'RoleList', 'Role', 'ClusterRoleBindingList', 'ClusterRoleBinding', 'ClusterRoleList', 'ClusterRole', 'CustomResourceDefinition', 'PersistentVolumeClaim', 'PersistentVolume', 'StorageClass', 'ConfigMap', 'SecretList', 'Secret', 'ServiceAccount', 'PodDisruptionBudget', 'PodSecurityPolicy', 'LimitRange', 'ResourceQuota', 'NetworkPolicy', 'Namespace', 'PriorityClass']

/** helm's kind sorter: known kinds by the list, unknown kinds last and alphabetical; stable. */
export function sortByKind<T>(items: readonly T[], kindOf: (item: T) => string, order: readonly string[]): T[] {
  const rank = (kind: string): number => order.indexOf(kind)
  return [...items].sort((a, b) => {
    const [ka, kb] = [kindOf(a), kindOf(b)]
    const [ra, rb] = [rank(ka), rank(kb)]
    if (ra < 0 && rb < 0) return ka === kb ? 0 : ka < kb ? -1 : 1
    if (ra < 0) return 1
    if (rb < 0) return -1
    return ra - rb
  })
}

export interface Manifest {
  /** The template it came from, e.g. "demo/templates/deployment.yaml". */
  path: string
  content: string
  object: KubeObject
}

export interface RenderedChart {
  manifests: Manifest[]
  hooks: Hook[]
  notes: string
  config: Record<string, unknown>
  chart: ChartJson
}

export interface RenderRequest {
  helmBinary: string
  helm: HelmVersion
  releaseName: string
  namespace: string
  chartRef: string
  /** Where and how to fetch a chart that is not local: --repo, --version, credentials, as given. */
  pullArgs: string[]
  /** The values flags exactly as given (-f/--values, --set, --set-string, --set-file, --set-json, --set-literal). */
  valueArgs: string[]
  postRendererArgs: string[]
  isUpgrade: boolean
  kubeVersion?: string
  cwd: string
  env: Record<string, string>
  scratchDir: string
  signal: AbortSignal
}

const hookEvents = new Set(['pre-install', 'post-install', 'pre-delete', 'post-delete', 'pre-upgrade', 'post-upgrade', 'pre-rollback', 'post-rollback', 'test', 'test-success'])
const notesProbeName = 'devctl-sim-notes'

async function runHelm(request: RenderRequest, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(request.helmBinary, args, {cwd: request.cwd, env: {PATH: process.env.PATH ?? '', ...request.env}, signal: request.signal, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(stdout)
      else reject(new HelmRenderError(stderr.trim().replace(/^Error: /, '')))
    })
  })
}

/** A local copy of the chart: a directory, an archive, or whatever `helm pull` fetches. */
async function localChart(request: RenderRequest, workDir: string): Promise<string> {
  const path = isAbsolute(request.chartRef) ? request.chartRef : join(request.cwd, request.chartRef)
  const info = await stat(path).catch(() => undefined)
  const target = join(workDir, 'chart')
  if (info?.isDirectory()) {
    await cp(path, target, {recursive: true})
    return target
  }
  const pulled = join(workDir, 'pulled')
  await mkdir(pulled)
  if (info?.isFile()) {
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-xzf', path, '-C', pulled])
      tar.on('error', reject)
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new HelmRenderError(`file '${path}' does not appear to be a gzipped archive; got 'application/octet-stream'`))))
    })
  } else {
    // helm's LocateChart: a path that looks local is just missing; the rest is what `helm pull` finds.
    if (/^\.{0,2}\//.test(request.chartRef)) throw new HelmRenderError(`path "${request.chartRef}" not found`)
    await runHelm(request, ['pull', request.chartRef, '--untar', '--untardir', pulled, ...request.pullArgs])
  }
  const [top] = await readdir(pulled)
  return join(pulled, top ?? '')
}

async function filesUnder(root: string, dir = root): Promise<string[]> {
  const entries = await readdir(dir, {withFileTypes: true})
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? filesUnder(root, join(dir, e.name)) : [relative(root, join(dir, e.name))])))
  return nested.flat().sort()
}

/** The chart as helm's loader stores it in the release (subcharts are not serialised). */
async function chartJson(dir: string, helm: HelmVersion): Promise<ChartJson> {
  const files = (await filesUnder(dir)).filter((f) => !f.startsWith('charts/') && f !== notesProbeName + '.txt' && f !== `templates/zz-${notesProbeName}.yaml`)
  const read = (name: string): Promise<Buffer> => readFile(join(dir, name))
  const modtime = async (name: string): Promise<Record<string, string>> => (helm === 4 ? {modtime: (await stat(join(dir, name))).mtime.toISOString()} : {})
  const asFile = async (name: string): Promise<ChartFile> => ({name, data: (await read(name)).toString('base64'), ...(await modtime(name))})
  const metadata = parseYaml((await read('Chart.yaml')).toString('utf8')) as ChartJson['metadata']
  const special = new Set(['Chart.yaml', 'values.yaml', 'values.schema.json', 'Chart.lock', 'requirements.yaml', 'requirements.lock'])
  const chart: ChartJson = {
    metadata,
    lock: files.includes('Chart.lock') ? parseYaml((await read('Chart.lock')).toString('utf8')) : null,
    templates: await Promise.all(files.filter((f) => f.startsWith('templates/')).map(asFile)),
    values: files.includes('values.yaml') ? ((parseYaml((await read('values.yaml')).toString('utf8')) as Record<string, unknown> | null) ?? {}) : {},
    schema: files.includes('values.schema.json') ? (await read('values.schema.json')).toString('base64') : null,
    files: await Promise.all(files.filter((f) => !special.has(f) && !f.startsWith('templates/')).map(asFile)),
  }
  if (helm === 4) Object.assign(chart, {schemamodtime: '0001-01-01T00:00:00Z', modtime: (await stat(join(dir, 'Chart.yaml'))).mtime.toISOString()})
  return chart
}

/** Adds a template that renders NOTES.txt with the chart's own context (the real engine's `tpl`). */
async function addNotesProbe(dir: string): Promise<boolean> {
  const notes = await readFile(join(dir, 'templates', 'NOTES.txt'), 'utf8').catch(() => undefined)
  if (notes === undefined) return false
  await writeFile(join(dir, `${notesProbeName}.txt`), notes)
  await writeFile(
    join(dir, 'templates', `zz-${notesProbeName}.yaml`),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${notesProbeName}\ndata:\n  notes: {{ tpl (.Files.Get "${notesProbeName}.txt") . | toJson }}\n`,
  )
  return true
}

/** A chart without defaults whose only template prints .Values: what the user supplied. */
async function valuesProbeChart(workDir: string): Promise<string> {
  const dir = join(workDir, 'values-probe')
  await mkdir(join(dir, 'templates'), {recursive: true})
  await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: devctl-sim-values\nversion: 0.0.0\n')
  await writeFile(join(dir, 'templates', 'values.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: devctl-sim-values\ndata:\n  values: {{ toJson .Values | quote }}\n')
  return dir
}

/** Splits `helm template` output into its "---\n# Source: path\n" blocks. */
export function splitTemplateOutput(output: string): Array<{path: string; content: string}> {
  return output
    .split(/^---\n# Source: /m)
    .slice(1)
    .map((block) => {
      const newline = block.indexOf('\n')
      return {path: block.slice(0, newline), content: block.slice(newline + 1).replace(/\n$/, '')}
    })
}

/** Every document of one template's output, as objects. */
export function parseManifests(path: string, content: string): Manifest[] {
  return parseAllDocuments(content)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null && typeof object === 'object')
    .map((object) => ({path, content, object}))
}

/** helm's SortManifests: hooks by their annotation, everything else in install order. */
export function classify(blocks: Array<{path: string; content: string}>): {manifests: Manifest[]; hooks: Hook[]} {
  const manifests: Manifest[] = []
  const hooks: Hook[] = []
  for (const block of blocks) {
    const object = parseAllDocuments(block.content)[0]?.toJS() as KubeObject | null | undefined
    if (!object) continue
    const annotations = object.metadata?.annotations ?? {}
    const hookTypes = annotations['helm.sh/hook']
    if (hookTypes === undefined) {
      manifests.push({path: block.path, content: block.content, object})
      continue
    }
    const events = hookTypes.split(',').map((e) => e.trim().toLowerCase())
    if (!events.every((e) => hookEvents.has(e))) continue
    hooks.push({
      name: object.metadata.name,
      kind: object.kind,
      path: block.path,
      manifest: block.content,
      events,
      last_run: {phase: ''},
      weight: Number.parseInt(annotations['helm.sh/hook-weight'] ?? '0', 10) || 0,
      delete_policies: (annotations['helm.sh/hook-delete-policy'] ?? '').split(',').map((p) => p.trim()).filter(Boolean),
    })
  }
  return {manifests: sortByKind(manifests, (m) => m.object.kind, installOrder), hooks: sortByKind(hooks, (h) => h.kind, installOrder)}
}

/** The release manifest text: every non-hook manifest with its Source line, in install order. */
export function manifestText(manifests: readonly Manifest[]): string {
  return manifests.map((m) => `---\n# Source: ${m.path}\n${m.content}\n`).join('')
}

export async function renderChart(request: RenderRequest): Promise<RenderedChart> {
  await mkdir(request.scratchDir, {recursive: true})
  const workDir = await mkdtemp(join(request.scratchDir, 'render-'))
  try {
    const chartDir = await localChart(request, workDir)
    const hasNotes = await addNotesProbe(chartDir)
    const common = ['--namespace', request.namespace, ...request.valueArgs]
    // Without value flags the user supplied nothing, which needs no second render.
    const [rendered, valuesOutput, chart] = await Promise.all([
      runHelm(request, ['template', request.releaseName, chartDir, ...common, ...request.postRendererArgs, ...(request.isUpgrade ? ['--is-upgrade'] : []), ...(request.kubeVersion ? ['--kube-version', request.kubeVersion] : [])]),
      request.valueArgs.length === 0 ? undefined : valuesProbeChart(workDir).then((probe) => runHelm(request, ['template', request.releaseName, probe, ...common])),
      chartJson(chartDir, request.helm),
    ])
    const blocks = splitTemplateOutput(rendered)
    const notesBlock = hasNotes ? blocks.find((b) => b.path.endsWith(`/templates/zz-${notesProbeName}.yaml`)) : undefined
    const {manifests, hooks} = classify(blocks.filter((b) => b !== notesBlock))
    const notesObject = notesBlock ? (parseYaml(notesBlock.content) as {data?: {notes?: string}}) : undefined
    const valuesObject = valuesOutput === undefined ? undefined : (parseYaml(splitTemplateOutput(valuesOutput)[0]?.content ?? '') as {data: {values: string}})
    const config = valuesObject ? (JSON.parse(valuesObject.data.values) as Record<string, unknown>) : {}
    return {manifests, hooks, notes: notesObject?.data?.notes ?? '', config, chart}
  } finally {
    await rm(workDir, {recursive: true, force: true})
  }
}

/** `demo-0.1.0`, as helm list and history print a chart. */
export function chartLabel(chart: ChartJson): string {
  return `${chart.metadata.name}-${chart.metadata.version}`
}
