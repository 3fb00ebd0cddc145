import {Args, Flags} from '@oclif/core'

import {DataCommand, onlyFlag} from '../../src/data-command.js'
import {loadConfig} from '../../src/config/load.js'
import {InterruptedError} from '../../src/errors.js'
import {formatBytes} from '../../src/text.js'
import {renderRestored} from '../../src/ui/data-view.js'
import {timeAgo} from '../../src/ui/status-view.js'
import {dataOutline, findSnapshot, restoreData, type RestoreResult} from '../../src/workflows/db.js'

export default class DbRestore extends DataCommand<typeof DbRestore> {
  static override summary = 'Put a snapshot back: the database is recreated from it, Redis loads its RDB file. Asks first.'
  static override description = `Postgres is restored into a fresh database which then replaces the current one, so tables and rows a later migration added are gone too (pg_restore --clean would keep them); if the restore fails, the current database is left as it was. Redis loads the snapshot's RDB file in place of its data. The app's open connections to the database are ended. Asks first; without a terminal, --yes is required.`

  static override examples = ['<%= config.bin %> db restore before-demo', '<%= config.bin %> db restore auto-20250131-142501 --only postgres --yes']

  static override args = {
    name: Args.string({description: 'The snapshot (`devctl db snapshots` lists them).', required: true}),
  }

  static override enableJsonFlag = true

  static override flags = {
    only: onlyFlag,
    yes: Flags.boolean({char: 'y', description: 'Do not ask: replace the data.'}),
    quiet: Flags.boolean({char: 'q', description: 'Show only errors and the result.'}),
  }

  async run(): Promise<RestoreResult> {
    const kubeModule = this.startLoadingKubeClient()
    const loaded = await loadConfig(this.flags.config)
    const target = await findSnapshot(loaded, this.args.name, this.only(this.flags.only))
    const {snapshot} = target
    // What is replaced cannot be had back (unless snapshotted first): Enter says no.
    const agreed = await this.confirmer(
      this.flags.yes,
      false,
    )({
      flag: '--yes',
      message: `Replace the current ${target.services.join(' and ')} data with snapshot ${snapshot.name} (${formatBytes(snapshot.bytes)}, taken ${timeAgo(snapshot.createdAt)}${snapshot.revision === undefined ? '' : ` at release revision ${snapshot.revision}`})?`,
      details: [],
    })
    if (!agreed) throw new InterruptedError('Nothing was restored.')
    const result = await this.withProgress(loaded, dataOutline(loaded, 'restore'), this.flags.quiet, (emit) =>
      restoreData(loaded, target, {emit, signal: this.interrupts.signal, forceSignal: this.interrupts.forceSignal, kubeModule}),
    )
    if (!this.jsonEnabled()) process.stdout.write(renderRestored(result, this.theme))
    return result
  }
}
