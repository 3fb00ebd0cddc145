/** Control sequences in text from the cluster: made visible (as `cat -v` does) wherever it is shown. */
import {Chalk} from 'chalk'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {clearSecrets, registerSecret} from '../../src/secrets/redact.js'
import {createLogFormatter} from '../../src/ui/log-view.js'
import {plainView} from '../../src/ui/progress.js'
import {renderStatus} from '../../src/ui/status-view.js'
import {taskListView} from '../../src/ui/task-list.js'
import {escapeControls, escapeJsonControls, forDisplay} from '../../src/ui/untrusted-text.js'
import type {StatusResult} from '../../src/workflows/status.js'

const HOSTILE = '\u001B]52;c;aGFja2Vk\u0007 \u001B[2J done\roverwritten \u009B31m'
const VISIBLE = '^[]52;c;aGFja2Vk^G ^[[2J done^Moverwritten M-^[31m'
const RAW_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\r(?!\n)/
const plain = new Chalk({level: 0})

describe('escapeControls', () => {
  it.each([
    ['OSC 52 (clipboard)', '\u001B]52;c;aGk=\u0007', '^[]52;c;aGk=^G'],
    ['OSC 0 (window title)', '\u001B]0;title\u0007', '^[]0;title^G'],
    ['OSC 8 (link) with ST', '\u001B]8;;http://x/\u001B\\a\u001B]8;;\u001B\\', '^[]8;;http://x/^[\\a^[]8;;^[\\'],
    ['clear screen', '\u001B[2J\u001B[H', '^[[2J^[[H'],
    ['a bare carriage return', 'ok\rfake', 'ok^Mfake'],
    ['NUL, backspace, vertical tab, form feed, DEL', '\u0000\b\u000B\u000C\u007F', '^@^H^K^L^?'],
    ['C1 controls (CSI, OSC, ST)', '\u009B2J\u009D0;t\u009C', 'M-^[2JM-^]0;tM-^\\'],
  ])('%s', (_what, text, shown) => {
    expect(escapeControls(text)).toBe(shown)
  })

  it('keeps tabs, newlines, CRLF line ends and ordinary Unicode', () => {
    const text = 'a\tb\r\nc\nnaïve — 日本 ✔'
    expect(escapeControls(text)).toBe(text)
  })

  it('is idempotent: shown text shows the same again', () => {
    expect(escapeControls(escapeControls(HOSTILE))).toBe(VISIBLE)
  })

  it('forDisplay masks a secret first, then shows the controls', () => {
    registerSecret('hunter2-secret')
    try {
      expect(forDisplay(`\u001B]0;hunter2-secret\u0007`)).toBe('^[]0;********^G')
    } finally {
      clearSecrets()
    }
  })

  it('escapeJsonControls escapes DEL and C1, which JSON.stringify leaves raw; the data is the same', () => {
    const json = JSON.stringify({message: HOSTILE})
    expect(json).toMatch(/\u009B/)
    const escaped = escapeJsonControls(json)
    expect(escaped).not.toMatch(RAW_CONTROL)
    expect(JSON.parse(escaped)).toEqual({message: HOSTILE})
  })
})

