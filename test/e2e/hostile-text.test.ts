/**
 * Text from the cluster is untrusted: a pod whose logs, status message and events carry terminal
 * control sequences (OSC 52 clipboard, OSC 0 title, OSC 8 link, clear screen, bare CR, C1 CSI)
 * must reach the user's terminal with those sequences made visible, through every command that
 * shows cluster text — and `--json` keeps them as data.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {resultRecord} from '../helpers/cli.js'

const SEQUENCES = {
  clipboard: '\u001B]52;c;aGFja2Vk\u0007',
  title: '\u001B]0;pwned\u0007',
  link: '\u001B]8;;https://evil.example/\u001B\\click\u001B]8;;\u001B\\',
  clear: '\u001B[2J',
  overwrite: 'all good\roverwritten',
  c1: '\u009B31mred',
  backspace: 'x\b',
}
const HOSTILE = Object.values(SEQUENCES).join(' ')
// How each one looks once neutralised (as `cat -v` shows it).
const VISIBLE = ['^[]52;c;aGFja2Vk^G', '^[]0;pwned^G', '^[]8;;https://evil.example/^[\\click^[]8;;^[\\', '^[[2J', 'all good^Moverwritten', 'M-^[31mred', 'x^H']

// Any control character but tab and newline, or a CR not ending a line, that reached the output.
const RAW_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\r(?!\n)/

function expectNeutralised(text: string): void {
  const raw = RAW_CONTROL.exec(text)
  expect(raw, raw ? `raw U+${raw[0].charCodeAt(0).toString(16).padStart(4, '0')} near ${JSON.stringify(text.slice(Math.max(0, raw.index - 40), raw.index + 40))}` : '').toBeNull()
}

const scenario = {
  rules: [
    // The migration prints it (shown live under the migration step of `up`).
    {match: {container: 'migrate'}, logs: {lines: [`migrating ${HOSTILE}`]}},
    {match: {labels: {'app.kubernetes.io/component': 'worker'}}, logs: {lines: [`worker says ${HOSTILE}`]}},
    // The registry answers with it: the pod's status message and its events.
    {match: {labels: {'app.kubernetes.io/component': 'api'}}, behavior: 'imagePullError', imagePullMessage: `manifest unknown ${HOSTILE}`},
  ],
}

describe('hostile text from the cluster', () => {
  let env: TestEnvironment
  let up: Awaited<ReturnType<TestEnvironment['devctl']>>
  beforeAll(async () => {
    env = await startEnvironment({scenario})
    up = await env.devctl(['up'])
  })
  afterAll(() => env?.stop())

  it('up (plain lines and the error explanation) shows the sequences, never sends them', () => {
    expect(up.exitCode, up.stderr).toBe(8)
    // The migration's line on its step, the pod message and the events.
    expect(up.stdout).toContain(`migrating ${VISIBLE.join(' ')}`)
    expect(up.stderr).toContain(`manifest unknown ${VISIBLE.join(' ')}`)
    // Each fact once: the kubelet's event that repeats the pod's message is not shown again.
    expect(up.stderr.split(`manifest unknown ${VISIBLE.join(' ')}`)).toHaveLength(2)
    expectNeutralised(up.stdout)
    expectNeutralised(up.stderr)
  })

  it('logs, with and without --events, shows them; --json keeps them as data', async () => {
    const logs = await env.devctl(['logs', '--no-follow', '--events'])
    expect(logs.exitCode, logs.stderr).toBe(0)
    expect(logs.stdout).toContain(`worker says ${VISIBLE.join(' ')}`)
    expect(logs.stdout).toMatch(/\[event\] Warning Failed: Failed to pull image .*manifest unknown \^\[\]52;c;aGFja2Vk\^G/)
    expectNeutralised(logs.stdout)
    expectNeutralised(logs.stderr)

    const json = await env.devctl(['logs', '--no-follow', '--events', '--json'])
    expect(json.exitCode, json.stderr).toBe(0)
    expectNeutralised(json.stdout)
    const messages = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as {type: string; message: string})
      .filter((record) => record.type === 'log')
      .map((record) => record.message)
    expect(messages).toContain(`worker says ${HOSTILE}`)
    expect(messages.some((message) => message.endsWith(`manifest unknown ${HOSTILE}`))).toBe(true)
  })

  it('status shows the pod message made visible; --json keeps it as data', async () => {
    const status = await env.devctl(['status'])
    expect(status.exitCode, status.stderr).toBe(0)
    expect(status.stdout).toContain(`manifest unknown ${VISIBLE.join(' ')}`)
    expectNeutralised(status.stdout)

    const json = await env.devctl(['status', '--json'])
    expectNeutralised(json.stdout)
    const {result} = resultRecord<{conditions: Array<{type: string; message: string}>}>(json.stdout)
    expect(result.conditions.find((c) => c.type === 'WorkloadsReady')?.message).toContain(`manifest unknown ${HOSTILE}`)
  })
})

describe('hostile last words of a crashed container', () => {
  let env: TestEnvironment | undefined
  afterAll(() => env?.stop())

  it('are shown made visible in the explanation of the crash loop', async () => {
    env = await startEnvironment({scenario: {rules: [{match: {labels: {'app.kubernetes.io/component': 'api'}}, behavior: 'crashLoop', logs: {lines: [`api says ${HOSTILE}`]}}]}})
    const up = await env.devctl(['up'])
    expect(up.exitCode, up.stderr).toBe(8)
    expect(up.stderr).toContain(`| api says ${VISIBLE.join(' ')}`)
    expectNeutralised(up.stdout)
    expectNeutralised(up.stderr)
  })
})
