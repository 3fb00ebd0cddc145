/**
 * Ctrl-C at a terminal, at every step of `up` and `upgrade`: devctl (and whatever it runs in the
 * terminal's process group) gets SIGINT from the terminal itself, as it does for a person. Each
 * step is held open (a slow hook, pull, migration or readiness) so the key lands in it, however
 * slow the machine. Every time: exit 130, no process of devctl's left, no helm command killed
 * mid-flight, no `pending-*` release, and the next `up` succeeds.
 */
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import {helmDeploys, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {consentToUpgrade, devctlInTerminal, endTerminalTest, expectNoProcessesLeft, KEYS, showsRunning, type PtyRun, type Screen} from '../helpers/pty.js'
import type {SimulatorOptions} from '../sim/index.js'

const TEST_TIMEOUT_MS = 240_000

let env: TestEnvironment | undefined
let run: PtyRun | undefined
afterEach(() => endTerminalTest(run, env).finally(() => (run = env = undefined)))

type Hooks = Partial<Record<'prerequisites' | 'beforeDeploy' | 'afterDeploy' | 'validate', string[]>>

interface Config {
  hooks?: Hooks
  app: Record<string, unknown>
}

async function editConfig(dir: string, edit: (config: Config) => void): Promise<void> {
  const path = join(dir, 'devctl.yaml')
  const config = parse(await readFile(path, 'utf8')) as Config
  edit(config)
  await writeFile(path, stringify(config))
}

function helmReleases(env: TestEnvironment): Array<{revision: number; status: string}> {
  return (env.sim.cluster('demo')?.list('v1', 'Secret', 'demo') ?? [])
    .filter((s) => s.metadata.labels?.owner === 'helm')
    .map((s) => ({revision: Number(s.metadata.labels?.version), status: s.metadata.labels?.status ?? ''}))
    .sort((a, b) => a.revision - b.revision)
}

/** A hook that holds its step until Ctrl-C (the terminal's SIGINT reaches it too). */
const HOLD = 'echo holding; exec sleep 600'
/** The HOLD hook runs: the list may show a step as running a moment before its work starts (the lock, say). */
const holding = (s: Screen) => s.has('│ hook: holding')
/**
 * Simulated time: a migration helm waits on for 10 s of real time at the tests' time factor
 * (helm's timeout and the Job's deadline raised to match), long enough to press Ctrl-C while helm runs.
 */
const SLOW_MIGRATION = {match: {container: '*migrat*'}, behavior: 'complete', runFor: '1000s'}
const LONG_DEPLOY = {timeouts: {deploy: '60m'}, set: {'migrations.activeDeadlineSeconds': 6000}}

interface Case {
  step: string
  sim?: Partial<SimulatorOptions>
  hooks?: Hooks
  /** Settings under app: in devctl.yaml. */
  app?: Record<string, unknown>
  /** Brought up (piped) before the terminal run. */
  upFirst?: boolean
  /** Scenario set after the first `up`, for the terminal run. */
  scenario?: object
  args: string[]
  /** Where to press Ctrl-C: the screen shows it (and the simulator agrees). */
  when: (screen: Screen, env: TestEnvironment) => boolean
  /** helm is in flight when the key comes, and is let finish. */
  lettingHelmFinish?: boolean
  /** Answer the consent prompt before waiting for `when`. */
  consent?: boolean
  /** What the last screen shows about where it stopped. */
  stoppedAt?: RegExp
}

const helmRunning = (env: TestEnvironment, verb: string) => env.sim.commands('helm').some((c) => c.argv[0] === verb && !c.argv.some((arg) => arg.startsWith('--dry-run')) && !c.endedAt)
/** The step's row shows it running or done (before it starts, the list shows its title too). */
const reached = (s: Screen, title: string) => showsRunning(s, title) || s.has(`✔ ${title}`)

const UP_CASES: Case[] = [
  {step: 'Prerequisites (a prerequisites hook)', hooks: {prerequisites: [HOLD]}, args: ['up'], when: (s) => showsRunning(s, 'Prerequisites') && holding(s), stoppedAt: /✖ Prerequisites/},
  {
    step: 'Cluster (k3d cluster create)',
    sim: {timeFactor: 1},
    args: ['up'],
    when: (s, e) => showsRunning(s, 'Cluster demo') && e.sim.commands('k3d').some((c) => c.argv[1] === 'create'),
    stoppedAt: /✖ Cluster demo/,
  },
  // Creating the namespace and Secrets takes a few API calls: the key lands there or, at the latest, in the slow Postgres pull after it.
  {
    step: 'Namespace and Secrets',
    sim: {scenario: {rules: [{match: {image: 'postgres:*'}, pull: '600s'}]}},
    args: ['up'],
    when: (s) => reached(s, 'Namespace demo'),
    stoppedAt: /[✖↓] (Namespace|Postgres)/,
  },
  {
    step: 'Postgres and Redis (slow pulls)',
    sim: {
      scenario: {
        rules: [
          {match: {image: 'postgres:*'}, pull: '600s'},
          {match: {image: 'redis:*'}, pull: '600s'},
        ],
      },
    },
    args: ['up'],
    when: (s) => showsRunning(s, 'Postgres') && showsRunning(s, 'Redis'),
    stoppedAt: /✖ Postgres/,
  },
  {step: 'Chart: what changed (helm template), before deploy', hooks: {beforeDeploy: [HOLD]}, args: ['up'], when: (s) => reached(s, 'Chart demo'), stoppedAt: /✖ (Chart demo|helm upgrade)/},
  {
    step: 'Deploy, before helm runs (a beforeDeploy hook)',
    hooks: {beforeDeploy: [HOLD]},
    args: ['up'],
    when: (s) => showsRunning(s, 'helm upgrade --install demo') && holding(s),
    stoppedAt: /✖ helm upgrade --install demo/,
  },
  {
    step: 'Deploy: helm upgrade --install in flight (first install)',
    sim: {scenario: {rules: [SLOW_MIGRATION]}},
    app: LONG_DEPLOY,
    args: ['up'],
    when: (s, e) => showsRunning(s, 'Migration') && helmRunning(e, 'upgrade'),
    stoppedAt: /✔ helm upgrade --install demo: done/,
    lettingHelmFinish: true,
  },
  {
    step: 'Deploy: helm upgrade --install in flight (up --force)',
    upFirst: true,
    scenario: {rules: [SLOW_MIGRATION]},
    app: LONG_DEPLOY,
    args: ['up', '--force'],
    when: (s, e) => showsRunning(s, 'Migration') && helmRunning(e, 'upgrade'),
    stoppedAt: /✔ helm upgrade --install demo: done/,
    lettingHelmFinish: true,
  },
  {
    step: 'Deploy, after helm (an afterDeploy hook)',
    hooks: {afterDeploy: [HOLD]},
    args: ['up'],
    when: (s, e) => showsRunning(s, 'helm upgrade --install demo') && helmDeploys(e.sim).some((c) => c.endedAt) && holding(s),
    stoppedAt: /✖ helm upgrade --install demo/,
  },
  {
    step: 'Rollout (pods slow to be ready)',
    sim: {scenario: {rules: [{match: {labelSelector: 'app.kubernetes.io/component=api'}, ready: '600s'}]}},
    args: ['up'],
    when: (s) => showsRunning(s, 'Rollout'),
    stoppedAt: /✖ Rollout/,
  },
  {step: 'Validate (a validate hook)', hooks: {validate: [HOLD]}, args: ['up'], when: (s) => showsRunning(s, 'Validate') && holding(s), stoppedAt: /✖ Validate/},
]

const UPGRADE = ['upgrade', '--set', 'replicaCount=2']
const UPGRADE_CASES: Case[] = [
  {
    step: 'Prerequisites (a prerequisites hook)',
    upFirst: true,
    hooks: {prerequisites: [HOLD]},
    args: UPGRADE,
    when: (s) => showsRunning(s, 'Prerequisites') && holding(s),
    stoppedAt: /✖ Prerequisites/,
  },
  {step: 'the consent prompt', upFirst: true, args: UPGRADE, when: (s) => s.has(/Upgrade demo now\?/)},
  {
    step: 'Deploy: helm upgrade in flight',
    upFirst: true,
    scenario: {rules: [SLOW_MIGRATION]},
    app: LONG_DEPLOY,
    args: UPGRADE,
    consent: true,
    when: (s, e) => showsRunning(s, 'Migration') && helmRunning(e, 'upgrade'),
    stoppedAt: /✔ helm upgrade --install demo: done/,
    lettingHelmFinish: true,
  },
  {
    step: 'Rollout (new pods slow to be ready)',
    upFirst: true,
    scenario: {rules: [{match: {labelSelector: 'app.kubernetes.io/component=api'}, ready: '600s'}]},
    args: UPGRADE,
    consent: true,
    when: (s) => showsRunning(s, 'Rollout'),
    stoppedAt: /✖ Rollout/,
  },
]

async function interruptAt(c: Case): Promise<void> {
  env = await startEnvironment(c.sim)
  const sim = env.sim
  if (c.upFirst) {
    const first = await env.devctl(['up', '--quiet'])
    expect(first.exitCode, first.stderr).toBe(0)
  }
  if (c.scenario) await sim.setScenario(c.scenario)
  await editConfig(env.dir, (config) => {
    config.hooks = c.hooks
    Object.assign(config.app, c.app)
  })

  const started = env
  run = devctlInTerminal(env, c.args)
  if (c.consent) await consentToUpgrade(run)
  await run.waitFor(`devctl at ${c.step}`, (s) => c.when(s, started))
  run.press(KEYS.ctrlC)
  // While helm is let finish, the list says so at once (the notice used to appear only once
  // everything had ended). Other steps stop at once: their notice may be gone before it is seen.
  if (c.lettingHelmFinish) await run.waitFor('the stopping notice', (s) => s.has('Stopping… (press Ctrl-C again to force)'))
  const {exitCode, screen} = await run.exited()
  const shown = `--- last screen ---\n${screen.text}`

  expect(exitCode, shown).toBe(130)
  if (c.stoppedAt) expect(screen.text, shown).toMatch(c.stoppedAt)
  expect(screen.text, shown).not.toMatch(/\n\s+at /)
  await expectNoProcessesLeft('DEVCTL_SIM_DAEMON', sim.daemonUrl)
  // Every tool devctl started ran to its end: none was killed mid-flight (that leaves a release pending).
  expect(sim.commands().filter((command) => !command.endedAt || (command.outcome && 'abandoned' in command.outcome))).toEqual([])
  expect(helmReleases(env).filter((r) => r.status.startsWith('pending-'))).toEqual([])

  await editConfig(env.dir, (config) => {
    delete config.hooks
  })
  await sim.setScenario('happy')
  const next = await env.devctl(['up', '--quiet'])
  expect(next.exitCode, next.stderr).toBe(0)
  expect(helmReleases(env).at(-1)?.status).toBe('deployed')
}

describe('Ctrl-C in a terminal during devctl up', () => {
  it.each(UP_CASES.map((c) => [c.step, c] as const))('at %s: exit 130, nothing left running or pending, the next up works', async (_step, c) => interruptAt(c), TEST_TIMEOUT_MS)
})

describe('Ctrl-C in a terminal during devctl upgrade', () => {
  it.each(UPGRADE_CASES.map((c) => [c.step, c] as const))('at %s: exit 130, nothing left running or pending, the next up works', async (_step, c) => interruptAt(c), TEST_TIMEOUT_MS)
})
