import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {durationFlagValue} from '../src/config/duration.js'
import {loadConfig} from '../src/config/load.js'
import {withContextOverride} from '../src/config/overrides.js'
import {createDevView} from '../src/ui/dev-view.js'
import type {ProgressMode} from '../src/ui/progress.js'
import {dev} from '../src/workflows/dev.js'
import {upOutline} from '../src/workflows/up.js'

export default class Dev extends DevctlCommand<typeof Dev> {
  static override summary = 'Bring the environment up, then rebuild and redeploy on every save.'
  static override description = `Runs \`devctl up\`, then watches the build contexts of the images under build: in devctl.yaml (what their .dockerignore keeps), the values files, a local chart and devctl.yaml. On a change (after a short quiet time) it rebuilds only the images whose code changed, imports or pushes them, upgrades the release, waits for the migration and the rollout, and shows the logs of the pods that were replaced — one line per cycle with where the time went. A change to values or the chart redeploys without building; a change to devctl.yaml runs the whole \`up\` again. A failed cycle is explained and the watching goes on. Ctrl-C stops watching and leaves the environment running (exit 130).`

  static override examples = [
    '<%= config.bin %> dev',
    '<%= config.bin %> dev --debounce 1000       # wait for 1 s of quiet after a change',
    '<%= config.bin %> dev --json | jq -c "select(.type == \\"cycle:end\\")"',
  ]

  static override enableJsonFlag = true

  static override flags = {
    debounce: Flags.integer({description: 'Milliseconds of quiet after a change before a cycle starts.', default: 300, min: 0, max: 60_000}),
    timeout: Flags.string({description: 'Time limit for each step, e.g. 2m (default: app.timeouts in devctl.yaml).'}),
    context: Flags.string({description: 'Deploy into this existing kube context instead of a k3d cluster.'}),
    quiet: Flags.boolean({char: 'q', description: "Show only a line per cycle, the pods' logs, warnings and errors."}),
    recover: Flags.boolean({description: 'Drop a release revision an interrupted helm left pending (only when no helm still works on it).'}),
    adopt: Flags.boolean({description: 'Use a k3d cluster that another checkout (or not devctl) created; it is never deleted from here.'}),
  }

  /** Ctrl-C is how a person leaves `dev`: quietly, the environment left up (exit 130). */
  protected override stoppedByCtrlC(): boolean {
    return true
  }

  async run(): Promise<void> {
    const options = {force: false, adopt: this.flags.adopt, timeout: durationFlagValue('--timeout', this.flags.timeout), debounceMs: this.flags.debounce}
    const kubeModule = this.startLoadingKubeClient()
    const read = async () => withContextOverride(await loadConfig(this.flags.config), this.flags.context)
    const loaded = await read()
    const mode: ProgressMode = this.jsonEnabled() ? 'json' : this.flags.quiet ? 'quiet' : this.terminal.interactiveOutput ? 'tasks' : 'plain'
    const view = await createDevView(mode, upOutline(loaded), this.theme)
    try {
      const recoverConsent = async () => this.flags.recover
      await dev(loaded, options, {emit: (event) => view.emit(event), signal: this.interrupts.signal, forceSignal: this.interrupts.forceSignal, kubeModule, recoverConsent, reload: read})
    } finally {
      await view.close()
    }
  }
}
