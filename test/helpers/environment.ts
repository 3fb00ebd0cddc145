/**
 * An end-to-end test environment: a simulator, and a project directory made by the built
 * `devctl init`, with every devctl command run as a subprocess against the simulator.
 */
import {readFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {join} from 'node:path'

import {parse} from 'yaml'

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

export async function startEnvironment(options: Partial<SimulatorOptions> & {initArgs?: string[]} = {}): Promise<TestEnvironment> {
  const sim = await startSimulator({helmVersion: 3, ...options})
  const dir = await tempDir('devctl-e2e-')
  const devctl: TestEnvironment['devctl'] = (args, extra = {}) => runCli(args, {cwd: dir, env: {...sim.env, ...extra.env}, interruptWhen: extra.interruptWhen, input: extra.input})
  const init = await devctl(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input', '--port', `${await freePort()}:80`, ...(options.initArgs ?? [])])
  if (init.exitCode !== 0) throw new Error(`devctl init failed (${init.exitCode}):\n${init.stderr}`)
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
