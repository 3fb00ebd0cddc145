/**
 * `devctl doctor` as a user runs it: the built CLI against the simulator's stand-in docker, k3d
 * and helm, with one prerequisite missing or broken per test. PATH is built from symlinks to
 * exactly the tools a test wants, so nothing on the machine (a real kubectl, helm) leaks in.
 */
import {spawn} from 'node:child_process'
import {chmod, mkdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:net'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {DoctorResult} from '../../src/doctor/types.js'
import {REPO_ROOT, resultRecord, runCli, tempDir, type CliResult} from '../helpers/cli.js'
import {freePort} from '../helpers/environment.js'
import {startSimulator, type Simulator} from '../sim/index.js'

const SIM_BIN = join(REPO_ROOT, 'test', 'sim', 'bin')
type Tool = 'docker' | 'k3d' | 'helm'
const ALL_TOOLS: Tool[] = ['docker', 'k3d', 'helm']

/** A directory of symlinks to node and the chosen stand-ins: a PATH with nothing else on it. */
async function pathWith(tools: Tool[], extra: Record<string, string> = {}): Promise<string> {
  const bin = await tempDir('devctl-doctor-bin-')
  await symlink(process.execPath, join(bin, 'node'))
  for (const tool of tools) await symlink(join(SIM_BIN, tool), join(bin, tool))
  for (const [name, script] of Object.entries(extra)) {
    await writeFile(join(bin, name), script)
    await chmod(join(bin, name), 0o755)
  }
  return bin
}

function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, '0.0.0.0', () => resolve(server))
  })
}

const configText = (apiPort: number, webPort: number) => `# The team's local environment (doctor --fix must keep this comment)
apiVersion: devctl.dev/v1
project: demo
cluster:
  provider: k3d
  apiPort: ${apiPort} # the Kubernetes API
  ports:
    - host: ${webPort} # the storefront
      container: 80
app:
  chart:
    path: ./chart
  values: [values.dev.yaml]
`

interface Project {
  dir: string
  apiPort: number
  webPort: number
}

/** A project with its own free ports (other test files run clusters at the same time). */
async function project(): Promise<Project> {
  const dir = await tempDir('devctl-doctor-')
  const [apiPort, webPort] = [await freePort(), await freePort()]
  await mkdir(join(dir, 'chart'))
  await writeFile(join(dir, 'values.dev.yaml'), 'replicaCount: 1\n')
  await writeFile(join(dir, 'devctl.yaml'), configText(apiPort, webPort))
  return {dir, apiPort, webPort}
}

/** Run a stand-in tool the way a user would (async: the simulator daemon lives in this process). */
function runTool(sim: Simulator, tool: Tool, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(SIM_BIN, tool), args, {env: {...process.env, ...sim.env}, stdio: 'ignore'})
    child.on('error', reject)
    child.on('close', (code) => resolve(code ?? 1))
  })
}

/** The line a check printed, e.g. "✖ helm           helm is not installed ...". */
function line(output: string, title: string): string {
  const found = output.split('\n').find((l) => new RegExp(`^. ${title} `).test(l))
  if (!found) throw new Error(`no "${title}" line in:\n${output}`)
  return found
}

