/**
 * Reading and writing a value path (config/value-path.ts) in a values file's YAML Document,
 * keeping everything else in it: maps and lists are created on the way, an env-style item
 * (`env[name=DB_HOST]`) is found or added, and nothing the user wrote is silently replaced.
 */
import {Alias, type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, Scalar, visit, YAMLMap, YAMLSeq} from 'yaml'

import {formatValuePath, parseValuePath, type PathStep} from '../config/value-path.js'
import {ConfigError} from '../errors.js'
import {count} from '../text.js'

type Collection = YAMLMap | YAMLSeq

/** The item of `seq` whose `key` is `value`. */
function matchingItem(seq: YAMLSeq, key: string, value: string): Node | undefined {
  return seq.items.find((item): item is YAMLMap => isMap(item) && String(item.get(key)) === value)
}

function child(collection: Collection, step: PathStep): Node | undefined {
  if (step.kind === 'key') return isMap(collection) ? collection.get(step.key, true) : undefined
  if (!isSeq(collection)) return undefined
  if (step.kind === 'index') return collection.items[step.index] as Node | undefined
  if (step.kind === 'match') return matchingItem(collection, step.key, step.value)
  return undefined
}

/** The node at a path, or undefined (an append step `[]` never names an existing node). */
export function nodeAtValuePath(doc: Document, path: string): Node | undefined {
  let current: Node | undefined = doc.contents ?? undefined
  for (const step of parseValuePath(path)) {
    if (!isMap(current) && !isSeq(current)) return undefined
    current = child(current, step)
  }
  return current
}

function emptyCollectionFor(doc: Document, step: PathStep): Collection {
  return step.kind === 'key' ? new YAMLMap(doc.schema) : new YAMLSeq(doc.schema)
}

function conflict(path: string, at: PathStep[], found: string): ConfigError {
  return new ConfigError(`devctl cannot write ${path} into the values file: ${formatValuePath(at) || 'its top level'} is ${found}.`, {
    hint: 'Change that entry in the values file, or choose another value path.',
  })
}

/** Is `node` the value we are about to write (an alias to the same anchor, or an equal scalar)? */
function sameValue(node: unknown, value: Node): boolean {
  if (isAlias(value)) return isAlias(node) && node.source === value.source
  return isScalar(node) && isScalar(value) && node.value === value.value
}

/**
 * Put `value` at `path`. `mode`: "if-absent" leaves what is already there (the user's own
 * value), "replace" sets it. An append step (`list[]`) adds one item, unless an item already
 * holds this same value there. Returns whether the document changed.
 */
export function setAtValuePath(doc: Document, path: string, value: Node, mode: 'if-absent' | 'replace'): boolean {
  const steps = parseValuePath(path)
  if (!isMap(doc.contents)) doc.contents = new YAMLMap(doc.schema)
  let current = doc.contents
  for (const [i, step] of steps.entries()) {
    const last = i === steps.length - 1
    const rest = steps.slice(i + 1)
    const here = steps.slice(0, i)
    if (step.kind === 'key' && !isMap(current)) throw conflict(path, here, 'a list, not a mapping')
    if (step.kind !== 'key' && !isSeq(current)) throw conflict(path, here, 'a mapping, not a list')

    if (step.kind === 'append') {
      const seq = current as YAMLSeq
      // Appending the same alias twice (init --update) must not add a second item.
      if (seq.items.some((item) => sameValue(rest.length ? nodeAtSteps(item as Node, rest) : item, value))) return false
      if (last) {
        seq.items.push(value)
        return true
      }
      const item = emptyCollectionFor(doc, rest[0]!)
      seq.items.push(item)
      current = item
      continue
    }

    if (step.kind === 'match') {
      const seq = current as YAMLSeq
      let item = matchingItem(seq, step.key, step.value)
      if (!item) {
        const created = new YAMLMap(doc.schema)
        created.set(doc.createNode(step.key), doc.createNode(step.value))
        seq.items.push(created)
        item = created
      }
      current = item as Collection
      continue
    }

    if (step.kind === 'index' && step.index > (current as YAMLSeq).items.length) {
      throw conflict(path, [...here], `a list of ${count((current as YAMLSeq).items.length, 'item')}, so it has no item [${step.index}] to write into`)
    }
    const existing = child(current, step)
    if (last) {
      const present = existing !== undefined && !(isScalar(existing) && existing.value === null)
      if (present && (mode === 'if-absent' || sameValue(existing, value))) return false
      if (mode === 'replace' && isScalar(existing) && isScalar(value) && !value.anchor) {
        existing.value = value.value
        return true
      }
      write(current, step, value)
      return true
    }
    if (existing === undefined || (isScalar(existing) && existing.value === null)) {
      const created = emptyCollectionFor(doc, steps[i + 1]!)
      write(current, step, created)
      current = created
    } else if (isMap(existing) || isSeq(existing)) {
      current = existing
    } else {
      throw conflict(path, [...here, step], isAlias(existing) ? `an alias (*${existing.source})` : 'a plain value')
    }
  }
  return false
}

function nodeAtSteps(start: Node, steps: PathStep[]): Node | undefined {
  let current: Node | undefined = start
  for (const step of steps) {
    if (!isMap(current) && !isSeq(current)) return undefined
    current = child(current, step)
  }
  return current
}

function write(collection: Collection, step: PathStep, value: Node): void {
  if (step.kind === 'key') (collection as YAMLMap).set(new Scalar(step.key), value)
  else if (step.kind === 'index') (collection as YAMLSeq).set(step.index, value)
}

/** The anchored scalar `&anchor`, wherever it is in the document. */
export function findAnchored(doc: Document, anchor: string): Scalar | undefined {
  let found: Scalar | undefined
  visit(doc, {
    Scalar(_, node) {
      if (node.anchor !== anchor) return undefined
      found = node
      return visit.BREAK
    },
  })
  return found
}

/**
 * YAML needs each anchor before its aliases. When a setting is defined at its first use (a chart
 * whose schema forbids a `shared:` block), that first use in document order may be a later
 * addition: move the anchored scalar there and leave an alias where it was.
 */
export function anchorsBeforeAliases(doc: Document): void {
  const anchored = new Map<string, Scalar>()
  visit(doc, {
    Scalar(_, node) {
      if (node.anchor) anchored.set(node.anchor, node)
    },
  })
  const placed = new Set<Scalar>()
  visit(doc, {
    Alias(_, alias) {
      const target = anchored.get(alias.source)
      if (!target || placed.has(target)) return undefined
      // Visited next in its new place; its old place is met later and becomes the alias.
      return target
    },
    Scalar(_, node) {
      if (!node.anchor) return undefined
      if (!placed.has(node)) {
        placed.add(node)
        return undefined
      }
      return new Alias(node.anchor)
    },
  })
}

/** Where a node sits, as a value path (for saying what changed). */
export function valuePathOf(doc: Document, target: Node): string | undefined {
  let found: string | undefined
  visit(doc, {
    Node(_, node, ancestors) {
      if (node !== target) return undefined
      const chain = [...ancestors, node]
      const steps: PathStep[] = []
      chain.forEach((ancestor, i) => {
        if (isPair(ancestor) && isScalar(ancestor.key)) steps.push({kind: 'key', key: String(ancestor.key.value)})
        if (isSeq(ancestor)) steps.push({kind: 'index', index: ancestor.items.indexOf(chain[i + 1])})
      })
      found = formatValuePath(steps)
      return visit.BREAK
    },
  })
  return found
}
