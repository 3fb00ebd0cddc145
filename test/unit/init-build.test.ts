/** `devctl init` in a project with a Dockerfile: it offers build:, and keeps .devctl/ out of the build context. */
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseDocument} from 'yaml'
import {describe, expect, it} from 'vitest'

import {validateConfig} from '../../src/config/load.js'
import {parseYamlText} from '../../src/config/yaml-file.js'
import {UsageError} from '../../src/errors.js'
import {readExistingAnswers, runInit} from '../../src/scaffold/init.js'
import {gatherAnswers, type InitFlags} from '../../src/scaffold/questions.js'
import {noInputPrompter, type Prompter} from '../../src/ui/prompter.js'
import {tempDir} from '../helpers/cli.js'
import {scriptedPrompter} from '../helpers/prompter.js'

async function init(dir: string, flags: InitFlags, prompter: Prompter, update = false) {
  const answers = await gatherAnswers(flags, prompter, {dir, existing: update ? await readExistingAnswers(dir) : undefined})
  return runInit(answers, {dir, force: false, update})
}

async function projectWithDockerfile(): Promise<string> {
  const dir = await tempDir()
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /app\n')
  return dir
}

describe('devctl init with a Dockerfile', () => {
  it('asks whether to build it, and writes build: wired to image.repository and &imageTag, with .devctl/ in .dockerignore', async () => {
    const dir = await projectWithDockerfile()
    await writeFile(join(dir, '.dockerignore'), 'node_modules\n')
    const prompter = scriptedPrompter({'--name': 'shop', '--port': '8081:80'})
    const result = await init(dir, {preset: 'web-worker'}, prompter)
    expect(prompter.asked.at(-1)).toBe('--build/--no-build')
    const text = await readFile(join(dir, 'devctl.yaml'), 'utf8')
    expect(parseDocument(text).toJS()).toHaveProperty('build', [{name: 'shop', context: '.', dockerfile: 'Dockerfile', tag: '&imageTag', repository: 'image.repository'}])
    // What init wrote is valid devctl.yaml (the anchor is quoted, not a YAML anchor).
    expect(validateConfig(parseYamlText(join(dir, 'devctl.yaml'), text, 'devctl.yaml')).build[0]!.tag).toBe('&imageTag')
    expect(await readFile(join(dir, '.dockerignore'), 'utf8')).toBe("node_modules\n# devctl's local state (generated passwords, the cluster's credentials): never in an image\n.devctl/\n")
    expect(result.files.find((f) => f.path.endsWith('.dockerignore'))?.action).toBe('updated')
  })

  it('takes the offer without a prompt, leaves it with --no-build, and refuses --build without a Dockerfile', async () => {
    const dir = await projectWithDockerfile()
    await init(dir, {preset: 'web-worker', name: 'shop'}, noInputPrompter())
    expect(parseDocument(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toJS()).toHaveProperty('build.length', 1)

    const declined = await projectWithDockerfile()
    await init(declined, {preset: 'web-worker', name: 'shop', build: false}, noInputPrompter())
    expect(parseDocument(await readFile(join(declined, 'devctl.yaml'), 'utf8')).toJS()).not.toHaveProperty('build')

    const none = await tempDir()
    await expect(init(none, {preset: 'web-worker', name: 'shop', build: true}, noInputPrompter())).rejects.toThrow(UsageError)
    await expect(init(none, {preset: 'web-worker', name: 'shop', build: true}, noInputPrompter())).rejects.toThrow(/--build builds the image of \.\/Dockerfile, and .* has no Dockerfile\./)
  })

  it('adds build: on --update and keeps one the user already wrote', async () => {
    const dir = await tempDir()
    await init(dir, {preset: 'web-worker', name: 'shop'}, noInputPrompter())
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n')
    await init(dir, {preset: 'web-worker', name: 'shop'}, noInputPrompter(), true)
    const config = parseDocument(await readFile(join(dir, 'devctl.yaml'), 'utf8'))
    expect(config.toJS()).toHaveProperty('build', [{name: 'shop', context: '.', dockerfile: 'Dockerfile', tag: '&imageTag', repository: 'image.repository'}])
    config.setIn(['build', 0, 'target'], 'dev')
    await writeFile(join(dir, 'devctl.yaml'), config.toString())
    await init(dir, {preset: 'web-worker', name: 'shop'}, noInputPrompter(), true)
    expect(parseDocument(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toJS()).toHaveProperty('build.0.target', 'dev')
  })
})
