import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {findConfigFile, loadConfig, resolveNames, validateConfig} from '../../src/config/load.js'
import {configJsonSchema} from '../../src/config/schema.js'
import {parseYamlText} from '../../src/config/yaml-file.js'
import {ConfigError} from '../../src/errors.js'
import {tempDir} from '../helpers/cli.js'

const VALID = `apiVersion: devctl.dev/v1
project: shop
cluster:
  provider: k3d
  ports:
    - {host: 8080, container: 80}
app:
  chart:
    path: ./chart
  values: [values.dev.yaml]
`

function validate(text: string) {
  return validateConfig(parseYamlText('/p/devctl.yaml', text, 'devctl.yaml'))
}

function errorOf(text: string): ConfigError {
  try {
    validate(text)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('devctl.yaml validation', () => {
  it('accepts a valid file and fills defaults', () => {
    const config = validate(VALID)
    expect(config.project).toBe('shop')
    expect(config.cluster).toMatchObject({provider: 'k3d', servers: 1, agents: 0, image: 'rancher/k3s:v1.31.5-k3s1'})
    expect(config.cluster.provider === 'k3d' && config.cluster.apiPort).toBeUndefined()
    expect(config.cluster.provider === 'k3d' && config.cluster.ports).toEqual([{host: 8080, container: 80, hostIP: '127.0.0.1', nodeFilter: 'loadbalancer'}])
    expect(config.services.postgres).toMatchObject({enabled: true, image: 'postgres:16.6-alpine', storage: '1Gi'})
    expect(config.app.migration).toBe('auto')
    expect(config.app.timeouts).toEqual({deploy: '5m', migration: '5m', rollout: '5m', cluster: '3m', hook: '5m'})
    expect(resolveNames(config, 'ann')).toEqual({
      clusterName: 'shop',
      kubeContext: 'k3d-shop',
      release: 'shop',
      namespace: 'shop',
      database: 'shop',
      databaseUser: 'shop',
    })
  })

  it('accepts the other chart sources, migration forms and an existing cluster with a per-developer namespace', () => {
    const config = validate(`apiVersion: devctl.dev/v1
project: my-app
cluster: {provider: existing, context: team-dev}
app:
  chart: {repo: "https://charts.example.com", name: api, version: "^1.2"}
  migration: {job: api-migrate}
`)
    expect(config.app.chart).toEqual({repo: 'https://charts.example.com', name: 'api', version: '^1.2'})
    expect(resolveNames(config, 'ann')).toMatchObject({kubeContext: 'team-dev', namespace: 'my-app-ann', database: 'my_app'})
    expect(validate(VALID.replace('path: ./chart', 'oci: oci://ghcr.io/acme/charts/api')).app.chart).toEqual({oci: 'oci://ghcr.io/acme/charts/api'})
    expect(validate(VALID.replace('path: ./chart', 'oci: oci://localhost:5000/charts/api\n    plainHttp: true')).app.chart).toEqual({oci: 'oci://localhost:5000/charts/api', plainHttp: true})
    expect(validate(`${VALID}  migration: {initContainer: migrate}\n`).app.migration).toEqual({initContainer: 'migrate'})
  })

  it('reports a wrong type with file:line:col, the key path, what was expected and what was found', () => {
    const error = errorOf(VALID.replace('{host: 8080, container: 80}', '{host: "8080", container: 80}'))
    expect(error.message).toBe('/p/devctl.yaml:6:14: "cluster.ports.0.host" must be a number, but found the string "8080".')
  })

  it('suggests the key that was probably meant for an unknown key', () => {
    const error = errorOf(VALID.replace('  provider: k3d\n', '  provider: k3d\n  agnets: 2\n'))
    expect(error.message).toBe('/p/devctl.yaml:5:3: unknown key "agnets" under "cluster". Did you mean "agents"?')
  })

  it('never suggests the unknown key itself (a k3d key under an existing cluster)', () => {
    const error = errorOf(VALID.replace('  provider: k3d\n  ports:\n    - {host: 8080, container: 80}\n', '  provider: existing\n  context: staging\n  name: shop\n'))
    expect(error.message).toMatch(/unknown key "name" under "cluster"\./)
    expect(error.message).not.toContain('Did you mean "name"')
  })

  it('does not echo a password written where an environment variable name belongs', () => {
    const text = `${VALID}services:\n  postgres:\n    external: {host: db, database: shop, user: shop, passwordEnv: "Sup3r-Secret!pw"}\n`
    const error = errorOf(text)
    expect(error.message).toMatch(/"services\.postgres\.external\.passwordEnv" .*, but found a string \(not shown\)\.$/)
    expect(error.message).not.toContain('Sup3r-Secret!pw')
  })

  it('lists the allowed keys when nothing is close', () => {
    const error = errorOf(`${VALID}zebra: 1\n`)
    expect(error.message).toMatch(/^\/p\/devctl\.yaml:11:1: unknown key "zebra" at the top level\. Expected one of: apiVersion, project, cluster, services, app, build, forward, hooks\.$/)
  })

  it('names a missing key at its parent', () => {
    const error = errorOf(VALID.replace('project: shop\n', ''))
    expect(error.message).toBe('/p/devctl.yaml:1:1: "project" is missing: the file needs a "project" key (a string).')
  })

  it('reports enum values, bad discriminators and cross-field rules', () => {
    expect(errorOf(VALID.replace('  values:', '  migration: sometimes\n  values:')).message).toContain(
      '/p/devctl.yaml:10:14: "app.migration" does not match any allowed form, but found the string "sometimes".',
    )
    expect(errorOf(VALID.replace('provider: k3d', 'provider: kind')).message).toBe('/p/devctl.yaml:4:13: "cluster.provider" must be one of "k3d", "existing", but found the string "kind".')
    expect(errorOf(VALID.replace('    path: ./chart', '    path: ./chart\n    oci: oci://x/y')).message).toBe(
      '/p/devctl.yaml:9:5: "app.chart" needs exactly one of "path", "repo" or "oci" (found path and oci).',
    )
    expect(errorOf(VALID.replace('    path: ./chart', '    path: ./chart\n    plainHttp: true')).message).toContain('"app.chart.plainHttp" applies only to an "oci" chart')
  })

  it('rejects unpinned images and names the fix', () => {
    const error = errorOf(`${VALID}services:\n  postgres:\n    image: postgres:latest\n`)
    expect(error.message).toBe(
      '/p/devctl.yaml:13:12: "services.postgres.image" must not use the "latest" tag; pin a version so every developer runs the same image, but found the string "postgres:latest".',
    )
  })

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(() => validate('project: [unclosed\n')).toThrow(/^\/p\/devctl\.yaml:\d+:\d+: the devctl\.yaml is not valid YAML: /)
    expect(() => validate('project: a\nproject: b\n')).toThrow(/^\/p\/devctl\.yaml:2:1: the devctl\.yaml is not valid YAML: Map keys must be unique/)
  })

  it('rejects an alias bomb instead of expanding it', () => {
    const levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i)
      const next = String.fromCharCode(97 + i)
      levels.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(', ')}]`)
    }
    const error = errorOf(`${levels.join('\n')}\n`)
    expect(error.message).toMatch(/alias bomb/)
    expect(error.message).toMatch(/^\/p\/devctl\.yaml: /)
  })

  it('finds devctl.yaml by walking up, and explains when there is none', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'devctl.yaml'), VALID)
    await mkdir(join(dir, 'src', 'deep'), {recursive: true})
    expect(await findConfigFile(join(dir, 'src', 'deep'))).toBe(join(dir, 'devctl.yaml'))
    const loaded = await loadConfig(undefined, join(dir, 'src', 'deep'))
    expect(loaded.dir).toBe(dir)

    const empty = await tempDir()
    await expect(loadConfig(undefined, empty)).rejects.toThrow(/No devctl\.yaml was found in .* or any directory above it\./)
    await expect(loadConfig('missing.yaml', empty)).rejects.toThrow(/The devctl\.yaml \/.*\/missing\.yaml does not exist\./)
  })

  it('exports a JSON Schema from the same source, for editors', () => {
    const schema = configJsonSchema() as {properties: Record<string, unknown>; required: string[]; additionalProperties: boolean}
    expect(Object.keys(schema.properties)).toEqual(['apiVersion', 'project', 'cluster', 'services', 'app', 'build', 'forward', 'hooks'])
    expect(schema.required).toEqual(['apiVersion', 'project', 'app'])
    expect(schema.additionalProperties).toBe(false)
  })
})
