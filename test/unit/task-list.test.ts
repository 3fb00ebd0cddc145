/**
 * The terminal task list (listr2) fed the events of a workflow. Outside a terminal listr2 falls
 * back to its plain renderer, whose lines are captured here instead of reaching the test output.
 */
import {Chalk} from 'chalk'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {taskListView} from '../../src/ui/task-list.js'

describe('task list view', () => {
  let drawn: string[]
  beforeEach(() => {
    drawn = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      drawn.push(String(chunk))
      return true
    })
  })
  afterEach(() => vi.restoreAllMocks())

  it('draws each step and its pods, and prints warnings under the list once it is done', async () => {
    const printed: string[] = []
    const view = taskListView([{id: 'chart', title: 'Chart'}, {id: 'rollout', title: 'Rollout'}], new Chalk({level: 0}), (line) => printed.push(line))
    view.emit({type: 'step:start', step: 'chart', title: 'Chart demo'})
    view.emit({type: 'warning', message: 'Recovered release demo: dropped the unfinished revision 6 (pending-upgrade).'})
    view.emit({type: 'pod', step: 'chart', pod: {name: 'demo-api-1', status: 'Running', ready: 1, total: 1, restarts: 0}})
    expect(printed).toEqual([])
    view.emit({type: 'step:end', step: 'chart', status: 'done', title: 'Chart demo', durationMs: 1200})
    await view.close()

    const screen = drawn.join('')
    expect(screen).toContain('Chart demo (1.2s)')
    expect(screen).toContain('✔ demo-api-1  Running  1/1 ready')
    // The step the workflow never reached ends as not run.
    expect(screen).toMatch(/Rollout — skipped: not run/)
    expect(printed).toEqual(['! Recovered release demo: dropped the unfinished revision 6 (pending-upgrade).'])
  })
})
