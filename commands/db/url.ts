import {Flags} from '@oclif/core'

import {DevctlCommand} from '../../src/base-command.js'
import {loadConfig} from '../../src/config/load.js'
import {renderForwardEvent} from '../../src/ui/data-view.js'
import {databaseUrl} from '../../src/workflows/db.js'

export default class DbUrl extends DevctlCommand<typeof DbUrl> {
  static override summary = 'A connection URL for the database, through a local port-forward, for GUI clients and tools on this machine.'
  static override description = `For the Postgres devctl runs, forwards a local port (forward.ports.postgres in devctl.yaml, --port, or a free one) to it and prints postgresql://USER@127.0.0.1:PORT/DATABASE; the URL works while this runs (Ctrl-C stops it), and a restarted Postgres pod is followed. For services.postgres.external, prints the configured host's URL and ends. The password is left out (your client asks for it) unless you pass --show-password; with --json it is always masked.`

  static override examples = [
    '<%= config.bin %> db url',
    '<%= config.bin %> db url --port 15432',
    '<%= config.bin %> db url --show-password     # the URL with the password in it (shown on your screen)',
  ]

  static override enableJsonFlag = true

  static override flags = {
    'show-password': Flags.boolean({description: 'Put the password in the URL (it is printed on your screen).'}),
    port: Flags.integer({description: 'Local port to forward (default: forward.ports.postgres in devctl.yaml, else a free one).', min: 1, max: 65535}),
  }

  protected override stoppedByCtrlC(): boolean {
    return true
  }

  async run(): Promise<void> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    const t = this.theme
    const result = await databaseUrl(loaded, {showPassword: this.flags['show-password'], port: this.flags.port}, {signal: this.interrupts.signal, kubeModule}, (event) => {
      if (!this.jsonEnabled()) process.stderr.write(renderForwardEvent(event, t))
    })
    const {forwarding, ...url} = result
    if (this.jsonEnabled()) this.logJson({...url, forwarding: forwarding !== undefined})
    // Written as it is: with --show-password the password is the point (everything else devctl prints is masked).
    else process.stdout.write(`${result.url}\n`)
    if (!forwarding) return
    if (!this.jsonEnabled())
      process.stderr.write(
        t.dim(
          `Forwarding 127.0.0.1:${result.port} to Postgres in namespace ${forwarding.namespace} while this runs; Ctrl-C stops it.${result.withPassword ? '' : ' Add --show-password for a URL with the password.'}\n`,
        ),
      )
    await forwarding.stopped
    throw this.interrupts.signal.reason
  }
}
