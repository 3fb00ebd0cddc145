/**
 * The parts between a built image and the running chart: the values overlay (anchors, paths,
 * lists as helm merges them), the registry names, the chart checks, and what a changed file means
 * to `devctl dev`.
 */
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {readIgnoreRules} from '../../src/build/context.js'
import {containerdName, nameInRegistry, registryFromHosting, type DeliveredImage} from '../../src/build/deliver.js'
import {overlayValues} from '../../src/build/overrides.js'
import {analyzeChart} from '../../src/chart/manifests.js'
import {classify, type WatchedProject} from '../../src/dev/watch.js'
import {ConfigError} from '../../src/errors.js'
import {imageWarnings} from '../../src/workflows/steps/build.js'
import {tempDir} from '../helpers/cli.js'

async function files(entries: Record<string, string>): Promise<string> {
  const dir = await tempDir()
  for (const [path, text] of Object.entries(entries)) {
    await mkdir(join(dir, path, '..'), {recursive: true})
    await writeFile(join(dir, path), text)
  }
  return dir
}

describe('the values overlay', () => {
  const VALUES = `shared:
  image: {tag: &imageTag "1.0.0"}
image:
  repository: ghcr.io/acme/api
  tag: *imageTag
env:
  - {name: LOG_LEVEL, value: debug}
  - {name: IMAGE_TAG, value: *imageTag}
worker:
  image: {tag: "2.0.0"}
`

  it('sets the tag where the anchor is defined and at every alias, a list whole as helm replaces lists', async () => {
    const dir = await files({'values.dev.yaml': VALUES, 'devctl.yaml': 'build: []\n'})
    const overlay = await overlayValues(
      [join(dir, 'values.dev.yaml')],
      [
        {target: '&imageTag', value: 'dev-1', configPath: ['build', 0, 'tag']},
        {target: 'image.repository', value: 'api', configPath: ['build', 0, 'repository']},
      ],
      join(dir, 'devctl.yaml'),
    )
    expect(overlay).toEqual({
      shared: {image: {tag: 'dev-1'}},
      image: {tag: 'dev-1', repository: 'api'},
      env: [
        {name: 'LOG_LEVEL', value: 'debug'},
        {name: 'IMAGE_TAG', value: 'dev-1'},
      ],
    })
  })

  it('takes value paths with a named list item, and the list as the last values file gives it', async () => {
    const dir = await files({'a.yaml': VALUES, 'b.yaml': 'env:\n  - {name: IMAGE_TAG, value: x}\n  - {name: EXTRA, value: y}\n', 'devctl.yaml': 'build: []\n'})
    const overlay = await overlayValues(
      [join(dir, 'a.yaml'), join(dir, 'b.yaml')],
      [
        {target: 'env[name=IMAGE_TAG].value', value: 'dev-2', configPath: ['build', 0, 'tag']},
        {target: 'worker.image.tag', value: 'dev-3', configPath: ['build', 1, 'tag']},
      ],
      join(dir, 'devctl.yaml'),
    )
    expect(overlay).toEqual({
      env: [
        {name: 'IMAGE_TAG', value: 'dev-2'},
        {name: 'EXTRA', value: 'y'},
      ],
      worker: {image: {tag: 'dev-3'}},
    })
  })

  it('says at devctl.yaml:line:col when the anchor is nowhere, or a path appends', async () => {
    const dir = await files({'values.dev.yaml': 'image: {tag: "1"}\n', 'devctl.yaml': 'apiVersion: devctl.dev/v1\nbuild:\n  - name: api\n    tag: "&imageTagg"\n'})
    const missing = await overlayValues([join(dir, 'values.dev.yaml')], [{target: '&imageTagg', value: 'dev-1', configPath: ['build', 0, 'tag']}], join(dir, 'devctl.yaml')).catch(
      (error: unknown) => error,
    )
    expect(missing).toBeInstanceOf(ConfigError)
    expect((missing as ConfigError).message).toMatch(/devctl\.yaml:4:10: "build\.0\.tag" names the anchor &imageTagg, and no values file defines it \(.*values\.dev\.yaml\)\.$/)
    await expect(overlayValues([join(dir, 'values.dev.yaml')], [{target: 'images[].tag', value: 'x', configPath: ['build', 0, 'tag']}], join(dir, 'devctl.yaml'))).rejects.toThrow(
      /has \[\] \(append\), and a tag goes in one place/,
    )
  })
})

