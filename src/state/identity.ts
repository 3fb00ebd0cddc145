/**
 * Who this checkout's environment is. devctl marks what it creates (the k3d cluster, the
 * namespace) with this id and later deletes or rewrites only what carries it, so a second
 * checkout of the same project, or a namespace someone else made, is never taken for its own.
 * The id lives in .devctl/environment.yaml (made on first need, kept with the passwords).
 */
import {randomUUID} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import * as z from 'zod'

import {ensureStateDir, writeFileAtomic} from '../system/files.js'

/** Annotation (on a namespace) and runtime label (on a k3d cluster's nodes) naming the environment that created it. */
export const OWNER_KEY = 'devctl.dev/owner'
/** The project directory that created it, for messages ("created from /home/ann/shop"). */
export const OWNER_DIR_KEY = 'devctl.dev/project-dir'

export const IDENTITY_FILE = 'environment.yaml'

const identitySchema = z.object({
  id: z.string().min(8),
  /** Clusters or namespaces this checkout took over with --adopt, by the id they carried. */
  adopted: z.array(z.object({what: z.string(), owner: z.string().optional()})).default([]),
})

export interface EnvironmentIdentity {
  id: string
  /** The project directory (for messages; the id decides). */
  dir: string
  adopted: Array<{what: string; owner?: string}>
}

async function read(stateDir: string): Promise<z.output<typeof identitySchema> | undefined> {
  const text = await readFile(join(stateDir, IDENTITY_FILE), 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  const parsed = identitySchema.safeParse(parse(text, {maxAliasCount: 0}))
  return parsed.success ? parsed.data : undefined
}

async function write(stateDir: string, identity: z.output<typeof identitySchema>): Promise<void> {
  await ensureStateDir(stateDir)
  await writeFileAtomic(join(stateDir, IDENTITY_FILE), `# devctl: this checkout's environment id; what devctl creates carries it.\n${stringify(identity)}`, 0o600)
}

/** This checkout's identity as recorded, or undefined when it has none yet (then nothing is its own). */
export async function readIdentity(stateDir: string, projectDir: string): Promise<EnvironmentIdentity | undefined> {
  const found = await read(stateDir)
  return found ? {...found, dir: projectDir} : undefined
}

/** This checkout's identity, created on first use. */
export async function environmentIdentity(stateDir: string, projectDir: string): Promise<EnvironmentIdentity> {
  const found = await readIdentity(stateDir, projectDir)
  if (found) return found
  const identity = {id: randomUUID(), adopted: []}
  await write(stateDir, identity)
  return {...identity, dir: projectDir}
}

/** Remember that this checkout took over `what` (created by `owner`), so later runs use it without --adopt. */
export async function recordAdoption(stateDir: string, identity: EnvironmentIdentity, what: string, owner: string | undefined): Promise<EnvironmentIdentity> {
  const adopted = [...identity.adopted.filter((a) => a.what !== what), {what, ...(owner ? {owner} : {})}]
  await write(stateDir, {id: identity.id, adopted})
  return {...identity, adopted}
}
