/** Timing a command for the benchmarks: GNU time's wall-clock seconds and peak RSS. */
import {spawn} from 'node:child_process'

export interface Measurement {
  seconds: number
  maxRssMB: number
}

/** Run a command under GNU time with stdout to /dev/null: wall-clock seconds and peak RSS. */
export function measure(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%e %M', command, ...args], {cwd, env, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const last = stderr.trimEnd().split('\n').at(-1) ?? ''
      const match = /^(\d+(?:\.\d+)?) (\d+)$/.exec(last)
      if (code !== 0 || !match) return reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${stderr}`))
      resolve({seconds: Number(match[1]), maxRssMB: Number(match[2]) / 1024})
    })
  })
}

export function best(measurements: Measurement[]): Measurement {
  return {seconds: Math.min(...measurements.map((m) => m.seconds)), maxRssMB: Math.max(...measurements.map((m) => m.maxRssMB))}
}

export async function repeat(times: number, run: () => Promise<Measurement>): Promise<Measurement> {
  const all: Measurement[] = []
  for (let i = 0; i < times; i++) all.push(await run())
  return best(all)
}

