import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {durationFlagValue} from '../src/config/duration.js'
import {loadConfig} from '../src/config/load.js'
import {renderUpPlan, renderUpSummary} from '../src/ui/up-view.js'
import {terminalWidth, wrapText} from '../src/ui/wrap.js'
import {planUp, up, upOutline, type UpPlan, type UpResult} from '../src/workflows/up.js'
import {withContextOverride} from '../src/config/overrides.js'
import {forwardUntilStopped} from '../src/forward-command.js'

export default class Up extends DevctlCommand<typeof Up> {
  static override summary = 'Bring the environment up: cluster, Postgres, Redis, your chart and its migration.'
  static override description = `Creates or reuses the k3d cluster, deploys Postgres and Redis with their credentials, runs \`helm upgrade --install\` for your chart while its migration runs, and waits for every pod, showing each step live. Re-running it is fast: when nothing changed (chart, values, settings) and everything is ready, helm is not called at all.`

  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up --force                # redeploy even if nothing changed',
    '<%= config.bin %> up --dry-run              # show the plan, change nothing',
    '<%= config.bin %> up --context team-dev     # use an existing cluster instead of k3d',
    '<%= config.bin %> up --json | jq -c .       # machine-readable events and result',
  ]

  static override enableJsonFlag = true

  static override flags = {
    force: Flags.boolean({description: 'Redeploy the chart even when nothing changed.'}),
    'dry-run': Flags.boolean({
      description:
        'Print the plan (cluster config, manifests, helm command, the chart as helm renders it with your values and its migration; secrets masked) and change nothing; fails on a chart or values error as up does.',
    }),
    timeout: Flags.string({description: 'Time limit for each step, e.g. 2m (default: app.timeouts in devctl.yaml).'}),
    context: Flags.string({description: 'Deploy into this existing kube context instead of a k3d cluster.'}),
    quiet: Flags.boolean({char: 'q', description: 'Show only errors and the final summary.'}),
    recover: Flags.boolean({description: 'Drop a release revision an interrupted helm left pending (only when no helm still works on it).'}),
    adopt: Flags.boolean({description: 'Use a k3d cluster that another checkout (or not devctl) created; it is never deleted from here.'}),
    forward: Flags.boolean({description: "Then forward the app's Services, Postgres and Redis to local ports, as `devctl forward` does, until Ctrl-C.", exclusive: ['dry-run']}),
  }

  /** Once up is done and forwarding, Ctrl-C is the normal way out. */
  private forwarding = false

  protected override stoppedByCtrlC(): boolean {
    return this.forwarding
  }

  async run(): Promise<UpResult | UpPlan> {
    const options = {force: this.flags.force, adopt: this.flags.adopt, timeout: durationFlagValue('--timeout', this.flags.timeout)}
    const kubeModule = this.startLoadingKubeClient()
    const loaded = withContextOverride(await loadConfig(this.flags.config), this.flags.context)

    if (this.flags['dry-run']) {
      const plan = await planUp(loaded, options, this.interrupts.signal)
      if (!this.jsonEnabled()) process.stdout.write(renderUpPlan(plan, this.theme))
      return plan
    }

    const view = await this.progressView(upOutline(loaded), {quiet: this.flags.quiet})
    let result: UpResult
    try {
      // No questions while the live task list draws: a stuck release is recovered only with --recover.
      const recoverConsent = async () => this.flags.recover
      result = await up(loaded, options, {
        emit: (event) => view.emit(event),
        signal: this.interrupts.signal,
        forceSignal: this.interrupts.forceSignal,
        kubeModule,
        recoverConsent,
        commandLine: this.commandLine,
      })
    } finally {
      await view.close()
    }
    if (!this.jsonEnabled()) process.stdout.write(wrapText(renderUpSummary(result, this.theme), terminalWidth()))
    if (this.flags.forward) {
      // Ctrl-C ends the forwarding, as it ends `devctl forward`: the result record says stopped, and carries up's result.
      this.partialResult = result
      this.forwarding = true
      await forwardUntilStopped(loaded, {signal: this.interrupts.signal, kubeModule}, {theme: this.theme, json: this.jsonEnabled() ? (record) => this.logJson(record) : undefined})
    }
    return result
  }
}
