/**
 * Benchmark for `devctl logs` (not a test): on the simulator, 20 pods print 50,000 lines each
 * (scenario `logs-bench`), then the BUILT CLI reads them all with `--no-follow > /dev/null`.
 * Reports lines/s and peak RSS (GNU time's maximum resident set size), next to the real
 * `kubectl logs` reading one of the same pods. Run `npm run build` first, then:
 *
 *   npx tsx bench/logs.ts [--pods 20] [--runs 3] [--cli PATH/bin/run.js ...]
 *
 * devctl runs as users run it, through bin/run.js's `#!` line (with the node flags it sets); one
 * row runs it with `node bin/run.js` instead, on V8's defaults, to show what those flags do.
 * `--cli` (repeatable) times other builds of devctl (another checkout's bin/run.js) instead,
 * taking turns, for figures before and after a change under the same load.
 */
import {execFile, spawn} from 'node:child_process'
import {mkdtemp, writeFile} from 'node:fs/promises'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs, promisify} from 'node:util'

import {startSimulator} from '../test/sim/index.js'
import {CLI, TOOLS} from '../test/helpers/cli.js'
import {alternate, clisToTime, machine, measure, measureCli, peakRss, wallTime, type Summary, type TimedCommand} from './measure.js'

const LINES_PER_POD = 50_000
// Asynchronous only: the simulator answers from this process, a synchronous child would starve it.
const run = promisify(execFile)
const {values} = parseArgs({options: {pods: {type: 'string', default: '20'}, runs: {type: 'string', default: '3'}, cli: {type: 'string', multiple: true}}})
const clis = clisToTime(values.cli, CLI)
const pods = Number(values.pods)
const runs = Number(values.runs)

const deployment = (name: string, replicas: number, benchLabel: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: bench
  annotations: {meta.helm.sh/release-name: bench}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}, bench: ${benchLabel}}
    spec:
      containers:
        - name: printer
          image: example.com/printer:1.0
