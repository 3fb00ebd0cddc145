/** doctor's checks, judged on hand-made facts: one test per way each prerequisite can be broken. */
import {describe, expect, it} from 'vitest'

import {validateConfig, resolveNames, type LoadedConfig} from '../../src/config/load.js'
import {parseYamlText} from '../../src/config/yaml-file.js'
import {evaluate} from '../../src/doctor/checks.js'
import type {MachineFacts, PortFact} from '../../src/doctor/inspect.js'
import {installHint, platformOf} from '../../src/doctor/platform.js'
import type {CheckId, CheckResult} from '../../src/doctor/types.js'
import {ClusterError, ConfigError, PrerequisiteError} from '../../src/errors.js'

const GiB = 1024 ** 3

function loaded(yaml: string): LoadedConfig {
  const config = validateConfig(parseYamlText('/project/devctl.yaml', yaml))
  return {path: '/project/devctl.yaml', dir: '/project', config, resolved: resolveNames(config, 'dev')}
}

const K3D_CONFIG = `apiVersion: devctl.dev/v1
project: demo
cluster:
  provider: k3d
  image: rancher/k3s:v1.31.5-k3s1
  ports: [{host: 8080, container: 80}]
app:
  chart: {path: ./chart}
`

const EXISTING_CONFIG = `apiVersion: devctl.dev/v1
project: demo
cluster: {provider: existing, context: team-dev}
app:
  chart: {path: ./chart}
`

const freePorts: PortFact[] = [
  {port: 6550, purpose: 'the Kubernetes API', configKey: 'cluster.apiPort', free: true},
  {port: 8080, purpose: 'port mapping 8080:80', configKey: 'cluster.ports[0].host', free: true},
]

/** A machine where everything is fine and no cluster exists yet; tests break one thing at a time. */
function healthy(overrides: Partial<MachineFacts> = {}): MachineFacts {
  return {
    platform: 'debian',
    node: {version: '20.19.0', required: '>=20.12.0'},
    config: {state: 'valid', loaded: loaded(K3D_CONFIG), fileErrors: []},
    docker: {state: 'ok', value: {serverVersion: '28.5.2', memoryBytes: 16 * GiB, cpus: 8}},
    k3d: {state: 'ok', value: '5.8.3'},
    helm: {state: 'ok', value: {version: '3.17.2', major: 3}},
    kubectl: {state: 'ok', value: '1.31.4'},
    disk: [{what: 'project', path: '/project', freeBytes: 80 * GiB}],
    secrets: {state: 'ok', value: true},
    cluster: {state: 'ok', value: undefined},
    ports: freePorts,
    ...overrides,
  }
}

function check(facts: MachineFacts, id: CheckId): CheckResult {
  const found = evaluate(facts).find((c) => c.id === id)
  if (!found) throw new Error(`no ${id} check`)
  return found
}

