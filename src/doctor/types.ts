import type {PasswordOwner} from '../secrets/store.js'

/** What `devctl doctor` reports: one result per check, in a fixed order; the --json output. */
import type {PermissionRepair} from '../secrets/store.js'

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

export type CheckId = 'node' | 'docker' | 'docker-memory' | 'k3d' | 'helm' | 'kubectl' | 'disk' | 'config' | 'secrets' | 'ports' | 'cluster' | 'kube-context'

/** A change devctl can make itself, with consent (`devctl doctor --fix`). Plain data, so --json shows it. */
export type AutoFix =
  | {kind: 'start-cluster'; description: string; cluster: string}
  | {kind: 'move-ports'; description: string; configPath: string; moves: PortMove[]}
  | {kind: 'create-secrets'; description: string; projectDir: string; passwords: PasswordOwner[]}
  | {kind: 'make-private'; description: string; repairs: PermissionRepair[]}

export interface PortMove {
  /** Where the port is set in devctl.yaml, e.g. "cluster.ports[0].host". */
  configKey: string
  from: number
  to: number
}

export interface CheckResult {
  id: CheckId
  title: string
  status: CheckStatus
  /** One line: what was found. */
  message: string
  /** One line: what to do about it; absent when there is nothing to do. */
  fix?: string
  /** Further lines under the message (each invalid entry of a config file, a port's holder). */
  details?: string[]
  autoFix?: AutoFix
}

export interface AppliedFix {
  check: CheckId
  description: string
  /** False when the user said no, or when applying it failed (then `error` says why). */
  applied: boolean
  error?: string
}

export interface DoctorSummary {
  pass: number
  warn: number
  fail: number
  skip: number
}

export interface DoctorResult {
  /** "failed" when at least one check failed (warnings are allowed). */
  status: 'ok' | 'failed'
  /** The devctl.yaml the checks used, when one was found. */
  configPath?: string
  checks: CheckResult[]
  /** What --fix did (empty without --fix). */
  fixes: AppliedFix[]
  summary: DoctorSummary
}

export function summarize(checks: readonly CheckResult[]): DoctorSummary {
  const summary: DoctorSummary = {pass: 0, warn: 0, fail: 0, skip: 0}
  for (const check of checks) summary[check.status] += 1
  return summary
}
