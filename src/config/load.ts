/**
 * Finding, reading and validating devctl.yaml. Validation errors name file:line:col, the key
 * path, what was expected and what was found, and suggest the key the user probably meant.
 */
import {dirname, join, resolve} from 'node:path'

import {closest, distance} from 'fastest-levenshtein'
import {isMap, isPair, isScalar, type Node} from 'yaml'
import type * as z from 'zod'

import {ConfigError} from '../errors.js'
import {isFile} from '../system/files.js'
import {osUserName} from '../system/user.js'
import {CONFIG_FILE_NAME, configSchema, type DevctlConfig} from './schema.js'
import {displayPath, formatLocation, nodeAtPath, nodeOffset, readYamlFile, toPlainData, type YamlSource} from './yaml-file.js'

export interface LoadedConfig {
  /** Absolute path of devctl.yaml. */
  path: string
  /** The directory relative paths in the file are resolved against. */
  dir: string
  config: DevctlConfig
  resolved: ResolvedNames
}

/** Names with their defaults applied: what every workflow uses. */
export interface ResolvedNames {
  clusterName: string
  kubeContext: string
  release: string
  namespace: string
  database: string
  databaseUser: string
}

/** Walk up from `startDir` to the first directory holding devctl.yaml. */
export async function findConfigFile(startDir: string): Promise<string | undefined> {
  let dir = resolve(startDir)
  for (;;) {
    const candidate = join(dir, CONFIG_FILE_NAME)
    if (await isFile(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

export async function locateConfig(explicitPath: string | undefined, cwd = process.cwd()): Promise<string> {
  if (explicitPath) return resolve(cwd, explicitPath)
  const found = await findConfigFile(cwd)
  if (!found) {
    throw new ConfigError(`No ${CONFIG_FILE_NAME} was found in ${cwd} or any directory above it.`, {
      hint: `Run \`devctl init\` in your project's root to create one, or pass --config PATH.`,
    })
  }
  return found
}

export async function loadConfig(explicitPath: string | undefined, cwd = process.cwd()): Promise<LoadedConfig> {
  const path = await locateConfig(explicitPath, cwd)
  const source = await readYamlFile(path, CONFIG_FILE_NAME)
  const config = validateConfig(source)
  return {path, dir: dirname(path), config, resolved: resolveNames(config)}
}

export function validateConfig(source: YamlSource): DevctlConfig {
  const data = toPlainData(source, CONFIG_FILE_NAME)
  if (data === null || data === undefined) {
    throw new ConfigError(`${displayPath(source.path)} is empty.`, {hint: 'Run `devctl init --force` to write a fresh one (your file is kept as a .bak).'})
  }
  const result = configSchema.safeParse(data)
  if (result.success) return result.data
  const messages = result.error.issues.slice(0, 5).map((issue) => describeIssue(source, data, issue))
  const more = result.error.issues.length > 5 ? ` (and ${result.error.issues.length - 5} more)` : ''
  throw new ConfigError(messages.join('\n') + more, {
    hint: `Fix ${messages.length > 1 ? 'these entries' : 'this entry'} in ${displayPath(source.path)}; the file's JSON Schema gives editors completion and checks as you type.`,
  })
}

type Issue = z.core.$ZodIssue

function describeIssue(source: YamlSource, data: unknown, issue: Issue): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
  const keyPath = path.length ? path.join('.') : '(top level)'

  if (issue.code === 'unrecognized_keys') {
    const {node} = nodeAtPath(source.doc, path)
    return issue.keys
      .map((key) => {
        const keyNode = findKeyNode(node, key)
        // The keys of every form the mapping may take (both cluster providers); never the key itself.
        const known = knownKeys(path).filter((k) => k !== key)
        const suggestion = suggest(key, known)
        const at = formatLocation(source, nodeOffset(keyNode ?? node))
        const where = path.length ? `under "${keyPath}"` : 'at the top level'
        return `${at}: unknown key "${key}" ${where}.${suggestion ? ` Did you mean "${suggestion}"?` : known.length ? ` Expected one of: ${known.join(', ')}.` : ''}`
      })
      .join('\n')
  }

  if (issue.code === 'invalid_key') {
    // A mapping whose keys are names (Secret names and keys, value paths): point at the key itself.
    const key = String(path.at(-1))
    const parentPath = path.slice(0, -1)
    const keyNode = findKeyNode(nodeAtPath(source.doc, parentPath).node, key)
    const at = formatLocation(source, nodeOffset(keyNode ?? nodeAtPath(source.doc, parentPath).node))
    const reasons = issue.issues.map((inner) => inner.message).join('; ')
    return `${at}: the key "${key}" under "${parentPath.join('.')}" ${reasons}.`
  }

  const {node, exists} = nodeAtPath(source.doc, path)
  const at = formatLocation(source, nodeOffset(node))
  // A message that already says what was found (a template naming its bad placeholder) stands alone.
  if (issue.code === 'custom' && issue.params?.complete === true) return `${at}: "${keyPath}" ${issue.message}.`
  if (!exists) {
    const missing = String(path.at(-1))
    const parent = path.slice(0, -1).join('.') || 'the top level'
    const owner = parent === 'the top level' ? 'the file' : `"${parent}"`
    if (issue.code === 'custom') return `${at}: "${keyPath}" ${issue.message}.`
    return `${at}: "${keyPath}" is missing: ${owner} needs a "${missing}" key (${expectation(issue).replace(/^must be /, '')}).`
  }
  const value = valueAt(data, path)
  // `tag: &imageTag` unquoted is YAML for "an empty value with an anchor", not the text devctl wants.
  if (value === null && isScalar(node) && node.anchor) {
    const key = nodeAtPath(source.doc, path).keyNode
    return `${formatLocation(source, nodeOffset(key ?? node))}: "${keyPath}" is empty: an unquoted &${node.anchor} defines a YAML anchor there instead of being the value. Write it in quotes: "&${node.anchor}".`
  }
  // A rule about a whole mapping ("needs exactly one of ...") reads best without "found a mapping".
  if (issue.code === 'custom' && value !== null && typeof value === 'object') return `${at}: "${keyPath}" ${expectation(issue)}.`
  // A value under a secret-looking key may be the secret itself (a password where an env var name belongs): never echo it.
  const secretLike = /password|secret|token/i.test(String(path.at(-1) ?? ''))
  return `${at}: "${keyPath}" ${expectation(issue)}, but found ${secretLike && typeof value === 'string' ? 'a string (not shown)' : describeValue(value)}.`
}

function expectation(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${article(issue.expected)}`
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const options = (issue as {options?: unknown[]}).options ?? []
        return `must be one of ${options.map((v) => JSON.stringify(v)).join(', ')}`
      }
      return 'does not match any allowed form'
    case 'too_small':
      return issue.origin === 'string' ? 'must not be empty' : `must be at least ${String(issue.minimum)}`
    case 'too_big':
      return issue.origin === 'string' ? `must be at most ${String(issue.maximum)} characters` : `must be at most ${String(issue.maximum)}`
    default:
      return issue.message
  }
}

function article(type: string): string {
  const names: Record<string, string> = {int: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', object: 'a mapping (key: value)', array: 'a list'}
  return names[type] ?? `a ${type}`
}

function valueAt(data: unknown, path: ReadonlyArray<string | number>): unknown {
  let current = data
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<string | number, unknown>)[segment]
  }
  return current
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`
  if (typeof value === 'number') return `the number ${value}`
  return typeof value === 'boolean' ? String(value) : typeof value
}

function findKeyNode(node: Node | undefined, key: string): Node | undefined {
  if (!isMap(node)) return undefined
  const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === key)
  return pair && isScalar(pair.key) ? pair.key : undefined
}

/** Keys the schema allows at a path, for "did you mean". */
function knownKeys(path: ReadonlyArray<string | number>): string[] {
  let schema: unknown = configSchema
  for (const segment of path) {
    schema = childSchema(schema, segment)
    if (!schema) return []
  }
  return objectKeys(schema)
}

interface SchemaLike {
  _zod: {def: {type: string; shape?: Record<string, unknown>; innerType?: unknown; options?: unknown[]; element?: unknown; in?: unknown}}
}

function unwrap(schema: unknown): unknown {
  let current = schema as SchemaLike | undefined
  while (current?._zod?.def && ['default', 'prefault', 'optional', 'nullable', 'pipe'].includes(current._zod.def.type)) {
    current = (current._zod.def.innerType ?? current._zod.def.in) as SchemaLike | undefined
  }
  return current
}

function objectKeys(schema: unknown): string[] {
  const s = unwrap(schema) as SchemaLike | undefined
  if (!s) return []
  if (s._zod.def.type === 'object') return Object.keys(s._zod.def.shape ?? {})
  if (s._zod.def.type === 'union') return [...new Set((s._zod.def.options ?? []).flatMap(objectKeys))]
  return []
}

function childSchema(schema: unknown, segment: string | number): unknown {
  const s = unwrap(schema) as SchemaLike | undefined
  if (!s) return undefined
  if (s._zod.def.type === 'object') return s._zod.def.shape?.[String(segment)]
  if (s._zod.def.type === 'array') return s._zod.def.element
  if (s._zod.def.type === 'union') {
    for (const option of s._zod.def.options ?? []) {
      const child = childSchema(option, segment)
      if (child) return child
    }
  }
  return undefined
}

function suggest(key: string, known: string[]): string | undefined {
  if (known.length === 0) return undefined
  const best = closest(key, known)
  return distance(key.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

export function resolveNames(config: DevctlConfig, user = currentUserName()): ResolvedNames {
  const clusterName = config.cluster.provider === 'k3d' ? (config.cluster.name ?? config.project) : config.project
  const namespace = config.app.namespace ?? config.project
  return {
    clusterName,
    kubeContext: config.cluster.provider === 'k3d' ? `k3d-${clusterName}` : config.cluster.context,
    release: config.app.release ?? config.project,
    // A shared cluster gives each developer a namespace of their own.
    namespace: config.cluster.provider === 'existing' ? `${namespace}-${user}`.slice(0, 63).replace(/-+$/, '') : namespace,
    database: config.services.postgres.database ?? config.project.replaceAll('-', '_'),
    databaseUser: config.services.postgres.user ?? config.project.replaceAll('-', '_'),
  }
}

/** The OS user name as a DNS label, for per-developer namespaces on shared clusters. */
function currentUserName(): string {
  const label = (osUserName() ?? '')
    .toLowerCase()
    .replaceAll(/[^a-z0-9-]/g, '-')
    .replaceAll(/^-+|-+$/g, '')
  return label || 'dev'
}
