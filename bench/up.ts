/**
 * Benchmark for `devctl up` and start-up (not a test): on the simulator, the wall time of a first
 * `up` (cluster, Postgres, Redis, chart, migration, rollout) and of a no-op re-run (nothing
 * changed: no helm command), for helm 3 and helm 4; and `devctl --help`. Run `npm run build`
 * first, then:
 *
 *   npx tsx bench/up.ts [--runs 3]
 *
 * helm is the real binary; the stand-in k3d/docker are Node scripts (~150 ms to start each on a
 * small machine, where the real Go binaries take ~20 ms), so these figures are an upper bound.
 */
import {cpus} from 'node:os'
import {parseArgs} from 'node:util'

import {CLI} from '../test/helpers/cli.js'
import {startEnvironment} from '../test/helpers/environment.js'
import {measure, repeat, type Measurement} from './measure.js'

const {values} = parseArgs({options: {runs: {type: 'string', default: '3'}}})
const runs = Number(values.runs)

function row(what: string, m: Measurement): string {
  return `| ${what} | ${m.seconds.toFixed(2)} s | ${Math.round(m.maxRssMB)} MB |`
}

const rows: string[] = []
rows.push(row('devctl --help', await repeat(runs, () => measure(process.execPath, [CLI, '--help'], process.env, process.cwd()))))
for (const helmVersion of [3, 4] as const) {
  const firsts: Measurement[] = []
  const reruns: Measurement[] = []
  for (let i = 0; i < runs; i++) {
    const env = await startEnvironment({helmVersion})
    try {
      const childEnv = {...process.env, ...env.sim.env, NO_COLOR: '1'}
      firsts.push(await measure(process.execPath, [CLI, 'up', '--quiet'], childEnv, env.dir))
      reruns.push(await measure(process.execPath, [CLI, 'up', '--quiet'], childEnv, env.dir))
      if (env.sim.commands('helm').filter((c) => c.argv[0] === 'upgrade').length !== 1) throw new Error('the re-run called helm upgrade')
    } finally {
      await env.stop()
    }
  }
  const best = (all: Measurement[]) => ({seconds: Math.min(...all.map((m) => m.seconds)), maxRssMB: Math.max(...all.map((m) => m.maxRssMB))})
  rows.push(row(`devctl up, first (helm ${helmVersion})`, best(firsts)))
  rows.push(row(`devctl up, no-op re-run (helm ${helmVersion})`, best(reruns)))
}

console.log(`devctl up benchmark: ${cpus().length} CPUs, node ${process.version}, best of ${runs} runs (peak RSS: the highest)\n`)
console.log('| what | wall time | peak RSS |\n| --- | --- | --- |')
for (const line of rows) console.log(line)
