/**
 * Files, the one place devctl touches them: writing into a user's project without ever losing
 * or half-writing anything (atomic writes, numbered backups, append-only .gitignore edits), the
 * private state directory, and the edge that turns a failed file operation into an error that
 * names the path and says what to do.
 */
import {copyFile, cp, mkdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {randomBytes} from 'node:crypto'

import {PrerequisiteError, type DevctlError} from '../errors.js'

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

export async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isFile(),
    () => false,
  )
}

/** .devctl/: created private (0700) on first need. */
export async function ensureStateDir(stateDir: string): Promise<void> {
  await mkdir(stateDir, {recursive: true, mode: 0o700})
}

const WHAT_WENT_WRONG: Record<string, (path: string) => {message: string; hint: string}> = {
  EACCES: (path) => ({message: `devctl may not use ${path}: permission denied`, hint: `Check who owns it and its permissions (\`ls -ld ${path}\`).`}),
  EPERM: (path) => ({message: `devctl may not change ${path}: operation not permitted`, hint: `Check who owns it and its permissions (\`ls -ld ${path}\`).`}),
  EEXIST: (path) => ({message: `${path} is in the way: something of that name exists already`, hint: `Move it away (devctl keeps its own state in .devctl/, a directory), then run this again.`}),
  ENOTDIR: (path) => ({
    message: `${path} cannot be used: part of its path is a file where devctl needs a directory`,
    hint: 'Move the file away (devctl keeps its own state in .devctl/, a directory), then run this again.',
  }),
  EISDIR: (path) => ({message: `${path} is a directory where devctl needs a file`, hint: 'Move the directory away, then run this again.'}),
  ENOSPC: (path) => ({message: `The disk holding ${path} is full`, hint: 'Free some space (`df -h` shows where), then run this again.'}),
  EDQUOT: (path) => ({message: `The disk quota for ${path} is used up`, hint: 'Free some space, then run this again.'}),
  EROFS: (path) => ({message: `${path} is on a read-only file system`, hint: 'Run devctl where it can write (the project must be on a writable disk).'}),
  ENOENT: (path) => ({message: `${path} does not exist`, hint: 'Check the path, then run this again.'}),
}

/**
 * A file operation that failed (Node's SystemError: code, syscall, path) as devctl's own error:
 * what went wrong, on which path, and what to do. Undefined for anything else.
 */
export function fileSystemError(error: unknown): DevctlError | undefined {
  const {code, path, syscall} = (error ?? {}) as {code?: unknown; path?: unknown; syscall?: unknown}
  if (typeof code !== 'string' || typeof path !== 'string') return undefined
  const explain = WHAT_WENT_WRONG[code]
  if (!explain) return undefined
  const {message, hint} = explain(path)
  return new PrerequisiteError(`${message} (${typeof syscall === 'string' ? `${syscall}: ` : ''}${code}).`, {hint, cause: error})
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
export function ensureGitignored(dir: string, entry: string): Promise<'created' | 'updated' | undefined> {
  return ensureListed(join(dir, '.gitignore'), entry, "devctl's local state (generated passwords)")
}

/** Add `entry` to the directory's .dockerignore unless a line already says it: a build context must never carry it. */
export function ensureDockerignored(dir: string, entry: string): Promise<'created' | 'updated' | undefined> {
  return ensureListed(join(dir, '.dockerignore'), entry, "devctl's local state (generated passwords, the cluster's credentials): never in an image")
}

/** An ignore file lists `entry` (with or without slashes around it), added with a comment if it did not. */
async function ensureListed(path: string, entry: string, why: string): Promise<'created' | 'updated' | undefined> {
  const found = await exists(path)
  const current = found ? await readFile(path, 'utf8') : ''
  const bare = entry.replace(/\/$/, '')
  const listed = current.split(/\r?\n/).some((line) => [bare, `${bare}/`, `/${bare}`, `/${bare}/`].includes(line.trim()))
  if (listed) return undefined
  const separator = current === '' || current.endsWith('\n') ? '' : '\n'
  await writeFileAtomic(path, `${current}${separator}# ${why}\n${entry}\n`)
  return found ? 'updated' : 'created'
}

/** Copy a directory that must not exist yet. */
export async function copyDirectory(from: string, to: string): Promise<void> {
  await cp(from, to, {recursive: true, errorOnExist: true, force: false})
}
