import {resolve} from 'node:path'

import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {parseSetFlags} from '../src/chart/set-syntax.js'
import {durationFlagValue} from '../src/config/duration.js'
import {loadConfig} from '../src/config/load.js'
import {chartVersionFlagValue, imageTagFlagValue} from '../src/config/overrides.js'
import {renderUpgradePlan, renderUpgradeResult} from '../src/ui/upgrade-view.js'
import {terminalWidth, wrapText} from '../src/ui/wrap.js'
import type {RunControls} from '../src/workflows/project.js'
import {applyUpgrade, planUpgrade, skipUpgrade, type UpgradeOptions, type UpgradeResult} from '../src/workflows/upgrade.js'

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
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation of the upgrade.'}),
    recover: Flags.boolean({description: 'Drop a release revision an interrupted helm left pending without asking (only when no helm still works on it; --yes never does this).'}),
    rollback: Flags.boolean({allowNo: true, default: true, description: 'Roll back to the previous revision on failure (--no-rollback leaves it for inspection).'}),
    'restore-data': Flags.boolean({
      allowNo: true,
      description:
        'When the migration fails or the upgrade is rolled back, restore the Postgres snapshot taken before the migration (--no-restore-data keeps the data as the migration left it; in a terminal without --yes devctl asks).',
    }),
    timeout: Flags.string({description: 'Time limit for each step, e.g. 2m.'}),
    quiet: Flags.boolean({char: 'q', description: 'Show only errors and the final summary.'}),
  }

  async run(): Promise<UpgradeResult> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    const options: UpgradeOptions = {
      set: parseSetFlags(this.flags.set ?? []),
      valuesFiles: (this.flags.values ?? []).map((file) => resolve(file)),
      imageTag: imageTagFlagValue(this.flags['image-tag']),
      chartVersion: chartVersionFlagValue(this.flags['chart-version'], loaded.config.app.chart),
      rollback: this.flags.rollback,
      timeout: durationFlagValue('--timeout', this.flags.timeout),
    }
    const confirm = this.confirmer(this.flags.yes)
    const json = this.jsonEnabled()
    // Dropping a release record is its own decision: --recover, or a yes in a terminal; --yes does not answer it.
    const recoverConsent = this.confirmer(this.flags.recover)
    // One view from the plan to the end: a live list finishes drawing while the questions are
    // asked, and the steps after them are drawn under the answers.
    const view = await this.progressView([], {quiet: this.flags.quiet})
    const controls = (recover = false): RunControls => ({
      emit: (event) => view.emit(event),
      signal: this.interrupts.signal,
      forceSignal: this.interrupts.forceSignal,
      kubeModule,
      confirm,
      recoverConsent: async () => recover,
      commandLine: this.commandLine,
    })

    let result: UpgradeResult
    try {
      const prepared = await planUpgrade(loaded, options, controls())
      await view.pause()
      if (!json) process.stdout.write(wrapText(renderUpgradePlan(prepared.plan, this.theme), terminalWidth()))
      if (!prepared.plan.changed) return await skipUpgrade(prepared, 'unchanged')
      const {stuck} = prepared.plan
      const asked = (async () => {
        const upgrade = await confirm({flag: '--yes', message: `Upgrade ${prepared.plan.release} now?`, details: []})
        const recover =
          upgrade &&
          stuck !== undefined &&
          (await recoverConsent({
            flag: '--recover',
            message: `Revision ${stuck.revision} was left ${stuck.status} by an interrupted helm. Drop it so the upgrade can run? (devctl first checks that no helm still works on it.)`,
            details: [],
          }))
        // Asked now, not when it fails. No answer (no terminal, or --yes: no questions): the data is left as the migration leaves it.
        const restoreData =
          upgrade &&
          prepared.plan.snapshot &&
          (this.flags['restore-data'] ??
            (!this.flags.yes &&
              this.terminal.canPrompt &&
              (await this.confirmer(false, true)({flag: '--restore-data', message: 'If the migration fails or the upgrade is rolled back, restore the database from its snapshot?', details: []}))))
        return {upgrade, recover, restoreData}
      })()
      const consent = await asked.catch(async (error: unknown) => {
        await prepared.close()
        throw error
      })
      if (!consent.upgrade) {
        if (!json) process.stdout.write('Declined: nothing was changed.\n')
        return await skipUpgrade(prepared, 'declined')
      }
      result = await applyUpgrade(prepared, {...options, restoreData: consent.restoreData}, controls(consent.recover))
    } finally {
      await view.close()
    }
    if (!json) process.stdout.write(wrapText(renderUpgradeResult(result, this.theme), terminalWidth()))
    return result
  }
}
