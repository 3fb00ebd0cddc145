/**
 * Benchmark for `devctl up` and start-up (not a test): on the simulator, the wall time of a first
 * `up` (cluster, Postgres, Redis, chart, migration, rollout) and of a no-op re-run (nothing
 * changed: no helm command), for helm 3 and helm 4; and `devctl --help` next to the `--help` of a
 * bare oclif CLI (one command, no plugins, the same @oclif/core) made in a temp dir. Run
 * `npm run build` first, then:
 *
 *   npx tsx bench/up.ts [--runs 3] [--reruns 3] [--cli PATH/bin/run.js]
 *
 * `--runs` fresh environments per helm major (each timed for its first `up`), each then timed for
 * `--reruns` no-op re-runs. helm is the real binary; the stand-in k3d/docker are Node scripts
 * (~100 ms to start each on a small machine, where the real Go binaries take ~20 ms), so these
 * figures are an upper bound. `--cli` times another build of devctl (another checkout's
 * bin/run.js), for figures before and after a change under the same load.
 */
import {chmod, mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {CLI, REPO_ROOT} from '../test/helpers/cli.js'
import {startEnvironment} from '../test/helpers/environment.js'
import {machine, measureCli, peakRss, summarize, wallTime, type Measurement, type Summary} from './measure.js'

const {values} = parseArgs({options: {runs: {type: 'string', default: '3'}, reruns: {type: 'string', default: '3'}, cli: {type: 'string', default: CLI}}})
const cli = values.cli
const runs = Number(values.runs)
const reruns = Number(values.reruns)

/** The smallest oclif CLI: one command, no plugins, devctl's own @oclif/core; its bin/run.js is oclif's template (no node flags). */
async function bareOclifCli(): Promise<{dir: string; bin: string}> {
  const dir = await mkdtemp(join(tmpdir(), 'devctl-bench-bare-oclif-'))
  await mkdir(join(dir, 'bin'))
  await mkdir(join(dir, 'commands'))
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'))
  await writeFile(join(dir, 'package.json'), JSON.stringify({name: 'bare', version: '1.0.0', type: 'module', bin: {bare: './bin/run.js'}, oclif: {bin: 'bare', commands: './commands'}}))
  await writeFile(join(dir, 'bin', 'run.js'), "#!/usr/bin/env node\nimport {execute} from '@oclif/core'\n\nawait execute({dir: import.meta.url})\n")
  await chmod(join(dir, 'bin', 'run.js'), 0o755)
  await writeFile(
    join(dir, 'commands', 'hello.js'),
    "import {Command, Flags} from '@oclif/core'\n\nexport default class Hello extends Command {\n  static summary = 'Say hello.'\n  static flags = {name: Flags.string({description: 'Who to greet.'})}\n  async run() {\n    const {flags} = await this.parse(Hello)\n    this.log(`hello ${flags.name ?? 'world'}`)\n  }\n}\n",
  )
  return {dir, bin: join(dir, 'bin', 'run.js')}
}

const loadBefore = machine(cpus().length)
const rows: Array<[string, Summary]> = []
const bare = await bareOclifCli()
try {
  // Interleaved, so that a change in the machine's load hits both alike.
  const devctlHelp: Measurement[] = []
  const bareHelp: Measurement[] = []
  for (let i = 0; i < Math.max(runs, 10); i++) {
    devctlHelp.push(await measureCli(cli, ['--help'], process.env, process.cwd()))
    bareHelp.push(await measureCli(bare.bin, ['--help'], process.env, bare.dir))
  }
  rows.push(['devctl --help', summarize(devctlHelp)], ['bare oclif CLI --help (reference)', summarize(bareHelp)])
} finally {
  await rm(bare.dir, {recursive: true, force: true})
}
for (const helmVersion of [3, 4] as const) {
  const firsts: Measurement[] = []
  const noOps: Measurement[] = []
  for (let i = 0; i < runs; i++) {
    const env = await startEnvironment({helmVersion})
    try {
      const childEnv = {...process.env, ...env.sim.env, NO_COLOR: '1'}
      firsts.push(await measureCli(cli, ['up', '--quiet'], childEnv, env.dir))
      for (let j = 0; j < reruns; j++) noOps.push(await measureCli(cli, ['up', '--quiet'], childEnv, env.dir))
      if (env.sim.commands('helm').filter((c) => c.argv[0] === 'upgrade').length !== 1) throw new Error('a re-run called helm upgrade')
    } finally {
      await env.stop()
    }
  }
  rows.push([`devctl up, first (helm ${helmVersion})`, summarize(firsts)], [`devctl up, no-op re-run (helm ${helmVersion})`, summarize(noOps)])
}

console.log(`devctl up benchmark (${cli}): ${runs} first runs and ${runs * reruns} re-runs per helm major; before: ${loadBefore}; after: ${machine(cpus().length)}\n`)
console.log('| what | runs | wall time: best (median) | peak RSS: highest (median) |\n| --- | --- | --- | --- |')
for (const [what, summary] of rows) console.log(`| ${what} | ${summary.runs} | ${wallTime(summary)} | ${peakRss(summary)} |`)
const [devctlHelp, bareHelp] = [rows[0]![1], rows[1]![1]]
console.log(`\n--help: devctl / bare oclif = ${(devctlHelp.bestSeconds / bareHelp.bestSeconds).toFixed(2)}× (best), ${(devctlHelp.medianSeconds / bareHelp.medianSeconds).toFixed(2)}× (median)`)
