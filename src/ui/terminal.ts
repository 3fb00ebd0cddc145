/**
 * What the terminal can do: colours (honouring NO_COLOR / FORCE_COLOR), live redraws, prompts.
 * Renderers and commands ask here instead of probing process.stdout themselves.
 */
import {Chalk, type ChalkInstance} from 'chalk'

import type {Terminal} from '../data/access.js'

export interface TerminalInfo {
  /** stdout is a terminal and we are not in CI: live task lists and redraws are fine. */
  interactiveOutput: boolean
  /** A person can answer prompts. */
  canPrompt: boolean
  color: boolean
}

export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false'
  return Boolean(stream.isTTY) && env.TERM !== 'dumb'
}

export function detectTerminal(options: {noInput: boolean}, env: NodeJS.ProcessEnv = process.env): TerminalInfo {
  const ttyOut = Boolean(process.stdout.isTTY) && env.TERM !== 'dumb'
  const interactiveOutput = ttyOut && !isCI(env)
  return {
    interactiveOutput,
    canPrompt: interactiveOutput && Boolean(process.stdin.isTTY) && !options.noInput,
    color: colorEnabled(process.stdout, env),
  }
}

export function createTheme(color: boolean): ChalkInstance {
  return new Chalk({level: color ? 1 : 0})
}

/**
 * This process's own terminal (or pipes) for an interactive program that runs elsewhere (psql in
 * a pod): with a TTY on both ends, keys go through raw — Ctrl-C cancels psql's query instead of
 * stopping devctl — and the terminal is put back as it was by `detach`.
 */
export function attachTerminal(): {terminal: Terminal; detach: () => void} {
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY)
  if (tty) process.stdin.setRawMode(true)
  return {
    terminal: {stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, tty},
    detach() {
      if (tty) process.stdin.setRawMode(false)
      // Whatever read it is done: stdin must not keep devctl from exiting.
      process.stdin.pause()
    },
  }
}
