/**
 * Authentication and RBAC, proven with the real kubectl (v1.32 and v1.34) as a user with a
 * token over HTTPS: what a Role allows in its namespace, the Forbidden messages for everything
 * else, `kubectl auth can-i` (SelfSubjectAccessReview, SelfSubjectRulesReview), `auth whoami`,
 * ServiceAccount tokens from `kubectl create token`, and 401 for a token that does not work.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startTestCluster, type TestCluster} from './test-support.js'

let cluster: TestCluster
const alice = 'alice-token'

beforeAll(async () => {
  cluster = await startTestCluster()
  cluster.server.addToken(alice, {name: 'alice', groups: ['developers']})
  await cluster.kubectl(['create', 'namespace', 'team'])
  await cluster.kubectl(['create', 'namespace', 'other'])
  const setup = await cluster.kubectl(['apply', '-f', '-'], {
    input: `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: dev, namespace: team}
rules:
- {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [secrets], resourceNames: [app], verbs: [get]}
- {apiGroups: [""], resources: [configmaps], verbs: [get, patch]}
- {apiGroups: [apps], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewers, namespace: other}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: developers}]
`,
  })
  expect(setup.stderr).toBe('')
})

afterAll(async () => {
  await cluster.close()
})

describe.each(['v32', 'v34'] as const)('kubectl %s as a namespace-scoped user', (version) => {
  it('may do what its Role allows in its namespace, and gets the real Forbidden message elsewhere', async () => {
    const allowed = await cluster.kubectl(['get', 'pods', '-n', 'team'], {version, token: alice})
    expect(allowed).toMatchObject({code: 0, stderr: 'No resources found in team namespace.\n'})

    const otherNamespace = await cluster.kubectl(['get', 'pods', '-n', 'default'], {version, token: alice})
    expect(otherNamespace.code).toBe(1)
    expect(otherNamespace.stderr).toBe('Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"\n')

    const clusterScoped = await cluster.kubectl(['get', 'nodes'], {version, token: alice})
    expect(clusterScoped.stderr).toBe('Error from server (Forbidden): nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope\n')

    const namedSecret = await cluster.kubectl(['get', 'secret', 'db', '-n', 'team'], {version, token: alice})
    expect(namedSecret.stderr).toBe('Error from server (Forbidden): secrets "db" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "team"\n')
  })
})

describe('RBAC rules', () => {
  it('matches resourceNames, subresources, wildcards, groups and ClusterRoles bound in a namespace', async () => {
    const can = async (...args: string[]) => (await cluster.kubectl(['auth', 'can-i', ...args], {token: alice})).stdout.trim()
    expect(await can('get', 'secrets/app', '-n', 'team')).toBe('yes')
    expect(await can('get', 'secrets/db', '-n', 'team')).toBe('no')
    expect(await can('get', 'pods', '--subresource=log', '-n', 'team')).toBe('yes')
    expect(await can('create', 'pods', '--subresource=exec', '-n', 'team')).toBe('no')
    expect(await can('delete', 'deployments.apps', '-n', 'team')).toBe('yes')
    expect(await can('create', 'statefulsets.apps', '--subresource=scale', '-n', 'team')).toBe('yes')
    expect(await can('list', 'pods', '-n', 'other')).toBe('yes')
    expect(await can('list', 'secrets', '-n', 'other')).toBe('no')
    // A RoleBinding in a namespace reaches that Namespace object itself, as in Kubernetes.
    expect(await can('get', 'namespaces/other')).toBe('no')
    expect(await can('get', 'namespace/other', '-n', 'other')).toBe('yes')
    expect(await can('list', 'nodes')).toBe('no')
    expect(await can('get', '/version')).toBe('yes')

    const rules = await cluster.kubectl(['auth', 'can-i', '--list', '-n', 'team'], {token: alice})
    expect(rules.code).toBe(0)
    expect(rules.stdout).toMatch(/^pods\/log\s+\[\]\s+\[\]\s+\[get list watch\]$/m)
    expect(rules.stdout).toMatch(/^secrets\s+\[\]\s+\[app\]\s+\[get\]$/m)
    expect(rules.stdout).toMatch(/^\*\.apps\s+\[\]\s+\[\]\s+\[\*\]$/m)
    expect(rules.stdout).toMatch(/^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m)
  })

  it('needs create as well as patch for a server-side apply that creates the object', async () => {
    const create = await cluster.kubectl(['apply', '--server-side', '-n', 'team', '-f', '-'], {token: alice, input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: "1"}\n'})
    // kube-apiserver's create-on-patch check (withAuthorization) words it with RBAC's reason, which is empty.
    expect(create.stderr).toBe('Error from server (Forbidden): configmaps "settings" is forbidden: \n')
    await cluster.kubectl(['create', 'configmap', 'settings', '-n', 'team'])
    const patch = await cluster.kubectl(['apply', '--server-side', '-n', 'team', '-f', '-'], {token: alice, input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: "1"}\n'})
    expect(patch).toMatchObject({code: 0, stdout: 'configmap/settings serverside-applied\n'})
  })

  it('names a binding whose role is missing in the reason', async () => {
    await cluster.kubectl(['create', 'rolebinding', 'dangling', '-n', 'team', '--role=gone', '--user=alice'])
    const refused = await cluster.kubectl(['get', 'services', '-n', 'team'], {token: alice})
    expect(refused.stderr).toBe(
      'Error from server (Forbidden): services is forbidden: User "alice" cannot list resource "services" in API group "" in the namespace "team": RBAC: role.rbac.authorization.k8s.io "gone" not found\n',
    )
    expect((await cluster.kubectl(['auth', 'can-i', 'list', 'services', '-n', 'team'], {token: alice})).stdout).toBe('no - RBAC: role.rbac.authorization.k8s.io "gone" not found\n')
    await cluster.kubectl(['delete', 'rolebinding', 'dangling', '-n', 'team'])
  })
})

describe('authentication', () => {
  it('knows the admin, static-token users and ServiceAccounts (kubectl auth whoami)', async () => {
    expect((await cluster.kubectl(['auth', 'whoami'])).stdout).toMatch(/^Username\s+system:admin\nGroups\s+\[system:masters system:authenticated\]$/m)
    expect((await cluster.kubectl(['auth', 'whoami'], {token: alice})).stdout).toMatch(/^Username\s+alice\nGroups\s+\[developers system:authenticated\]$/m)

    await cluster.kubectl(['create', 'serviceaccount', 'deployer', '-n', 'team'])
    await cluster.kubectl(['create', 'rolebinding', 'deployer', '-n', 'team', '--clusterrole=edit', '--serviceaccount=team:deployer'])
    const token = (await cluster.kubectl(['create', 'token', 'deployer', '-n', 'team'])).stdout.trim()
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    const who = await cluster.kubectl(['auth', 'whoami'], {token})
    expect(who.stdout).toMatch(/^Username\s+system:serviceaccount:team:deployer$/m)
    expect(who.stdout).toMatch(/^Groups\s+\[system:serviceaccounts system:serviceaccounts:team system:authenticated\]$/m)
    expect(await cluster.kubectl(['get', 'secrets', '-n', 'team'], {token})).toMatchObject({code: 0})

    const tooShort = await cluster.kubectl(['create', 'token', 'deployer', '-n', 'team', '--duration=1m'])
    expect(tooShort.stderr).toBe(
      'error: failed to create token: TokenRequest.authentication.k8s.io "deployer" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes\n',
    )

    // Deleting the ServiceAccount voids its tokens.
    await cluster.kubectl(['delete', 'serviceaccount', 'deployer', '-n', 'team'])
    expect((await cluster.kubectl(['get', 'secrets', '-n', 'team'], {token})).stderr).toBe('error: You must be logged in to the server (Unauthorized)\n')
  })

  it.each(['v32', 'v34'] as const)('answers 401 to an unknown or revoked token (kubectl %s)', async (version) => {
    expect(await cluster.kubectl(['get', 'pods'], {version, token: 'not-a-token'})).toMatchObject({code: 1, stderr: 'error: You must be logged in to the server (Unauthorized)\n'})
    cluster.server.addToken('short-lived', {name: 'bob'})
    expect((await cluster.kubectl(['auth', 'whoami'], {version, token: 'short-lived'})).code).toBe(0)
    cluster.server.revokeToken('short-lived')
    expect(await cluster.kubectl(['auth', 'whoami'], {version, token: 'short-lived'})).toMatchObject({code: 1, stderr: 'error: You must be logged in to the server (Unauthorized)\n'})
  })
})
