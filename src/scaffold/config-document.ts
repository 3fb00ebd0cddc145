/**
 * The devctl.yaml `init` writes, as a yaml Document so that `--update` can change the keys
 * init owns in place and keep everything else the user wrote (comments, extra keys).
 */
import {readFileSync} from 'node:fs'
import {join, relative, sep} from 'node:path'

import {Document, isMap, isScalar, isSeq, type Scalar, type YAMLMap} from 'yaml'

import {CONFIG_API_VERSION, DEFAULT_POSTGRES_IMAGE, DEFAULT_REDIS_IMAGE, type DevctlConfig, type DevctlConfigInput, type Wiring} from '../config/schema.js'
import type {SetValue} from '../chart/set-syntax.js'
import {PACKAGE_ROOT} from '../package-root.js'

export interface ConfigAnswers {
  project: string
  namespace: string
  chart: NonNullable<DevctlConfigInput['app']['chart']>
  postgres: boolean
  redis: boolean
  ports: Array<{host: number; container: number}>
  valuesFile: string
  /** bring-your-own: the Secrets the chart reads in its own shape, and the values devctl composes for it. */
  chartWiring?: Wiring
  /** Only what was asked for (a flag); otherwise devctl.yaml keeps what it says, or the default. */
  auth?: Auth
  /** The images to build (the project has a Dockerfile and said yes); an existing build: is kept. */
  build?: NonNullable<DevctlConfigInput['build']>
}

export interface Auth {
  postgres?: DevctlConfig['services']['postgres']['auth']
  redis?: DevctlConfig['services']['redis']['auth']
}

export const SCHEMA_FILE = join(PACKAGE_ROOT, 'schema', 'devctl.schema.json')

/**
 * Where editors find the JSON Schema: a relative path when devctl is installed inside the
 * project (node_modules), else the published copy for this exact version.
 */
export function schemaReference(projectDir: string): string {
  const rel = relative(projectDir, SCHEMA_FILE)
  if (!rel.startsWith('..') && rel.split(sep).includes('node_modules')) return rel.split(sep).join('/')
  const {version} = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {version: string}
  return `https://unpkg.com/devctl@${version}/schema/devctl.schema.json`
}

interface Setting {
  path: string[]
  value: unknown
  comment?: string
  /** A default init writes once; --update leaves the user's choice alone. */
  onlyIfMissing?: boolean
  /** Only a k3d cluster has it: --update leaves it out of an `existing` cluster. */
  k3dOnly?: boolean
}

/** The settings init writes; the answers' own keys are updated by --update. */
function settings(answers: ConfigAnswers): Setting[] {
  return [
    {path: ['apiVersion'], value: CONFIG_API_VERSION, onlyIfMissing: true},
    {path: ['project'], value: answers.project, comment: 'default name of the cluster, release and namespace'},
    {path: ['cluster', 'provider'], value: 'k3d', comment: 'k3d: a local cluster per developer; "existing" + context: a shared cluster', onlyIfMissing: true},
    {path: ['cluster', 'ports'], value: answers.ports, k3dOnly: true},
    {path: ['services', 'postgres', 'enabled'], value: answers.postgres},
    {path: ['services', 'postgres', 'image'], value: DEFAULT_POSTGRES_IMAGE, onlyIfMissing: true},
    {path: ['services', 'redis', 'enabled'], value: answers.redis},
    {path: ['services', 'redis', 'image'], value: DEFAULT_REDIS_IMAGE, onlyIfMissing: true},
    {path: ['app', 'chart'], value: answers.chart},
    {path: ['app', 'namespace'], value: answers.namespace},
    {path: ['app', 'values'], value: [answers.valuesFile], onlyIfMissing: true},
    {path: ['app', 'migration'], value: 'auto', comment: 'auto: found in the chart (hook Job, plain Job or migrate init container)', onlyIfMissing: true},
    ...(answers.auth?.postgres ? [{path: ['services', 'postgres', 'auth'], value: answers.auth.postgres}] : []),
    ...(answers.auth?.redis ? [{path: ['services', 'redis', 'auth'], value: answers.auth.redis}] : []),
    ...(answers.build ? [{path: ['build'], value: answers.build, onlyIfMissing: true, comment: 'built on every `devctl up` when its code changed; `devctl dev` rebuilds on save'}] : []),
    // One setting per Secret key and per value, so --update adds to what devctl.yaml has.
    ...Object.entries(answers.chartWiring?.secrets ?? {}).flatMap(([name, keys]) => Object.entries(keys).map(([key, template]) => ({path: ['app', 'wiring', 'secrets', name, key], value: template}))),
    ...Object.entries(answers.chartWiring?.values ?? {}).map(([path, value]) => ({path: ['app', 'wiring', 'values', path], value})),
  ]
}

