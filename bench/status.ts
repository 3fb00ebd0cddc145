/**
 * Benchmark for `devctl status` (not a test): on the simulator, after a first `devctl up` of a
 * project made by `devctl init --preset web-worker`, the wall time and peak RSS of `devctl status`
 * and `devctl status --json`, next to the real `kubectl get pods` on the same namespace. Run
 * `npm run build` first, then:
 *
 *   npx tsx bench/status.ts [--runs 10] [--cli PATH/bin/run.js ...]
 *
 * devctl runs as users run it, through bin/run.js's `#!` line. `--cli` (repeatable) times other
 * builds of devctl (another checkout's bin/run.js) instead, taking turns with each other, for
 * figures before and after a change under the same load. The simulator answers from this
 * process: devctl runs asynchronously (a synchronous child would starve it).
 */
import {join} from 'node:path'
import {cpus} from 'node:os'
import {parseArgs} from 'node:util'

import {CLI, resultRecord, TOOLS} from '../test/helpers/cli.js'
import {startEnvironment} from '../test/helpers/environment.js'
import {alternate, clisToTime, machine, measure, measureCli, peakRss, wallTime, type TimedCommand} from './measure.js'

const {values} = parseArgs({options: {runs: {type: 'string', default: '10'}, cli: {type: 'string', multiple: true}}})
const runs = Number(values.runs)
const clis = clisToTime(values.cli, CLI)

const loadBefore = machine(cpus().length)
const env = await startEnvironment({helmVersion: 3})
try {
  const childEnv = {...process.env, ...env.sim.env, NO_COLOR: '1'}
  const up = await env.devctl(['up', '--quiet'])
  if (up.exitCode !== 0) throw new Error(`devctl up failed (exit ${up.exitCode}):\n${up.stderr}`)
  // Everything it reports must be there: a running cluster, the release deployed, its workloads ready.
  const checked = await env.devctl(['status', '--json'])
  const result = resultRecord<{namespace: string; conditions: Array<{type: string; status: string}>}>(checked.stdout).result
  const notTrue = result.conditions.filter((c) => c.status !== 'True' && c.type !== 'MigrationSucceeded')
  if (notTrue.length) throw new Error(`status after up is not all True: ${JSON.stringify(notTrue)}`)

  const kubeconfig = join(env.dir, '.devctl', 'kubeconfig')
  const rows = await alternate(runs, [
    ...clis.map(({cli, label}): [string, () => ReturnType<typeof measure>] => [`devctl status${label}`, () => measureCli(cli, ['status'], childEnv, env.dir)]),
    ...clis.map(({cli, label}): [string, () => ReturnType<typeof measure>] => [`devctl status --json${label}`, () => measureCli(cli, ['status', '--json'], childEnv, env.dir)]),
    ['kubectl get pods (reference)', () => measure(TOOLS.kubectl, ['get', 'pods', '-n', result.namespace, '--kubeconfig', kubeconfig], childEnv, env.dir)],
  ])
  console.log(`devctl status benchmark: ${runs} runs each, taking turns; before: ${loadBefore}; after: ${machine(cpus().length)}\n`)
  console.log('| what | wall time: best (median) | peak RSS: highest (median) |\n| --- | --- | --- |')
  for (const [what, summary] of rows) console.log(`| ${what} | ${wallTime(summary)} | ${peakRss(summary)} |`)
} finally {
  await env.stop()
}