describe('doctor checks', () => {
  it('reports every check once, in a fixed order, and nothing fails on a healthy machine', () => {
    const checks = evaluate(healthy())
    expect(checks.map((c) => c.id)).toEqual(['node', 'docker', 'docker-memory', 'k3d', 'helm', 'kubectl', 'disk', 'config', 'secrets', 'ports', 'cluster', 'kube-context'])
    expect(checks.filter((c) => c.status === 'fail')).toEqual([])
    expect(check(healthy(), 'cluster')).toMatchObject({status: 'warn', message: 'There is no k3d cluster demo yet.', fix: '`devctl up` creates it.'})
  })

  it('fails an old Node.js with the engines range and an install hint', () => {
    expect(check(healthy({node: {version: '18.20.4', required: '>=20.12.0'}}), 'node')).toEqual({
      id: 'node',
      title: 'Node.js',
      status: 'fail',
      message: 'Node.js 18.20.4 is too old: devctl needs >=20.12.0.',
      fix: installHint('node', 'debian'),
    })
  })

  it('fails missing Docker with the install hint for the platform', () => {
    const result = check(healthy({docker: {state: 'missing'}, platform: 'macos'}), 'docker')
    expect(result).toMatchObject({status: 'fail', message: 'docker is not installed (or not on your PATH); k3d runs the cluster in Docker.'})
    expect(result.fix).toContain('brew install --cask docker')
  })

  it('fails a Docker daemon that does not answer with the error and its hint, and skips what needs it', () => {
    const error = new PrerequisiteError('Docker is installed but its daemon is not reachable.', {details: ['Cannot connect to the Docker daemon'], hint: 'Start Docker.'})
    const facts = healthy({docker: {state: 'failed', error}, cluster: undefined})
    expect(check(facts, 'docker')).toMatchObject({status: 'fail', message: error.message, details: ['Cannot connect to the Docker daemon'], fix: 'Start Docker.'})
    expect(check(facts, 'docker-memory')).toMatchObject({status: 'skip', message: 'needs a running Docker daemon'})
    expect(check(facts, 'cluster')).toMatchObject({status: 'skip', message: 'needs Docker and k3d'})
  })

  it.each([
    [3 * GiB, 'warn', /^Docker has 3\.0 GiB of memory and 8 CPUs: below the 4\.0 GiB/],
    [1.5 * GiB, 'fail', /^Docker has 1\.5 GiB of memory and 8 CPUs: too little/],
  ] as const)('judges %d bytes of Docker memory as %s', (memoryBytes, status, message) => {
    const result = check(healthy({docker: {state: 'ok', value: {serverVersion: '28.5.2', memoryBytes, cpus: 8}}}), 'docker-memory')
    expect(result.status).toBe(status)
    expect(result.message).toMatch(message)
    expect(result.fix).toMatch(/^Give Docker at least 4\.0 GiB/)
  })

  it('fails missing k3d and an unsupported k3d', () => {
    expect(check(healthy({k3d: {state: 'missing'}}), 'k3d')).toMatchObject({status: 'fail', fix: installHint('k3d', 'debian')})
    expect(check(healthy({k3d: {state: 'ok', value: '4.4.8'}}), 'k3d')).toMatchObject({status: 'fail', message: 'k3d 4.4.8 is too old: devctl needs k3d 5.0.0 or newer.'})
  })

  it.each([
    ['3.12.3', 'fail'],
    ['5.0.0', 'fail'],
    ['4.1.0', 'pass'],
  ] as const)('judges helm %s as %s', (version, status) => {
    const result = check(healthy({helm: {state: 'ok', value: {version, major: Number(version[0])}}}), 'helm')
    expect(result.status).toBe(status)
    if (status === 'fail') expect(result.message).toBe(`helm ${version} is not supported: devctl needs helm 3.13.0 or newer, 3.x or 4.x.`)
  })

  it('only warns about kubectl: missing, or too far from the cluster version', () => {
    expect(check(healthy({kubectl: {state: 'missing'}}), 'kubectl')).toMatchObject({status: 'warn', message: expect.stringMatching(/^kubectl is not installed \(optional/)})
    expect(check(healthy({kubectl: {state: 'ok', value: '1.34.1'}}), 'kubectl')).toMatchObject({
      status: 'warn',
      message: "kubectl 1.34.1 is 3 minor versions from the cluster's Kubernetes 1.31.5; kubectl supports one minor version of difference.",
      fix: expect.stringMatching(/^Use a kubectl 1\.30–1\.32 /),
    })
    expect(check(healthy({kubectl: {state: 'ok', value: '1.32.0'}}), 'kubectl').status).toBe('pass')
  })

  it('judges free disk space by its lowest place', () => {
    const disk = (freeBytes: number) =>
      check(
        healthy({
          disk: [
            {what: 'project', path: '/project', freeBytes: 50 * GiB},
            {what: 'Docker', path: '/var/lib/docker', freeBytes},
          ],
        }),
        'disk',
      )
    expect(disk(1 * GiB)).toMatchObject({status: 'fail', message: expect.stringContaining('1.0 GiB free for Docker (/var/lib/docker): less than the 2.0 GiB devctl needs.')})
    expect(disk(5 * GiB).status).toBe('warn')
    expect(disk(20 * GiB)).toMatchObject({status: 'pass', message: '50.0 GiB free for the project (/project); 20.0 GiB free for Docker (/var/lib/docker)'})
  })

  it('only warns when there is no devctl.yaml yet, and skips what needs one', () => {
    const facts = healthy({config: {state: 'missing', searchedFrom: '/home/dev/shop'}, secrets: undefined, cluster: undefined, ports: undefined})
    expect(check(facts, 'config')).toMatchObject({status: 'warn', message: 'No devctl.yaml in /home/dev/shop or any directory above it.', fix: expect.stringContaining('devctl init')})
    for (const id of ['secrets', 'ports', 'cluster', 'kube-context'] as const) expect(check(facts, id)).toMatchObject({status: 'skip', message: 'needs a valid devctl.yaml'})
  })

  it('fails an invalid devctl.yaml with each entry at file:line:col', () => {
    const error = new ConfigError(
      'devctl.yaml:3:12: "cluster.apiPort" must be a whole number, but found the string "x".\ndevctl.yaml:4:3: unknown key "prots" under "cluster". Did you mean "ports"?',
      {hint: 'Fix these entries in devctl.yaml.'},
    )
    expect(check(healthy({config: {state: 'invalid', path: '/project/devctl.yaml', error}}), 'config')).toEqual({
      id: 'config',
      title: 'devctl.yaml',
      status: 'fail',
      message: 'devctl.yaml:3:12: "cluster.apiPort" must be a whole number, but found the string "x".',
      details: ['devctl.yaml:4:3: unknown key "prots" under "cluster". Did you mean "ports"?'],
      fix: 'Fix these entries in devctl.yaml.',
    })
  })

  it('fails a valid devctl.yaml whose values file or chart is broken, listing every problem', () => {
    const fileErrors = [
      new ConfigError('values.dev.yaml:2:1: the values file is not valid YAML: bad indentation.'),
      new ConfigError('The chart directory ./chart (app.chart.path in devctl.yaml) does not exist.'),
    ]
    const result = check(healthy({config: {state: 'valid', loaded: loaded(K3D_CONFIG), fileErrors}}), 'config')
    expect(result).toMatchObject({status: 'fail', message: fileErrors[0]!.message, details: [fileErrors[1]!.message]})
  })

  it('offers to generate missing secrets, and fails invalid ones', () => {
    expect(check(healthy({secrets: {state: 'ok', value: false}}), 'secrets')).toMatchObject({
      status: 'warn',
      autoFix: {kind: 'create-secrets', projectDir: '/project'},
    })
    const error = new ConfigError('.devctl/secrets.yaml:2:13: "postgres.password" in the secrets file is invalid (Too small).')
    expect(check(healthy({secrets: {state: 'failed', error}}), 'secrets')).toMatchObject({status: 'fail', message: error.message})
  })

  it('fails a busy port naming its holder, and offers to move it in devctl.yaml', () => {
    const ports: PortFact[] = [freePorts[0]!, {...freePorts[1]!, free: false, holder: 'nginx (pid 42)', alternative: 8081}]
    expect(check(healthy({ports}), 'ports')).toEqual({
      id: 'ports',
      title: 'Host ports',
      status: 'fail',
      message: 'Host port 8080 (for port mapping 8080:80) is already in use by nginx (pid 42).',
      details: ['8080 (port mapping 8080:80, cluster.ports[0].host): in use by nginx (pid 42)'],
      fix: 'Stop what holds it, or let `devctl doctor --fix` change devctl.yaml (cluster.ports[0].host: 8080 → 8081).',
      autoFix: {
        kind: 'move-ports',
        description: 'change devctl.yaml to free host ports (cluster.ports[0].host: 8080 → 8081)',
        configPath: '/project/devctl.yaml',
        moves: [{configKey: 'cluster.ports[0].host', from: 8080, to: 8081}],
      },
    })
  })

  it('does not offer to move a port that a stopped cluster was created with', () => {
    // What the probe reports for a created-with port: no devctl.yaml key to move, and its own fix.
    const fix = 'Stop what holds it: cluster demo was created with this port and binds it again when it starts.'
    const ports: PortFact[] = [{port: 6550, purpose: 'the Kubernetes API', free: false, alternative: 6551, fix}]
    const result = check(healthy({ports, cluster: {state: 'ok', value: {name: 'demo', running: false, servers: 1, agents: 0, labels: {}}}}), 'ports')
    expect(result.status).toBe('fail')
    expect(result.autoFix).toBeUndefined()
    expect(result.fix).toBe(fix)
  })

  it('passes the ports of a running cluster (it holds them) and checks its kube context', () => {
    const running = healthy({
      cluster: {state: 'ok', value: {name: 'demo', running: true, servers: 1, agents: 2, labels: {}}},
      ports: undefined,
      kube: {state: 'ok', value: {context: 'k3d-demo', server: 'https://127.0.0.1:6550'}},
    })
    expect(check(running, 'ports')).toMatchObject({status: 'pass', message: 'held by the running cluster demo'})
    expect(check(running, 'cluster')).toMatchObject({status: 'pass', message: 'k3d cluster demo is running (1 server, 2 agents)'})
    expect(check(running, 'kube-context')).toMatchObject({status: 'pass', message: 'context k3d-demo answers at https://127.0.0.1:6550'})
    const unreachable = {...running, kube: {state: 'failed' as const, error: new ClusterError('Kubernetes API: could not read Namespace demo: connect ECONNREFUSED', {hint: 'Is it running?'})}}
    expect(check(unreachable, 'kube-context')).toMatchObject({status: 'fail', message: 'Kubernetes API: could not read Namespace demo: connect ECONNREFUSED', fix: 'Is it running?'})
  })

  it('offers to start a stopped cluster', () => {
    const result = check(healthy({cluster: {state: 'ok', value: {name: 'demo', running: false, servers: 1, agents: 0, labels: {}}}}), 'cluster')
    expect(result).toMatchObject({status: 'warn', message: 'The k3d cluster demo is stopped.', autoFix: {kind: 'start-cluster', cluster: 'demo'}})
    expect(check(healthy({cluster: {state: 'ok', value: {name: 'demo', running: false, servers: 1, agents: 0, labels: {}}}}), 'kube-context')).toMatchObject({
      status: 'skip',
      message: 'needs a running cluster',
    })
  })

  it('needs neither Docker nor k3d for an existing cluster, only its kube context', () => {
    const facts = healthy({
      config: {state: 'valid', loaded: loaded(EXISTING_CONFIG), fileErrors: []},
      docker: {state: 'missing'},
      k3d: {state: 'missing'},
      cluster: undefined,
      ports: undefined,
      kube: {state: 'ok', value: {context: 'team-dev', server: 'https://k8s.example.com'}},
    })
    const byId = Object.fromEntries(evaluate(facts).map((c) => [c.id, c.status]))
    expect(byId).toMatchObject({docker: 'skip', 'docker-memory': 'skip', k3d: 'skip', ports: 'skip', cluster: 'skip', 'kube-context': 'pass'})
    expect(check(facts, 'docker').message).toBe('not needed: devctl.yaml deploys into the existing cluster of context team-dev')
  })
})

describe('platforms and install hints', () => {
  it.each([
    ['darwin', '', 'macos'],
    ['linux', 'ID=debian\nVERSION_ID="12"\n', 'debian'],
    ['linux', 'ID=linuxmint\nID_LIKE="ubuntu debian"\n', 'debian'],
    ['linux', 'ID="fedora"\n', 'other'],
    ['win32', '', 'other'],
  ] as const)('%s with os-release %j is %s', (os, osRelease, platform) => {
    expect(platformOf(os, osRelease)).toBe(platform)
  })

  it('gives Homebrew on macOS, apt or an install script on Debian/Ubuntu, official pages elsewhere', () => {
    expect(installHint('helm', 'macos')).toContain('brew install helm')
    expect(installHint('helm', 'debian')).toContain('apt')
    expect(installHint('helm', 'other')).toContain('https://helm.sh/docs/intro/install/')
    expect(installHint('k3d', 'debian')).toContain('https://k3d.io/#installation')
  })
})
