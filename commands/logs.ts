import {Args, Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {loadConfig} from '../src/config/load.js'
import {lastMigrationLog} from '../src/chart/migration-log.js'
import {ClusterError, UsageError} from '../src/errors.js'
import {compilePattern, logsRequest} from '../src/logs/options.js'
import {streamLogs, type LogsOutcome} from '../src/logs/stream.js'
import {registerProjectSecrets} from '../src/secrets/store.js'
import {createLogFormatter, LogPrinter} from '../src/ui/log-view.js'
import {forDisplay} from '../src/ui/untrusted-text.js'
import {connectEnvironment} from '../src/workflows/connect.js'
import {createProject} from '../src/workflows/project.js'
import {count} from '../src/text.js'

export default class Logs extends DevctlCommand<typeof Logs> {
  static override summary = 'Follow the logs of every pod and container of the environment, including init containers, migration jobs and crashed runs.'
  static override description = `Streams every container of the release's pods (init containers and the migration Job included), one line per log line prefixed by pod/container. Follows by default: new pods are picked up as they appear, a restarted container's last lines before the crash are shown once, and a dropped connection resumes without losing or repeating lines. Without --follow, the logs are printed merged in time order and the command ends.`

  static override examples = [
    '<%= config.bin %> logs',
    '<%= config.bin %> logs api worker               # by app.kubernetes.io/component or pod-name regex',
    '<%= config.bin %> logs --since 10m --grep "error|warn"',
    '<%= config.bin %> logs --no-follow --tail 50 --events',
    '<%= config.bin %> logs --services --container postgres',
    '<%= config.bin %> logs --migration                # the last migration run, also after its Job is gone',
    `<%= config.bin %> logs --json | jq -r 'select(.type == "log") | .message'`,
  ]

  static override strict = false
  static override args = {
    component: Args.string({description: "Only pods whose app.kubernetes.io/component is COMPONENT (several allowed); a COMPONENT that is no pod's component is a regex on pod names."}),
  }

  static override enableJsonFlag = true

  static override flags = {
    follow: Flags.boolean({description: 'Keep streaming (the default); --no-follow prints what there is and ends.', allowNo: true, default: true}),
    container: Flags.string({char: 'c', description: 'Only containers whose name matches this regex.'}),
    grep: Flags.string({char: 'g', description: 'Only lines matching this regex.'}),
    exclude: Flags.string({char: 'x', description: 'Leave out lines matching this regex.'}),
    since: Flags.string({description: 'Start at this age (30s, 5m, 1h30m) or time (2025-01-31T14:00:00Z).'}),
    tail: Flags.integer({description: 'Start each container (and the run before a restart) at its last N lines.', min: 0}),
    timestamps: Flags.boolean({char: 't', description: 'Show the time of each line.'}),
    events: Flags.boolean({description: 'Interleave the Kubernetes events of the pods (scheduling, pulls, crashes) in time order.'}),
    services: Flags.boolean({description: "Also devctl's own Postgres and Redis."}),
    migration: Flags.boolean({
      description: 'Print the log of the last migration run, as devctl kept it under .devctl/migrations/ (also after its Job or pod is gone), and end.',
      exclusive: ['container', 'since', 'tail', 'timestamps', 'events', 'services'],
    }),
  }

  protected override stoppedByCtrlC(): boolean {
    return this.flags.follow
  }

  async run(): Promise<Omit<LogsOutcome, 'problems'> | {migrationLog: {path: string; lines: string[]}}> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    if (this.flags.migration) return this.printLastMigration(createProject(loaded).stateDir)
    const request = logsRequest(loaded.resolved, this.positionals, this.flags)
    // A line that prints a password is masked.
    await registerProjectSecrets(loaded.dir, loaded.config)
    const {kube} = await connectEnvironment(createProject(loaded, kubeModule), this.interrupts.signal)

    const t = this.theme
    const printer = new LogPrinter(process.stdout, createLogFormatter({json: this.jsonEnabled(), timestamps: this.flags.timestamps, short: this.terminal.interactiveOutput}, t), (message) =>
      process.stderr.write(`${t.yellow('!')} ${message}\n`),
    )
    const readerGone = new AbortController()
    void printer.closed.then(() => readerGone.abort())
    const outcome = await streamLogs(kube, request, printer, AbortSignal.any([this.interrupts.signal, readerGone.signal]))
    if (this.interrupts.signal.aborted) throw this.interrupts.signal.reason
    // The reader left (`| head`): nothing more to write, not even the result.
    if (readerGone.signal.aborted) this.exit(0)
    if (outcome.problems.length > 0) {
      throw new ClusterError(`${count(outcome.problems.length, 'log')} could not be read completely.`, {
        details: outcome.problems,
        hint: 'Check that the cluster is running (`devctl status`) and run the command again.',
      })
    }
    return {pods: outcome.pods, containers: outcome.containers}
  }

  /** The kept log of the last migration run: no cluster needed. */
  /** `--migration`: the last migration run's log as devctl kept it; with --json, the result record holds it. */
  private async printLastMigration(stateDir: string): Promise<{migrationLog: {path: string; lines: string[]}}> {
    const log = await lastMigrationLog(stateDir)
    if (!log) throw new UsageError('No migration log is kept in this project yet: `devctl up` keeps one per migration run under .devctl/migrations/.')
    const grep = compilePattern('--grep', this.flags.grep)
    const exclude = compilePattern('--exclude', this.flags.exclude)
    // The header and outcome lines (#) always show: they say which run this is and how it ended.
    const lines = log.text.split('\n').filter((line) => line !== '' && (line.startsWith('#') || ((!grep || grep.test(line)) && !exclude?.test(line))))
    if (!this.jsonEnabled()) process.stdout.write(`${forDisplay(lines.join('\n'))}\n`)
    return {migrationLog: {path: log.path, lines}}
  }
}
