/**
 * Where in a chart's values devctl writes a setting (`--wire`, `app.wiring.values`): helm's
 * `--set` path syntax (`a.b`, `list[0].c`, `a\.b` for a key with a dot) plus two list forms
 * `--set` lacks: `list[]` appends an item, and `list[name=DB_HOST]` is the item whose `name` is
 * DB_HOST (created if missing), the way charts take env entries.
 */

export type PathStep = {kind: 'key'; key: string} | {kind: 'index'; index: number} | {kind: 'append'} | {kind: 'match'; key: string; value: string}

export class ValuePathError extends Error {}

export const VALUE_PATH_EXAMPLES = 'externalDatabase.host, env[0].value, env[name=DB_HOST].value, envFromSecrets[].secretName, or podAnnotations.example\\.com/db'

function bracket(content: string, path: string): PathStep {
  if (content === '') return {kind: 'append'}
  if (/^\d+$/.test(content)) return {kind: 'index', index: Number(content)}
  const match = /^([^=]+)=(.+)$/.exec(content)
  if (match) return {kind: 'match', key: match[1]!, value: match[2]!}
  throw new ValuePathError(`"${path}" has "[${content}]": inside brackets write an index ([0]), nothing ([] appends an item) or KEY=VALUE ([name=DB_HOST] is the item whose name is DB_HOST)`)
}

export function parseValuePath(path: string): PathStep[] {
  const steps: PathStep[] = []
  let key = ''
  let keyStarted = false
  const endKey = () => {
    if (!keyStarted) return
    if (key === '') throw new ValuePathError(`"${path}" has an empty key`)
    steps.push({kind: 'key', key})
    key = ''
    keyStarted = false
  }
  for (let i = 0; i < path.length; i++) {
    const char = path[i]!
    if (char === '\\' && i + 1 < path.length) {
      key += path[++i]!
      keyStarted = true
    } else if (char === '.') {
      if (!keyStarted && (steps.length === 0 || steps.at(-1)!.kind === 'key')) throw new ValuePathError(`"${path}" has an empty key`)
      endKey()
      keyStarted = true
    } else if (char === '[') {
      if (!keyStarted && steps.length === 0) throw new ValuePathError(`"${path}" starts with a list index; it must start with a key`)
      endKey()
      const close = path.indexOf(']', i)
      if (close === -1) throw new ValuePathError(`"${path}" has a "[" without its "]"`)
      steps.push(bracket(path.slice(i + 1, close), path))
      i = close
      const next = path[i + 1]
      if (next !== undefined && next !== '.' && next !== '[') throw new ValuePathError(`"${path}" has "${next}" right after "]"; write a "." before the next key`)
    } else {
      key += char
      keyStarted = true
    }
  }
  if (keyStarted || steps.length === 0) {
    if (key === '') throw new ValuePathError(path === '' ? 'the path is empty' : `"${path}" ends with "."`)
    endKey()
  }
  assertSensible(path, steps)
  return steps
}

/** Paths that parse but would write something a chart cannot use. */
function assertSensible(path: string, steps: PathStep[]): void {
  const last = steps.at(-1)!
  if (last.kind === 'match') throw new ValuePathError(`"${path}" ends at a list item; name the key to set in it, e.g. env[name=DB_HOST].value`)
  steps.forEach((step, i) => {
    const next = steps[i + 1]
    // A Kubernetes env entry without its name is rejected by the API server.
    if (step.kind === 'append' && next?.kind === 'key' && (next.key === 'value' || next.key === 'valueFrom')) {
      throw new ValuePathError(
        `"${path}" would append an env entry with no name; say which entry: ${formatValuePath([...steps.slice(0, i), {kind: 'match', key: 'name', value: 'VARIABLE'}, ...steps.slice(i + 1)])}`,
      )
    }
  })
}

export function valuePathProblem(path: string): string | undefined {
  try {
    parseValuePath(path)
    return undefined
  } catch (error) {
    if (error instanceof ValuePathError) return error.message
    throw error
  }
}

const escapeKey = (key: string) => key.replace(/[\\.[\]]/g, (char) => `\\${char}`)

export function formatValuePath(steps: PathStep[]): string {
  return steps
    .map((step, i) => {
      switch (step.kind) {
        case 'key':
          return `${i === 0 ? '' : '.'}${escapeKey(step.key)}`
        case 'index':
          return `[${step.index}]`
        case 'append':
          return '[]'
        case 'match':
          return `[${step.key}=${step.value}]`
      }
    })
    .join('')
}

/** The top-level key a path writes under. */
export function rootKey(path: string): string {
  const first = parseValuePath(path)[0]!
  return first.kind === 'key' ? first.key : ''
}
