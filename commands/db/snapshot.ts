import {Args, Flags} from '@oclif/core'

import {DataCommand, onlyFlag} from '../../src/data-command.js'
import {loadConfig} from '../../src/config/load.js'
import {checkSnapshotName} from '../../src/data/snapshots.js'
import {renderSnapshotTaken} from '../../src/ui/data-view.js'
import {dataOutline, snapshotData, type SnapshotResult} from '../../src/workflows/db.js'

export default class DbSnapshot extends DataCommand<typeof DbSnapshot> {
  static override summary = 'Snapshot Postgres (pg_dump) and Redis (its RDB file) into .devctl/snapshots.'
  static override description = `Postgres is saved with pg_dump in its custom format and Redis as its RDB file, streamed from the pods to .devctl/snapshots/ (private: mode 0600), never held in memory, checked against a checksum made in the pod. Large databases show their progress. A snapshot is listed only once it is complete: Ctrl-C or a failure leaves nothing behind. Without NAME it is named after the time.`

  static override examples = [
    '<%= config.bin %> db snapshot',
    '<%= config.bin %> db snapshot before-demo',
    '<%= config.bin %> db snapshot seeded --only postgres --force   # replace the snapshot called seeded',
  ]

  static override args = {
    name: Args.string({description: 'Name of the snapshot (letters, digits, ".", "_", "-").'}),
  }

  static override enableJsonFlag = true

  static override flags = {
    only: onlyFlag,
    force: Flags.boolean({description: 'Replace a snapshot of the same name.'}),
    quiet: Flags.boolean({char: 'q', description: 'Show only errors and the result.'}),
  }

  async run(): Promise<SnapshotResult> {
    const kubeModule = this.startLoadingKubeClient()
    const name = this.args.name === undefined ? undefined : checkSnapshotName(this.args.name)
    const loaded = await loadConfig(this.flags.config)
    const result = await this.withProgress(loaded, dataOutline(loaded, 'snapshot'), this.flags.quiet, (emit) =>
      snapshotData(loaded, {name, replace: this.flags.force, only: this.only(this.flags.only)}, {emit, signal: this.interrupts.signal, forceSignal: this.interrupts.forceSignal, kubeModule}),
    )
    if (!this.jsonEnabled()) process.stdout.write(renderSnapshotTaken(result, this.theme))
    return result
  }
}
