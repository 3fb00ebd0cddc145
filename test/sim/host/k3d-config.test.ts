import {describe, expect, it} from 'vitest'

import {expandEnv, K3dConfigError, parsePortSpec, parseSimpleConfig} from './k3d-config.js'

function configError(text: string): string {
  try {
    parseSimpleConfig('k3d.yaml', text, {})
  } catch (error) {
    if (error instanceof K3dConfigError) return error.message
  }
  return 'no error'
}

describe('k3d config files', () => {
  it('accepts a v1alpha5 Simple config and expands environment variables like k3d', () => {
    const config = parseSimpleConfig('k3d.yaml', 'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: ${NAME}\nports:\n  - port: 8080:80\n    nodeFilters: [loadbalancer]\n', {NAME: 'web'})
    expect(config.metadata?.name).toBe('web')
    expect(config.ports?.[0]).toEqual({port: '8080:80', nodeFilters: ['loadbalancer']})
  })

  it.each([
    ['apiVersion: k3d.io/v1alpha5\nkind: Simple\nname: web\n', 'Schema Validation failed for config file k3d.yaml: - (root): Additional property name is not allowed\n'],
    ['apiVersion: k3d.io/v1alpha5\nkind: Simple\nservers: one\n', 'Schema Validation failed for config file k3d.yaml: - servers: Invalid type. Expected: number, given: string\n'],
    [
      'apiVersion: k3d.io/v1alpha5\nkind: Simple\noptions:\n  k3d:\n    wait: yes please\n',
      'Schema Validation failed for config file k3d.yaml: - options.k3d.wait: Invalid type. Expected: boolean, given: string\n',
    ],
    ['apiVersion: k3d.io/v1alpha3\nkind: Simple\n', "Cannot validate config file k3d.yaml: unsupported apiVersion 'k3d.io/v1alpha3'"],
  ])("reports %j with k3d's message", (text, message) => {
    expect(configError(text)).toBe(message)
  })

  it('expands $VAR and ${VAR}, unknown ones to nothing', () => {
    expect(expandEnv('a $A ${B} $C', {A: '1', B: '2'})).toBe('a 1 2 ')
  })
})

describe('port specs', () => {
  it.each([
    ['8080:80@loadbalancer', {hostIP: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp', nodeFilters: ['loadbalancer']}],
    ['127.0.0.1:5432:5432/tcp@server:0', {hostIP: '127.0.0.1', hostPort: 5432, containerPort: 5432, protocol: 'tcp', nodeFilters: ['server:0']}],
    ['80', {hostIP: '0.0.0.0', hostPort: undefined, containerPort: 80, protocol: 'tcp', nodeFilters: []}],
  ])('%s', (spec, expected) => {
    expect(parsePortSpec(spec)).toEqual({spec, ...expected})
  })
})
