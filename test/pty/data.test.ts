/**
 * The data commands at a terminal: `devctl db shell` is an interactive psql in the pod (a TTY
 * there: what is typed is echoed by the pod's terminal, Ctrl-C cancels a query and does not
 * stop devctl, \q leaves and the terminal is put back); `upgrade` asks whether to restore the
 * data if it fails before its live view starts, and does what was answered. Real Postgres and
 * Redis behind the simulator's pods; skipped, saying so, without them.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {consentToUpgrade, KEYS, startPty} from '../helpers/pty.js'
import {realServersAvailable} from '../sim/apiserver/backends.js'

const servers = realServersAvailable()
const withMigration = (script: string) => ({rules: [{match: {container: 'migrate'}, run: script}]})

describe.skipIf(!servers.available)(`the data commands at a terminal${servers.available ? '' : ` (skipped: needs ${servers.missing.join(' and ')})`}`, () => {
  let env: TestEnvironment

  beforeAll(async () => {
    env = await startEnvironment({scenario: withMigration('psql -X -q -c "CREATE TABLE IF NOT EXISTS jobs (id serial PRIMARY KEY, name text)"')})
    const up = await env.devctl(['up'])
    if (up.exitCode !== 0) throw new Error(`up failed:\n${output(up)}`)
    await env.devctl(['db', 'shell', '-X', '-q', '-c', "INSERT INTO jobs (name) VALUES ('kept')"])
  }, 180_000)

  afterAll(async () => {
    await env?.stop()
  })

  it('db shell is an interactive psql in the pod: a query answers, Ctrl-C cancels a slow one without stopping devctl, \\q leaves', async () => {
    const run = startPty(['db', 'shell', '-X'], {cwd: env.dir, env: env.sim.env, cols: 100})
    try {
      await run.waitFor('the psql prompt', (s) => s.has('demo=#'))
      run.press(`select name from jobs;${KEYS.enter}`)
      await run.waitFor('the answer', (s) => s.has(/^ kept$/) && s.has('(1 row)'))
      run.press(`select pg_sleep(60);${KEYS.enter}`)
      await run.waitFor('the slow query to run', (s) => s.has('select pg_sleep(60);'))
      run.press(KEYS.ctrlC)
      await run.waitFor('the query cancelled', (s) => s.has('canceling statement due to user request'))
      run.press(`\\q${KEYS.enter}`)
      const {exitCode} = await run.exited()
      expect(exitCode).toBe(0)
    } finally {
      run.kill()
    }
  }, 120_000)

  it('upgrade asks whether to restore the data before its live view starts, and restores it after a failed migration', async () => {
    await env.sim.setScenario(withMigration('psql -X -q -c "DROP TABLE jobs"; echo "migrate: 002 failed" >&2; exit 1'))
    const run = startPty(['upgrade', '--set', 'replicaCount=2'], {cwd: env.dir, env: env.sim.env, cols: 120})
    try {
      const asked = await consentToUpgrade(run)
      // Nothing of the apply phase had started: the questions come first.
      expect(asked.has('Snapshot auto-')).toBe(false)
      const {exitCode, screen} = await run.exited()
      expect(exitCode).toBe(7)
      expect(screen.has(/restored the database from snapshot auto-\d{8}-\d{6}, taken before the migration/)).toBe(true)
    } finally {
      run.kill()
    }
    expect((await env.devctl(['db', 'shell', '-X', '-At', '-c', 'select name from jobs'])).stdout.trim()).toBe('kept')
  }, 180_000)
})
