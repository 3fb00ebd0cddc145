import {Flags} from '@oclif/core'

import {DataCommand} from '../../src/data-command.js'
import {loadConfig} from '../../src/config/load.js'
import {InterruptedError} from '../../src/errors.js'
import {renderReset} from '../../src/ui/data-view.js'
import {dataOutline, resetDatabase, type ResetResult} from '../../src/workflows/db.js'

export default class DbReset extends DataCommand<typeof DbReset> {
  static override summary = 'Drop the database, create it empty and run the migration again. Asks first.'
  static override description = `Takes a snapshot first (undo with \`devctl db restore\`; --no-snapshot skips it), drops the app's database (ending its connections), creates it empty, then redeploys so the migration runs again and waits for the rollout, as \`devctl up --force\` does. Asks first; without a terminal, --yes is required.`

  static override examples = ['<%= config.bin %> db reset', '<%= config.bin %> db reset --yes --no-snapshot']

  static override enableJsonFlag = true

  static override flags = {
    yes: Flags.boolean({char: 'y', description: 'Do not ask: drop the database.'}),
    snapshot: Flags.boolean({allowNo: true, default: true, description: 'Snapshot the database first (--no-snapshot: do not).'}),
    quiet: Flags.boolean({char: 'q', description: 'Show only errors and the result.'}),
  }

  async run(): Promise<ResetResult> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    const {postgres} = loaded.config.services
    const where = postgres.external ? `${postgres.external.host}:${postgres.external.port}` : 'the Postgres pod'
    const agreed = await this.confirmer(
      this.flags.yes,
      false,
    )({
      flag: '--yes',
      message: `Drop database ${postgres.external?.database ?? loaded.resolved.database} in ${where}, create it empty and run the migration again?${this.flags.snapshot ? ' (A snapshot is taken first.)' : ' Its data is lost (--no-snapshot).'}`,
      details: [],
    })
    if (!agreed) throw new InterruptedError('Nothing was changed.')
    const result = await this.withProgress(loaded, dataOutline(loaded, 'reset', {snapshot: this.flags.snapshot}), this.flags.quiet, (emit) =>
      resetDatabase(loaded, {snapshot: this.flags.snapshot}, {emit, signal: this.interrupts.signal, forceSignal: this.interrupts.forceSignal, kubeModule}),
    )
    if (!this.jsonEnabled()) process.stdout.write(renderReset(result, this.theme))
    return result
  }
}
