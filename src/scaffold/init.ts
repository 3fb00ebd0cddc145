/**
 * `devctl init`: write devctl.yaml and the values file for a preset, generate passwords into
 * .devctl/secrets.yaml, copy a bundled chart. Everything is computed before anything is
 * written, so a bad answer or a conflict leaves the project exactly as it was.
 */
import {join} from 'node:path'

import type {Document} from 'yaml'

import {CONFIG_FILE_NAME} from '../config/schema.js'
import {resolveNames, validateConfig} from '../config/load.js'
import {parseYamlText, readYamlFile, toPlainData} from '../config/yaml-file.js'
import {FileConflictError} from '../errors.js'
import {ensureSecrets, neededPasswords, SECRETS_FILE, STATE_DIR} from '../secrets/store.js'
import {buildConfigDocument, schemaReference, updateConfigDocument, type ConfigAnswers} from './config-document.js'
import {scaffoldContext} from './context.js'
import {backupFile, copyDirectory, ensureDockerignored, ensureGitignored, exists, writeFileAtomic} from '../system/files.js'
import type {ExistingAnswers, InitAnswers} from './questions.js'
import {keysTheSchemaRejects} from './chart-files.js'
import {composeValues} from './composed-values.js'
import {applyPlan, buildValuesDocument, planValues, SHARED_KEY} from './values-document.js'

export const VALUES_FILE_NAME = 'values.dev.yaml'

export type FileAction = 'created' | 'overwritten' | 'updated' | 'unchanged' | 'kept'

export interface WrittenFile {
  path: string
  action: FileAction
  /** Where the previous content went (--force). */
  backup?: string
  /** Keys changed by --update. */
  changedKeys?: string[]
}

export interface InitResult {
  preset: string
  project: string
  namespace: string
  files: WrittenFile[]
  /** Problems init found but did not stop for (values the chart's schema rejects). */
  warnings: string[]
}

export interface InitOptions {
  dir: string
  force: boolean
  update: boolean
}

/** Files init owns (refuses to overwrite without --force / --update). */
export function initTargets(dir: string): {config: string; values: string} {
  return {config: join(dir, CONFIG_FILE_NAME), values: join(dir, VALUES_FILE_NAME)}
}

/** Fail before any question is asked if init would have to overwrite something. */
export async function assertNoConflicts(options: InitOptions): Promise<void> {
  if (options.force || options.update) return
  const targets = initTargets(options.dir)
  const present: string[] = []
  for (const path of [targets.config, targets.values]) if (await exists(path)) present.push(path)
  if (present.length > 0) {
    const names = present.map((p) => p.slice(options.dir.length + 1))
    throw new FileConflictError(`${names.join(' and ')} already ${present.length > 1 ? 'exist' : 'exists'} in ${options.dir}; devctl init changed nothing.`, {
      hint: `Use --update to edit ${present.length > 1 ? 'them' : 'it'} in place (your comments and extra keys are kept), or --force to overwrite (each old file is kept as .bak).`,
    })
  }
}

/** For --update: what the existing devctl.yaml (and values file) say, as defaults for the questions. */
export async function readExistingAnswers(dir: string): Promise<ExistingAnswers | undefined> {
  const targets = initTargets(dir)
  if (!(await exists(targets.config))) return undefined
  const config = validateConfig(await readYamlFile(targets.config, CONFIG_FILE_NAME))
  const values = (await exists(targets.values)) ? (await readYamlFile(targets.values, 'values file')).doc : undefined
  return {
    project: config.project,
    namespace: config.app.namespace,
    chart: config.app.chart,
    postgres: config.services.postgres.enabled,
    redis: config.services.redis.enabled,
    ports: config.cluster.provider === 'k3d' ? config.cluster.ports.map(({host, container}) => ({host, container})) : undefined,
    // The file keeps the layout it was written with.
    layout: values === undefined ? undefined : values.has(SHARED_KEY) ? 'shared' : 'inline',
  }
}

interface PendingFile {
  path: string
  text: string
  action: FileAction
  changedKeys?: string[]
}

