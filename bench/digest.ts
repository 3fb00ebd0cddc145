/**
 * Benchmark (not a test): the content digest of a 10,000-file build context, as `devctl up` and
 * every `devctl dev` cycle compute it before deciding whether to build. Target: ≤ 200 ms when
 * nothing changed. Run:
 *
 *   npm run build && npx tsx bench/digest.ts [--files 10000] [--runs 10]
 *
 * Measured twice: in one process after a first digest (as a `devctl dev` session computes it on
 * every change), and in a fresh node process running the built module (as `devctl up` does once,
 * its code not yet optimised by the JIT). Only the digest is timed, not node's start.
 * The context: 100 directories of 100 source files (1-4 KiB each), a node_modules of 5,000 files
 * that .dockerignore leaves out (never walked), and the .devctl/ state directory, also left out.
 */
import {execFileSync} from 'node:child_process'
import {mkdir, rm, utimes, writeFile} from 'node:fs/promises'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {mkdtemp} from 'node:fs/promises'

import {digestContext} from '../src/build/context.js'

const {values} = parseArgs({options: {files: {type: 'string', default: '10000'}, runs: {type: 'string', default: '10'}}})
const files = Number(values.files)
const runs = Number(values.runs)

const dir = await mkdtemp(join(tmpdir(), 'devctl-bench-digest-'))
const past = new Date(Date.now() - 60_000)
const perDir = 100
for (let d = 0; d < Math.ceil(files / perDir); d++) {
  await mkdir(join(dir, 'src', `pkg${d}`), {recursive: true})
  await Promise.all(
    Array.from({length: Math.min(perDir, files - d * perDir)}, async (_, f) => {
      const path = join(dir, 'src', `pkg${d}`, `file${f}.ts`)
      await writeFile(path, `export const value${f} = ${d * f}\n`.repeat(40 + ((d * 7 + f * 13) % 120)))
      // Saved a minute ago, as a checkout is: outside the window in which a file is hashed again.
      await utimes(path, past, past)
    }),
  )
}
for (let d = 0; d < 50; d++) {
  await mkdir(join(dir, 'node_modules', `dep${d}`), {recursive: true})
  await Promise.all(Array.from({length: 100}, (_, f) => writeFile(join(dir, 'node_modules', `dep${d}`, `f${f}.js`), 'module.exports = 1\n')))
}
await writeFile(join(dir, 'Dockerfile'), 'FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci\n')
await writeFile(join(dir, '.dockerignore'), 'node_modules\n.devctl/\n')
const input = {contextDir: dir, dockerfile: join(dir, 'Dockerfile'), args: {NODE_ENV: 'development'}, cacheFile: join(dir, '.devctl', 'build', 'bench.files.json')}

const time = async () => {
  const started = performance.now()
  const result = await digestContext(input)
  return {ms: performance.now() - started, ...result}
}
const cold = await time()
const unchanged: number[] = []
for (let i = 0; i < runs; i++) unchanged.push((await time()).ms)
// A fresh process, as `devctl up` runs it: the built module, timed around the call only.
const fresh: number[] = []
const script = `import {digestContext} from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'src', 'build', 'context.js'))}
const started = performance.now()
await digestContext(${JSON.stringify(input)})
console.log(performance.now() - started)`
for (let i = 0; i < runs; i++) fresh.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'}).trim()))
const edited: number[] = []
for (let i = 0; i < runs; i++) {
  const path = join(dir, 'src', 'pkg7', `file${i}.ts`)
  await writeFile(path, `export const edited = ${i}\n`)
  await utimes(path, past, new Date(Date.now() - 10_000))
  edited.push((await time()).ms)
}
await rm(dir, {recursive: true, force: true})

const median = (all: number[]) => [...all].sort((a, b) => a - b)[Math.floor(all.length / 2)]!
const row = (what: string, all: number[]) => `| ${what} | ${Math.min(...all).toFixed(0)} ms | ${median(all).toFixed(0)} ms | ${Math.max(...all).toFixed(0)} ms |`
console.log(`build context digest: ${cold.files} files in the context (plus 5,000 in an ignored node_modules), ${cpus().length} CPUs, node ${process.version}, ${runs} runs\n`)
console.log('| what | best | median | worst |\n| --- | --- | --- | --- |')
console.log(row('first digest (every file read and hashed)', [cold.ms]))
console.log(row('nothing changed, in a `devctl dev` session (listed and stat-ed, no file read)', unchanged))
console.log(row('nothing changed, in a fresh process (`devctl up`)', fresh))
console.log(row('one file changed (that file read)', edited))
