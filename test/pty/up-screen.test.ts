/**
 * What a person sees of `up` and `upgrade` in a terminal, at 120 and 60 columns: the live task
 * list while it runs and when it is done, a failing `up`, and `upgrade` with its consent prompt.
 * Assertions are on the screen's rows (after redraws and wrapping), never on the byte stream.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {consentToUpgrade, devctlInTerminal, KEYS, showsRunning, type PtyRun, type Screen} from '../helpers/pty.js'

const TEST_TIMEOUT_MS = 180_000

let env: TestEnvironment | undefined
let run: PtyRun | undefined
afterEach(async () => {
  run?.kill()
  run = undefined
  await env?.stop()
  env = undefined
})

/** The terminal never had to break a row itself: devctl fitted every line to the width. */
function expectFitted(screen: Screen): void {
  expect(screen.overflowing, screen.text).toEqual([])
}

/** Some row (or, with `joined`, the text with wrapped rows joined back) shows `pattern`; the screen on failure. */
function expectShows(screen: Screen, pattern: RegExp, joined = false): void {
  const found = joined ? pattern.test(screen.text.replace(/\n +/g, ' ')) : screen.has(pattern)
  expect(found, `${pattern} is not on the screen:\n${screen.text}`).toBe(true)
}

/** The rows of one step: its title row and the rows indented under it, up to the next step. */
function stepRows(screen: Screen, title: RegExp): string[] {
  const start = screen.rows.findIndex((row) => title.test(row))
  if (start < 0) throw new Error(`no step ${title} on screen:\n${screen.text}`)
  const indent = /^ */.exec(screen.rows[start]!)![0].length
  const end = screen.rows.findIndex((row, index) => index > start && (/^ */.exec(row)![0].length <= indent || row === ''))
  return screen.rows.slice(start, end < 0 ? undefined : end)
}

describe.each([120, 60])('up at %i columns', (cols) => {
  it('draws the live task list while it runs, and every step done with its pods at the end', async () => {
    // Slow enough readiness to see the rollout live (the pods it waits for used to appear only at its end).
    env = await startEnvironment({scenario: {rules: [{match: {labelSelector: 'app.kubernetes.io/component=api'}, ready: '300s'}]}})
    run = devctlInTerminal(env, ['up'], {cols})
    const live = await run.waitFor('the rollout running, with its pods', (s) => showsRunning(s, 'Rollout') && stepRows(s, /Rollout/).some((row) => /^ {4}… demo-web-worker-\w+-\w+ +Running \(NotReady\)/.test(row)))
    // Done steps above, pending ones below, one spinner per running step.
    expectShows(live, /^✔ Prerequisites: helm 3\.17\.\d+, k3d 5\.\d+\.\d+ \(\d/)
    expectShows(live, /^✔ Cluster demo created \(/)
    expectShows(live, /^◼ Validate$/)
    expectFitted(live)

    const {exitCode, screen} = await run.exited()
    expect(exitCode, screen.text).toBe(0)
    for (const step of [/^✔ Prerequisites/, /^✔ Cluster demo created/, /^✔ Namespace demo, Secrets/, /^✔ Postgres and Redis/, /^ {2}✔ Postgres ready/, /^ {2}✔ Redis ready/, /^✔ Chart demo: first install/, /^✔ Deploy demo/, /^✔ Rollout: 2 workloads ready/, /^✔ Validate/]) expectShows(screen, step)
    // The migration's log streamed under its step while it ran; at the end its pods are listed, each with a mark.
    expect(stepRows(screen, /^✔ Rollout/).slice(1).every((row) => /^ {4}✔ demo-web-worker-/.test(row) || /^ {6,}\S/.test(row))).toBe(true)
    expectShows(screen, /^✔ demo is up in \S+ — cluster demo \(created\), namespace demo\./m, true)
    // The summary's pods in aligned columns.
    const running = screen.rows.slice(screen.find(/^Running:$/) + 1).filter((row) => /^ {2}demo-web-worker-/.test(row))
    expect(running).toHaveLength(2)
    if (cols === 120) expect(new Set(running.map((row) => row.indexOf('Running'))).size).toBe(1)
    expect(screen.text).not.toMatch(/\(s\)/)
    expectFitted(screen)
  }, TEST_TIMEOUT_MS)

  it('a failing up: the step that failed, why, what to do, and its exit code', async () => {
    env = await startEnvironment({scenario: 'image-pull-error'})
    run = devctlInTerminal(env, ['up', '--timeout', '20s'], {cols})
    const {exitCode, screen} = await run.exited()
    expect(exitCode, screen.text).toBe(8)
    expectShows(screen, /^✖ Rollout/)
    expectShows(screen, /^[◼↓] Validate/)
    expectShows(screen, /^Error: /)
    expect(screen.text.replace(/\n +/g, ' ')).toMatch(/ImagePullBackOff|ErrImagePull/)
    expectShows(screen, /what to do: check the image name and tag in your values/, true)
    expect(screen.text).not.toMatch(/\n\s+at /)
    expectFitted(screen)
  }, TEST_TIMEOUT_MS)
})

describe.each([120, 60])('upgrade at %i columns', (cols) => {
  it('shows the change, asks, and upgrades on yes; Ctrl-C at the question changes nothing', async () => {
    env = await startEnvironment()
    const up = await env.devctl(['up', '--quiet'])
    expect(up.exitCode, up.stderr).toBe(0)

    run = devctlInTerminal(env, ['upgrade', '--set', 'replicaCount=2'], {cols})
    const asked = await run.waitFor('the consent question', (s) => s.has(/Upgrade demo now\? \(Y\/n\)/))
    expectShows(asked, /^Upgrade of demo \(revision 1 → 2\): chart, values or settings changed/m, true)
    expectShows(asked, /^ {2}\+ replicaCount: 2$/)
    run.press(KEYS.ctrlC)
    const stopped = await run.exited()
    expect(stopped.exitCode).toBe(130)
    expect(env.sim.commands('helm').filter((c) => c.argv[0] === 'upgrade')).toHaveLength(1)

    run = devctlInTerminal(env, ['upgrade', '--set', 'replicaCount=2'], {cols})
    await consentToUpgrade(run)
    const {exitCode, screen} = await run.exited()
    expect(exitCode, screen.text).toBe(0)
    expectShows(screen, /^✔ Upgrade demo now\? Yes$/)
    expectShows(screen, /^✔ Rollout: 2 workloads ready/)
    expectShows(screen, /^✔ demo upgraded in /)
    expect(screen.text).not.toMatch(/\(s\)/)
    expectFitted(screen)
  }, TEST_TIMEOUT_MS)
})
