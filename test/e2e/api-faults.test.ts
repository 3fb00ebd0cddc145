/**
 * The built CLI against a simulated cluster whose API refuses, fails or stalls (faults injected
 * into the simulator): a refusal (401, 403) ends `up`, `logs` and `status` at once with who was
 * refused what and the rule that would allow it (exit 5); a busy API (429, 5xx with
 * Retry-After) is waited out, and `up` says so on the step. Also a namespace-scoped user of a
 * shared cluster reading logs, with and without the right to.
 */
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import {output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {devctlNamespaceRules} from '../sim/namespace-user.js'
import type {ApiFault} from '../sim/apiserver/contract.js'

let env: TestEnvironment | undefined
afterEach(async () => {
  await env?.stop()
  env = undefined
})

function fault(environment: TestEnvironment, cluster: string, injected: ApiFault): Promise<void> {
  return environment.sim.injectFault({type: 'api', cluster, fault: injected})
}

async function useExistingCluster(dir: string, context: string): Promise<void> {
  const path = join(dir, 'devctl.yaml')
  const config = parse(await readFile(path, 'utf8')) as Record<string, unknown>
  config.cluster = {provider: 'existing', context}
  await writeFile(path, stringify(config))
}

describe('devctl up against a refusing or busy API', () => {
  it('stops at once when the namespace watch is refused, naming the user, the call and the Role rule (exit 5)', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('demo')
    await fault(env, 'demo', {kind: 'status', code: 403, match: {verb: 'list', resource: 'pods', namespace: 'demo'}})
    const result = await env.devctl(['up', '--adopt'])
    expect(result.exitCode, output(result)).toBe(5)
    expect(result.stdout).toMatch(/✖ Namespace demo and Secrets/)
    expect(result.stderr).toContain(
      [
        'Error: Forbidden: user "system:admin" may not list pods in namespace "demo".',
        '  The API said: pods is forbidden: User "system:admin" cannot list resource "pods" in API group "" in the namespace "demo"',
        '  A Role in namespace "demo" with this rule, bound to user "system:admin" by a RoleBinding, would allow it:',
        '    - apiGroups: [""]',
        '      resources: ["pods"]',
        '      verbs: ["list", "watch"]',
        '→ Ask a cluster admin for that rule, or use a context whose user has it (`kubectl auth can-i list pods -n demo` checks).',
      ].join('\n'),
    )
    expect(output(result)).not.toMatch(/not done after/)
  })

  it('fails the steps waiting on a watch that is refused after its start', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('demo')
    // Listing StatefulSets is allowed; watching them is not.
    await fault(env, 'demo', {kind: 'status', code: 403, match: {verb: 'watch', resource: 'statefulsets', namespace: 'demo'}})
    const result = await env.devctl(['up', '--adopt'])
    expect(result.exitCode, output(result)).toBe(5)
    expect(result.stdout).toMatch(/✖ (Postgres|Redis)/)
    expect(result.stderr).toMatch(/^Error: .*Forbidden: user "system:admin" may not watch statefulsets\.apps in namespace "demo"\.$/m)
    expect(result.stderr).toContain('      verbs: ["watch", "list"]')
  })

  it('waits out a busy API (429 with Retry-After) and shows it on the step', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('demo')
    await fault(env, 'demo', {kind: 'status', code: 429, retryAfterSeconds: 1, times: 2, match: {verb: 'list', resource: 'statefulsets', namespace: 'demo'}})
    const result = await env.devctl(['up', '--adopt'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toContain('API busy, retrying in 1 s (list statefulsets.apps in namespace "demo": 429 Too Many Requests)')
    expect(result.stdout).toMatch(/✔ demo is up in/)
  })
})

describe('devctl status and logs against a refusing or busy API', () => {
  it('status says the credentials were refused, and shows everything once a busy API answers', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('demo')
    await fault(env, 'demo', {kind: 'status', code: 401, match: {user: 'system:admin'}})
    const refused = await env.devctl(['status'])
    expect(refused.stdout).toMatch(
      /ClusterReady\s+False ClusterUnreachable: Unauthorized: the Kubernetes API did not accept the credentials of context "k3d-demo" \(user "admin@k3d-demo"\) to \S+ namespaces/,
    )

    await env.sim.injectFault({type: 'clear-api-faults', cluster: 'demo'})
    await fault(env, 'demo', {kind: 'status', code: 503, retryAfterSeconds: 1, times: 2, match: {verb: 'list', resource: 'pods', namespace: 'demo'}})
    const busy = await env.devctl(['status'])
    expect(busy.exitCode, output(busy)).toBe(0)
    expect(busy.stdout).toMatch(/ClusterReady\s+True\s+NodesReady: 1\/1 node ready/)
  })

  it('logs -f ends at once with the refusal instead of waiting for pods it may not list (exit 5)', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('demo')
    await fault(env, 'demo', {kind: 'status', code: 403, match: {verb: 'list', resource: 'pods', namespace: 'demo'}})
    const result = await env.devctl(['logs'])
    expect(result.exitCode, output(result)).toBe(5)
    expect(result.stderr).toMatch(/^Error: Forbidden: user "system:admin" may not list pods in namespace "demo"\.$/m)
    expect(output(result)).not.toMatch(/waiting for them/)
  })
})

describe('a namespace-scoped user of a shared cluster', () => {
  it('reads the logs of its namespace, and is told which rule it lacks when it may not (exit 5)', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('team')
    await env.sim.createNamespaceUser('team', {user: 'ann', namespace: 'demo-ann'})
    const noLogs = devctlNamespaceRules.map((rule) => ({...rule, resources: rule.resources?.filter((r) => r !== 'pods/log')}))
    await env.sim.createNamespaceUser('team', {user: 'bob', namespace: 'demo-ann', rules: noLogs})
    // The cluster admin deploys; the users read.
    const deployed = await env.devctl(['up', '--context', 'k3d-team'], {env: {USER: 'ann'}})
    expect(deployed.exitCode, output(deployed)).toBe(0)

    await useExistingCluster(env.dir, 'ann@k3d-team')
    const allowed = await env.devctl(['logs', '--no-follow'], {env: {USER: 'ann'}})
    expect(allowed.exitCode, output(allowed)).toBe(0)
    expect(allowed.stdout).toMatch(/^demo-web-worker-worker-\S+\/worker Starting worker$/m)

    await useExistingCluster(env.dir, 'bob@k3d-team')
    const refused = await env.devctl(['logs', '--no-follow'], {env: {USER: 'ann'}})
    expect(refused.exitCode, output(refused)).toBe(5)
    expect(refused.stderr).toMatch(/^Error: Forbidden: user "bob" may not get pods\/log in namespace "demo-ann"\.$/m)
    expect(refused.stderr).toContain('      resources: ["pods/log"]\n      verbs: ["get"]')
  })
})
