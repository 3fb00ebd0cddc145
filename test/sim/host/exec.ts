/**
 * What a stand-in tool sees while it runs: the invocation the shim forwarded, output streams,
 * stdin on demand, and the two ways a run can end early — the shim vanished (abandon where you
 * are) or the user pressed Ctrl-C (tools that trap signals, like helm install, handle it).
 */

export type ToolName = 'k3d' | 'helm' | 'docker'
export type TrappableSignal = 'SIGINT' | 'SIGTERM'

export interface Invocation {
  tool: ToolName
  argv: string[]
  cwd: string
  /** Only the variables that matter to the tools (KUBECONFIG, HOME, HELM_*, K3D_*, ...). */
  env: Record<string, string>
  stdoutIsTTY: boolean
}

/** How the run ended: an exit code, or killed by a signal (the shim re-raises it on itself). */
export type Outcome = {exit: number} | {signal: TrappableSignal}

export interface ToolIO {
  stdout(text: string): void
  stderr(text: string): void
  /** Reads the caller's whole stdin (only asked for when a tool reads `-`). */
  readStdin(): Promise<string>
  /** Aborted when the caller is gone or was interrupted without a trap: stop where you are. */
  readonly abandoned: AbortSignal
  /**
   * Take over SIGINT/SIGTERM (like Go's signal.Notify) until the returned function is called;
   * without a trap a signal abandons the run and the caller dies of it.
   */
  trapSignals(handler: (signal: TrappableSignal) => void): () => void
}

/** Thrown to end a run with a given outcome from deep inside a tool. */
export class ToolExit extends Error {
  constructor(readonly outcome: Outcome) {
    super(`tool ended: ${JSON.stringify(outcome)}`)
  }
}

/** One line of the command log: what a stand-in received and how it ended. */
export interface CommandRecord {
  tool: ToolName
  argv: string[]
  cwd: string
  startedAt: string
  /** Both undefined while the command is still running. */
  endedAt?: string
  outcome?: Outcome | {abandoned: true}
}
