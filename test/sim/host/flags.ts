/**
 * Command-line parsing with the rules and error texts of spf13/pflag + cobra, which k3d and
 * docker both use: `--name=value`, `--name value`, `-n value`, `-nvalue`, bool clusters
 * (`-ab`), `--` ends flags, flags may follow positionals, and the exact "unknown flag" wording.
 */

export type FlagKind = 'bool' | 'string' | 'int' | 'duration' | 'stringArray' | 'stringSlice'

export interface FlagSpec {
  name: string
  short?: string
  kind: FlagKind
  /** The value when the flag is absent. */
  default?: string
  /** Extra validation of a string value (pflag's Value.Set); returns the error text. */
  validate?: (raw: string) => string | undefined
}

/** A parse failure; `message` is what cobra prints after "Error: ". */
export class FlagError extends Error {}

const boolTrue = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const boolFalse = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

export function parseGoBool(raw: string): boolean | undefined {
  if (boolTrue.has(raw)) return true
  if (boolFalse.has(raw)) return false
  return undefined
}

const durationUnitsMs: Record<string, number> = {ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** Go's time.ParseDuration, in milliseconds; throws with Go's error text. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text)
  let rest = text
  let sign = 1
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1
    rest = rest.slice(1)
  }
  if (rest === '0') return 0
  if (rest === '') throw new Error(`time: invalid duration ${quoted}`)
  let total = 0
  while (rest !== '') {
    const number = /^(\d*)(\.\d*)?/.exec(rest)?.[0] ?? ''
    if (number === '' || number === '.') throw new Error(`time: invalid duration ${quoted}`)
    rest = rest.slice(number.length)
    const unit = /^[^\d.]*/.exec(rest)?.[0] ?? ''
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`)
    const factor = durationUnitsMs[unit]
    if (factor === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`)
    rest = rest.slice(unit.length)
    total += Number(number) * factor
  }
  return sign * total
}

/** The value check pflag runs in Value.Set for each kind; returns the error text. */
function checkValue(spec: FlagSpec, raw: string): string | undefined {
  switch (spec.kind) {
    case 'bool':
      return parseGoBool(raw) === undefined ? `strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax` : undefined
    case 'int':
      return /^[+-]?\d+$/.test(raw) ? undefined : `strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`
    case 'duration':
      try {
        parseGoDuration(raw)
        return undefined
      } catch (error) {
        return (error as Error).message
      }
    default:
      return spec.validate?.(raw)
  }
}

// pflag reads slice flags as CSV; quoting is rare in practice and not supported here.
function splitCsv(raw: string): string[] {
  return raw === '' ? [] : raw.split(',')
}

function flagLabel(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`
}

export class ParsedFlags {
  constructor(
    readonly args: string[],
    private readonly values: Map<string, string[]>,
    private readonly specs: Map<string, FlagSpec>,
  ) {}

  /** The same flags without the leading positionals (the subcommand words). */
  withoutLeadingArgs(count: number): ParsedFlags {
    return new ParsedFlags(this.args.slice(count), this.values, this.specs)
  }

  has(name: string): boolean {
    return this.values.has(name)
  }

  private last(name: string): string | undefined {
    const given = this.values.get(name)
    return given ? given.at(-1) : this.specs.get(name)?.default
  }

  string(name: string): string {
    return this.last(name) ?? ''
  }

  bool(name: string): boolean {
    return parseGoBool(this.last(name) ?? 'false') ?? false
  }

  int(name: string): number {
    return Number(this.last(name) ?? '0')
  }

  /** stringArray keeps each occurrence whole; stringSlice also splits on commas. */
  strings(name: string): string[] {
    const given = this.values.get(name) ?? []
    return this.specs.get(name)?.kind === 'stringSlice' ? given.flatMap(splitCsv) : given
  }
}

export function parseFlags(argv: readonly string[], specList: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specList.map((s) => [s.name, s]))
  const byShort = new Map(specList.filter((s) => s.short).map((s) => [s.short as string, s]))
  const values = new Map<string, string[]>()
  const args: string[] = []

  const set = (spec: FlagSpec, raw: string): void => {
    const problem = checkValue(spec, raw)
    if (problem !== undefined) throw new FlagError(`invalid argument ${JSON.stringify(raw)} for ${JSON.stringify(flagLabel(spec))} flag: ${problem}`)
    values.set(spec.name, [...(values.get(spec.name) ?? []), raw])
  }

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string
    if (token === '--') {
      args.push(...argv.slice(i + 1))
      break
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      const name = token.slice(2, eq < 0 ? undefined : eq)
      const spec = byName.get(name)
      if (!spec) throw new FlagError(`unknown flag: --${name}`)
      if (eq >= 0) set(spec, token.slice(eq + 1))
      else if (spec.kind === 'bool') set(spec, 'true')
      else if (i + 1 < argv.length) set(spec, argv[++i] as string)
      else throw new FlagError(`flag needs an argument: --${name}`)
      continue
    }
    if (token.startsWith('-') && token !== '-') {
      // A cluster of shorthands; the first that takes a value consumes the rest of the token.
      for (let j = 1; j < token.length; j++) {
        const letter = token[j] as string
        const spec = byShort.get(letter)
        if (!spec) throw new FlagError(`unknown shorthand flag: '${letter}' in ${token}`)
        const rest = token.slice(j + 1)
        if (rest.startsWith('=')) {
          set(spec, rest.slice(1))
          break
        }
        if (spec.kind === 'bool') {
          set(spec, 'true')
          continue
        }
        if (rest !== '') set(spec, rest)
        else if (i + 1 < argv.length) set(spec, argv[++i] as string)
        else throw new FlagError(`flag needs an argument: '${letter}' in -${letter}`)
        break
      }
      continue
    }
    args.push(token)
  }
  return new ParsedFlags(args, values, byName)
}

/**
 * The leading positionals of argv (the subcommand path), skipping global flags and their
 * values the way cobra's Find does before the subcommand's own flags are known.
 */
export function commandWords(argv: readonly string[], globalFlags: readonly FlagSpec[], depth: number): string[] {
  const takesValue = (spec: FlagSpec | undefined): boolean => spec !== undefined && spec.kind !== 'bool'
  const words: string[] = []
  for (let i = 0; i < argv.length && words.length < depth; i++) {
    const token = argv[i] as string
    if (token === '--') break
    if (token.startsWith('--')) {
      if (!token.includes('=') && takesValue(globalFlags.find((f) => f.name === token.slice(2)))) i++
    } else if (token.startsWith('-') && token.length > 1) {
      if (token.length === 2 && takesValue(globalFlags.find((f) => f.short === token[1]))) i++
    } else {
      words.push(token)
    }
  }
  return words
}
