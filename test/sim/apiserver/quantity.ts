/** Kubernetes resource quantities ("250m", "1.5", "512Mi", "1G") as plain numbers. */
const binary: Record<string, number> = {Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60}
const decimal: Record<string, number> = {n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18}

export function parseQuantity(text: string | number | undefined): number {
  if (text === undefined) return 0
  if (typeof text === 'number') return text
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([A-Za-z]*)$/.exec(text.trim())
  if (!match) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (got "${text}")`)
  const value = Number(match[1])
  const suffix = match[2] ?? ''
  const multiplier = binary[suffix] ?? decimal[suffix]
  if (multiplier === undefined) throw new Error(`unable to parse quantity's suffix (got "${text}")`)
  return value * multiplier
}
