/**
 * `devctl init`: write devctl.yaml and the values file for a preset, generate passwords into
 * .devctl/secrets.yaml, copy a bundled chart. Everything is computed before anything is
 * written, so a bad answer or a conflict leaves the project exactly as it was.
 */
import {join} from 'node:path'

import type {Document} from 'yaml'

import {CONFIG_FILE_NAME} from '../config/schema.js'
import {validateConfig} from '../config/load.js'
import {parseYamlText, readYamlFile, toPlainData} from '../config/yaml-file.js'
import {FileConflictError} from '../errors.js'
import {ensureSecrets, STATE_DIR} from '../secrets/store.js'
import {buildConfigDocument, schemaReference, updateConfigDocument, type ConfigAnswers} from './config-document.js'
import {scaffoldContext} from './context.js'
import {backupFile, copyDirectory, ensureGitignored, exists, writeFileAtomic} from './files.js'
import type {ExistingAnswers, InitAnswers} from './questions.js'
import {applyPlan, buildValuesDocument, planValues} from './values-document.js'

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

/** For --update: what the existing devctl.yaml says, as defaults for the questions. */
export async function readExistingAnswers(dir: string): Promise<ExistingAnswers | undefined> {
  const path = initTargets(dir).config
  if (!(await exists(path))) return undefined
  const config = validateConfig(await readYamlFile(path, CONFIG_FILE_NAME))
  return {
    project: config.project,
    namespace: config.app.namespace,
    chart: config.app.chart,
    postgres: config.services.postgres.enabled,
    redis: config.services.redis.enabled,
    ports: config.cluster.provider === 'k3d' ? config.cluster.ports.map(({host, container}) => ({host, container})) : undefined,
  }
}

export async function runInit(answers: InitAnswers, options: InitOptions): Promise<InitResult> {
  await assertNoConflicts(options)
  const targets = initTargets(options.dir)
  const configAnswers: ConfigAnswers = {...answers, valuesFile: VALUES_FILE_NAME}
  const plan = planValues(answers.preset, scaffoldContext(answers), answers.wiring)

  // 1. Compute both files' new text (nothing is written yet).
  const pending: Array<{path: string; text: string; action: FileAction; changedKeys?: string[]}> = []
  for (const target of [
    {
      path: targets.config,
      build: () => buildConfigDocument(configAnswers, schemaReference(options.dir)),
      update: (doc: Document) => updateConfigDocument(doc, configAnswers),
    },
    {path: targets.values, build: () => buildValuesDocument(plan), update: (doc: Document) => applyPlan(doc, plan).changed},
  ]) {
    const present = await exists(target.path)
    if (present && options.update) {
      const source = await readYamlFile(target.path)
      const changedKeys = target.update(source.doc)
      pending.push({path: target.path, text: source.doc.toString(), action: changedKeys.length ? 'updated' : 'unchanged', changedKeys})
    } else {
      pending.push({path: target.path, text: target.build().toString(), action: present ? 'overwritten' : 'created'})
    }
  }

  // 2. What we are about to write must itself be valid (and the values file must still parse).
  validateConfig(parseYamlText(targets.config, pending[0]!.text, CONFIG_FILE_NAME))
  toPlainData(parseYamlText(targets.values, pending[1]!.text, 'values file'))

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

  const {created} = await ensureSecrets(options.dir)
  files.push({path: join(options.dir, STATE_DIR, 'secrets.yaml'), action: created ? 'created' : 'kept'})
  const gitignore = await ensureGitignored(options.dir, `${STATE_DIR}/`)
  if (gitignore) files.push({path: join(options.dir, '.gitignore'), action: gitignore})

  return {preset: answers.preset.name, project: answers.project, namespace: answers.namespace, files}
}
