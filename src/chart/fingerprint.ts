/**
 * A content hash of everything a deploy depends on: the chart (its version, or a digest of its
 * directory), the values as helm will read them (aliases expanded), the --set overrides and
 * the parts of devctl.yaml that shape the release. Stored on the release as a label, it lets a
 * re-run of `up` skip helm entirely when nothing changed.
 */
import {createHash} from 'node:crypto'
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {isAbsolute, join, relative, resolve} from 'node:path'

import type {ChartSource} from '../config/schema.js'
import type {SetValue} from './set-syntax.js'
import {ChartError} from '../errors.js'
import {readValuesFile} from '../config/yaml-file.js'

export const FINGERPRINT_LABEL = 'devctl.dev/fingerprint'

export interface FingerprintInput {
  chart: ChartSource
  baseDir: string
  valuesFiles: string[]
  set: Record<string, SetValue>
  /** Anything else that changes what gets deployed (release/namespace names, services). */
  extra: unknown
}

async function directoryDigest(dir: string): Promise<string> {
  const hash = createHash('sha256')
  let entries: string[]
  try {
    entries = (await readdir(dir, {recursive: true, withFileTypes: true}))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .filter(
        (p) =>
          !relative(dir, p)
            .split(/[\\/]/)
            .some((part) => part === '.git' || part === 'node_modules'),
      )
      .sort()
  } catch (error) {
    throw new ChartError(`The chart directory ${dir} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`, {
      hint: 'Check app.chart.path in devctl.yaml.',
    })
  }
  for (const path of entries) {
    hash
      .update(relative(dir, path))
      .update('\0')
      .update(await readFile(path))
      .update('\0')
  }
  return hash.digest('hex')
}

/** Sort object keys so the same values always hash the same. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    )
  return value
}

export async function fingerprint(input: FingerprintInput): Promise<string> {
  const chart = input.chart.path !== undefined ? {dir: await directoryDigest(isAbsolute(input.chart.path) ? input.chart.path : resolve(input.baseDir, input.chart.path))} : input.chart
  const values = []
  for (const file of input.valuesFiles) values.push(await readValuesFile(file))
  const payload = JSON.stringify(canonical({chart, values, set: input.set, extra: input.extra}))
  // Label values are at most 63 characters; 40 hex characters are plenty to tell deploys apart.
  return createHash('sha256').update(payload).digest('hex').slice(0, 40)
}

/**
 * The fingerprint of the last deploy inputs whose rendered chart passed devctl's checks, kept in
 * .devctl/: the same inputs render the same, so a re-run need not render them again to know.
 */
const CHECKED_FILE = 'checked-fingerprint'

export async function lastCheckedFingerprint(stateDir: string): Promise<string | undefined> {
  return (await readFile(join(stateDir, CHECKED_FILE), 'utf8').catch(() => '')).trim() || undefined
}

export async function recordCheckedFingerprint(stateDir: string, hash: string): Promise<void> {
  await mkdir(stateDir, {recursive: true, mode: 0o700})
  await writeFile(join(stateDir, CHECKED_FILE), `${hash}\n`)
}
