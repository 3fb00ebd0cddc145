/**
 * Benchmark for `devctl up` and start-up (not a test): on the simulator, the wall time of a first
 * `up` (cluster, Postgres, Redis, chart, migration, rollout) and of a no-op re-run (nothing
 * changed: no helm command), for helm 3 and helm 4; and `devctl --help` next to the `--help` of a
 * bare oclif CLI (one command, no plugins, the same @oclif/core) made in a temp dir. Run
 * `npm run build` first, then:
 *
 *   npx tsx bench/up.ts [--runs 3] [--reruns 3] [--cli PATH/bin/run.js ...]
 *
 * `--runs` fresh environments per helm major (each timed for its first `up`), each then timed for
 * `--reruns` no-op re-runs. helm is the real binary; the stand-in k3d/docker are Node scripts
 * (~100 ms to start each on a small machine, where the real Go binaries take ~20 ms), so these
 * figures are an upper bound. devctl runs as users run it, through bin/run.js's `#!` line.
 * `--cli` (repeatable) times other builds of devctl (another checkout's bin/run.js) instead,
 * taking turns, for figures before and after a change under the same load.
 */
import {chmod, mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {CLI, REPO_ROOT} from '../test/helpers/cli.js'
import {startEnvironment} from '../test/helpers/environment.js'
import {alternate, clisToTime, machine, measureCli, peakRss, summarize, wallTime, type Measurement, type Summary, type TimedCommand} from './measure.js'

const {values} = parseArgs({options: {runs: {type: 'string', default: '3'}, reruns: {type: 'string', default: '3'}, cli: {type: 'string', multiple: true}}})
const clis = clisToTime(values.cli, CLI)
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
  rows.push(
    ...(await alternate(Math.max(runs, 10), [
      ...clis.map(({cli, label}): TimedCommand => [`devctl --help${label}`, () => measureCli(cli, ['--help'], process.env, process.cwd())]),
      ['bare oclif CLI --help (reference)', () => measureCli(bare.bin, ['--help'], process.env, bare.dir)],
    ])),
  )
} finally {
  await rm(bare.dir, {recursive: true, force: true})
}
for (const helmVersion of [3, 4] as const) {
  const firsts = clis.map((): Measurement[] => [])
  const noOps = clis.map((): Measurement[] => [])
  // Each build its own fresh environment, taking turns.
  for (let i = 0; i < runs; i++) {
    for (const [index, {cli}] of clis.entries()) {
      const env = await startEnvironment({helmVersion})
      try {
        const childEnv = {...process.env, ...env.sim.env, NO_COLOR: '1'}
        firsts[index]!.push(await measureCli(cli, ['up', '--quiet'], childEnv, env.dir))
        for (let j = 0; j < reruns; j++) noOps[index]!.push(await measureCli(cli, ['up', '--quiet'], childEnv, env.dir))
        if (env.sim.commands('helm').filter((c) => c.argv[0] === 'upgrade').length !== 1) throw new Error(`a re-run of ${cli} called helm upgrade`)
      } finally {
        await env.stop()
      }
    }
  }
  for (const [index, {label}] of clis.entries())
    rows.push([`devctl up, first (helm ${helmVersion})${label}`, summarize(firsts[index]!)], [`devctl up, no-op re-run (helm ${helmVersion})${label}`, summarize(noOps[index]!)])
}

console.log(`devctl up benchmark: ${runs} first runs and ${runs * reruns} re-runs per helm major; before: ${loadBefore}; after: ${machine(cpus().length)}\n`)
console.log('| what | runs | wall time: best (median) | peak RSS: highest (median) |\n| --- | --- | --- | --- |')
for (const [what, summary] of rows) console.log(`| ${what} | ${summary.runs} | ${wallTime(summary)} | ${peakRss(summary)} |`)
const bareHelp = rows[clis.length]![1]
for (const [index, {label}] of clis.entries()) {
  const help = rows[index]![1]
  console.log(`\n--help${label}: devctl / bare oclif = ${(help.bestSeconds / bareHelp.bestSeconds).toFixed(2)}× (best), ${(help.medianSeconds / bareHelp.medianSeconds).toFixed(2)}× (median)`)
}
