/**
 * Reading YAML the user wrote, with positions. Every error names file:line:col, so a person
 * can jump straight to it; alias expansion is capped so an "alias bomb" is rejected, not run.
 * Only regular files of a sensible size are read: a FIFO or a device would hang or never end.
 */
import {constants, type Stats} from 'node:fs'
import {open} from 'node:fs/promises'
import {relative} from 'node:path'

import {closest} from 'fastest-levenshtein'
import {Document, isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Node, type ParsedNode} from 'yaml'

import {ConfigError} from '../errors.js'

/** More alias expansions than this in one file is treated as a resource-exhaustion attempt. */
export const MAX_ALIAS_COUNT = 200

/**
 * The largest YAML file devctl reads. Far above any devctl.yaml or values file a person writes,
 * and helm could not store more anyway: a release's values live in a Secret of at most 1 MiB.
 */
export const MAX_YAML_BYTES = 1024 * 1024

export interface YamlSource {
  path: string
  text: string
  doc: Document.Parsed
  lineCounter: LineCounter
}

export interface Position {
  line: number
  col: number
}

export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path)
  return rel && !rel.startsWith('..') ? rel : path
}

export function positionOf(source: YamlSource, offset: number): Position {
  return source.lineCounter.linePos(offset)
}

export function formatLocation(source: YamlSource, offset: number | undefined): string {
  if (offset === undefined) return displayPath(source.path)
  const {line, col} = positionOf(source, offset)
  return `${displayPath(source.path)}:${line}:${col}`
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a directory'
  if (info.isFIFO()) return 'a named pipe (FIFO)'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  if (info.isSocket()) return 'a socket'
  return 'not a regular file'
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`
}

/** The text of a regular file of at most MAX_YAML_BYTES; anything else is a ConfigError naming the path. */
async function readRegularFile(path: string, what: string): Promise<string> {
  const shown = displayPath(path)
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    // Non-blocking, so opening a FIFO does not wait for a writer: it is refused below instead.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
    const info = await handle.stat()
    if (!info.isFile()) {
      throw new ConfigError(`The ${what} ${shown} is ${kindOf(info)}, not a regular file; devctl reads YAML only from regular files.`, {hint: 'Give the path of the YAML file itself.'})
    }
    if (info.size > MAX_YAML_BYTES) {
      throw new ConfigError(
        `The ${what} ${shown} is ${formatSize(info.size)}; devctl reads YAML files of at most ${formatSize(MAX_YAML_BYTES)} (helm stores a release's values in a Secret limited to 1 MiB).`,
        {
          hint: "Keep only the settings that differ from the chart's defaults, and move data out of values into the chart or a ConfigMap.",
        },
      )
    }
    return await handle.readFile('utf8')
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const {code, message} = error as NodeJS.ErrnoException
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code ?? message})`
    throw new ConfigError(`The ${what} ${shown} ${reason}.`, {
      hint: code === 'ENOENT' ? `Check the path, or run \`devctl init\` to create it.` : `Fix the file's permissions.`,
    })
  } finally {
    await handle?.close()
  }
}

/** Read and parse a YAML file; syntax errors become a ConfigError naming file:line:col. */
export async function readYamlFile(path: string, what = 'file'): Promise<YamlSource> {
  return parseYamlText(path, await readRegularFile(path, what), what)
}

export function parseYamlText(path: string, text: string, what = 'file'): YamlSource {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true, keepSourceTokens: false})
  const source: YamlSource = {path, text, doc, lineCounter}
  const [first] = doc.errors
  if (first) {
    const message = first.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? first.message
    throw new ConfigError(`${formatLocation(source, first.pos[0])}: the ${what} is not valid YAML: ${message}.`, {
      hint: 'Fix the YAML syntax at that position (indentation and quoting are the usual suspects).',
    })
  }
  return source
}

/**
 * An alias (`*imageTagg`) whose anchor is not defined before it: said as such, at its position,
 * with the anchors that do exist (the yaml library only says "unresolved alias" when expanding).
 */
