/**
 * What a person sees of `up` and `upgrade` in a terminal, at 120 and 60 columns: the live task
 * list while it runs and when it is done, a failing `up`, and `upgrade` with its consent prompt.
 * Assertions are on the screen's rows (after redraws and wrapping), never on the byte stream.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {helmDeploys, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {consentToUpgrade, devctlInTerminal, endTerminalTest, KEYS, showsRunning, type PtyRun, type Screen} from '../helpers/pty.js'

const TEST_TIMEOUT_MS = 180_000

let env: TestEnvironment | undefined
let run: PtyRun | undefined
afterEach(() => endTerminalTest(run, env).finally(() => (run = env = undefined)))

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
  it(
    'draws the live task list while it runs, and every step done with its pods at the end',
    async () => {
      // Slow enough readiness to see the rollout live (the pods it waits for used to appear only at its end).
      env = await startEnvironment({scenario: {rules: [{match: {labelSelector: 'app.kubernetes.io/component=api'}, ready: '300s'}]}})
      run = devctlInTerminal(env, ['up'], {cols})
      const live = await run.waitFor(
        'the rollout running, with its pods',
        (s) => showsRunning(s, 'Rollout') && stepRows(s, /Rollout/).some((row) => /^ {4}… demo-web-worker-\w+-\w+ +Running \(NotReady\)/.test(row)),
      )
      // Done steps above, pending ones below, one spinner per running step.
      expectShows(live, /^✔ Prerequisites: helm 3\.17\.\d+, k3d 5\.\d+\.\d+ \(\d/)
      expectShows(live, /^✔ Cluster demo created \(/)
      expectShows(live, /^◼ Validate$/)
      expectFitted(live)

      const {exitCode, screen} = await run.exited()
      expect(exitCode, screen.text).toBe(0)
      for (const step of [
        /^✔ Prerequisites/,
        /^✔ Cluster demo created/,
        /^✔ Namespace demo, Secrets/,
        /^✔ Postgres and Redis/,
        /^ {2}✔ Postgres ready/,
        /^ {2}✔ Redis ready/,
        /^✔ Chart demo: first install/,
        /^✔ Deploy demo/,
        /^✔ Rollout: 2 workloads ready/,
        /^✔ Validate/,
      ])
        expectShows(screen, step)
      // The migration's log streamed under its step while it ran; at the end its pods are listed, each with a mark.
      expect(
        stepRows(screen, /^✔ Rollout/)
          .slice(1)
          .every((row) => /^ {4}✔ demo-web-worker-/.test(row) || /^ {6,}\S/.test(row)),
      ).toBe(true)
      expectShows(screen, /^✔ demo is up in \S+ — cluster demo \(created\), namespace demo\./m, true)
      // The summary's pods (the current revision's) in aligned columns, each with its mark.
      const running = screen.rows.slice(screen.find(/^Pods:$/) + 1).filter((row) => /^ {2}✔ demo-web-worker-/.test(row))
      expect(running).toHaveLength(2)
      if (cols === 120) expect(new Set(running.map((row) => row.indexOf('Running'))).size).toBe(1)
      expect(screen.text).not.toMatch(/\(s\)/)
      expectFitted(screen)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'a failing up: the step that failed, why, what to do, and its exit code',
    async () => {
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
    },
    TEST_TIMEOUT_MS,
  )
})

/** The row where `pattern` first shows, failing with the screen when it does not. */
function rowOf(screen: Screen, pattern: RegExp): number {
  const row = screen.find(pattern)
  expect(row, `${pattern} is not on the screen:\n${screen.text}`).toBeGreaterThanOrEqual(0)
  return row
}

/** The rows showing `patterns` come in this order, top to bottom. */
function expectInOrder(screen: Screen, patterns: RegExp[]): void {
  const rows = patterns.map((pattern) => rowOf(screen, pattern))
  expect(rows, screen.text).toEqual([...rows].sort((a, b) => a - b))
}

/** An environment brought up (piped), then, for what runs next, `scenario`. */
async function upFirst(scenario?: string): Promise<TestEnvironment> {
  const started = await startEnvironment()
  env = started
  const up = await started.devctl(['up', '--quiet'])
  expect(up.exitCode, up.stderr).toBe(0)
  if (scenario) await started.sim.setScenario(scenario)
  return started
}

