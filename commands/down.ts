import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {loadConfig} from '../src/config/load.js'
import {withContextOverride} from '../src/config/overrides.js'
import {InterruptedError} from '../src/errors.js'
import {renderDownResult} from '../src/ui/down-view.js'
import {terminalWidth, wrapText} from '../src/ui/wrap.js'
import {down, type DownResult} from '../src/workflows/down.js'

export default class Down extends DevctlCommand<typeof Down> {
  static override summary = 'Tear the environment down: uninstall the release and delete the k3d cluster.'
  static override description = `Removes only what this checkout created: a k3d cluster or namespace that another checkout (or not devctl) created is left in place, and it says so. The release is uninstalled first, so the chart's pre-delete hooks run (within app.timeouts.deploy). Safe to run twice, or on a half-created environment: it says what it removed and what was not there. With an existing cluster (provider "existing", or --context), only what devctl put in the namespace is removed, never the cluster.`

  static override examples = [
    '<%= config.bin %> down',
    '<%= config.bin %> down --keep-data        # keep Postgres/Redis volumes (the cluster is stopped, not deleted)',
    '<%= config.bin %> down --keep-cluster     # uninstall and clean the namespace, keep the cluster running',
    '<%= config.bin %> down --purge --yes      # also delete .devctl/ (generated passwords)',
    '<%= config.bin %> down --context team-dev # what `up --context team-dev` deployed',
  ]

  static override enableJsonFlag = true

  static override flags = {
    'keep-cluster': Flags.boolean({description: "Keep the k3d cluster; remove only the release and devctl's services."}),
    'keep-data': Flags.boolean({description: 'Keep the Postgres and Redis volumes for the next `devctl up`.'}),
    purge: Flags.boolean({description: 'Also delete .devctl/ (generated passwords, local state). Asks first.', exclusive: ['keep-data']}),
    'delete-namespace': Flags.boolean({description: 'Also delete the namespace when devctl did not create it, with everything in it (asks first).'}),
    context: Flags.string({description: 'Tear down what `up --context` deployed into this existing kube context (never the cluster itself).'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (for --purge and --delete-namespace).'}),
  }

  async run(): Promise<DownResult> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = withContextOverride(await loadConfig(this.flags.config), this.flags.context)
    if (this.flags.purge) {
      // It cannot be undone: Enter says no.
      const sure = await this.confirmer(this.flags.yes, false)({flag: '--yes', message: 'Delete .devctl/ too? The generated passwords go with it (your data is deleted anyway).', details: []})
      if (!sure) throw new InterruptedError('Nothing was removed.')
    }
    const result = await down(
      loaded,
      {keepCluster: this.flags['keep-cluster'], keepData: this.flags['keep-data'], purge: this.flags.purge, deleteNamespace: this.flags['delete-namespace']},
      {emit: () => {}, signal: this.interrupts.signal, forceSignal: this.interrupts.forceSignal, kubeModule, confirm: this.confirmer(this.flags.yes)},
    )
    if (!this.jsonEnabled()) process.stdout.write(wrapText(renderDownResult(result, this.theme), terminalWidth()))
    return result
  }
}