describe('devctl doctor (built CLI, simulator)', () => {
  let sim: Simulator
  let fullPath: string

  beforeAll(async () => {
    sim = await startSimulator({helmVersion: 3})
    fullPath = await pathWith(ALL_TOOLS)
  })

  afterAll(async () => {
    await sim?.stop()
  })

  const doctor = (args: string[], cwd: string, path = fullPath): Promise<CliResult> => runCli(['doctor', ...args], {cwd, env: {...sim.env, PATH: path}})

  it('passes a ready machine: exit 0, only the expected warnings', async () => {
    const {dir, apiPort, webPort} = await project()
    const result = await doctor([], dir)
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    for (const title of ['Node.js', 'Docker', 'Docker memory', 'k3d', 'helm', 'devctl.yaml', 'Host ports']) expect(line(result.stdout, title)).toMatch(/^✔/)
    expect(line(result.stdout, 'Host ports')).toBe(`✔ Host ports     free: ${apiPort}, ${webPort}`)
    expect(line(result.stdout, 'kubectl')).toMatch(/^⚠ kubectl +kubectl is not installed \(optional/)
    expect(line(result.stdout, 'Cluster')).toBe('⚠ Cluster        There is no k3d cluster demo yet.')
    expect(result.stdout).toMatch(/Nothing is failing: devctl can run\.\n$/)
  })

  it('--json: the typed report, one line on stdout, exit 0', async () => {
    const {dir} = await project()
    const result = await doctor(['--json'], dir)
    expect(result.exitCode).toBe(0)
    expect(result.stdout.trim().split('\n')).toHaveLength(1)
    const record = resultRecord<DoctorResult>(result.stdout)
    expect(record).toMatchObject({command: 'doctor', status: 'ok', warnings: []})
    const report = record.result
    expect(report.status).toBe('ok')
    expect(report.configPath).toBe(join(dir, 'devctl.yaml'))
    expect(report.checks.map((c) => c.id)).toEqual(['node', 'docker', 'docker-memory', 'k3d', 'helm', 'kubectl', 'disk', 'config', 'secrets', 'ports', 'cluster', 'kube-context'])
    for (const check of report.checks) {
      expect(Object.keys(check).sort()).toEqual(expect.arrayContaining(['id', 'message', 'status', 'title']))
      expect(['pass', 'warn', 'fail', 'skip']).toContain(check.status)
      if (check.status === 'warn' || check.status === 'fail') expect(check.fix).toEqual(expect.any(String))
    }
    expect(report.checks.find((c) => c.id === 'secrets')).toMatchObject({status: 'warn', autoFix: {kind: 'create-secrets', projectDir: dir}})
    const counted = {pass: 0, warn: 0, fail: 0, skip: 0}
    for (const check of report.checks) counted[check.status] += 1
    expect(report.summary).toEqual(counted)
    expect(report.fixes).toEqual([])
  })

  it('--json with a failing check: the report on stdout and exit 11', async () => {
    const {dir} = await project()
    const result = await doctor(['--json'], dir, await pathWith(['docker', 'k3d']))
    expect(result.exitCode).toBe(11)
    const record = resultRecord<DoctorResult>(result.stdout)
    expect(record).toMatchObject({status: 'error', error: {kind: 'checksFailed', exitCode: 11}})
    const report = record.result
    expect(report.status).toBe('failed')
    expect(report.checks.find((c) => c.id === 'helm')).toMatchObject({status: 'fail', message: 'helm is not installed (or not on your PATH); devctl installs your chart with it.'})
  })

  it('docker daemon down: fails with how to start it, exit 11', async () => {
    const {dir} = await project()
    await sim.injectFault({type: 'docker-stopped'})
    try {
      const result = await doctor([], dir)
      expect(result.exitCode).toBe(11)
      expect(line(result.stdout, 'Docker')).toBe('✖ Docker         Docker is installed but its daemon is not reachable, and k3d runs the cluster in Docker.')
      expect(result.stdout).toContain('→ Start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), then run this again.')
      expect(line(result.stdout, 'Docker memory')).toBe('- Docker memory  needs a running Docker daemon')
      expect(line(result.stdout, 'Cluster')).toBe('- Cluster        needs Docker and k3d')
      expect(result.stderr).toBe('Error: devctl doctor: 1 check failed (Docker).\n→ Do what the → lines above say, then run `devctl doctor` again.\n')
    } finally {
      await sim.injectFault({type: 'docker-started'})
    }
  })

  it('too little Docker memory: a warning with how to give it more, exit 0', async () => {
    const {dir} = await project()
    await sim.injectFault({type: 'docker-resources', memoryBytes: 3 * 1024 ** 3})
    try {
      const result = await doctor([], dir)
      expect(result.exitCode).toBe(0)
      expect(line(result.stdout, 'Docker memory')).toBe(
        '⚠ Docker memory  Docker has 3.0 GiB of memory and 8 CPUs: below the 4.0 GiB the cluster, Postgres, Redis and your app want; pods may be evicted.',
      )
      expect(result.stdout).toMatch(/→ Give Docker at least 4\.0 GiB/)
    } finally {
      await sim.injectFault({type: 'docker-resources', memoryBytes: 16 * 1024 ** 3})
    }
  })

  it('k3d missing: fails with how to install it, exit 11', async () => {
    const {dir} = await project()
    const result = await doctor([], dir, await pathWith(['docker', 'helm']))
    expect(result.exitCode).toBe(11)
    expect(line(result.stdout, 'k3d')).toBe('✖ k3d            k3d is not installed (or not on your PATH); devctl creates the local cluster with it.')
    expect(result.stdout).toMatch(/→ Install k3d/)
    expect(result.stderr).toMatch(/^Error: devctl doctor: 1 check failed \(k3d\)\./)
  })

  it('helm missing: fails with how to install it, exit 11', async () => {
    const {dir} = await project()
    const result = await doctor([], dir, await pathWith(['docker', 'k3d']))
    expect(result.exitCode).toBe(11)
    expect(line(result.stdout, 'helm')).toBe('✖ helm           helm is not installed (or not on your PATH); devctl installs your chart with it.')
    expect(result.stdout).toMatch(/→ Install helm/)
  })

  it('helm too old: fails naming the versions devctl supports, exit 11', async () => {
    const {dir} = await project()
    const oldHelm = '#!/bin/sh\n# helm 3.12 answering `helm version --template {{.Version}}`\necho v3.12.3\n'
    const result = await doctor([], dir, await pathWith(['docker', 'k3d'], {helm: oldHelm}))
    expect(result.exitCode).toBe(11)
    expect(line(result.stdout, 'helm')).toBe('✖ helm           helm 3.12.3 is not supported: devctl needs helm 3.13.0 or newer, 3.x or 4.x.')
    expect(result.stdout).toMatch(/→ Install a supported helm \(https:\/\/helm\.sh\/docs\/intro\/install\/\)\. Install helm/)
  })

  it('a host port in use: fails naming the holder; --fix --yes moves it in devctl.yaml, comments kept', async () => {
    const {dir, apiPort, webPort} = await project()
    const server = await holdPort(webPort)
    try {
      const result = await doctor([], dir)
      expect(result.exitCode).toBe(11)
      expect(line(result.stdout, 'Host ports')).toMatch(new RegExp(`^✖ Host ports +Host port ${webPort} \\(for port mapping ${webPort}:80\\) is already in use by .+ \\(pid ${process.pid}\\)\\.$`))
      const moved = /cluster\.ports\[0\]\.host: \d+ → (\d+)/.exec(result.stdout)?.[1]
      expect(moved).toBeDefined()

      const fixed = await doctor(['--fix', '--yes'], dir)
      expect(fixed.exitCode).toBe(0)
      expect(fixed.stdout).toContain(`✔ done: change devctl.yaml to free host ports (cluster.ports[0].host: ${webPort} → ${moved})`)
      expect(fixed.stdout.slice(fixed.stdout.indexOf('After the fixes:'))).toContain(`✔ Host ports     free: ${apiPort}, ${moved}`)
      expect(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toBe(configText(apiPort, Number(moved)))
    } finally {
      server.close()
    }
  })

  it('--fix cannot ask where no one answers: usage error naming --yes, exit 2, nothing changed', async () => {
    const {dir, webPort} = await project()
    const server = await holdPort(webPort)
    try {
      const before = await readFile(join(dir, 'devctl.yaml'), 'utf8')
      const result = await doctor(['--fix'], dir)
      expect(result.exitCode).toBe(2)
      expect(result.stderr).toMatch(/^Error: --yes is required when devctl cannot prompt/)
      expect(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toBe(before)
    } finally {
      server.close()
    }
  })

  it('an invalid devctl.yaml: fails at file:line:col, exit 11', async () => {
    const {dir} = await project()
    await writeFile(join(dir, 'devctl.yaml'), 'apiVersion: devctl.dev/v1\nproject: demo\ncluster:\n  provider: k3d\n  apiPort: lots\napp:\n  chart: {path: ./chart}\n')
    const result = await doctor([], dir)
    expect(result.exitCode).toBe(11)
    expect(line(result.stdout, 'devctl.yaml')).toBe('✖ devctl.yaml    devctl.yaml:5:12: "cluster.apiPort" must be a number, but found the string "lots".')
    expect(line(result.stdout, 'Host ports')).toBe('- Host ports     needs a valid devctl.yaml')
  })

  it('the cluster stopped: a warning, exit 0; --fix --yes starts it and its kube context answers', async () => {
    const {dir, apiPort, webPort} = await project()
    await sim.createCluster('demo', ['--api-port', `127.0.0.1:${apiPort}`, '--port', `${webPort}:80@loadbalancer`, '--wait=false'])
    expect(await runTool(sim, 'k3d', ['cluster', 'stop', 'demo'])).toBe(0)

    const stopped = await doctor([], dir)
    expect(stopped.exitCode).toBe(0)
    expect(line(stopped.stdout, 'Cluster')).toBe('⚠ Cluster        The k3d cluster demo is stopped.')
    expect(stopped.stdout).toContain('→ `devctl doctor --fix` starts it now (`devctl up` would too); its data is kept.')
    expect(line(stopped.stdout, 'Kube context')).toBe('- Kube context   needs a running cluster')

    const fixed = await doctor(['--fix', '--yes'], dir)
    expect(fixed.exitCode).toBe(0)
    expect(fixed.stdout).toContain('✔ done: start the stopped k3d cluster demo')
    expect(sim.commands('k3d').some((c) => c.argv.join(' ') === 'cluster start demo --wait')).toBe(true)
    const after = fixed.stdout.slice(fixed.stdout.indexOf('After the fixes:'))
    expect(line(after.replace(/^After the fixes:\n/, ''), 'Cluster')).toBe('✔ Cluster        k3d cluster demo is running (1 server, 0 agents)')
    expect(after).toContain(`✔ Kube context   context k3d-demo answers at http://127.0.0.1:${apiPort}`)
    expect(after).toContain('✔ Host ports     held by the running cluster demo')
    expect(after).toContain('✔ Secrets        .devctl/secrets.yaml holds the generated Postgres and Redis passwords')
  })

  it('an existing cluster (provider existing): no Docker or k3d needed, its kube context is checked', async () => {
    const {dir} = await project()
    const apiPort = await freePort()
    await sim.createCluster('team', ['--api-port', `127.0.0.1:${apiPort}`, '--wait=false'])
    const existing = (context: string) =>
      `apiVersion: devctl.dev/v1\nproject: demo\ncluster:\n  provider: existing\n  context: ${context}\napp:\n  chart:\n    path: ./chart\n  values: [values.dev.yaml]\n`
    await writeFile(join(dir, 'devctl.yaml'), existing('k3d-team'))

    // Without docker and k3d on the PATH at all.
    const result = await doctor([], dir, await pathWith(['helm']))
    expect(result.exitCode, result.stdout).toBe(0)
    for (const title of ['Docker', 'Docker memory', 'k3d']) expect(line(result.stdout, title)).toMatch(/^- .* not needed: devctl.yaml deploys into the existing cluster of context k3d-team$/)
    expect(line(result.stdout, 'Kube context')).toBe(`✔ Kube context   context k3d-team answers at http://127.0.0.1:${apiPort}`)

    await writeFile(join(dir, 'devctl.yaml'), existing('k3d-elsewhere'))
    const missing = await doctor(['--json'], dir, await pathWith(['helm']))
    expect(missing.exitCode).toBe(11)
    const report = resultRecord<DoctorResult>(missing.stdout).result
    expect(report.checks.find((c) => c.id === 'kube-context')).toMatchObject({status: 'fail', message: expect.stringContaining('k3d-elsewhere')})
  })
})
