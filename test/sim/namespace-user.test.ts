/**
 * The namespace-scoped user of createNamespaceUser, driven by the real helm 3.17 and 4.1 and
 * kubectl through its HTTPS context: its Role is enough for a chart in its namespace, and
 * RBAC refuses it everywhere else with kube-apiserver's message.
 */
import {resolve} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from './index.js'
import {kubectl, run} from './host/testing.js'

const chart = resolve(import.meta.dirname, 'fixtures/charts/demo')
const tools = resolve(import.meta.dirname, '../../.tools')
let sim: Simulator

beforeAll(async () => {
  sim = await startSimulator({helmVersion: 3})
  await sim.createCluster('team')
  await sim.createNamespaceUser('team', {user: 'ann', namespace: 'demo-ann'})
})

afterAll(async () => {
  await sim.stop()
})

describe.each([3, 4])('the real helm %i as a namespace-scoped user', (major) => {
  const helm = (...args: string[]) => run(sim, `${tools}/helm${major}/helm`, ['--kube-context', 'ann@k3d-team', ...args])

  it('installs a chart in its namespace and is refused in another', async () => {
    const release = `demo${major}`
    const installed = await helm('upgrade', '--install', release, chart, '-n', 'demo-ann', '--set', 'migrations.enabled=false')
    expect(installed.stderr).toBe('')
    expect(installed.exitCode).toBe(0)
    expect(sim.cluster('team')?.get('apps/v1', 'Deployment', 'demo-ann', `${release}-web`)).toBeDefined()
    const elsewhere = await helm('list', '-n', 'default')
    expect(elsewhere.exitCode).toBe(1)
    expect(elsewhere.stderr).toBe('Error: list: failed to list: secrets is forbidden: User "ann" cannot list resource "secrets" in API group "" in the namespace "default"\n')
  })
})

it('kubectl as the user may read pods and their logs in its namespace, and create no namespace', async () => {
  const as = (...args: string[]) => run(sim, kubectl, ['--context', 'ann@k3d-team', ...args])
  expect((await as('get', 'pods', '-n', 'demo-ann')).exitCode).toBe(0)
  expect((await as('auth', 'can-i', 'get', 'pods', '--subresource=log')).stdout).toBe('yes\n')
  expect((await as('create', 'namespace', 'mine')).stderr).toBe(
    'Error from server (Forbidden): namespaces is forbidden: User "ann" cannot create resource "namespaces" in API group "" at the cluster scope\n',
  )
})
