import {resolve} from 'node:path'

import {describe, expect, it} from 'vitest'

import {startSimulator} from '../index.js'
import {kubectl, run} from './testing.js'

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

  it('makes a namespace-scoped user with a kubeconfig context, and injects API faults through the daemon', async () => {
    const sim = await startSimulator({helmVersion: 3})
    try {
      await sim.createCluster('team')
      const ann = await sim.createNamespaceUser('team', {user: 'ann', namespace: 'demo-ann'})
      expect(ann.context).toBe('ann@k3d-team')
      const as = (...args: string[]) => run(sim, kubectl, ['--context', 'ann@k3d-team', ...args])
      expect(await as('auth', 'whoami')).toMatchObject({exitCode: 0, stdout: expect.stringMatching(/^Username\s+ann$/m)})
      expect((await as('auth', 'can-i', 'create', 'statefulsets.apps')).stdout).toBe('yes\n')
      expect((await as('auth', 'can-i', 'patch', 'namespace/demo-ann')).stdout).toBe('no\n')
      expect((await as('get', 'nodes')).stderr).toBe('Error from server (Forbidden): nodes is forbidden: User "ann" cannot list resource "nodes" in API group "" at the cluster scope\n')
      // The admin context k3d wrote still works, and is still the current one.
      expect((await run(sim, kubectl, ['auth', 'whoami'])).stdout).toMatch(/^Username\s+system:admin$/m)

      const fault = {type: 'api', cluster: 'team', fault: {kind: 'status', code: 503, retryAfterSeconds: 2, match: {verb: 'list', resource: 'pods'}}}
      expect((await fetch(`${sim.daemonUrl}/sim/v1/faults`, {method: 'POST', body: JSON.stringify(fault)})).status).toBe(200)
      const response = await fetch(`${sim.cluster('team')!.url}/api/v1/namespaces/demo-ann/pods`)
      expect({status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json()}).toEqual({
        status: 503,
        retryAfter: '2',
        body: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'the server is currently unable to handle the request',
          reason: 'ServiceUnavailable',
          details: {retryAfterSeconds: 2},
          code: 503,
        },
      })
      await sim.injectFault({type: 'clear-api-faults', cluster: 'team'})
      expect((await as('get', 'pods')).exitCode).toBe(0)
    } finally {
      await sim.stop()
    }
  })

  it('rejects a scenario that does not exist', async () => {
    await expect(startSimulator({helmVersion: 4, scenario: 'no-such-scenario'})).rejects.toThrow(/no scenario "no-such-scenario"/)
  })
})
