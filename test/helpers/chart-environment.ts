/**
 * An end-to-end environment for a chart we did not bundle: the simulator, and a project whose
 * ./chart is a copy of a fixture chart (test/fixtures/charts), set up by the built
 * `devctl init --preset bring-your-own` with the given flags.
 */
import {cp, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse} from 'yaml'

import {startSimulator, type SimulatorOptions} from '../sim/index.js'
import {REPO_ROOT, runCli, tempDir} from './cli.js'
import {freePort, type TestEnvironment} from './environment.js'

export const FIXTURE_CHARTS = join(REPO_ROOT, 'test', 'fixtures', 'charts')

export async function startChartEnvironment(chart: string, initArgs: string[], options: Partial<SimulatorOptions> = {}): Promise<TestEnvironment> {
  const sim = await startSimulator({helmVersion: 3, ...options})
  const dir = await tempDir('devctl-e2e-')
  await cp(join(FIXTURE_CHARTS, chart), join(dir, 'chart'), {recursive: true})
  const devctl: TestEnvironment['devctl'] = (args, extra = {}) => runCli(args, {cwd: dir, env: {...sim.env, ...extra.env}, interruptWhen: extra.interruptWhen})
  const init = await devctl(['init', '--preset', 'bring-your-own', '--name', 'demo', '--chart', './chart', '--no-input', '--port', `${await freePort()}:80`, ...initArgs])
  if (init.exitCode !== 0) {
    await sim.stop()
    throw new Error(`devctl init failed (${init.exitCode}):\n${init.stdout}\n${init.stderr}`)
  }
  return {
    sim,
    dir,
    devctl,
    async secrets() {
      const text = await readFile(join(dir, '.devctl', 'secrets.yaml'), 'utf8').catch(() => '')
      const data = (parse(text) ?? {}) as Record<string, {password: string}>
      return Object.values(data).map((s) => s.password)
    },
    stop: () => sim.stop(),
  }
}
