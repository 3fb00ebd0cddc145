/**
 * Tools' `--json` / `-o json` output into types, at the edge: the one parser every tool wrapper
 * uses (docker, k3d, helm, kubectl). Text that is not JSON, or JSON of another shape (a tool
 * version devctl does not know), is the tool's failure, with the start of what it printed.
 */
import type * as z from 'zod'

import type {DevctlError, DevctlErrorOptions} from '../errors.js'
import {tail} from './process.js'

type ErrorClass = new (message: string, options?: DevctlErrorOptions) => DevctlError

/** Parse `text` (some tools print a log line first: the first line starting with `firstChar` begins the JSON). */
export function parseToolJson<T extends z.ZodType>(schema: T, text: string, command: string, failure: ErrorClass, options: {firstChar?: '{' | '['} = {}): z.output<T> {
  const start = options.firstChar ? text.split('\n').findIndex((line) => line.startsWith(options.firstChar!)) : 0
  const json = start < 0 ? '' : text.split('\n').slice(start).join('\n')
  let data: unknown
  try {
    data = JSON.parse(json)
  } catch {
    throw new failure(`\`${command}\` did not print the JSON devctl asked for.`, {details: tail(text, 3)})
  }
  const parsed = schema.safeParse(data)
  if (!parsed.success) throw new failure(`\`${command}\` printed JSON of an unexpected shape; is this a supported version?`, {details: [parsed.error.issues[0]?.message ?? '']})
  return parsed.data
}
