/**
 * Generated credentials live in `.devctl/secrets.yaml` (mode 0600, git-ignored) and, later,
 * in Kubernetes Secrets — never in devctl.yaml or the values file. Every value read or
 * generated here is registered for redaction.
 */
import {randomBytes} from 'node:crypto'
import {lstat, readlink} from 'node:fs/promises'
import {join} from 'node:path'

import {stringify} from 'yaml'
import * as z from 'zod'

import type {DevctlConfig} from '../config/schema.js'
import {ConfigError} from '../errors.js'
import {formatLocation, nodeAtPath, nodeOffset, readYamlFile, toPlainData} from '../config/yaml-file.js'
import {backupFile, ensureStateDir, exists, writeFileAtomic} from '../system/files.js'
import {registerSecret} from './redact.js'

export const STATE_DIR = '.devctl'
export const SECRETS_FILE = join(STATE_DIR, 'secrets.yaml')

const password = z.string().min(12)
// A password is generated only for a service that needs one, so either may be absent.
const secretsSchema = z.strictObject({
  postgres: z.strictObject({password}).optional(),
  redis: z.strictObject({password}).optional(),
})

export type ProjectSecrets = z.output<typeof secretsSchema>
export type PasswordOwner = keyof ProjectSecrets

/**
 * The passwords devctl must generate for this config: one per service it runs in the cluster
 * that checks one. Postgres with trust auth still gets one, so it can be switched back to
 * password auth without changing the credentials it was initialised with.
 */
export function neededPasswords(config: DevctlConfig): PasswordOwner[] {
  const {postgres, redis} = config.services
  const needed: PasswordOwner[] = []
  if (postgres.enabled && !postgres.external) needed.push('postgres')
  if (redis.enabled && !redis.external && redis.auth === 'password') needed.push('redis')
  return needed
}

/** A permission change that makes devctl's state private again (`devctl doctor --fix` offers it). */
export interface PermissionRepair {
  path: string
  mode: number
}

/** .devctl or its secrets file could be read or changed by someone else; `repairs` make it private where a chmod can. */
export class InsecureStateError extends ConfigError {
  constructor(
    message: string,
    readonly repairs: PermissionRepair[],
    hint: string,
  ) {
    super(message, {hint})
  }
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`

function whoElse(mode: number, access: 'readable' | 'writable'): string {
  const bits = access === 'readable' ? [0o040, 0o004] : [0o020, 0o002]
  const who = [mode & bits[0]! ? 'its group' : undefined, mode & bits[1]! ? 'everyone' : undefined].filter(Boolean)
  return `${access} by ${who.join(' and ')}`
}

/**
 * .devctl holds the generated passwords and the cluster's kubeconfig: it must be a directory of
 * its own (not a link somewhere else) that nobody else can write to, and secrets.yaml a file
 * only its owner can read. Checked before devctl reads or writes there; refused otherwise.
 */
export async function assertPrivateState(projectDir: string): Promise<void> {
  // Unix permissions; Windows keeps .devctl private through the profile's ACLs.
  if (process.platform === 'win32') return
  const dir = join(projectDir, STATE_DIR)
  const file = join(projectDir, SECRETS_FILE)
  const problems: string[] = []
  const repairs: PermissionRepair[] = []
  const dirInfo = await lstat(dir).catch(() => undefined)
  if (!dirInfo) return
  if (dirInfo.isSymbolicLink()) {
    problems.push(
      `${STATE_DIR} is a symbolic link (to ${await readlink(dir).catch(() => '?')}); devctl keeps passwords and the cluster's kubeconfig there and does not follow a link to keep them elsewhere`,
    )
  } else if (!dirInfo.isDirectory()) {
    problems.push(`${STATE_DIR} is not a directory`)
  } else {
    if (dirInfo.mode & 0o022) {
      problems.push(`${STATE_DIR} is ${whoElse(dirInfo.mode, 'writable')} (mode ${octal(dirInfo.mode)}), so others could replace what devctl keeps there`)
      repairs.push({path: dir, mode: 0o700})
    }
    const fileInfo = await lstat(file).catch(() => undefined)
    if (fileInfo?.isSymbolicLink()) problems.push(`${SECRETS_FILE} is a symbolic link; devctl reads passwords only from a file of its own`)
    else if (fileInfo && fileInfo.mode & 0o066) {
      problems.push(
        `${SECRETS_FILE} is ${fileInfo.mode & 0o044 ? whoElse(fileInfo.mode, 'readable') : whoElse(fileInfo.mode, 'writable')} (mode ${octal(fileInfo.mode)}), and it holds the Postgres and Redis passwords`,
      )
      repairs.push({path: file, mode: 0o600})
    }
  }
  if (problems.length === 0) return
  const chmod = repairs.map((r) => `chmod ${octal(r.mode).slice(1)} ${r.path === dir ? STATE_DIR : SECRETS_FILE}`).join(' && ')
  const fixable = repairs.length === problems.length
  throw new InsecureStateError(
    `devctl's state in ${projectDir} is not private: ${problems.join('; ')}.`,
    repairs,
    fixable
      ? `Run \`devctl doctor --fix\` (it asks first), or \`${chmod}\` in the project directory.`
      : `Replace ${STATE_DIR} with a directory of its own (\`mkdir -m 700 ${STATE_DIR}\`, moving secrets.yaml into it), then run this again${chmod ? `; and \`${chmod}\`` : ''}.`,
  )
}

export function generatePassword(): string {
  // 24 random bytes: 32 URL-safe characters, safe in connection URLs without escaping.
  return randomBytes(24).toString('base64url')
}

export async function readSecrets(projectDir: string): Promise<ProjectSecrets | undefined> {
  await assertPrivateState(projectDir)
  const path = join(projectDir, SECRETS_FILE)
  if (!(await exists(path))) return undefined
  const source = await readYamlFile(path, 'secrets file')
  const result = secretsSchema.safeParse(toPlainData(source, 'secrets file') ?? {})
  if (!result.success) {
    const issue = result.error.issues[0]!
    const keyPath = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
    // Never echo the value itself: it is a secret.
    throw new ConfigError(`${formatLocation(source, nodeOffset(nodeAtPath(source.doc, keyPath).node))}: "${keyPath.join('.')}" in the secrets file is invalid (${issue.message}).`, {
      hint: `Fix it, or delete ${SECRETS_FILE} to have devctl generate new passwords (existing Postgres/Redis data then needs \`devctl down\` first).`,
    })
  }
  registerSecret(result.data.postgres?.password)
  registerSecret(result.data.redis?.password)
  return result.data
}

