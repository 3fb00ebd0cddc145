import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {MAX_DURATION_MS} from '../src/config/duration.js'
import {loadConfig} from '../src/config/load.js'
import {liveStatusView, renderStatus} from '../src/ui/status-view.js'
import {terminalWidth} from '../src/ui/wrap.js'
import {status, watchStatus, type StatusResult} from '../src/workflows/status.js'

export default class Status extends DevctlCommand<typeof Status> {
  static override summary = 'The environment on one screen: cluster, Postgres/Redis, release, pods, last migration.'
  static override description =
    'Each part ends in a condition (True/False) and, when False, what to do about it. With --watch it stays on screen and changes as the cluster does (from watch events), until Ctrl-C.'

  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --watch', '<%= config.bin %> status --json | jq .result.conditions']

  static override enableJsonFlag = true

  static override flags = {
    watch: Flags.boolean({char: 'w', description: 'Keep it on screen, updated as pods and workloads change, until Ctrl-C.'}),
    // A timer cannot wait longer than MAX_DURATION_MS (it would fire at once).
    interval: Flags.integer({
      description: 'With --watch: also refresh every N seconds, for what no watch reports (the cluster itself) and to keep ages current.',
      default: 5,
      min: 1,
      max: Math.floor(MAX_DURATION_MS / 1000),
    }),
  }

  protected override stoppedByCtrlC(): boolean {
    return this.flags.watch
  }

  async run(): Promise<StatusResult | void> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    const {signal} = this.interrupts
    if (!this.flags.watch || this.jsonEnabled()) {
      const result = await status(loaded, kubeModule, signal)
      if (!this.jsonEnabled()) process.stdout.write(renderStatus(result, this.theme, terminalWidth()))
      return result
    }
    const view = liveStatusView(this.theme, this.terminal.interactiveOutput)
    for await (const result of watchStatus(loaded, kubeModule, signal, this.flags.interval * 1000)) view.show(result)
  }
}
