/**
 * What `devctl logs` was asked for, checked once: regexes compiled and --since understood,
 * so a typo is a usage error before any request is made.
 */
import {UsageError} from '../errors.js'
import {DURATION_PATTERN, parseDuration} from '../config/duration.js'

/** Where each container's log starts: `seconds` ago (server clock) or at `time`. */
export type Since = {seconds: number} | {time: string}

export interface LogsRequest {
  namespace: string
  release: string
  /** `app.kubernetes.io/component` values or pod-name regexes; empty: every pod of the release. */
  components: string[]
  /** Also devctl's own Postgres and Redis. */
  services: boolean
  container?: RegExp
  grep?: RegExp
  exclude?: RegExp
  since?: Since
  /** Lines per container from the end of its log. */
  tail?: number
  follow: boolean
  /** Interleave the Kubernetes events of the selected pods (and their owners). */
  events: boolean
}

export interface LogsFlags {
  container?: string
  grep?: string
  exclude?: string
  since?: string
  tail?: number
  follow: boolean
  events: boolean
  services: boolean
}

export function compilePattern(flag: string, pattern: string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined
  try {
    return new RegExp(pattern)
  } catch (error) {
    throw new UsageError(`${flag} ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`, {
      hint: 'Regexes use JavaScript syntax, e.g. --grep "error|warn" or --grep "^GET /api".',
    })
  }
}

export function parseSince(text: string | undefined): Since | undefined {
  if (text === undefined) return undefined
  if (DURATION_PATTERN.test(text)) return {seconds: Math.max(1, Math.ceil(parseDuration(text) / 1000))}
  const time = Date.parse(text)
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(time)) return {time: new Date(time).toISOString()}
  throw new UsageError(`--since ${JSON.stringify(text)} is neither a duration nor a time.`, {
    hint: 'Give a duration like 30s, 5m or 1h30m, or a time like 2025-01-31T14:00:00Z.',
  })
}

export function logsRequest(names: {namespace: string; release: string}, components: string[], flags: LogsFlags): LogsRequest {
  for (const component of components) compilePattern('COMPONENT', component)
  if (flags.tail !== undefined && flags.tail < 0) throw new UsageError(`--tail must be 0 or more, not ${flags.tail}.`)
  return {
    namespace: names.namespace,
    release: names.release,
    components,
    services: flags.services,
    container: compilePattern('--container', flags.container),
    grep: compilePattern('--grep', flags.grep),
    exclude: compilePattern('--exclude', flags.exclude),
    since: parseSince(flags.since),
    tail: flags.tail,
    follow: flags.follow,
    events: flags.events,
  }
}
