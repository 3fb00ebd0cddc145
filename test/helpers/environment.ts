/**
 * An end-to-end test environment: a simulator, and a project directory made by the built
 * `devctl init`, with every devctl command run as a subprocess against the simulator.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {join} from 'node:path'

import {parse, parseDocument, stringify} from 'yaml'

import type {DevctlConfigInput} from '../../src/config/schema.js'
import {realServersAvailable} from '../sim/apiserver/backends.js'
import {startSimulator, type Simulator, type SimulatorOptions} from '../sim/index.js'
import {runCli, tempDir, type CliOptions, type CliResult} from './cli.js'

export interface TestEnvironment {
  sim: Simulator
  dir: string
  devctl(args: string[], options?: Pick<CliOptions, 'env' | 'interruptWhen' | 'input'>): Promise<CliResult>
  /** The passwords init generated, to assert they never appear in output. */
  secrets(): Promise<string[]>
  stop(): Promise<void>
}

/** The deploys helm was asked for: its `upgrade` commands, not the dry runs an upgrade's plan renders the chart with. */
export function helmDeploys(sim: Simulator): ReturnType<Simulator['commands']> {
  return sim.commands('helm').filter((c) => c.argv[0] === 'upgrade' && !c.argv.some((arg) => arg.startsWith('--dry-run')))
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

let toldAboutServers = false

/**
 * devctl's Postgres is a real server in the simulator only where one is installed; elsewhere
 * pg_dump has nothing to dump, so the snapshot `upgrade` takes before a migration is switched
 * off in the test project (said once). The data tests themselves are skipped there.
 */
async function withoutRealServers(dir: string): Promise<void> {
  const servers = realServersAvailable()
  if (servers.available) return
  if (!toldAboutServers) process.stderr.write(`test environments: no automatic snapshots before migrations (needs ${servers.missing.join(' and ')})\n`)
  toldAboutServers = true
  const path = join(dir, 'devctl.yaml')
  const document = parseDocument(await readFile(path, 'utf8'))
  document.setIn(['services', 'postgres', 'snapshots', 'beforeMigration'], false)
  await writeFile(path, document.toString())
}

export async function startEnvironment(options: Partial<SimulatorOptions> & {initArgs?: string[]} = {}): Promise<TestEnvironment> {
  const sim = await startSimulator({helmVersion: 3, ...options})
  const dir = await tempDir('devctl-e2e-')
  const devctl: TestEnvironment['devctl'] = (args, extra = {}) => runCli(args, {cwd: dir, env: {...sim.env, ...extra.env}, interruptWhen: extra.interruptWhen, input: extra.input})
  const init = await devctl(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input', '--port', `${await freePort()}:80`, ...(options.initArgs ?? [])])
  if (init.exitCode !== 0) throw new Error(`devctl init failed (${init.exitCode}):\n${init.stderr}`)
  await withoutRealServers(dir)
  return {
    sim,
    dir,
    devctl,
    async secrets() {
      const data = parse(await readFile(join(dir, '.devctl', 'secrets.yaml'), 'utf8')) as {postgres: {password: string}; redis: {password: string}}
      return [data.postgres.password, data.redis.password]
    },
    stop: () => sim.stop(),
  }
}

/** Everything the user saw. */
export function output(result: CliResult): string {
  return `${result.stdout}\n${result.stderr}`
}

/** Change devctl.yaml in `dir` as a person would, by its data (comments are not kept). */
export async function editConfig(dir: string, edit: (config: DevctlConfigInput) => void): Promise<void> {
  const path = join(dir, 'devctl.yaml')
  const config = parse(await readFile(path, 'utf8')) as DevctlConfigInput
  edit(config)
  await writeFile(path, stringify(config))
}

/** The k3d cluster in a test project's devctl.yaml (startEnvironment's project has one), to change it in place. */
export function k3dCluster(config: DevctlConfigInput): Extract<DevctlConfigInput['cluster'], {provider: 'k3d'}> {
  if (config.cluster?.provider !== 'k3d') throw new Error(`devctl.yaml has no k3d cluster: ${JSON.stringify(config.cluster)}`)
  return config.cluster
}

/**
 * The real helm upgrading the project's release by itself, as a devctl killed outright leaves it
 * running: `helm upgrade demo ./chart -f values.dev.yaml --set SET`, through the kubeconfig devctl
 * kept. With a long migration (a scenario) it stays in flight, the release pending-upgrade.
 */
export function helmUpgradeInFlight(env: TestEnvironment, set: string, extraArgs: string[] = []): {helm: ChildProcess; closed: Promise<unknown>} {
  const args = ['upgrade', 'demo', join(env.dir, 'chart'), '-n', 'demo', '-f', join(env.dir, 'values.dev.yaml'), '--set', set, ...extraArgs]
  const helm = spawn('helm', [...args, '--kubeconfig', join(env.dir, '.devctl', 'kubeconfig'), '--kube-context', 'k3d-demo'], {env: {...process.env, ...env.sim.env}, stdio: 'ignore'})
  return {helm, closed: new Promise((resolve) => helm.on('close', resolve))}
}
