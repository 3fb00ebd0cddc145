import {resolve} from 'node:path'

import {describe, expect, it} from 'vitest'

import {startSimulator} from '../index.js'
import {run} from './testing.js'

const chart = resolve(import.meta.dirname, '../fixtures/charts/demo')

describe('startSimulator', () => {
  it('loads a named scenario, switches scenarios, and frees everything on stop', async () => {
    const sim = await startSimulator({helmVersion: 3, scenario: 'migration-fails'})
    const api = await sim.createCluster('demo')
    const failed = await run(sim, 'helm', ['install', 'first', chart])
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr).toContain('job first-migrate failed: BackoffLimitExceeded')

    await sim.setScenario('happy')
    expect((await run(sim, 'helm', ['install', 'second', chart])).exitCode).toBe(0)

    const state = (await (await fetch(`${sim.daemonUrl}/sim/v1/state`)).json()) as {clusters: Array<{name: string; running: boolean; apiPort: number}>}
    expect(state.clusters).toEqual([expect.objectContaining({name: 'demo', running: true, apiPort: api.port})])

    await sim.stop()
    await expect(fetch(`${api.url}/version`)).rejects.toThrow()
    await expect(fetch(`${sim.daemonUrl}/sim/v1/state`)).rejects.toThrow()
  })

  it('takes faults and lists commands over its control endpoints', async () => {
    const sim = await startSimulator({helmVersion: 4})
    try {
      const posted = await fetch(`${sim.daemonUrl}/sim/v1/faults`, {method: 'POST', body: JSON.stringify({type: 'docker-stopped'})})
      expect(((await posted.json()) as {docker: {running: boolean}}).docker.running).toBe(false)
      expect((await run(sim, 'docker', ['info'])).exitCode).toBe(1)
      const commands = (await (await fetch(`${sim.daemonUrl}/sim/v1/commands?tool=docker`)).json()) as Array<{tool: string; argv: string[]; outcome: unknown}>
      expect(commands).toEqual([expect.objectContaining({tool: 'docker', argv: ['info'], outcome: {exit: 1}})])
      expect((await fetch(`${sim.daemonUrl}/sim/v1/faults`, {method: 'POST', body: JSON.stringify({type: 'no-such-fault'})})).status).toBe(400)
    } finally {
      await sim.stop()
    }
  })

  it('rejects a scenario that does not exist', async () => {
    await expect(startSimulator({helmVersion: 4, scenario: 'no-such-scenario'})).rejects.toThrow(/no scenario "no-such-scenario"/)
  })
})
