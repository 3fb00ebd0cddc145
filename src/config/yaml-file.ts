/**
 * Reading YAML the user wrote, with positions. Every error names file:line:col, so a person
 * can jump straight to it; alias expansion is capped so an "alias bomb" is rejected, not run.
 */
import {readFile} from 'node:fs/promises'
import {relative} from 'node:path'

import {Document, isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node, type ParsedNode} from 'yaml'

import {ConfigError} from '../errors.js'

/** More alias expansions than this in one file is treated as a resource-exhaustion attempt. */
export const MAX_ALIAS_COUNT = 200

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

/** Read and parse a YAML file; syntax errors become a ConfigError naming file:line:col. */
export async function readYamlFile(path: string, what = 'file'): Promise<YamlSource> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code})`
    throw new ConfigError(`The ${what} ${displayPath(path)} ${reason}.`, {
      hint: code === 'ENOENT' ? `Check the path, or run \`devctl init\` to create it.` : `Fix the file's permissions.`,
    })
  }
  return parseYamlText(path, text, what)
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

/** The document as plain JS, with alias expansion capped. */
export function toPlainData(source: YamlSource, what = 'file'): unknown {
  try {
    return source.doc.toJS({maxAliasCount: MAX_ALIAS_COUNT})
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ConfigError(
        `${displayPath(source.path)}: the ${what} expands YAML aliases more than ${MAX_ALIAS_COUNT} times, which looks like an "alias bomb" (a document that grows exponentially when read); devctl refused to read it.`,
        {hint: 'Use fewer nested aliases; anchors are for sharing a few settings, not for generating data.'},
      )
    }
    if (error instanceof ReferenceError) {
      throw new ConfigError(`${displayPath(source.path)}: ${error.message}.`, {hint: 'Define each anchor (&name) before the aliases (*name) that use it.'})
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
