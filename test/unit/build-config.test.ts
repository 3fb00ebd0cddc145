/** `build:` in devctl.yaml: the images devctl builds, where their tag goes, and the errors a person meets. */
import {describe, expect, it} from 'vitest'

import {validateConfig} from '../../src/config/load.js'
import {configJsonSchema} from '../../src/config/schema.js'
import {parseYamlText} from '../../src/config/yaml-file.js'
import {ConfigError} from '../../src/errors.js'

const BASE = `apiVersion: devctl.dev/v1
project: shop
app:
  chart: {path: ./chart}
  values: [values.dev.yaml]
`

function validate(text: string) {
  return validateConfig(parseYamlText('/p/devctl.yaml', text, 'devctl.yaml'))
}

function messageOf(text: string): string {
  try {
    validate(text)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).message
  }
  throw new Error('expected a ConfigError')
}

describe('build: in devctl.yaml', () => {
  it('takes an image with its context, Dockerfile, target, args and where its tag and repository go, with defaults', () => {
    const config = validate(`${BASE}build:
  - name: shop-api
    context: ./api
    target: dev
    args: {GO_VERSION: "1.23", DEBUG: true}
    tag: "&imageTag"
    repository: image.repository
  - name: ghcr.io/acme/worker
    tag: worker.image.tag
`)
    expect(config.build).toEqual([
      {name: 'shop-api', context: './api', dockerfile: 'Dockerfile', target: 'dev', args: {GO_VERSION: '1.23', DEBUG: true}, tag: '&imageTag', repository: 'image.repository'},
      {name: 'ghcr.io/acme/worker', context: '.', dockerfile: 'Dockerfile', args: {}, tag: 'worker.image.tag'},
    ])
    expect(validate(BASE).build).toEqual([])
  })

  it('explains an unquoted &anchor (YAML reads it as an anchor on an empty value) at its position', () => {
    expect(messageOf(`${BASE}build:\n  - name: api\n    tag: &imageTag\n`)).toBe(
      '/p/devctl.yaml:8:5: "build.0.tag" is empty: an unquoted &imageTag defines a YAML anchor there instead of being the value. Write it in quotes: "&imageTag".',
    )
  })

  it('rejects image names with a tag or capitals, bad value paths and bad anchors, each at its line', () => {
    expect(messageOf(`${BASE}build:\n  - name: Shop-API:1.0\n    tag: image.tag\n`)).toMatch(/^\/p\/devctl\.yaml:7:11: "build\.0\.name" must be an image name without a tag, such as "api"/)
    expect(messageOf(`${BASE}build:\n  - name: api\n    tag: image..tag\n`)).toBe(
      '/p/devctl.yaml:8:10: "build.0.tag" is neither an anchor ("&imageTag") nor a value path: "image..tag" has an empty key, but found the string "image..tag".',
    )
    expect(messageOf(`${BASE}build:\n  - name: api\n    tag: "&image tag"\n`)).toMatch(/^\/p\/devctl\.yaml:8:10: "build\.0\.tag" is not an anchor name/)
    expect(messageOf(`${BASE}build:\n  - name: api\n    tga: image.tag\n`)).toMatch(/unknown key "tga" under "build\.0"\. Did you mean "tag"\?/)
    expect(messageOf(`${BASE}build:\n  - name: api\n`)).toBe('/p/devctl.yaml:7:5: "build.0.tag" is missing: "build.0" needs a "tag" key (a string).')
  })

  it('refuses the same image twice', () => {
    expect(messageOf(`${BASE}build:\n  - {name: api, tag: a.tag}\n  - {name: api, tag: b.tag}\n`)).toBe('/p/devctl.yaml:8:12: "build.1.name" is built twice: "api" is already an entry above.')
  })

  it('needs a registry on an existing cluster, and a repository path when the image goes through a registry', () => {
    const existing = BASE.replace('app:', 'cluster: {provider: existing, context: team}\napp:')
    expect(messageOf(`${existing}build:\n  - {name: api, tag: image.tag}\n`)).toMatch(
      /^\/p\/devctl\.yaml:3:10: "cluster" has no registry, and an existing cluster can only run the images devctl builds by pulling them from one/,
    )
    const withRegistry = existing.replace('context: team}', 'context: team, registry: {host: registry.acme.dev/ann}}')
    expect(messageOf(`${withRegistry}build:\n  - {name: api, tag: image.tag}\n`)).toMatch(/^\/p\/devctl\.yaml:8:5: "build\.0" needs "repository"/)
    expect(validate(`${withRegistry}build:\n  - {name: api, tag: image.tag, repository: image.repository}\n`).cluster).toEqual({
      provider: 'existing',
      context: 'team',
      registry: {host: 'registry.acme.dev/ann'},
    })
    expect(messageOf(existing.replace('context: team}', 'context: team, registry: {host: "https://r.dev"}}'))).toMatch(/"cluster\.registry\.host" must be a registry such as/)
    const k3dRegistry = BASE.replace('app:', 'cluster: {provider: k3d, registry: {port: 5001}}\napp:')
    expect(messageOf(`${k3dRegistry}build:\n  - {name: api, tag: image.tag}\n`)).toMatch(/"build\.0" needs "repository"/)
  })

  it('is in the JSON Schema editors read', () => {
    const schema = configJsonSchema() as {properties: {build: {items: {properties: Record<string, unknown>; required: string[]}}}}
    expect(Object.keys(schema.properties.build.items.properties)).toEqual(['name', 'context', 'dockerfile', 'target', 'args', 'tag', 'repository'])
    expect(schema.properties.build.items.required).toEqual(['name', 'tag'])
  })
})
