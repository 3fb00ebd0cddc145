import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseDocument} from 'yaml'
import {describe, expect, it} from 'vitest'

import {FileConflictError, UsageError} from '../../src/errors.js'
import {readExistingAnswers, runInit} from '../../src/scaffold/init.js'
import {gatherAnswers, type InitFlags} from '../../src/scaffold/questions.js'
import {noInputPrompter, type Prompter} from '../../src/ui/prompter.js'
import {tempDir} from '../helpers/cli.js'
import {scriptedPrompter} from '../helpers/prompter.js'

async function init(dir: string, flags: InitFlags, prompter: Prompter, options: {force?: boolean; update?: boolean} = {}) {
  const update = options.update ?? false
  const answers = await gatherAnswers(flags, prompter, {dir, existing: update ? await readExistingAnswers(dir) : undefined})
  return runInit(answers, {dir, force: options.force ?? false, update})
}

describe('devctl init', () => {
  it('asks every question interactively and writes devctl.yaml, values, secrets and .gitignore', async () => {
    const dir = await tempDir()
    const prompter = scriptedPrompter({'--preset': 'web-worker', '--name': 'shop', '--namespace': 'shop-dev', '--redis/--no-redis': false, '--port': '8081:80'})
    const result = await init(dir, {}, prompter)

    expect(prompter.asked).toEqual(['--preset', '--name', '--namespace', '--postgres/--no-postgres', '--redis/--no-redis', '--port'])
    expect(result.files.map((f) => [f.path.slice(dir.length + 1), f.action])).toEqual([
      ['devctl.yaml', 'created'],
      ['values.dev.yaml', 'created'],
      ['chart', 'created'],
      ['.devctl/secrets.yaml', 'created'],
      ['.gitignore', 'created'],
    ])
    const config: unknown = parseDocument(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toJS()
    expect(config).toMatchObject({project: 'shop', cluster: {provider: 'k3d', ports: [{host: 8081, container: 80}]}, app: {namespace: 'shop-dev', chart: {path: './chart'}}})
    expect(config).toHaveProperty('services.redis.enabled', false)
    expect(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\S+devctl\.schema\.json$/m)
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toContain('.devctl/')
    expect((await stat(join(dir, 'chart', 'Chart.yaml'))).isFile()).toBe(true)
  })

  it('pre-selects the complete web-worker preset (Enter takes it), and says it added to an existing .gitignore', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, '.gitignore'), 'node_modules/\n')
    const result = await init(dir, {}, scriptedPrompter({'--name': 'shop', '--port': '8081:80'}))
    expect(result.preset).toBe('web-worker')
    expect(result.files.find((f) => f.path.endsWith('.gitignore'))?.action).toBe('updated')
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe("node_modules/\n# devctl's local state (generated passwords)\n.devctl/\n")
  })

  it('keeps passwords out of the values file: only in .devctl/secrets.yaml, mode 0600', async () => {
    const dir = await tempDir()
    await init(dir, {preset: 'web-worker', name: 'shop'}, noInputPrompter())
    const secretsPath = join(dir, '.devctl', 'secrets.yaml')
    expect((await stat(secretsPath)).mode & 0o777).toBe(0o600)
    const secrets = parseDocument(await readFile(secretsPath, 'utf8')).toJS() as {postgres: {password: string}; redis: {password: string}}
    expect(secrets.postgres.password).toMatch(/^[\w-]{32}$/)
    expect(secrets.redis.password).not.toBe(secrets.postgres.password)
    for (const file of ['values.dev.yaml', 'devctl.yaml']) {
      const text = await readFile(join(dir, file), 'utf8')
      expect(text).not.toContain(secrets.postgres.password)
      expect(text).not.toContain(secrets.redis.password)
      expect(text.toLowerCase()).not.toMatch(/password:/)
    }
  })

  it('without input, fails naming the flag of a required answer and writes nothing', async () => {
    const dir = await tempDir()
    await expect(init(dir, {preset: 'web-worker'}, noInputPrompter())).rejects.toThrow(UsageError)
    await expect(init(dir, {preset: 'web-worker'}, noInputPrompter())).rejects.toThrow(/^--name is required when devctl cannot prompt/)
    await expect(init(dir, {name: 'shop'}, noInputPrompter())).rejects.toThrow(/^--preset is required/)
    await expect(stat(join(dir, 'devctl.yaml'))).rejects.toThrow(/ENOENT/)
  })

  it('rejects bad flag values at the edge', async () => {
    const dir = await tempDir()
    await expect(init(dir, {preset: 'web-worker', name: 'Shop_1'}, noInputPrompter())).rejects.toThrow(/^--name: "Shop_1" is not a valid name/)
    await expect(init(dir, {preset: 'web-worker', name: 'shop', port: ['80']}, noInputPrompter())).rejects.toThrow(/^--port: "80" is not a port mapping\./)
    await expect(init(dir, {preset: 'nope', name: 'shop'}, noInputPrompter())).rejects.toThrow(/^There is no preset named "nope"\./)
    await expect(init(dir, {preset: 'bring-your-own', name: 'blog', chart: 'https://charts.example.com'}, noInputPrompter())).rejects.toThrow(/^--chart-name is required when devctl cannot prompt/)
  })

  it('refuses to overwrite without --force and changes nothing', async () => {
    const dir = await tempDir()
    await init(dir, {preset: 'web-worker', name: 'shop'}, noInputPrompter())
    const before = await readFile(join(dir, 'values.dev.yaml'), 'utf8')
    const error = await init(dir, {preset: 'web-worker', name: 'other'}, noInputPrompter()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FileConflictError)
    expect((error as FileConflictError).exitCode).toBe(10)
    expect(await readFile(join(dir, 'values.dev.yaml'), 'utf8')).toBe(before)
  })

  it('--force overwrites and keeps the previous file as .bak; passwords survive', async () => {
    const dir = await tempDir()
    await init(dir, {preset: 'web-worker', name: 'shop'}, noInputPrompter())
    const secretsBefore = await readFile(join(dir, '.devctl', 'secrets.yaml'), 'utf8')
    await writeFile(join(dir, 'devctl.yaml'), '# my own edits\n', {flag: 'a'})
    const mine = await readFile(join(dir, 'devctl.yaml'), 'utf8')
    const result = await init(dir, {preset: 'web-worker', name: 'other'}, noInputPrompter(), {force: true})
    const config = result.files.find((f) => f.path.endsWith('devctl.yaml'))!
    expect(config).toMatchObject({action: 'overwritten', backup: join(dir, 'devctl.yaml.bak')})
    expect(await readFile(join(dir, 'devctl.yaml.bak'), 'utf8')).toBe(mine)
    expect(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toContain('project: other')
    expect(await readFile(join(dir, '.devctl', 'secrets.yaml'), 'utf8')).toBe(secretsBefore)
    expect(result.files.find((f) => f.path.endsWith('chart'))?.action).toBe('kept')
  })

  it('--update edits in place: defaults from the existing file, comments and extra keys kept', async () => {
    const dir = await tempDir()
    await init(dir, {preset: 'web-worker', name: 'shop', port: ['9090:80']}, noInputPrompter())
    const configPath = join(dir, 'devctl.yaml')
    await writeFile(configPath, (await readFile(configPath, 'utf8')).replace('services:', '# our team pins these\nservices:') + 'hooks:\n  validate: ["curl -fsS localhost:9090"]\n')

    const result = await init(dir, {preset: 'web-worker', redis: false}, noInputPrompter(), {update: true})
    const text = await readFile(configPath, 'utf8')
    expect(text).toContain('# our team pins these')
    const config: unknown = parseDocument(text).toJS()
    expect(config).toHaveProperty('hooks', {validate: ['curl -fsS localhost:9090']})
    expect(config).toHaveProperty('project', 'shop')
    expect(config).toHaveProperty('cluster.ports', [{host: 9090, container: 80}])
    expect(config).toHaveProperty('services.redis.enabled', false)
    expect(result.files.find((f) => f.path === configPath)).toMatchObject({action: 'updated', changedKeys: ['services.redis.enabled']})
  })

  it('--update of a project on an existing cluster adds no k3d port mappings', async () => {
    const dir = await tempDir()
    await init(dir, {preset: 'web-worker', name: 'shop'}, noInputPrompter())
    const configPath = join(dir, 'devctl.yaml')
    const doc = parseDocument(await readFile(configPath, 'utf8'))
    doc.setIn(['cluster'], doc.createNode({provider: 'existing', context: 'team-staging'}))
    await writeFile(configPath, doc.toString())

    const result = await init(dir, {preset: 'web-worker', redis: false}, noInputPrompter(), {update: true})
    expect(parseDocument(await readFile(configPath, 'utf8')).toJS()).toHaveProperty('cluster', {provider: 'existing', context: 'team-staging'})
    expect(result.files.find((f) => f.path === configPath)).toMatchObject({action: 'updated', changedKeys: ['services.redis.enabled']})
  })

  it('wires a bring-your-own chart to the value paths given with --wire', async () => {
    const dir = await tempDir()
    await init(
      dir,
      {preset: 'bring-your-own', name: 'blog', chart: 'oci://registry.example.com/charts/blog', 'chart-version': '^2.1.0', redis: false, wire: ['dbHost=global.db.host', 'dbPort=-']},
      noInputPrompter(),
    )
    expect(parseDocument(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toJS()).toHaveProperty('app.chart', {oci: 'oci://registry.example.com/charts/blog', version: '^2.1.0'})
    const valuesText = await readFile(join(dir, 'values.dev.yaml'), 'utf8')
    const values: unknown = parseDocument(valuesText).toJS()
    expect(values).toHaveProperty('global.db.host', 'devctl-postgres')
    // Settings not given are not wired to guessed paths: an OCI chart's values are unknown to init.
    expect(values).not.toHaveProperty('externalDatabase')
    expect(valuesText).not.toContain('externalRedis')
  })
})
