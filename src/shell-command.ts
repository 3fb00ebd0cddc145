/**
 * `devctl db shell` and `devctl redis shell`: the client where the data is, every argument
 * passed through, its exit code devctl's. The commands differ only in the service and their help.
 */
import type {Command} from '@oclif/core'

import {DevctlCommand} from './base-command.js'
import {loadConfig} from './config/load.js'
import type {DataService} from './data/access.js'
import {attachTerminal} from './ui/terminal.js'
import {dataShell} from './workflows/db.js'

export abstract class DataShellCommand<T extends typeof Command> extends DevctlCommand<T> {
  // The client's own flags and arguments (-c, -At, dbsize ...) pass through; oclif routes
  // `redis shell ping` to this command only when it takes arguments (non-strict).
  static override passThrough = true
  static override strict = false

  protected abstract readonly service: DataService

  async run(): Promise<void> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    const shell = await dataShell(loaded, this.service, {signal: this.interrupts.signal, kubeModule})
    this.terminalHandedOver = shell.local
    const {terminal, detach} = attachTerminal()
    const exitCode = await shell.run(this.passedThrough, terminal, this.interrupts.signal).finally(detach)
    if (exitCode !== 0) this.exit(exitCode)
  }
}
