/** Durations as devctl.yaml and the flags write them: "90s", "5m", "1h30m", "500ms". */
import {UsageError} from '../errors.js'

export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h))+$/

/**
 * The longest wait devctl accepts. Node's timers hold at most 2^31-1 ms (about 24.8 days) and
 * fire at once — after 1 ms — when asked for longer, so a larger timeout would time out at once.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1
export const MAX_DURATION_TEXT = '596h (about 24 days)'

export function parseDuration(text: string): number {
  let total = 0
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * {ms: 1, s: 1000, m: 60_000, h: 3_600_000}[unit as 'ms' | 's' | 'm' | 'h']
  }
  return total
}

/** A written duration's length is one a timer can wait: more than 0, at most MAX_DURATION_MS. */
export function isWaitableDuration(text: string): boolean {
  const ms = parseDuration(text)
  return ms > 0 && ms <= MAX_DURATION_MS
}

/** A duration flag's value, checked: a usage error names the flag instead of a step timing out at once. */
export function durationFlagValue(flag: string, text: string | undefined): string | undefined {
  if (text === undefined || (DURATION_PATTERN.test(text) && isWaitableDuration(text))) return text
  const tooLong = DURATION_PATTERN.test(text) && parseDuration(text) > MAX_DURATION_MS
  throw new UsageError(`${flag} ${JSON.stringify(text)} is ${tooLong ? `longer than devctl can wait: at most ${MAX_DURATION_TEXT}` : 'not a duration'}.`, {
    hint: `Give a duration such as 90s, 5m or 1h30m, e.g. ${flag} 5m.`,
  })
}
