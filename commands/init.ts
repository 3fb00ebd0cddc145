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
  .devctl/secrets.yaml     generated passwords (mode 0600, git-ignored), only those used
A project with a Dockerfile is offered build: in devctl.yaml (its image built by \`devctl up\` when the code changed, and on every save by \`devctl dev\`; .devctl/ goes into .dockerignore).
Existing files are never overwritten silently: use --update to edit them in place, or --force to replace them (a .bak is kept).

Wiring a chart you did not write (--preset bring-your-own), without editing it or writing hooks:

--wire ANCHOR=PATH[,PATH...]: where the chart takes a shared setting; the values file gets an alias to the anchor there. Anchors: dbHost, dbPort, dbName, dbUser, dbSecret, dbPasswordKey (devctl's Secret devctl-postgres and its key PGPASSWORD), redisHost, redisPort, redisSecret, redisPasswordKey. Repeat the flag or list paths with commas to wire several places; "-" wires none. A setting not given is wired only to the first conventional path the chart's own values.yaml has (externalDatabase.host, database.host, ...), else nowhere.

PATH is helm's --set syntax (a.b, list[0].c, a\\.b for a key with a dot) plus list[] (append an item) and list[name=DB_HOST].value (the item named DB_HOST: how env entries are wired).

--wire-secret NAME/KEY=TEMPLATE: a Secret the chart reads, in its own shape. devctl creates it next to its own before helm runs (hooks and lookup see it) and keeps it in step, e.g. blog-db/password={{postgres.password}} or airflow-metadata/connection={{postgres.url}}?sslmode=disable.

--wire-value PATH=TEMPLATE: a value devctl writes into values.dev.yaml and keeps in step, for what anchors cannot concatenate (data.brokerUrl=redis://{{redis.host}}:{{redis.port}}/0), or a literal such as redis.enabled=false. Never a password.

TEMPLATE placeholders: {{postgres.host}}, .port, .database, .user, .password, .url (postgresql://..., escaped), .secret; {{redis.host}}, .port, .password, .url, .secret; {{x | urlencode}} escapes one.

A local chart whose values.schema.json forbids unknown top-level keys gets no shared: block: each anchor is defined at its first use (--values-layout shared|inline overrides the detection). A chart that cannot send a password: --redis-auth none, --postgres-auth trust.

All of this lands in devctl.yaml (app.wiring, services.*.auth). Edit it there: \`devctl init --update\` and \`devctl up\` rewrite a composed value that no longer matches.`

  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --preset web-worker --name shop --no-input',
    '<%= config.bin %> init --preset bring-your-own --name blog --chart https://charts.bitnami.com/bitnami --chart-name wordpress --wire dbHost=externalDatabase.host',
    "<%= config.bin %> init --preset bring-your-own --name flow --chart ./chart --no-input --wire-secret 'flow-db/connection={{postgres.url}}' --wire-value 'data.metadataSecretName=flow-db' --wire-value 'data.brokerUrl=redis://{{redis.host}}:{{redis.port}}/0' --redis-auth none",
    '<%= config.bin %> init --preset bring-your-own --name api --chart ./chart --wire dbHost=env[name=DB_HOST].value,worker.env[name=DB_HOST].value --wire dbPort=-',
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
    wire: Flags.string({multiple: true, description: 'bring-your-own: ANCHOR=PATH[,PATH...], where the chart takes a shared setting ("-": nowhere); repeatable.'}),
    'wire-secret': Flags.string({multiple: true, description: 'bring-your-own: NAME/KEY=TEMPLATE, a Secret key the chart reads (e.g. blog-db/password={{postgres.password}}); repeatable.'}),
    'wire-value': Flags.string({multiple: true, description: 'bring-your-own: PATH=TEMPLATE, a value devctl writes and keeps in step (e.g. redis.addr={{redis.host}}:{{redis.port}}); repeatable.'}),
    'values-layout': Flags.string({
      options: ['shared', 'inline'],
      description: "Anchors under a shared: block, or each at its first use (default: inline when the chart's values schema forbids unknown keys).",
    }),
    'postgres-auth': Flags.string({options: ['password', 'trust'], description: 'trust: Postgres accepts clients without a password (for charts that cannot send one).'}),
    'redis-auth': Flags.string({options: ['password', 'none'], description: 'none: Redis without a password (for charts that cannot send one).'}),
    build: Flags.boolean({allowNo: true, description: 'With a Dockerfile here: build its image on `devctl up` and `devctl dev` (build: in devctl.yaml; --no-build: do not). Asked when there is one.'}),
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
