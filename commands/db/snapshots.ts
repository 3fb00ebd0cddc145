import {DevctlCommand} from '../../src/base-command.js'
import {loadConfig} from '../../src/config/load.js'
import {renderSnapshotList} from '../../src/ui/data-view.js'
import {listSnapshots, type SnapshotListing} from '../../src/workflows/db.js'

export default class DbSnapshots extends DevctlCommand<typeof DbSnapshots> {
  static override summary = 'List the snapshots in .devctl/snapshots: name, size, age, the release revision each was taken at.'
  static override description =
    'Newest first. Snapshots devctl took itself (before a migration, before `db reset`) say so; only the last services.postgres.snapshots.keep of those are kept. Reads the files only: the cluster may be down.'

  static override examples = ['<%= config.bin %> db snapshots', '<%= config.bin %> db snapshots --json']

  static override enableJsonFlag = true

  async run(): Promise<SnapshotListing> {
    const listing = await listSnapshots(await loadConfig(this.flags.config))
    if (!this.jsonEnabled()) process.stdout.write(renderSnapshotList(listing, this.theme))
    return listing
  }
}
