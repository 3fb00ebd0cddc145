/** Durations as devctl.yaml and the flags write them: "90s", "5m", "1h30m", "500ms". */
import {UsageError} from '../errors.js'

export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h))+$/

export function parseDuration(text: string): number {
  let total = 0
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * {ms: 1, s: 1000, m: 60_000, h: 3_600_000}[unit as 'ms' | 's' | 'm' | 'h']
  }
  return total
}

/** A duration flag's value, checked: a usage error names the flag instead of a step timing out at once. */
export function durationFlagValue(flag: string, text: string | undefined): string | undefined {
  if (text === undefined || (DURATION_PATTERN.test(text) && parseDuration(text) > 0)) return text
  throw new UsageError(`${flag} ${JSON.stringify(text)} is not a duration.`, {hint: `Give a duration such as 90s, 5m or 1h30m, e.g. ${flag} 5m.`})
}
