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
    // The fallback renderer writes a failed step to stderr.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        drawn.push(String(chunk))
        return true
      })
    }
  })
  afterEach(() => vi.restoreAllMocks())

  it('draws each step and its pods, and prints warnings under the list once it is done', async () => {
    const printed: string[] = []
    const view = taskListView(
      [
        {id: 'chart', title: 'Chart'},
        {id: 'rollout', title: 'Rollout'},
      ],
      new Chalk({level: 0}),
      (line) => printed.push(line),
    )
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

  it('draws steps announced later under the list before them, once it is done, and fails a group whose member failed', async () => {
    const view = taskListView([], new Chalk({level: 0}), () => {})
    view.emit({type: 'outline', steps: [{id: 'plan', title: 'Plan'}]})
    view.emit({type: 'step:start', step: 'plan', title: 'Plan'})
    view.emit({type: 'step:end', step: 'plan', status: 'done', title: 'Plan: 1 value changed', durationMs: 10})
    await view.pause()
    const planned = drawn.join('')
    expect(planned).toContain('Plan: 1 value changed')

    view.emit({
      type: 'outline',
      steps: [
        {
          id: 'deploy',
          title: 'Deploy',
          children: [
            {id: 'helm', title: 'helm'},
            {id: 'migration', title: 'Migration'},
          ],
        },
        {id: 'rollout', title: 'Rollout'},
      ],
    })
    view.emit({type: 'step:start', step: 'deploy', title: 'Deploy demo'})
    view.emit({type: 'step:start', step: 'helm', title: 'helm upgrade', parent: 'deploy'})
    view.emit({type: 'step:start', step: 'migration', title: 'Migration', parent: 'deploy'})
    view.emit({type: 'step:end', step: 'migration', status: 'failed', title: 'Migration', durationMs: 5, message: 'the Job failed'})
    view.emit({type: 'step:end', step: 'helm', status: 'failed', title: 'helm upgrade', durationMs: 6, message: 'pre-upgrade hooks failed'})
    view.emit({type: 'step:end', step: 'deploy', status: 'failed', title: 'Deploy demo', durationMs: 7, message: 'the Job failed'})
    view.emit({type: 'outline', steps: [{id: 'rollback', title: 'Roll back demo to revision 1'}]})
    view.emit({type: 'step:start', step: 'rollback', title: 'Roll back demo to revision 1'})
    view.emit({type: 'step:end', step: 'rollback', status: 'done', title: 'Rolled back demo to revision 1', durationMs: 300})
    await view.close()

    const after = drawn.join('').slice(planned.length)
    expect(after).toMatch(/✖ Deploy demo/)
    expect(after).not.toMatch(/⚠/)
    expect(after).not.toMatch(/Plan/)
    expect(after.indexOf('✖ Deploy demo')).toBeLessThan(after.indexOf('❯ Roll back demo to revision 1'))
  })
})
