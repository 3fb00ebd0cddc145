import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {UsageError} from '../src/errors.js'
import {assertNoConflicts, readExistingAnswers, runInit, type InitResult} from '../src/scaffold/init.js'
import {gatherAnswers} from '../src/scaffold/questions.js'
import {renderInitResult} from '../src/ui/init-view.js'
import {terminalWidth, wrapText} from '../src/ui/wrap.js'

export default class Init extends DevctlCommand<typeof Init> {
  static override summary = 'Set up devctl in this project: devctl.yaml, a values file with shared anchors, generated passwords.'
  static override description = `Asks a few questions (each has a flag, for scripts and CI) and writes:
  devctl.yaml              what the environment is: cluster, Postgres/Redis, your chart
  values.dev.yaml          Helm values; shared settings defined once (&anchor) and reused (*alias)
  .devctl/secrets.yaml     generated passwords (mode 0600, added to .gitignore)
Existing files are never overwritten silently: use --update to edit them in place, or --force to replace them (a .bak is kept).`

  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --preset web-worker --name shop --no-input',
    '<%= config.bin %> init --preset bring-your-own --name blog --chart https://charts.bitnami.com/bitnami --chart-name wordpress --wire dbHost=externalDatabase.host',
    '<%= config.bin %> init --update --no-postgres',
  ]

  static override enableJsonFlag = true

  static override flags = {
    preset: Flags.string({description: 'Preset to start from (see presets/: web-worker, bring-your-own).'}),
    name: Flags.string({description: 'Project name; the default name of the cluster, release and namespace.'}),
    namespace: Flags.string({description: 'Kubernetes namespace (default: the project name).'}),
    chart: Flags.string({description: 'Chart: a directory, a chart repository URL (with --chart-name) or an oci:// reference.'}),
    'chart-name': Flags.string({description: 'Chart name in the repository given by --chart.'}),
    'chart-version': Flags.string({description: 'Chart version or semver range.'}),
    postgres: Flags.boolean({allowNo: true, description: 'Run Postgres in the cluster (--no-postgres: do not).'}),
    redis: Flags.boolean({allowNo: true, description: 'Run Redis in the cluster (--no-redis: do not).'}),
    port: Flags.string({multiple: true, description: 'Host port mapping HOST:CONTAINER (repeatable), e.g. 8080:80.'}),
    wire: Flags.string({multiple: true, description: 'bring-your-own: ANCHOR=VALUE.PATH, where the chart takes a shared setting (repeatable).'}),
    force: Flags.boolean({description: 'Overwrite existing files, keeping each old one as .bak.', exclusive: ['update']}),
    update: Flags.boolean({description: 'Edit existing files in place, keeping your comments, anchors and extra keys.'}),
  }

  async run(): Promise<InitResult> {
    const dir = process.cwd()
    const {force, update} = this.flags
    if (this.flags['chart-name'] && !this.flags.chart) throw new UsageError('--chart-name needs --chart (the repository URL).')
    // Refuse before asking anything: questions answered for nothing are annoying.
    await assertNoConflicts({dir, force, update})
    const {prompter} = this
    const existing = update ? await readExistingAnswers(dir) : undefined
    const answers = await gatherAnswers(this.flags, prompter, {dir, existing})
    const result = await runInit(answers, {dir, force, update})
    if (!this.jsonEnabled()) process.stdout.write(wrapText(renderInitResult(result, dir, this.theme), terminalWidth()))
    return result
  }
}