/** A timestamped line of the plain view ("[ 1.2s] ▸ ..."): the live list shows none. */
const PLAIN_LINE = /^\[ *\d/

describe.each([120, 60])('upgrade at %i columns', (cols) => {
  it(
    'is one view: the plan steps as the live list, the plan and the question under them, then the steps that apply; Ctrl-C at the question changes nothing',
    async () => {
      env = await upFirst()

      run = devctlInTerminal(env, ['upgrade', '--set', 'replicaCount=2'], {cols})
      const asked = await run.waitFor('the consent question', (s) => s.has(/Upgrade demo now\? \(Y\/n\)/))
      expectInOrder(asked, [
        /^✔ Prerequisites: helm 3\.17\.\d+, k3d/,
        /^✔ Cluster demo: connected \(/,
        /^✔ Upgrade demo: 1 value changed \(/,
        /^Upgrade of demo \(revision 1 → 2\)/,
        /^ {2}replicaCount: 1 → 2$/,
        /Upgrade demo now\? \(Y\/n\)/,
      ])
      expect(
        asked.rows.filter((row) => PLAIN_LINE.test(row)),
        asked.text,
      ).toEqual([])
      expectFitted(asked)
      run.press(KEYS.ctrlC)
      const stopped = await run.exited()
      expect(stopped.exitCode).toBe(130)
      expect(helmDeploys(env.sim)).toHaveLength(1)

      run = devctlInTerminal(env, ['upgrade', '--set', 'replicaCount=2'], {cols})
      await consentToUpgrade(run)
      const {exitCode, screen} = await run.exited()
      expect(exitCode, screen.text).toBe(0)
      expectInOrder(screen, [
        /^✔ Prerequisites/,
        /^✔ Upgrade demo: 1 value changed/,
        /^Upgrade of demo \(revision 1 → 2\)/,
        /^✔ Upgrade demo now\? Yes$/,
        /^✔ Namespace demo/,
        /^✔ Deploy demo$/,
        /^ {2}✔ helm upgrade --install demo: done/,
        /^ {2}✔ Migration \(hook Job demo-web-worker-migrate/,
        /^✔ Rollout: 2 workloads ready/,
        /^✔ demo upgraded in /,
      ])
      // Only the steps that apply: nothing was stuck, no breaking version, no --image-tag.
      expect(screen.text).not.toMatch(/Recover|Uninstall|Save --image-tag|Roll back/)
      expect(
        screen.rows.filter((row) => PLAIN_LINE.test(row)),
        screen.text,
      ).toEqual([])
      expect(screen.text).not.toMatch(/\(s\)/)
      expectFitted(screen)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'a failed upgrade: the rollout ✖, then the rollback and its check as steps of their own, then why',
    async () => {
      env = await upFirst('image-pull-error')

      run = devctlInTerminal(env, ['upgrade', '--set', 'replicaCount=2', '--timeout', '20s', '--yes'], {cols})
      const {exitCode, screen} = await run.exited()
      expect(exitCode, screen.text).toBe(8)
      expectInOrder(screen, [
        /^✔ Upgrade demo: 1 value changed/,
        /^✔ Deploy demo$/,
        /^✖ Rollout \(/,
        // The kubelet reports ErrImagePull first, then ImagePullBackOff: the rollout fails fast on either.
        /^ {4}✖ demo-web-worker-\w+-\w+ +(ImagePullBackOff|ErrImagePull)/,
        /^✔ Rolled back demo to revision 1 \(/,
        /^✔ Revision 1 is running again: 2 workloads ready \(/,
        /^Error: Pod demo-web-worker-\w+-\w+ is failing:/,
      ])
      expectShows(screen, /rolled back to revision 1 and verified: every workload is ready again\./, true)
      // What to do, with what devctl knows filled in, and the exact command to run again.
      expectShows(screen, /what to do: check the image name and tag in your values; for a local image run `k3d image import ghcr\.io\/stefanprodan\/podinfo:6\.7\.1 -c demo`/, true)
      expectShows(screen, /^→ Fix the cause shown above, then run `devctl upgrade --set replicaCount=2 --timeout 20s --yes` again\.$/m, true)
      expect(screen.text).not.toMatch(/✔ Rollout/)
      expect(screen.text).not.toMatch(/\n\s+at /)
      expectFitted(screen)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'a failed migration: ✖ for it and its group (not ⚠), the rollout not run, then the rollback',
    async () => {
      env = await upFirst('migration-fails')

      run = devctlInTerminal(env, ['upgrade', '--set', 'replicaCount=2', '--yes'], {cols})
      const {exitCode, screen} = await run.exited()
      expect(exitCode, screen.text).toBe(7)
      expectInOrder(screen, [
        /^✖ Deploy demo$/,
        /^ {2}✖ Migration: hook Job demo-web-worker-migrate/,
        /^◼ Rollout$/,
        /^✔ Rolled back demo to revision 1 \(/,
        /^✔ Revision 1 is running again/,
        /^Error: The migration Job demo-web-worker-migrate failed/,
      ])
      expect(screen.text).not.toMatch(/⚠|✔ Rollout/)
      expectFitted(screen)
    },
    TEST_TIMEOUT_MS,
  )
})