export function buildConfigDocument(answers: ConfigAnswers, schemaRef: string): Document {
  const doc = new Document({})
  doc.commentBefore = [` yaml-language-server: $schema=${schemaRef}`, ' devctl: `devctl up` brings this environment up; `devctl --help` lists the rest.'].join('\n')
  for (const {path, value, comment} of settings(answers)) {
    const node = doc.createNode(value)
    if (comment && isScalar(node)) node.comment = ` ${comment}`
    doc.setIn(path, node)
  }
  for (const pair of (doc.contents as YAMLMap).items) {
    const key = isScalar(pair.key) ? pair.key : (doc.createNode(pair.key) as Scalar)
    if (key.value !== 'apiVersion' && key.value !== 'project') key.spaceBefore = true
    pair.key = key
  }
  return doc
}

/** Set the keys init owns in an existing document; returns the key paths that changed. */
export function updateConfigDocument(doc: Document, answers: ConfigAnswers): string[] {
  if (!isMap(doc.contents)) doc.contents = doc.createNode({})
  const changed: string[] = []
  const provider = doc.getIn(['cluster', 'provider'])
  for (const {path, value, onlyIfMissing, k3dOnly} of settings(answers)) {
    if (k3dOnly && provider !== undefined && provider !== 'k3d') continue
    const existing = doc.getIn(path, true)
    if (existing !== undefined && (onlyIfMissing || sameValue(existing, value))) continue
    if (isScalar(existing) && (typeof value !== 'object' || value === null)) existing.value = value
    else doc.setIn(path, doc.createNode(value))
    changed.push(path.join('.'))
  }
  return changed
}

function sameValue(node: unknown, value: unknown): boolean {
  const plain = node !== null && typeof node === 'object' && 'toJSON' in node ? (node as {toJSON(): unknown}).toJSON() : node
  return JSON.stringify(plain) === JSON.stringify(value)
}

/** What a successful `upgrade` keeps in devctl.yaml, so the next `up` deploys the same. */
export interface UpgradeOverrides {
  /** --set pairs, in helm's syntax (app.set keys). */
  set: Record<string, SetValue>
  /** --values files, as devctl.yaml names them (relative to it where they are inside the project). */
  valuesFiles: string[]
  /** --chart-version, as given. */
  chartVersion?: string
}

/** Write an upgrade's overrides into devctl.yaml's document in place (comments kept); returns what changed, as "app.set.replicaCount=2". */
export function applyUpgradeOverrides(doc: Document, overrides: UpgradeOverrides): string[] {
  const changed: string[] = []
  for (const [key, value] of Object.entries(overrides.set)) {
    if (sameValue(doc.getIn(['app', 'set', key], true), value)) continue
    doc.setIn(['app', 'set', key], value)
    changed.push(`app.set.${key}=${value}`)
  }
  const list = doc.getIn(['app', 'values'], true)
  const listed = isSeq(list) ? list.toJSON() : []
  const added = [...new Set(overrides.valuesFiles)].filter((file) => !listed.includes(file))
  // Added to the list as it is, so its comments stay.
  if (isSeq(list)) for (const file of added) list.add(doc.createNode(file))
  else if (added.length > 0) doc.setIn(['app', 'values'], doc.createNode(added))
  changed.push(...added.map((file) => `app.values += ${file}`))
  if (overrides.chartVersion !== undefined && doc.getIn(['app', 'chart', 'version']) !== overrides.chartVersion) {
    doc.setIn(['app', 'chart', 'version'], overrides.chartVersion)
    changed.push(`app.chart.version=${overrides.chartVersion}`)
  }
  return changed
}