describe('registries and names', () => {
  it("reads KEP-1755's ConfigMap, and names an image in a registry and in containerd", () => {
    expect(registryFromHosting('host: "127.0.0.1:5001"\nhostFromContainerRuntime: "demo-registry:5000"\nhelp: "https://k3d.io"\n')).toEqual({push: '127.0.0.1:5001', pull: 'demo-registry:5000'})
    expect(registryFromHosting('host: localhost:5000\n')).toEqual({push: 'localhost:5000', pull: 'localhost:5000'})
    expect(registryFromHosting('not: [yaml')).toBeUndefined()
    expect(registryFromHosting(undefined)).toBeUndefined()
    expect(nameInRegistry('api', 'localhost:5001')).toBe('localhost:5001/api')
    expect(nameInRegistry('ghcr.io/acme/api', 'registry.team.test/ann/')).toBe('registry.team.test/ann/acme/api')
    expect(nameInRegistry('acme/api', 'localhost:5001')).toBe('localhost:5001/acme/api')
    expect([containerdName('api:dev-1'), containerdName('acme/api:dev-1'), containerdName('localhost:5001/api:dev-1')]).toEqual([
      'docker.io/library/api:dev-1',
      'docker.io/acme/api:dev-1',
      'localhost:5001/api:dev-1',
    ])
  })
})

describe('the chart checked against the built images', () => {
  const deployment = (image: string, pullPolicy: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: 'demo-api'},
    spec: {selector: {matchLabels: {app: 'api'}}, template: {spec: {containers: [{name: 'api', image, imagePullPolicy: pullPolicy}]}}},
  })
  const image = (via: 'import' | 'registry', repository = 'api') =>
    ({name: 'api', tag: 'dev-1', ref: 'api:dev-1', repository, via, moved: true, build: {index: 0, config: {tag: '&imageTag', repository: 'image.repository'}}}) as unknown as DeliveredImage

  it('warns of pullPolicy Always on an imported image, and of a built image no workload runs', () => {
    const always = analyzeChart([deployment('api:dev-1', 'Always')], 'none', {phase: 'install', release: 'demo'})
    expect(imageWarnings(always, [image('import')])).toEqual([expect.stringMatching(/^Deployment demo-api pulls api:dev-1 with imagePullPolicy: Always, but the image was imported/)])
    expect(imageWarnings(always, [image('registry', 'localhost:5001/api')])).toEqual([expect.stringMatching(/^No workload in the chart runs localhost:5001\/api:dev-1/)])
    expect(imageWarnings(analyzeChart([deployment('localhost:5001/api:dev-1', 'Always')], 'none', {phase: 'install', release: 'demo'}), [image('registry', 'localhost:5001/api')])).toEqual([])
    expect(imageWarnings(analyzeChart([deployment('docker.io/library/api:dev-1', 'IfNotPresent')], 'none', {phase: 'install', release: 'demo'}), [image('import')])).toEqual([])
  })
})

describe('what a changed file means to devctl dev', () => {
  it("an image's context (as .dockerignore keeps it), the values, the chart, devctl.yaml; never .devctl or .git", async () => {
    const dir = await files({Dockerfile: 'FROM scratch\n', '.dockerignore': 'docs/\nchart/\n.devctl/\n', 'src/a.go': '', 'docs/x.md': '', 'chart/Chart.yaml': ''})
    const project: WatchedProject = {
      dir,
      configFile: join(dir, 'devctl.yaml'),
      valuesFiles: [join(dir, 'values.dev.yaml')],
      chartDir: join(dir, 'chart'),
      contexts: [{name: 'api', dir, rules: await readIgnoreRules(dir, join(dir, 'Dockerfile'))}],
    }
    expect(classify(project, join(dir, 'src', 'a.go'))).toEqual({image: 'api'})
    expect(classify(project, join(dir, 'Dockerfile'))).toEqual({image: 'api'})
    expect(classify(project, join(dir, '.dockerignore'))).toEqual({image: 'api', ignoreRules: true})
    expect(classify(project, join(dir, 'docs', 'x.md'))).toBeUndefined()
    expect(classify(project, join(dir, 'chart', 'Chart.yaml'))).toEqual({values: true})
    expect(classify(project, join(dir, 'values.dev.yaml'))).toEqual({values: true})
    expect(classify(project, join(dir, 'devctl.yaml'))).toEqual({config: true})
    expect(classify(project, join(dir, '.devctl', 'build-values.yaml'))).toBeUndefined()
    expect(classify(project, join(dir, '.git', 'index'))).toBeUndefined()
  })
})
