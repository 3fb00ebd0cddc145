/** Timing a command for the benchmarks: its wall-clock seconds and GNU time's peak RSS. */
import {spawn} from 'node:child_process'
import {loadavg} from 'node:os'
import {dirname, resolve} from 'node:path'

export interface Measurement {
  seconds: number
  maxRssMB: number
}

/** Several runs of one command: the best and the median wall time, the highest and the median peak RSS. */
export interface Summary {
  runs: number
  bestSeconds: number
  medianSeconds: number
  maxRssMB: number
  medianRssMB: number
}

/**
 * Run a command under GNU time with stdout to /dev/null: wall-clock seconds (timed here, to the
 * millisecond: GNU time's own are hundredths) and peak RSS (GNU time's maximum resident set size).
 */
export function measure(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn('/usr/bin/time', ['-f', '%M', command, ...args], {cwd, env, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000
      const last = stderr.trimEnd().split('\n').at(-1) ?? ''
      if (code !== 0 || !/^\d+$/.test(last)) return reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${stderr}`))
      resolve({seconds, maxRssMB: Number(last) / 1024})
    })
  })
}

/**
 * devctl as users run it: `cli` (a bin/run.js) executed through its `#!` line, with the node flags
 * that line sets, on the node that runs the benchmark.
 */
export function measureCli(cli: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Measurement> {
  return measure(cli, args, {...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}`}, cwd)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function summarize(measurements: Measurement[]): Summary {
  const seconds = measurements.map((m) => m.seconds)
  const rss = measurements.map((m) => m.maxRssMB)
  return {runs: measurements.length, bestSeconds: Math.min(...seconds), medianSeconds: median(seconds), maxRssMB: Math.max(...rss), medianRssMB: median(rss)}
}

/** A row of a benchmark: what it is, and how to time it once. */
export type TimedCommand = [what: string, run: () => Promise<Measurement>]

/**
 * Each of `commands` `times` times, taking turns, so that a change in the machine's load (it is
 * shared) hits them all alike: what is compared is measured under the same conditions.
 */
export async function alternate(times: number, commands: TimedCommand[]): Promise<Array<[string, Summary]>> {
  const all = commands.map((): Measurement[] => [])
  for (let i = 0; i < times; i++) for (const [index, [, run]] of commands.entries()) all[index]!.push(await run())
  return commands.map(([what], index) => [what, summarize(all[index]!)])
}

/** The devctl builds a benchmark times: this checkout's, or those given with `--cli` (another checkout's bin/run.js, to compare). */
export function clisToTime(given: string[] | undefined, own: string): Array<{cli: string; label: string}> {
  const clis = given?.length ? given : [own]
  // Absolute: devctl runs in the project's directory.
  return clis.map((cli) => ({cli: resolve(cli), label: clis.length > 1 ? ` [${cli}]` : ''}))
}

/** "1.234 s (median 1.402 s)" */
export function wallTime(summary: Summary): string {
  return `${summary.bestSeconds.toFixed(3)} s (median ${summary.medianSeconds.toFixed(3)} s)`
}

/** "137 MB (median 131 MB)" */
export function peakRss(summary: Summary): string {
  return `${Math.round(summary.maxRssMB)} MB (median ${Math.round(summary.medianRssMB)} MB)`
}

/** The machine the figures came from, and how busy it was (the load averages, as `uptime` gives them). */
export function machine(cpuCount: number): string {
  return `${cpuCount} CPUs, node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`
}
