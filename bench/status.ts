/**
 * Benchmark for `devctl status` (not a test): on the simulator, after a first `devctl up` of a
 * project made by `devctl init --preset web-worker`, the wall time and peak RSS of `devctl status`
 * and `devctl status --json`, next to the real `kubectl get pods` on the same namespace. Run
 * `npm run build` first, then:
 *
 *   npx tsx bench/status.ts [--runs 10] [--cli PATH/bin/run.js]
 *
 * `--cli` times another build of devctl (another checkout's bin/run.js) on the same simulator,
 * for figures before and after a change under the same load.
 * The simulator answers from this process: devctl runs asynchronously (a synchronous child
 * would starve it).
 */
import {join} from 'node:path'
import {cpus} from 'node:os'
import {parseArgs} from 'node:util'

import {CLI, resultRecord, TOOLS} from '../test/helpers/cli.js'
import {startEnvironment} from '../test/helpers/environment.js'
import {machine, measure, measureCli, peakRss, repeat, wallTime, type Summary} from './measure.js'

const {values} = parseArgs({options: {runs: {type: 'string', default: '10'}, cli: {type: 'string', default: CLI}}})
const runs = Number(values.runs)
const cli = values.cli

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

  const rows: Array<[string, Summary]> = [
    ['devctl status', await repeat(runs, () => measureCli(cli, ['status'], childEnv, env.dir))],
    ['devctl status --json', await repeat(runs, () => measureCli(cli, ['status', '--json'], childEnv, env.dir))],
    [
      'kubectl get pods (reference)',
      await repeat(runs, () => measure(TOOLS.kubectl, ['get', 'pods', '-n', result.namespace, '--kubeconfig', join(env.dir, '.devctl', 'kubeconfig')], childEnv, env.dir)),
    ],
  ]
  console.log(`devctl status benchmark (${cli}): ${runs} runs each; before: ${loadBefore}; after: ${machine(cpus().length)}\n`)
  console.log('| what | wall time: best (median) | peak RSS: highest (median) |\n| --- | --- | --- |')
  for (const [what, summary] of rows) console.log(`| ${what} | ${wallTime(summary)} | ${peakRss(summary)} |`)
} finally {
  await env.stop()
}
