/**
 * `devctl doctor`: look at the machine, judge each prerequisite, and with --fix apply what devctl
 * can fix itself (each only after the user agreed), then look again so the report shows the
 * state after the fixes, not a promise. Emits events; never prints.
 */
import {join} from 'node:path'

import {DevctlError} from '../errors.js'
import {STATE_DIR} from '../secrets/store.js'
import {lockEnvironment} from '../state/lock.js'
import {evaluate} from './checks.js'
import {inspectMachine, type InspectOptions, type MachineFacts} from './inspect.js'
import {applyFix} from './fixes.js'
import {summarize, type AppliedFix, type AutoFix, type CheckId, type CheckResult, type DoctorResult} from './types.js'

export type DoctorEvent =
  /** `final` is false for the report that --fix is about to act on. */
  {type: 'checked'; checks: CheckResult[]; final: boolean} | {type: 'fixed'; fix: AppliedFix}

export interface DoctorOptions extends InspectOptions {
  fix: boolean
}

export interface DoctorControls {
  emit: (event: DoctorEvent) => void
  /** Ask before a fix ("Start the stopped k3d cluster demo?"). */
  confirm: (question: string) => Promise<boolean>
  signal: AbortSignal
}

export async function runDoctor(options: DoctorOptions, controls: DoctorControls): Promise<DoctorResult> {
  let facts = await inspectMachine(options)
  let checks = evaluate(facts)
  const fixes: AppliedFix[] = []
  const fixable = options.fix ? checks.flatMap(({id, autoFix}) => (autoFix ? [{id, autoFix}] : [])) : []
  if (fixable.length > 0) {
    controls.emit({type: 'checked', checks, final: false})
    // Fixes change the environment (start the cluster, edit devctl.yaml): one devctl at a time.
    const lock = facts.config.state === 'valid' ? await lockEnvironment(join(facts.config.loaded.dir, STATE_DIR), 'doctor --fix') : undefined
    try {
      for (const {id, autoFix} of fixable) {
        const fix = await fixWithConsent(id, autoFix, controls)
        fixes.push(fix)
        controls.emit({type: 'fixed', fix})
      }
    } finally {
      await lock?.release()
    }
    if (fixes.some((fix) => fix.applied)) {
      facts = await inspectMachine(options)
      checks = evaluate(facts)
    }
  }
  controls.emit({type: 'checked', checks, final: true})
  const summary = summarize(checks)
  return {status: summary.fail > 0 ? 'failed' : 'ok', ...configPathOf(facts), checks, fixes, summary}
}

async function fixWithConsent(check: CheckId, fix: AutoFix, controls: DoctorControls): Promise<AppliedFix> {
  const outcome = {check, description: fix.description}
  if (!(await controls.confirm(`${fix.description[0]?.toUpperCase()}${fix.description.slice(1)}?`))) return {...outcome, applied: false}
  try {
    await applyFix(fix, controls.signal)
    return {...outcome, applied: true}
  } catch (error) {
    if (!(error instanceof DevctlError) || controls.signal.aborted) throw error
    return {...outcome, applied: false, error: [error.message, ...error.details].join('\n')}
  }
}

function configPathOf(facts: MachineFacts): {configPath?: string} {
  if (facts.config.state === 'valid') return {configPath: facts.config.loaded.path}
  if (facts.config.state === 'invalid') return {configPath: facts.config.path}
  return {}
}
