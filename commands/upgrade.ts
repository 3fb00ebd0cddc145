import {resolve} from 'node:path'

import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {parseSetFlags} from '../src/chart/set-syntax.js'
import {durationFlagValue} from '../src/config/duration.js'
import {loadConfig} from '../src/config/load.js'
import {createProgressView, type ProgressMode} from '../src/ui/progress.js'
import {renderUpgradePlan, renderUpgradeResult} from '../src/ui/upgrade-view.js'
import {terminalWidth, wrapText} from '../src/ui/wrap.js'
import type {RunControls} from '../src/workflows/context.js'
import type {Emit} from '../src/workflows/events.js'
import {applyOutline, applyUpgrade, planUpgrade, type UpgradeOptions, type UpgradeResult} from '../src/workflows/upgrade.js'

export default class Upgrade extends DevctlCommand<typeof Upgrade> {
  static override summary = 'Upgrade the running release with the current devctl.yaml and values; roll back on failure.'
  static override description = `Shows what will change (values, with aliases expanded, and the chart version) and asks before doing it. Then deploys while the migration runs again, waits for the rollout, and on failure explains it and rolls back to the previous revision (a rollback does not undo a migration that already ran). A release stuck in pending-* by an interrupted helm is recovered, with your consent.`

  static override examples = [
    '<%= config.bin %> upgrade',
    '<%= config.bin %> upgrade --image-tag 6.7.2          # sets &imageTag; every alias follows',
    '<%= config.bin %> upgrade --set replicaCount=2 --yes',
    '<%= config.bin %> upgrade --values values.perf.yaml --no-rollback',
  ]

  static override enableJsonFlag = true

  static override flags = {
    set: Flags.string({multiple: true, description: 'Override a value, KEY=VALUE (repeatable).'}),
    values: Flags.string({char: 'f', multiple: true, description: 'An extra values file, applied last (repeatable).'}),
    'image-tag': Flags.string({description: 'New image tag, written into the shared &imageTag anchor so every alias follows.'}),
    'chart-version': Flags.string({description: 'Chart version or range to upgrade to (repository/OCI charts).'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'}),
    rollback: Flags.boolean({allowNo: true, default: true, description: 'Roll back to the previous revision on failure (--no-rollback leaves it for inspection).'}),
    timeout: Flags.string({description: 'Time limit for each step, e.g. 2m.'}),
    quiet: Flags.boolean({char: 'q', description: 'Show only errors and the final summary.'}),
  }

  async run(): Promise<UpgradeResult> {
    const options: UpgradeOptions = {
      set: parseSetFlags(this.flags.set ?? []),
      valuesFiles: (this.flags.values ?? []).map((file) => resolve(file)),
      imageTag: this.flags['image-tag'],
      chartVersion: this.flags['chart-version'],
      rollback: this.flags.rollback,
      timeout: durationFlagValue('--timeout', this.flags.timeout),
    }
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    const confirm = this.confirmer(this.flags.yes)
    const json = this.jsonEnabled()
    const controls = (emit: Emit): RunControls => ({emit, signal: this.interrupts.signal, forceSignal: this.interrupts.forceSignal, kubeModule, confirm})

    // Phase 1 prints plain lines: a question may come (a stuck release), and a live list cannot host it.
    const planView = await createProgressView(json ? 'json' : this.flags.quiet ? 'quiet' : 'plain', [], this.theme)
    const prepared = await planUpgrade(loaded, options, controls((event) => planView.emit(event))).finally(() => planView.close())
    if (!json) process.stdout.write(wrapText(renderUpgradePlan(prepared.plan, this.theme), terminalWidth()))

    if (prepared.plan.changed && !(await confirm({flag: '--yes', message: `Upgrade ${prepared.plan.release} now?`, details: []}))) {
      process.stdout.write('Nothing was changed.\n')
      return applyUpgrade({...prepared, plan: {...prepared.plan, changed: false}}, options, controls(() => {}))
    }
    const mode: ProgressMode = json ? 'json' : this.flags.quiet ? 'quiet' : this.terminal.interactiveOutput ? 'tasks' : 'plain'
    const view = await createProgressView(mode, applyOutline(prepared), this.theme)
    if (view.notice) this.stopNotice = view.notice
    const result = await applyUpgrade(prepared, options, controls((event) => view.emit(event))).finally(() => view.close())
    if (!json) process.stdout.write(wrapText(renderUpgradeResult(result, this.theme), terminalWidth()))
    return result
  }
}
