/**
 * Processes "in" a simulated container: `kubectl exec`, a scenario's `run` script. They run on
 * this machine with the container's environment (its Secrets and ConfigMaps resolved, cluster
 * DNS names of real servers turned into their loopback addresses), and a backed container's own
 * server as their "localhost" (PGHOST for psql, `redis-cli` finds its Redis). With a TTY they
 * run in a real pseudo-terminal. Every one is in a process group of its own, ended with its pod.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import type {Readable, Writable} from 'node:stream'
import {fileURLToPath} from 'node:url'

import pty from '@lydell/node-pty'

import {hostTool} from './backends.js'

/** test/sim/bin/container: what a container's PATH has before this machine's (the redis-cli that finds its own server). */
const containerBin = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'container')

export interface ProcessIO {
  /** Where the process's output goes; `write` returning false pauses the process's output until `resume`. */
  stdout(chunk: Buffer): boolean
  stderr(chunk: Buffer): boolean
}

export interface HostProcess {
  write(chunk: Buffer): void
  endInput(): void
  resize(columns: number, rows: number): void
  /** Output was written faster than it could be sent: hold it back until `resumeOutput`. */
  pauseOutput(): void
  resumeOutput(): void
  kill(): void
  /** The exit code; `notFound` when the command does not exist in the "container". */
  exited: Promise<{exitCode: number} | {notFound: string}>
}

export interface ProcessOptions {
  argv: string[]
  env: Readonly<Record<string, string>>
  tty?: {columns: number; rows: number}
  /** The container has a real server: its client tools reach it as their own localhost. */
  local?: Readonly<Record<string, string>>
}

function environment(options: ProcessOptions, home: string): Record<string, string> {
  const local = options.local ?? {}
  return {
    PATH: `${'DEVCTL_SIM_LOCALHOST' in local ? `${containerBin}:` : ''}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    TERM: options.tty ? 'xterm' : 'dumb',
    ...(hostTool('redis-cli') ? {DEVCTL_SIM_REDIS_CLI: hostTool('redis-cli')!} : {}),
    ...local,
    ...options.env,
  }
}

export class HostProcesses {
  /** Every running process, by the uid of the pod it runs in. */
  private readonly live = new Map<HostProcess, string>()

  /** Starts `argv` in pod `podUid`; a program that does not exist reports `notFound` through `exited`. */
  async start(podUid: string, options: ProcessOptions, io: ProcessIO): Promise<HostProcess> {
    const home = await mkdtemp(join(tmpdir(), 'devctl-sim-container-'))
    const env = environment(options, home)
    const started = options.tty ? this.startTty(options, env, home, io) : this.startPiped(options, env, home, io)
    this.live.set(started, podUid)
    void started.exited.finally(() => {
      this.live.delete(started)
      void rm(home, {recursive: true, force: true})
    })
    return started
  }

  private startPiped(options: ProcessOptions, env: Record<string, string>, home: string, io: ProcessIO): HostProcess {
    const [file = '', ...args] = options.argv
    const child = spawn(file, args, {cwd: home, env, detached: true, stdio: ['pipe', 'pipe', 'pipe']})
    const streams: Array<[Readable, (chunk: Buffer) => boolean]> = [
      [child.stdout, (chunk) => io.stdout(chunk)],
      [child.stderr, (chunk) => io.stderr(chunk)],
    ]
    for (const [stream, sink] of streams) {
      stream.on('data', (chunk: Buffer) => {
        if (!sink(chunk)) stream.pause()
      })
    }
    const stdin: Writable = child.stdin
    stdin.on('error', () => {})
    const exited = new Promise<{exitCode: number} | {notFound: string}>((resolvePromise) => {
      child.once('error', (error: NodeJS.ErrnoException) => resolvePromise(error.code === 'ENOENT' ? {notFound: file} : {exitCode: 126}))
      // 'close': the output has been read to its end too.
      child.once('close', (code, signal) => resolvePromise({exitCode: code ?? (signal ? 128 + (({SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGPIPE: 13} as Record<string, number>)[signal] ?? 0) : 1)}))
    })
    return {
      write: (chunk) => stdin.write(chunk),
      endInput: () => stdin.end(),
      resize: () => {},
      pauseOutput: () => streams.forEach(([stream]) => stream.pause()),
      resumeOutput: () => streams.forEach(([stream]) => stream.resume()),
      kill: () => {
        if (child.pid === undefined) return
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          // gone already
        }
      },
      exited,
    }
  }

  private startTty(options: ProcessOptions, env: Record<string, string>, home: string, io: ProcessIO): HostProcess {
    const [file = '', ...args] = options.argv
    if (!hostTool(file) && !file.includes('/')) return {write() {}, endInput() {}, resize() {}, pauseOutput() {}, resumeOutput() {}, kill() {}, exited: Promise.resolve({notFound: file})}
    const terminal = pty.spawn(file, args, {name: 'xterm', cols: options.tty!.columns, rows: options.tty!.rows, cwd: home, env})
    terminal.onData((data) => {
      if (!io.stdout(Buffer.from(data))) terminal.pause()
    })
    const exited = new Promise<{exitCode: number}>((resolvePromise) => terminal.onExit(({exitCode}) => resolvePromise({exitCode})))
    return {
      write: (chunk) => terminal.write(chunk.toString('utf8')),
      // A terminal has no end of input: Ctrl-D is the user's to type.
      endInput: () => {},
      resize: (columns, rows) => terminal.resize(Math.max(1, columns), Math.max(1, rows)),
      pauseOutput: () => terminal.pause(),
      resumeOutput: () => terminal.resume(),
      kill: () => {
        try {
          process.kill(-terminal.pid, 'SIGKILL')
        } catch {
          terminal.kill('SIGKILL')
        }
      },
      exited,
    }
  }

  /** Ends the processes of one pod (it stopped), or of every pod (the cluster stopped). */
  kill(podUid?: string): void {
    for (const [started, owner] of this.live) if (podUid === undefined || owner === podUid) started.kill()
  }
}
