/**
 * A shared cluster where devctl's account may act only in its own namespace (a Role and
 * RoleBinding there, nothing cluster-wide): every command works — up, upgrade, status, logs,
 * doctor, down — with the real helm, and what would need a cluster-scoped call degrades to
 * "not permitted" instead of failing.
 */
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {resultRecord} from '../helpers/cli.js'
import {output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'

async function useExistingCluster(dir: string, context: string): Promise<void> {
  const path = join(dir, 'devctl.yaml')
  const config = parse(await readFile(path, 'utf8')) as Record<string, unknown>
  config.cluster = {provider: 'existing', context}
  await writeFile(path, stringify(config))
}

describe.each([3, 4] as const)('a namespace-scoped account on a shared cluster, helm %i', (helmVersion) => {
  let env: TestEnvironment
  const as = (args: string[]) => env.devctl(args, {env: {USER: 'ann'}})
  beforeAll(async () => {
    env = await startEnvironment({helmVersion})
    await env.sim.createCluster('team')
    // The admin makes the namespace and a Role with what devctl needs in it, for ann only.
    await env.sim.createNamespaceUser('team', {user: 'ann', namespace: 'demo-ann'})
    await useExistingCluster(env.dir, 'ann@k3d-team')
  })
  afterAll(() => env.stop())

  it('up deploys Postgres, Redis and the chart into the namespace, using it as it is', async () => {
    const result = await as(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    const cluster = env.sim.cluster('team')!
    expect(
      cluster
        .list('apps/v1', 'StatefulSet', 'demo-ann')
        .map((s) => s.metadata.name)
        .sort(),
    ).toEqual(['devctl-postgres', 'devctl-redis'])
    expect(
      cluster
        .list('apps/v1', 'Deployment', 'demo-ann')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(['demo-web-worker', 'demo-web-worker-worker'])
    expect(output(result)).toMatch(/may not read namespace objects; using namespace demo-ann as it is/)
    // The namespace is the admin's: devctl changed nothing on it.
    expect(cluster.get('v1', 'Namespace', undefined, 'demo-ann')?.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined()
  })

  it('a second up is a no-op, and upgrade changes the release', async () => {
    expect((await as(['up'])).exitCode).toBe(0)
    const upgraded = await as(['upgrade', '--set', 'replicaCount=2', '--yes'])
    expect(upgraded.exitCode, output(upgraded)).toBe(0)
  })

  it('status shows everything in the namespace, and the nodes as not permitted', async () => {
    const result = await as(['status', '--json'])
    expect(result.exitCode, output(result)).toBe(0)
    const {result: status} = resultRecord<{cluster: {state: string}; conditions: Array<{type: string; status: string; reason: string}>; workloads: unknown[]}>(result.stdout)
    expect(status.cluster.state).toBe('running')
    expect(status.conditions.find((c) => c.type === 'ClusterReady')).toMatchObject({status: 'Unknown', reason: 'NodesNotPermitted'})
    expect(status.conditions.find((c) => c.type === 'ReleaseDeployed')).toMatchObject({status: 'True'})
    expect(status.workloads).toHaveLength(2)
  })

  it('logs reads every pod of the release', async () => {
    const result = await as(['logs', '--no-follow'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/Starting worker/)
  })

  it('doctor finds the context answering', async () => {
    const result = await as(['doctor', '--json'])
    const {result: report} = resultRecord<{checks: Array<{id: string; status: string}>}>(result.stdout)
    expect(report.checks.find((c) => c.id === 'kube-context')).toMatchObject({status: 'pass'})
  })

  it('down removes what devctl put there and leaves the namespace', async () => {
    const result = await as(['down'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/kept namespace demo-ann/)
    const cluster = env.sim.cluster('team')!
    expect(cluster.get('v1', 'Namespace', undefined, 'demo-ann')).toBeDefined()
    expect(cluster.list('apps/v1', 'StatefulSet', 'demo-ann')).toEqual([])
    expect(cluster.list('apps/v1', 'Deployment', 'demo-ann')).toEqual([])
  })
})