describe('views of cluster text', () => {
  it('log lines and events: shown, with the prefix devctl adds left as it is', () => {
    const format = createLogFormatter({json: false, timestamps: false, short: false}, new Chalk({level: 1}))
    const text = format([
      {source: {pod: 'api-1', container: 'api', stream: 'log'}, stamps: ['2025-01-01T00:00:00Z'], times: [0], messages: [HOSTILE]},
      {source: {pod: 'api-1', container: '', stream: 'event'}, stamps: ['2025-01-01T00:00:01Z'], times: [1000], messages: [`Warning Failed: ${HOSTILE}`]},
    ])
    expect(text).toContain(`api-1/api\u001B[39m ${VISIBLE}\n`)
    expect(text).toContain(`Warning Failed: ${VISIBLE}`)
    // The only escapes left are devctl's own colours.
    expect(text.replaceAll(/\u001B\[\d+m/g, '')).not.toMatch(RAW_CONTROL)
  })

  it('--json log lines keep the text as data', () => {
    const format = createLogFormatter({json: true, timestamps: false, short: false}, plain)
    const line = format([{source: {pod: 'p', container: 'c', stream: 'log'}, stamps: ['t'], times: [0], messages: [HOSTILE]}])
    expect(line).not.toMatch(RAW_CONTROL)
    expect((JSON.parse(line) as {message: string}).message).toBe(HOSTILE)
  })

  it('plain progress lines: notes, log lines, pods, warnings', () => {
    const lines: string[] = []
    const view = plainView((line) => lines.push(line), plain)
    view.emit({type: 'step:start', step: 'deploy', title: 'Chart'})
    view.emit({type: 'step:note', step: 'deploy', message: HOSTILE})
    view.emit({type: 'step:log', step: 'deploy', source: 'migrate', line: HOSTILE})
    view.emit({type: 'pod', step: 'deploy', pod: {name: 'api-1', status: 'Pending', reason: HOSTILE, ready: 0, total: 1, restarts: 0}})
    view.emit({type: 'warning', message: HOSTILE})
    expect(lines.filter((line) => line.includes(VISIBLE))).toHaveLength(4)
    expect(lines.join('\n')).not.toMatch(RAW_CONTROL)
  })

  it('status: conditions, pods and the release record', () => {
    const status: StatusResult = {
      project: 'demo',
      cluster: {provider: 'k3d', name: 'demo', context: 'k3d-demo', state: 'running', nodes: {ready: 1, total: 1, permitted: true}},
      namespace: 'demo',
      services: [],
      release: {name: 'demo', revision: 2, status: 'failed', chart: HOSTILE},
      workloads: [
        {
          kind: 'Deployment',
          name: 'api',
          ready: false,
          detail: '0/1 ready',
          images: [],
          pods: [{name: 'api-1', status: 'Pending', reason: 'ErrImagePull', message: HOSTILE, ready: 0, total: 1, restarts: 0}],
        },
      ],
      conditions: [{type: 'WorkloadsReady', status: 'False', reason: 'ErrImagePull', message: `pod api-1: ErrImagePull (${HOSTILE})`}],
    }
    const text = renderStatus(status, plain)
    expect(text).toContain(`pod api-1: ErrImagePull (${VISIBLE})`)
    expect(text).not.toMatch(RAW_CONTROL)
  })
})

describe('the live task list', () => {
  let drawn: string[]
  let wasTTY: boolean | undefined
  beforeEach(() => {
    drawn = []
    // listr2 draws its live renderer (redraws in place) only on a terminal.
    wasTTY = process.stdout.isTTY
    Object.defineProperty(process.stdout, 'isTTY', {value: true, configurable: true})
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      drawn.push(String(chunk))
      return true
    })
  })
  afterEach(() => {
    vi.restoreAllMocks()
    Object.defineProperty(process.stdout, 'isTTY', {value: wasTTY, configurable: true})
  })

  it('redraws migration lines, pod reasons, notes and warnings made visible', async () => {
    const printed: string[] = []
    const view = taskListView([{id: 'deploy', title: 'Chart'}], plain, (line) => printed.push(line))
    view.emit({type: 'step:start', step: 'deploy', title: 'Chart demo'})
    await vi.waitFor(() => expect(drawn.join('')).toContain('Chart demo'))
    view.emit({type: 'step:log', step: 'deploy', source: 'migrate', line: HOSTILE})
    view.emit({type: 'step:note', step: 'deploy', message: HOSTILE})
    view.emit({type: 'pod', step: 'deploy', pod: {name: 'api-1', status: 'Pending', reason: HOSTILE, ready: 0, total: 1, restarts: 0}})
    view.emit({type: 'warning', message: HOSTILE})
    // Wait for a redraw with the live lines under the step.
    await vi.waitFor(() => expect(drawn.join('')).toContain(`migrate: ${VISIBLE}`), {timeout: 5000})
    view.emit({type: 'step:end', step: 'deploy', status: 'failed', title: 'Chart demo', durationMs: 10, message: HOSTILE})
    await view.close()

    // The renderer's own cursor and colour codes aside, nothing raw reached the terminal.
    const screen = drawn
      .join('')
      .replaceAll(/\u001B\[[\d;]*[A-Za-z]/g, '')
      .replaceAll(/\u001B\[\?25[hl]/g, '')
    expect(screen).toContain(`✖ api-1  Pending (${VISIBLE})`)
    expect(screen).toContain(`› ${VISIBLE}`)
    expect(screen).not.toMatch(RAW_CONTROL)
    expect(printed).toEqual([`! ${VISIBLE}`])
  })
})