/** A file's new text: built fresh, or (--update) the existing one edited in place. */
async function pendingFile(path: string, update: boolean, build: () => Document, edit: (doc: Document) => string[]): Promise<PendingFile> {
  const present = await exists(path)
  if (present && update) {
    const source = await readYamlFile(path)
    const changedKeys = edit(source.doc)
    return {path, text: source.doc.toString(), action: changedKeys.length ? 'updated' : 'unchanged', changedKeys}
  }
  return {path, text: build().toString(), action: present ? 'overwritten' : 'created'}
}

export async function runInit(answers: InitAnswers, options: InitOptions): Promise<InitResult> {
  await assertNoConflicts(options)
  const targets = initTargets(options.dir)
  const configAnswers: ConfigAnswers = {...answers, valuesFile: VALUES_FILE_NAME}

  // 1. Compute both files' new text (nothing is written yet). devctl.yaml first: what it says
  //    (services, app.wiring) decides the values devctl composes into the values file.
  const configFile = await pendingFile(
    targets.config,
    options.update,
    () => buildConfigDocument(configAnswers, schemaReference(options.dir)),
    (doc) => updateConfigDocument(doc, configAnswers),
  )
  // 2. What we are about to write must itself be valid (and the values file must still parse).
  const config = validateConfig(parseYamlText(targets.config, configFile.text, CONFIG_FILE_NAME))
  const plan = planValues(answers.preset, scaffoldContext(answers), answers.wiring, {layout: answers.layout, composed: composeValues(config, resolveNames(config))})
  const valuesFile = await pendingFile(
    targets.values,
    options.update,
    () => buildValuesDocument(plan),
    (doc) => applyPlan(doc, plan).changed,
  )
  const values = toPlainData(parseYamlText(targets.values, valuesFile.text, 'values file'))
  const pending = [configFile, valuesFile]
  const warnings = keysTheSchemaRejects(answers.chartFiles, values).map(
    (key) =>
      `${VALUES_FILE_NAME} has a top-level "${key}", which the chart's values.schema.json does not allow: helm will refuse these values. Wire that setting to a path the chart has (--wire, or app.wiring.values in devctl.yaml).`,
  )

  // 3. Write: backups first, then atomic replaces.
  const files: WrittenFile[] = []
  for (const file of pending) {
    if (file.action === 'unchanged') {
      files.push({path: file.path, action: 'unchanged', changedKeys: []})
      continue
    }
    const backup = file.action === 'overwritten' ? await backupFile(file.path) : undefined
    await writeFileAtomic(file.path, file.text)
    files.push({path: file.path, action: file.action, backup, changedKeys: file.changedKeys})
  }

  if (answers.preset.chart.source === 'bundled' && answers.chart.path !== undefined) {
    const target = join(options.dir, answers.chart.path)
    if (await exists(target)) {
      files.push({path: target, action: 'kept'})
    } else {
      await copyDirectory(join(answers.preset.dir, answers.preset.chart.directory), target)
      files.push({path: target, action: 'created'})
    }
  }

  // Only the passwords this project uses (none without Postgres and Redis); existing ones are kept.
  const secretsPath = join(options.dir, SECRETS_FILE)
  const hadSecrets = await exists(secretsPath)
  const {generated} = await ensureSecrets(options.dir, neededPasswords(config))
  if (generated.length > 0 || hadSecrets) files.push({path: secretsPath, action: generated.length === 0 ? 'kept' : hadSecrets ? 'updated' : 'created'})
  const gitignore = await ensureGitignored(options.dir, `${STATE_DIR}/`)
  if (gitignore) files.push({path: join(options.dir, '.gitignore'), action: gitignore})
  // A build context holding .devctl/ would send the passwords to docker (and COPY . into the image).
  const dockerignore = config.build.some((image) => image.context === '.') ? await ensureDockerignored(options.dir, `${STATE_DIR}/`) : undefined
  if (dockerignore) files.push({path: join(options.dir, '.dockerignore'), action: dockerignore})

  return {preset: answers.preset.name, project: answers.project, namespace: answers.namespace, files, warnings}
}
