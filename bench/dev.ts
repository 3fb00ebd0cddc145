/**
 * Benchmark (not a test): `devctl dev` on the simulator — the time from saving a source file to
 * the new pod Ready, and where it goes: noticing the change (and the quiet time), the build,
 * the import into the cluster, the deploy (helm and the migration), the rollout. Run:
 *
 *   npm run build && npm run tools && npx tsx bench/dev.ts [--edits 5] [--time-factor 0.01]
 *
 * The project is web-worker's chart with the API built from a small Dockerfile (FROM alpine,
 * COPY, RUN), as `devctl init` sets it up. At time factor 0.01 the simulated cluster's own waits
 * (image import, pulls, container start, readiness, the migration Job) shrink a hundredfold, so
 * the figures are mostly devctl's, helm's and the stand-ins' own time; at 1 they are what a
 * person would wait for on a laptop, as far as the simulator knows. "Pod Ready" is seen by
 * polling the simulated API every 20 ms. First, a no-op `devctl up` with the image under build:
 * (nothing changed: digest, one image lookup, a look at the node, no build, no helm), timed with
 * GNU time like bench/up.ts.
 */
import {spawn} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {CLI, runCli, tempDir} from '../test/helpers/cli.js'
import {alternate, measureCli, wallTime, peakRss} from './measure.js'
import {freePort} from '../test/helpers/environment.js'
import {startSimulator} from '../test/sim/index.js'

const {values} = parseArgs({options: {edits: {type: 'string', default: '5'}, 'time-factor': {type: 'string', default: '0.01'}}})
const edits = Number(values.edits)
const timeFactor = Number(values['time-factor'])

interface Event {
  type: string
  time: string
  cycle?: number
  status?: string
  durations?: Record<string, number>
  error?: {message: string}
}

const sim = await startSimulator({helmVersion: 3, timeFactor})
const dir = await tempDir('devctl-bench-dev-')
await mkdir(join(dir, 'src'))
await writeFile(join(dir, 'Dockerfile'), 'FROM alpine:3.20\nWORKDIR /app\nCOPY src /app\nRUN echo compiling\nCMD ["/app/server"]\n')
await writeFile(join(dir, 'src', 'server.txt'), 'version 0\n')
const init = await runCli(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input', '--port', `${await freePort()}:80`], {cwd: dir, env: sim.env})
if (init.exitCode !== 0) throw new Error(`devctl init failed:\n${init.stderr}`)

const childEnv = {...process.env, ...sim.env, NO_COLOR: '1'}
const firstUp = await runCli(['up', '--quiet'], {cwd: dir, env: sim.env})
if (firstUp.exitCode !== 0) throw new Error(`devctl up failed:\n${firstUp.stderr}`)
const upgradesBefore = sim.commands('helm').filter((c) => c.argv[0] === 'upgrade').length
const noop = (await alternate(3, [['no-op up', () => measureCli(CLI, ['up', '--quiet'], childEnv, dir)]]))[0]![1]
if (sim.commands('helm').filter((c) => c.argv[0] === 'upgrade').length !== upgradesBefore || sim.commands('docker').filter((c) => c.argv[0] === 'build').length !== 1) {
  throw new Error('a no-op up built or deployed')
}

const child = spawn(process.execPath, [CLI, 'dev', '--json', '--debounce', '100'], {cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'inherit']})
const events: Event[] = []
let buffered = ''
child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
  buffered += chunk
  const lines = buffered.split('\n')
  buffered = lines.pop()!
  for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as Event)
})

async function until<T>(check: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 300_000
  for (;;) {
    const found = check()
    if (found) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The API pods that are Ready, by name. */
function readyApiPods(): string[] {
  return (sim.cluster('demo')?.list('v1', 'Pod', 'demo') ?? [])
    .filter((pod) => pod.metadata.labels?.['app.kubernetes.io/component'] === 'api' && !pod.metadata.deletionTimestamp)
    .filter((pod) => (pod.status as {conditions?: Array<{type: string; status: string}>}).conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((pod) => pod.metadata.name)
}

const rows: Array<Record<string, number>> = []
try {
  const first = await until(() => events.find((e) => e.type === 'cycle:end' && e.cycle === 0), 'the first up')
  if (first.status === 'failed') throw new Error(`the first up failed: ${first.error?.message}`)
  await until(() => events.some((e) => e.type === 'watching'), 'watching')
  for (let edit = 1; edit <= edits; edit++) {
    const before = new Set(readyApiPods())
    const saved = Date.now()
    await writeFile(join(dir, 'src', 'server.txt'), `version ${edit}\n`)
    const ready = await until(() => {
      const fresh = readyApiPods().filter((name) => !before.has(name))
      return fresh.length > 0 ? Date.now() : undefined
    }, `a new Ready API pod after edit ${edit}`)
    const end = await until(() => events.find((e) => e.type === 'cycle:end' && e.cycle === edit), `cycle ${edit}`)
    if (end.status !== 'done') throw new Error(`cycle ${edit} ended ${end.status}: ${end.error?.message}`)
    const start = events.find((e) => e.type === 'cycle:start' && e.cycle === edit)!
    rows.push({
      noticed: Date.parse(start.time) - saved,
      build: end.durations?.build ?? 0,
      import: end.durations?.images ?? 0,
      deploy: end.durations?.deploy ?? 0,
      rollout: end.durations?.rollout ?? 0,
      ready: ready - saved,
      cycle: Date.parse(end.time) - saved,
    })
  }
} finally {
  child.kill('SIGINT')
  await new Promise((resolve) => child.on('close', resolve))
  await sim.stop()
}

const median = (key: string) => [...rows.map((r) => r[key]!)].sort((a, b) => a - b)[Math.floor(rows.length / 2)]!
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
console.log(`devctl dev on the simulator: ${edits} edits, time factor ${timeFactor}, ${cpus().length} CPUs, node ${process.version}; median of the edits\n`)
console.log('| from saving a file to... | median |\n| --- | --- |')
console.log(`| the cycle starting (change noticed, 100 ms quiet time) | ${seconds(median('noticed'))} |`)
console.log(`| build (digest, docker build) | ${seconds(median('build'))} |`)
console.log(`| import (k3d image import, checked on the node) | ${seconds(median('import'))} |`)
console.log(`| deploy (helm upgrade, migration Job) | ${seconds(median('deploy'))} |`)
console.log(`| rollout (new pod Ready, old one gone) | ${seconds(median('rollout'))} |`)
console.log(`| **the new pod Ready** (seen on the API) | **${seconds(median('ready'))}** |`)
console.log(`| the cycle's line printed | ${seconds(median('cycle'))} |`)
console.log(`\nno-op \`devctl up\` with the image under build: (3 runs): ${wallTime(noop)}, ${peakRss(noop)} peak RSS`)
