/**
 * The devctl package's own directory (where package.json, presets/ and schema/ ship). Modules
 * run from src/ under tests and from dist/ (bundled, in its chunks) when built, so it is found, not counted.
 */
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'presets'))) return dir
    if (dirname(dir) === dir) throw new Error(`devctl's package root (package.json next to presets/) was not found above ${from}`)
  }
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)))
