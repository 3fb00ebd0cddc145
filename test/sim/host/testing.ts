/** Shared by the host tests: run a stand-in (or the real kubectl) the way devctl would. */
import {resolve} from 'node:path'

import {execa, type ResultPromise} from 'execa'

import type {Simulator} from '../index.js'

export const kubectl = resolve(import.meta.dirname, '../../../.tools/kubectl-v34/kubectl')

export interface Run {
  exitCode: number | undefined
  signal: string | undefined
  stdout: string
  stderr: string
}

/** Colour codes out, so tests read k3d's log lines as text. */
export function plain(text: string): string {
  return text.replaceAll(/\u001b\[\d+m/g, '')
}

export function spawnTool(sim: Simulator, command: string, args: string[], options: {cwd?: string; input?: string} = {}): ResultPromise {
  return execa(command, args, {env: sim.env, extendEnv: false, reject: false, stripFinalNewline: false, cwd: options.cwd, input: options.input, stdin: options.input === undefined ? 'ignore' : 'pipe'})
}

export async function run(sim: Simulator, command: string, args: string[], options: {cwd?: string; input?: string} = {}): Promise<Run> {
  const result = await spawnTool(sim, command, args, options)
  return {exitCode: result.exitCode, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr)}
}