`

async function kubectlApply(env: NodeJS.ProcessEnv, manifest: string): Promise<void> {
  const apply = run(TOOLS.kubectl, ['apply', '--validate=false', '-f', '-'], {env})
  apply.child.stdin?.end(manifest)
  await apply
}

/** Following: from `kubectl apply` of a new Deployment to its pod's first line on devctl's output. */
async function newPodLatency(cli: string, name: string, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const follower = spawn(process.execPath, [cli, 'logs', `^${name}-`], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  let applied = 0
  try {
    const firstLine = new Promise<number>((resolve) => {
      follower.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk
        if (applied && new RegExp(`^${name}-\\S+ `, 'm').test(output)) resolve(Date.now())
      })
    })
    // Started and caught up: it says so on stderr while nothing matches yet.
    await new Promise<void>((resolve) => follower.stderr.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('waiting for them') && resolve()))
    applied = Date.now()
    await kubectlApply(env, deployment(name, 1, 'late'))
    return (await firstLine) - applied
  } finally {
    follower.kill('SIGINT')
  }
}

const loadBefore = machine(cpus().length)
const sim = await startSimulator({helmVersion: 3, scenario: 'logs-bench', cpus: cpus().length})
try {
  const env = {...process.env, ...sim.env, NO_COLOR: '1'}
  const dir = await mkdtemp(join(tmpdir(), 'devctl-bench-'))
  await writeFile(join(dir, 'devctl.yaml'), 'apiVersion: devctl.dev/v1\nproject: bench\ncluster:\n  provider: k3d\napp:\n  chart: {path: ./chart}\n')
  const api = await sim.createCluster('bench')
  await run(TOOLS.kubectl, ['create', 'namespace', 'bench'], {env})
  await kubectlApply(env, deployment('bench', pods, 'logs'))

  // Wait until every pod runs and has printed all its lines (the scenario prints them at once).
  const running = () => api.list('v1', 'Pod', 'bench').filter((pod) => (pod.status as {phase?: string} | undefined)?.phase === 'Running')
  for (const started = Date.now(); running().length < pods;) {
    if (Date.now() - started > 60_000) throw new Error(`only ${running().length} of ${pods} pods run after a minute`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const podNames = running()
    .map((pod) => pod.metadata.name)
    .sort()
  const onePod = podNames[0]!

  // Every line arrives, once: count them through a pipe before timing.
  for (const {cli} of clis) {
    const counted = (await run(process.execPath, [cli, 'logs', '--no-follow'], {cwd: dir, env, maxBuffer: 1 << 30, encoding: 'utf8'})).stdout.split('\n').length - 1
    if (counted !== pods * LINES_PER_POD) throw new Error(`${cli} logs printed ${counted} lines, expected ${pods * LINES_PER_POD}`)
  }

  const total = pods * LINES_PER_POD
  // Per build: start-up alone, every pod, one pod, every pod on V8's defaults (`node bin/run.js`, without its #! flags).
  const perCli = clis.map(({cli, label}): TimedCommand[] => [
    [`devctl logs --no-follow --tail 0 (startup: config, k3d, API)${label}`, () => measureCli(cli, ['logs', '--no-follow', '--tail', '0'], env, dir)],
    [`devctl logs --no-follow (${pods} pods)${label}`, () => measureCli(cli, ['logs', '--no-follow'], env, dir)],
    [`devctl logs --no-follow (1 pod)${label}`, () => measureCli(cli, ['logs', '--no-follow', `^${onePod}$`], env, dir)],
    [`node bin/run.js logs --no-follow (${pods} pods; V8 defaults, without bin/run.js's flags)${label}`, () => measure(process.execPath, [cli, 'logs', '--no-follow'], env, dir)],
  ])
  const measured = await alternate(runs, [...perCli.flat(), ['kubectl logs (1 pod, reference)', () => measure(TOOLS.kubectl, ['logs', '-n', 'bench', onePod], env, dir)]])
  const latencies = []
  for (const [index, {cli}] of clis.entries()) latencies.push(await newPodLatency(cli, `late${index}`, env, dir))

  const rate = (lines: number, seconds: number) => `${Math.round(lines / seconds).toLocaleString('en-US')} lines/s`
  /** devctl's rows also get a rate without its start-up (medians: a best start-up may be luckier than a best run); kubectl's does not. */
  const row = ([what, summary]: [string, Summary], lines: number, startup?: Summary) => [
    what,
    lines.toLocaleString('en-US'),
    wallTime(summary),
    lines > 0 ? rate(lines, summary.bestSeconds) : '',
    lines > 0 && startup && summary.medianSeconds > startup.medianSeconds ? rate(lines, summary.medianSeconds - startup.medianSeconds) : '',
    peakRss(summary),
  ]
  const rows = [['what', 'lines', 'wall time: best (median)', 'lines/s (best wall)', 'lines/s (median, minus median startup)', 'peak RSS: highest (median)']]
  for (const index of clis.keys()) {
    const [startup, all, single, v8Defaults] = measured.slice(index * 4, index * 4 + 4) as Array<[string, Summary]>
    rows.push(row(startup!, 0), row(all!, total, startup![1]), row(single!, LINES_PER_POD, startup![1]), row(v8Defaults!, total, startup![1]))
  }
  rows.push(row(measured.at(-1)!, LINES_PER_POD))
  process.stdout.write(`devctl logs benchmark: ${runs} runs each, taking turns; before: ${loadBefore}; after: ${machine(cpus().length)}\n\n`)
  for (const [index, cells] of rows.entries()) process.stdout.write(`| ${cells.join(' | ')} |\n${index === 0 ? `|${' --- |'.repeat(cells.length)}\n` : ''}`)
  for (const [index, {label}] of clis.entries()) {
    process.stdout.write(
      `\nFollowing${label}: a new pod's first line appeared ${latencies[index]} ms after \`kubectl apply\` of its Deployment (simulator at time factor 0.01: pod start-up is near instant).\n`,
    )
  }
} finally {
  await sim.stop()
}
