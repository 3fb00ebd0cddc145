/** What `devctl doctor --fix` writes into devctl.yaml, and how doctor's report reads. */
import {describe, expect, it} from 'vitest'

import {movePortsInConfig, parseKeyPath} from '../../src/doctor/fixes.js'
import type {CheckResult, DoctorResult} from '../../src/doctor/types.js'
import {summarize} from '../../src/doctor/types.js'
import {ConfigError} from '../../src/errors.js'
import {createDoctorView, renderChecks, renderDoctorSummary} from '../../src/ui/doctor-view.js'
import {createTheme} from '../../src/ui/terminal.js'

const plain = createTheme(false)

const CONFIG = `# yaml-language-server: $schema=https://unpkg.com/devctl@0.1.0/schema/devctl.schema.json
apiVersion: devctl.dev/v1
project: shop # the team's shop

cluster:
  provider: k3d
  # the API stays on loopback
  apiPort: 6550
  ports:
    - host: 8080 # the storefront
      container: 80
    - {host: 8443, container: 443}

app:
  chart: {path: ./chart}
`

describe('doctor --fix: moving host ports in devctl.yaml', () => {
  it('reads the key paths the port check reports', () => {
    expect(parseKeyPath('cluster.ports[1].host')).toEqual(['cluster', 'ports', 1, 'host'])
    expect(parseKeyPath('cluster.apiPort')).toEqual(['cluster', 'apiPort'])
  })

  it('changes only the ports where they stand, keeping every other byte', () => {
    const updated = movePortsInConfig('/p/devctl.yaml', CONFIG, [
      {configKey: 'cluster.ports[0].host', from: 8080, to: 8081},
      {configKey: 'cluster.ports[1].host', from: 8443, to: 8444},
      {configKey: 'cluster.apiPort', from: 6550, to: 6551},
    ])
    expect(updated).toBe(CONFIG.replace('host: 8080', 'host: 8081').replace('host: 8443', 'host: 8444').replace('apiPort: 6550', 'apiPort: 6551'))
  })

  it('adds a port the file left at its default, keeping comments', () => {
    const withRegistry =
      '# our environment\napiVersion: devctl.dev/v1\nproject: shop # the shop\ncluster:\n  provider: k3d\n  registry:\n    enabled: true # for local images\napp:\n  chart:\n    path: ./chart\n'
    const updated = movePortsInConfig('/p/devctl.yaml', withRegistry, [{configKey: 'cluster.registry.port', from: 5001, to: 5002}])
    expect(updated).toBe(withRegistry.replace('enabled: true # for local images\n', 'enabled: true # for local images\n    port: 5002\n'))
  })

  it('refuses to produce a file that would not validate', () => {
    expect(() => movePortsInConfig('/p/devctl.yaml', CONFIG, [{configKey: 'cluster.apiPort', from: 6550, to: 70000}])).toThrow(ConfigError)
  })
})

const checks: CheckResult[] = [
  {id: 'node', title: 'Node.js', status: 'pass', message: '20.19.0 (devctl needs >=20.12.0)'},
  {id: 'helm', title: 'helm', status: 'fail', message: 'helm is not installed.', fix: 'Install helm: `brew install helm`.'},
  {
    id: 'ports',
    title: 'Host ports',
    status: 'fail',
    message: 'Host port 8080 (for port mapping 8080:80) is already in use.',
    details: ['8080 (port mapping 8080:80, cluster.ports[0].host): in use'],
    fix: 'Stop what holds it, or let `devctl doctor --fix` change devctl.yaml.',
    autoFix: {kind: 'move-ports', description: 'change devctl.yaml', configPath: '/p/devctl.yaml', moves: [{configKey: 'cluster.ports[0].host', from: 8080, to: 8081}]},
  },
  {id: 'kube-context', title: 'Kube context', status: 'skip', message: 'needs a running cluster'},
]

function doctorResult(list: CheckResult[]): DoctorResult {
  const summary = summarize(list)
  return {status: summary.fail ? 'failed' : 'ok', checks: list, fixes: [], summary}
}

describe('doctor report', () => {
  it('prints one aligned line per check, details and the fix under it', () => {
    expect(renderChecks(checks, plain)).toBe(
      [
        '✔ Node.js       20.19.0 (devctl needs >=20.12.0)',
        '✖ helm          helm is not installed.',
        '                → Install helm: `brew install helm`.',
        '✖ Host ports    Host port 8080 (for port mapping 8080:80) is already in use.',
        '                8080 (port mapping 8080:80, cluster.ports[0].host): in use',
        '                → Stop what holds it, or let `devctl doctor --fix` change devctl.yaml.',
        '- Kube context  needs a running cluster',
        '',
      ].join('\n'),
    )
  })

  it('sums up and points at --fix when devctl can fix something', () => {
    expect(renderDoctorSummary(doctorResult(checks), plain)).toBe('\n2 failed, 1 passed, 1 skipped.\ndevctl doctor --fix can fix one of these for you (it asks first).\n')
    const [node, , , skipped] = checks
    const warned: CheckResult = {id: 'kubectl', title: 'kubectl', status: 'warn', message: 'kubectl is not installed.'}
    expect(renderDoctorSummary(doctorResult([node!, warned, skipped!]), plain)).toBe('\n1 warning, 1 passed, 1 skipped.\nNothing is failing: devctl can run.\n')
    expect(renderDoctorSummary(doctorResult([node!, {...checks[2]!, status: 'warn'}]), plain)).toBe(
      '\n1 warning, 1 passed.\ndevctl doctor --fix can fix one of these for you (it asks first).\nNothing is failing: devctl can run.\n',
    )
    expect(renderDoctorSummary(doctorResult([node!]), plain)).toBe('\n1 passed.\nEverything devctl needs is here.\n')
  })

  it('with --fix, shows the report, what was done, then the report after the fixes', () => {
    let out = ''
    const view = createDoctorView(plain, (text) => (out += text))
    const [node] = checks
    view({type: 'checked', checks: [node!], final: false})
    view({type: 'fixed', fix: {check: 'cluster', description: 'start the stopped k3d cluster demo', applied: true}})
    view({type: 'fixed', fix: {check: 'secrets', description: 'generate passwords', applied: false}})
    view({type: 'checked', checks: [node!], final: true})
    const line = '✔ Node.js  20.19.0 (devctl needs >=20.12.0)\n'
    expect(out).toBe(`${line}\n✔ done: start the stopped k3d cluster demo\n- left alone: generate passwords\n\nAfter the fixes:\n${line}`)
  })
})
