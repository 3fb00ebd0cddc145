import {setTimeout as sleep} from 'node:timers/promises'

import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {loadConfig} from '../src/config/load.js'
import {InterruptedError} from '../src/errors.js'
import {renderStatus} from '../src/ui/status-view.js'
import {status, type StatusResult} from '../src/workflows/status.js'

export default class Status extends DevctlCommand<typeof Status> {
  static override summary = 'The environment on one screen: cluster, Postgres/Redis, release, pods, last migration.'
  static override description = 'Each part ends in a condition (True/False) and, when False, what to do about it.'

  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --watch', '<%= config.bin %> status --json | jq .conditions']

  static override enableJsonFlag = true

  static override flags = {
    watch: Flags.boolean({char: 'w', description: 'Refresh every few seconds until Ctrl-C.'}),
    interval: Flags.integer({description: 'Seconds between refreshes with --watch.', default: 2, min: 1}),
  }

  protected override stoppedByCtrlC(): boolean {
    return this.flags.watch
  }

  async run(): Promise<StatusResult> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    const {signal} = this.interrupts
    let result = await status(loaded, kubeModule, signal)
    if (!this.flags.watch || this.jsonEnabled()) {
      if (!this.jsonEnabled()) process.stdout.write(renderStatus(result, this.theme))
      return result
    }
    // --watch: redraw in place in a terminal, append when piped.
    const clear = this.terminal.interactiveOutput ? '\u001B[H\u001B[2J' : ''
    for (;;) {
      process.stdout.write(`${clear}${renderStatus(result, this.theme)}${this.theme.dim(`\n(refreshing every ${this.flags.interval}s; Ctrl-C to stop)`)}\n`)
      await sleep(this.flags.interval * 1000, undefined, {signal}).catch(() => {
        throw new InterruptedError('Stopped watching.')
      })
      result = await status(loaded, kubeModule, signal)
    }
  }
}