/** The passwords this config needs that .devctl/secrets.yaml does not hold yet. */
export async function missingPasswords(projectDir: string, config: DevctlConfig): Promise<PasswordOwner[]> {
  const existing = (await readSecrets(projectDir)) ?? {}
  return neededPasswords(config).filter((owner) => existing[owner] === undefined)
}

async function saveSecrets(projectDir: string, secrets: ProjectSecrets): Promise<void> {
  await ensureStateDir(join(projectDir, STATE_DIR))
  const text = `# Generated by devctl. Never commit this file; devctl keeps it out of git (.gitignore).\n${stringify(secrets)}`
  await writeFileAtomic(join(projectDir, SECRETS_FILE), text, 0o600)
}

/**
 * The passwords a running environment was initialised with, from devctl's Secrets in the
 * cluster, win over .devctl/secrets.yaml: a database keeps the password it first started with,
 * so a lost or replaced file is corrected (its old content kept as .bak), never the database's.
 */
export async function adoptClusterPasswords(projectDir: string, local: ProjectSecrets, inCluster: ProjectSecrets): Promise<{secrets: ProjectSecrets; recovered: PasswordOwner[]}> {
  const recovered = (Object.keys(inCluster) as PasswordOwner[]).filter((owner) => inCluster[owner] && inCluster[owner].password !== local[owner]?.password)
  if (recovered.length === 0) return {secrets: local, recovered}
  const secrets: ProjectSecrets = {...local}
  for (const owner of recovered) {
    secrets[owner] = inCluster[owner]
    registerSecret(secrets[owner]?.password)
  }
  const path = join(projectDir, SECRETS_FILE)
  if (await exists(path)) await backupFile(path)
  await saveSecrets(projectDir, secrets)
  return {secrets, recovered}
}

/**
 * Read the project's secrets, generating and saving the needed ones that are missing. Existing
 * passwords are never replaced (a database was initialised with them), and none is generated
 * for a service that does not use it.
 */
export async function ensureSecrets(projectDir: string, needed: readonly PasswordOwner[]): Promise<{secrets: ProjectSecrets; generated: PasswordOwner[]}> {
  const existing = (await readSecrets(projectDir)) ?? {}
  const missing = needed.filter((owner) => existing[owner] === undefined)
  if (missing.length === 0) return {secrets: existing, generated: []}
  const secrets: ProjectSecrets = {...existing}
  for (const owner of missing) {
    secrets[owner] = {password: generatePassword()}
    registerSecret(secrets[owner].password)
  }
  await saveSecrets(projectDir, secrets)
  return {secrets, generated: missing}
}

/**
 * Every password a project's pods may print, registered for masking before anything is read
 * from them: the generated ones, and external services' from the environment variables
 * devctl.yaml names.
 */
export async function registerProjectSecrets(projectDir: string, config: DevctlConfig): Promise<void> {
  await readSecrets(projectDir)
  for (const variable of [config.services.postgres.external?.passwordEnv, config.services.redis.external?.passwordEnv]) {
    if (variable) registerSecret(process.env[variable])
  }
}
