/**
 * Writing into a user's project without ever losing or half-writing anything: atomic
 * writes (temp file + rename), numbered backups, append-only .gitignore edits.
 */
import {copyFile, cp, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {randomBytes} from 'node:crypto'

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await writeFile(temp, content, {mode, flag: 'wx'})
    await rename(temp, path)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
}

/** Copy `path` to `path.bak` (or `.bak.2`, `.bak.3`, ... if taken); returns the backup's path. */
export async function backupFile(path: string): Promise<string> {
  let backup = `${path}.bak`
  for (let n = 2; await exists(backup); n++) backup = `${path}.bak.${n}`
  await copyFile(path, backup)
  return backup
}

/** Add `entry` to the directory's .gitignore unless a line already says it. */
export async function ensureGitignored(dir: string, entry: string): Promise<'created' | 'updated' | undefined> {
  const path = join(dir, '.gitignore')
  const found = await exists(path)
  const current = found ? await readFile(path, 'utf8') : ''
  const bare = entry.replace(/\/$/, '')
  const listed = current.split(/\r?\n/).some((line) => [bare, `${bare}/`, `/${bare}`, `/${bare}/`].includes(line.trim()))
  if (listed) return undefined
  const separator = current === '' || current.endsWith('\n') ? '' : '\n'
  await writeFileAtomic(path, `${current}${separator}# devctl's local state (generated passwords)\n${entry}\n`)
  return found ? 'updated' : 'created'
}

/** Copy a directory that must not exist yet. */
export async function copyDirectory(from: string, to: string): Promise<void> {
  await cp(from, to, {recursive: true, errorOnExist: true, force: false})
}