function assertAliasesResolve(source: YamlSource, what: string): void {
  const defined: string[] = []
  let unresolved: {name: string; offset?: number} | undefined
  visit(source.doc, (_key, node) => {
    if (isAlias(node)) {
      if (!defined.includes(node.source)) {
        unresolved = {name: node.source, offset: nodeOffset(node)}
        return visit.BREAK
      }
    } else if (isNode(node) && node.anchor) {
      defined.push(node.anchor)
    }
    return undefined
  })
  if (!unresolved) return
  const anchors = new Set<string>()
  visit(source.doc, (_key, node) => {
    if (isNode(node) && !isAlias(node) && node.anchor) anchors.add(node.anchor)
  })
  const suggestion = anchors.size ? closest(unresolved.name, [...anchors]) : undefined
  const known = anchors.size ? ` Anchors in this file: ${[...anchors].map((a) => `&${a}`).join(', ')}.` : ' The file defines no anchors.'
  const later = anchors.has(unresolved.name) ? ` &${unresolved.name} is defined only after it.` : ''
  throw new ConfigError(`${formatLocation(source, unresolved.offset)}: the ${what} uses the alias *${unresolved.name}, but no anchor &${unresolved.name} is defined before it.${later}${known}`, {
    hint: later
      ? `Move the anchor &${unresolved.name} above its first alias.`
      : suggestion
        ? `Did you mean *${suggestion}? Fix the alias, or define &${unresolved.name} before it.`
        : `Define &${unresolved.name} (e.g. \`tag: &${unresolved.name} "1.0.0"\`) before the aliases that use it.`,
  })
}

/** The document as plain JS, with alias expansion capped. */
export function toPlainData(source: YamlSource, what = 'file'): unknown {
  assertAliasesResolve(source, what)
  try {
    return source.doc.toJS({maxAliasCount: MAX_ALIAS_COUNT})
  } catch (error) {
    // Every alias resolves (checked above): a ReferenceError here is the expansion cap.
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ConfigError(
        `${displayPath(source.path)}: the ${what} expands YAML aliases more than ${MAX_ALIAS_COUNT} times, which looks like an "alias bomb" (a document that grows exponentially when read); devctl refused to read it.`,
        {hint: 'Use fewer nested aliases; anchors are for sharing a few settings, not for generating data.'},
      )
    }
    throw error
  }
}

/**
 * The node at a key path and, when the path leads past the end of the document (a missing key),
 * the deepest node that does exist.
 */
export function nodeAtPath(doc: Document, path: ReadonlyArray<PropertyKey>): {node: Node | undefined; exists: boolean; keyNode?: Node} {
  let current: unknown = doc.contents
  let keyNode: Node | undefined
  for (const segment of path) {
    const resolved = resolveAlias(doc, current)
    if (isMap(resolved)) {
      const pair = resolved.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment))
      if (!pair) return {node: resolved, exists: false}
      keyNode = isNode(pair.key) ? pair.key : undefined
      current = pair.value
    } else if (isSeq(resolved) && typeof segment === 'number') {
      const item = resolved.items[segment]
      if (item === undefined) return {node: resolved, exists: false}
      keyNode = undefined
      current = item
    } else {
      return {node: isNode(resolved) ? resolved : undefined, exists: false}
    }
  }
  return {node: isNode(current) ? current : undefined, exists: true, keyNode}
}

function resolveAlias(doc: Document, value: unknown): unknown {
  return isAlias(value) ? value.resolve(doc) : value
}

export function nodeOffset(node: Node | undefined): number | undefined {
  return (node as ParsedNode | undefined)?.range?.[0]
}

/**
 * A Helm values file as data: a mapping at the top level, or nothing (an empty file). helm
 * rejects a list or a scalar with a JSON error that names neither the file nor the place.
 */
export async function readValuesFile(path: string): Promise<Record<string, unknown> | null> {
  const what = 'values file'
  const source = await readYamlFile(path, what)
  const data = toPlainData(source, what)
  if (data === null || data === undefined) return null
  if (typeof data === 'object' && !Array.isArray(data)) return data as Record<string, unknown>
  // Neither a mapping nor empty: a list or a scalar.
  const found = Array.isArray(data) ? 'a list' : `the ${typeof data} ${JSON.stringify((data as string | number | boolean).toString().slice(0, 40))}`
  throw new ConfigError(`${formatLocation(source, nodeOffset(source.doc.contents ?? undefined))}: a ${what} must be a mapping (key: value) at the top level, but found ${found}.`, {
    hint: 'Write the values as keys at the top level of the file, e.g. `replicaCount: 1`.',
  })
}
