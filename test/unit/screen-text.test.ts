/**
 * The small things people notice on screen: wrapping at the terminal's width on word
 * boundaries, plurals, human times, and a suggested port-forward that can really be used.
 */
import {createServer, type Server} from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {freeLocalPort} from '../../src/system/ports.js'
import {count} from '../../src/text.js'
import {timeAgo} from '../../src/ui/status-view.js'
import {terminalWidth, wrapLine, wrapText} from '../../src/ui/wrap.js'

describe('wrapping at the terminal width', () => {
  it('takes a terminal that reports 0 columns as 80, and does not wrap a pipe', () => {
    expect(terminalWidth({isTTY: true, columns: 0})).toBe(80)
    expect(terminalWidth({isTTY: true, columns: 60})).toBe(60)
    expect(terminalWidth({isTTY: false, columns: 60})).toBeUndefined()
    expect(wrapText('a '.repeat(100), undefined)).toBe('a '.repeat(100))
  })

  it('breaks on word boundaries, each continuation under the text it continues', () => {
    const line = '  ✔ Namespace demo, Secrets devctl-postgres, devctl-redis and a few more words (46ms)'
    const rows = wrapLine(line, 40).split('\n')
    expect(rows.every((row) => row.length <= 40)).toBe(true)
    expect(rows[0]).toBe('  ✔ Namespace demo, Secrets')
    expect(rows.slice(1).every((row) => row.startsWith('    ') && !row.startsWith('     '))).toBe(true)
    // Nothing lost, no word cut in two.
    expect(rows.map((row) => row.trim()).join(' ')).toBe(line.trim())
  })

  it('hangs continuation rows where asked, and keeps colours', () => {
    const rows = wrapLine(`● release    demo revision 2 \u001B[2mdeployed 3 min ago\u001B[22m, chart web-worker-0.1.0 (app 6.7.1)`, 50, 13).split('\n')
    expect(rows[1]).toMatch(/^ {13}\S/)
    expect(rows.join('\n')).toContain('\u001B[2m')
  })
})

describe('words', () => {
  it('counts without "(s)"', () => {
    expect(count(1, 'workload')).toBe('1 workload')
    expect(count(2, 'workload')).toBe('2 workloads')
    expect(count(0, 'value')).toBe('0 values')
  })

  it('says how long ago, as a person would', () => {
    const now = Date.parse('2025-01-01T12:00:00Z')
    expect(timeAgo('2025-01-01T11:59:58Z', now)).toBe('just now')
    expect(timeAgo('2025-01-01T11:59:30Z', now)).toBe('30 s ago')
    expect(timeAgo('2025-01-01T11:57:00Z', now)).toBe('3 min ago')
    expect(timeAgo('2025-01-01T09:00:00Z', now)).toBe('3 h ago')
    expect(timeAgo('2024-12-29T12:00:00Z', now)).toBe('3 days ago')
    expect(timeAgo(undefined, now)).toBe('')
  })
})

describe('a local port for a suggested port-forward', () => {
  let held: Server | undefined
  afterEach(() => held?.close())

  it('is not one the cluster maps, not one already suggested, and free now', async () => {
    held = createServer()
    const busy = await new Promise<number>((resolve) => held!.listen(0, '0.0.0.0', () => resolve((held!.address() as {port: number}).port)))
    // Busy right now: another one.
    expect(await freeLocalPort(busy, new Set())).not.toBe(busy)
    // Free, but the cluster maps it (or another service got it): another one.
    held.close()
    await new Promise((resolve) => held!.once('close', resolve))
    const chosen = await freeLocalPort(busy, new Set([busy]))
    expect(chosen).not.toBe(busy)
    expect(await freeLocalPort(busy, new Set([busy, chosen]))).not.toBe(chosen)
  })
})
