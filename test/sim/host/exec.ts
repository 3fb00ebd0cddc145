/**
 * What a stand-in tool sees while it runs: the invocation the shim forwarded, output streams,
 * stdin on demand, and how a run ends early — the shim vanished or the user pressed Ctrl-C
 * (abandon where you are; the shim then dies of the signal, like the real tool).
 */

/** The stand-ins (bin/k3d, bin/docker); helm is the real binary. */
export type StandInName = 'k3d' | 'docker'
/** Every tool the command log knows. */
export type ToolName = StandInName | 'helm'
export type StandInSignal = 'SIGINT' | 'SIGTERM'

export interface Invocation {
  tool: StandInName
  argv: string[]
  cwd: string
  /** Only the variables that matter to the tools (KUBECONFIG, HOME, HELM_*, K3D_*, ...). */
  env: Record<string, string>
  stdoutIsTTY: boolean
}

/** How the run ended: an exit code, or killed by a signal (the shim re-raises it on itself). */
export type Outcome = {exit: number} | {signal: StandInSignal}

export interface ToolIO {
  stdout(text: string): void
  stderr(text: string): void
  /** Reads the caller's whole stdin (only asked for when a tool reads `-`). */
  readStdin(): Promise<string>
  /** Aborted when the caller is gone or was interrupted: stop where you are. */
  readonly abandoned: AbortSignal
}

/** Thrown to end a run with a given outcome from deep inside a tool. */
export class ToolExit extends Error {
  constructor(readonly outcome: Outcome) {
    super(`tool ended: ${JSON.stringify(outcome)}`)
  }
}

/** One line of the command log: what a stand-in (or the real helm) was asked and how it ended. */
export interface CommandRecord {
  tool: ToolName
  argv: string[]
  cwd: string
  startedAt: string
  /** Undefined while the command is still running. */
  endedAt?: string
  /** How a stand-in ended; never set for the real helm, which tells the simulator nothing. */
  outcome?: Outcome | {abandoned: true}
}
