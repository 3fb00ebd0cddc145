/**
 * What the `db` commands that change or copy data share: one progress view over the workflow's
 * events (a live task list in a terminal, plain lines otherwise, --json), `--only`, and the
 * secrets registered before anything is read from the cluster.
 */
import {Flags, type Command} from '@oclif/core'

import {DevctlCommand} from './base-command.js'
import type {LoadedConfig} from './config/load.js'
import type {DataService} from './data/access.js'
import {registerProjectSecrets} from './secrets/store.js'
import {createProgressView, type ProgressMode} from './ui/progress.js'
import type {Emit} from './workflows/events.js'
import type {StepOutline} from './workflows/pipeline.js'

export const onlyFlag = Flags.string({
  description: 'Only this service (default: Postgres and Redis, those devctl.yaml enables).',
  options: ['postgres', 'redis'],
  multiple: true,
})

export abstract class DataCommand<T extends typeof Command> extends DevctlCommand<T> {
  protected only(flag: string[] | undefined): DataService[] | undefined {
    return flag as DataService[] | undefined
  }

  /** Run `work` with a progress view of `outline` open; the view is settled before this returns. */
  protected async withProgress<R>(loaded: LoadedConfig, outline: StepOutline[], quiet: boolean, work: (emit: Emit) => Promise<R>): Promise<R> {
    // A pod's error output may quote a password: masked like every other output.
    await registerProjectSecrets(loaded.dir, loaded.config)
    const mode: ProgressMode = this.jsonEnabled() ? 'json' : quiet ? 'quiet' : this.terminal.interactiveOutput ? 'tasks' : 'plain'
    const view = await createProgressView(mode, outline, this.theme)
    if (view.notice) this.stopNotice = (message) => view.notice?.(message)
    try {
      return await work((event) => view.emit(event))
    } finally {
      await view.close()
    }
  }
}
