import {DevctlCommand} from '../src/base-command.js'
import {loadConfig} from '../src/config/load.js'
import {forwardUntilStopped} from '../src/forward-command.js'

export default class Forward extends DevctlCommand<typeof Forward> {
  static override summary = "Forward the app's Services, Postgres and Redis to local ports until Ctrl-C."
  static override description = `Each port of the release's Services, and devctl's own Postgres and Redis, listens on 127.0.0.1 (a port pinned under forward.ports in devctl.yaml, or a free one) and the table says which is which. Every connection goes to a ready pod behind the Service at that moment: when a pod restarts or is replaced, new connections reach the new one (while none is ready they wait), and the forward itself never stops. Ctrl-C ends it, with every connection.`

  static override examples = ['<%= config.bin %> forward', '<%= config.bin %> forward --json        # one line with the ports, then one per change']

  static override enableJsonFlag = true

  protected override stoppedByCtrlC(): boolean {
    return true
  }

  async run(): Promise<void> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    await forwardUntilStopped(loaded, {signal: this.interrupts.signal, kubeModule}, {theme: this.theme, json: this.jsonEnabled() ? (record) => this.logJson(record) : undefined})
  }
}
