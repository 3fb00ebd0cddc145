/**
 * A build context as Docker sends it — the context directory less what `.dockerignore`
 * excludes — and its content digest: with the Dockerfile, the target and the build args, it
 * names the image (`dev-<digest>`), so an unchanged context is never rebuilt. File hashes are
 * kept in a cache keyed by size, times and inode: a re-run with nothing changed reads no file,
 * it only lists and stats them.
 */
import {createHash} from 'node:crypto'
import {lstatSync, readdirSync, readlinkSync, type Stats} from 'node:fs'
import {mkdir, readFile} from 'node:fs/promises'
import {basename, dirname, join, relative} from 'node:path'

// A CommonJS module whose typings declare an ES default export: the factory is `.default`.
import dockerignore from '@balena/dockerignore'
import {writeFileAtomic} from '../system/files.js'

export interface IgnoreRules {
  /** The file the rules came from (relative to the context), if there is one. */
  file?: string
  /** Is this path (relative to the context, `/`-separated) left out of the context? */
  ignores(path: string): boolean
  /** A `!` rule can bring back a path below an excluded directory: such directories are still walked. */
  hasExceptions: boolean
}

/**
 * The context's ignore rules, as BuildKit finds them: `<Dockerfile>.dockerignore` next to the
 * Dockerfile wins, else `.dockerignore` at the root of the context.
 */
export async function readIgnoreRules(contextDir: string, dockerfile: string): Promise<IgnoreRules> {
  for (const candidate of [`${dockerfile}.dockerignore`, join(contextDir, '.dockerignore')]) {
    const text = await readFile(candidate, 'utf8').catch(() => undefined)
    if (text === undefined) continue
    const patterns = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
    const rules = dockerignore.default().add(patterns)
    return {file: relative(contextDir, candidate) || basename(candidate), ignores: (path) => rules.ignores(path), hasExceptions: patterns.some((p) => p.startsWith('!'))}
  }
  return {ignores: () => false, hasExceptions: false}
}

export interface ContextEntry {
  /** Relative to the context, `/`-separated. */
  path: string
  stats: Stats
  /** For a symbolic link: where it points (Docker sends the link, not its target). */
  link?: string
}

/** Every file and symbolic link Docker would send, sorted by path. Directories excluded as a whole are not walked. */
export function listContext(contextDir: string, rules: IgnoreRules): ContextEntry[] {
  const entries: ContextEntry[] = []
  // Paths are built by concatenation: path.relative per file costs more than the stat.
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      const full = `${dir}/${entry.name}`
      const path = `${prefix}${entry.name}`
      const ignored = rules.ignores(path)
      if (entry.isDirectory()) {
        if (!ignored || rules.hasExceptions) walk(full, `${path}/`)
        continue
      }
      if (ignored || !(entry.isFile() || entry.isSymbolicLink())) continue
      const stats = lstatSync(full)
      entries.push({path, stats, link: entry.isSymbolicLink() ? readlinkSync(full) : undefined})
    }
  }
  walk(contextDir, '')
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** path → [size, mtimeMs, ctimeMs, inode, sha256] */
type HashCache = Record<string, [number, number, number, number, string]>

/** A file changed within this long of being hashed may change again within the same timestamp: it is not cached. */
const RACY_MS = 2000
const READ_CONCURRENCY = 16

/**
 * The cache as last written, or empty. Checked by hand, entry by entry as it is used (a zod
 * schema over 10,000 tuples costs more than the digest it saves, in a CLI that starts cold).
 */
async function readCache(path: string): Promise<HashCache> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as {version?: unknown; files?: unknown}
    return data.version === 1 && data.files !== null && typeof data.files === 'object' ? (data.files as HashCache) : {}
  } catch {
    return {}
  }
}

/** A cache entry that still describes the file: same size, times and inode, and well formed. */
function stillValid(cached: unknown, stats: Stats): cached is HashCache[string] {
  if (!Array.isArray(cached) || cached.length !== 5 || typeof cached[4] !== 'string') return false
  return cached[0] === stats.size && cached[1] === stats.mtimeMs && cached[2] === stats.ctimeMs && cached[3] === stats.ino
}

export interface DigestInput {
  contextDir: string
  /** Absolute path of the Dockerfile (it may live outside the context). */
  dockerfile: string
  target?: string
  args: Record<string, string | number | boolean>
  /** Where file hashes are kept between runs. */
  cacheFile: string
}

export interface ContextDigest {
  /** sha256 (hex) of the context, the Dockerfile, the target and the args. */
  digest: string
  files: number
  /** Files read and hashed this time (the rest came from the cache). */
  hashed: number
  rules: IgnoreRules
}

export async function digestContext(input: DigestInput): Promise<ContextDigest> {
  const started = Date.now()
  const rules = await readIgnoreRules(input.contextDir, input.dockerfile)
  const entries = listContext(input.contextDir, rules)
  const cache = await readCache(input.cacheFile)
  const next: HashCache = {}
  const hashes = new Map<string, string>()
  const toRead: ContextEntry[] = []
  for (const entry of entries) {
    if (entry.link !== undefined) continue
    const cached = cache[entry.path]
    if (stillValid(cached, entry.stats)) {
      hashes.set(entry.path, cached[4])
      next[entry.path] = cached
    } else toRead.push(entry)
  }
  for (let i = 0; i < toRead.length; i += READ_CONCURRENCY) {
    await Promise.all(
      toRead.slice(i, i + READ_CONCURRENCY).map(async (entry) => {
        const hash = createHash('sha256')
          .update(await readFile(join(input.contextDir, entry.path)))
          .digest('hex')
        hashes.set(entry.path, hash)
        const {size, mtimeMs, ctimeMs, ino} = entry.stats
        if (mtimeMs < started - RACY_MS) next[entry.path] = [size, mtimeMs, ctimeMs, ino, hash]
      }),
    )
  }

  const digest = createHash('sha256')
  for (const entry of entries) {
    // The executable bit is all of a file's mode that survives into an image built on another machine.
    const kind = entry.link !== undefined ? `link:${entry.link}` : `file:${entry.stats.mode & 0o111 ? 'x' : '-'}:${hashes.get(entry.path)}`
    digest.update(`${entry.path}\0${kind}\n`)
  }
  digest.update(`dockerfile\0${await readFile(input.dockerfile).then((data) => createHash('sha256').update(data).digest('hex'))}\n`)
  digest.update(`target\0${input.target ?? ''}\n`)
  for (const name of Object.keys(input.args).sort()) digest.update(`arg\0${name}=${String(input.args[name])}\n`)

  if (toRead.length > 0 || Object.keys(cache).length !== Object.keys(next).length) {
    // The cache only saves time: failing to write it is no reason to fail the build.
    await mkdir(dirname(input.cacheFile), {recursive: true, mode: 0o700})
      .then(() => writeFileAtomic(input.cacheFile, JSON.stringify({version: 1, files: next})))
      .catch(() => {})
  }
  return {digest: digest.digest('hex'), files: entries.length, hashed: toRead.length, rules}
}
