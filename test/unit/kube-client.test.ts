import {writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ClusterError} from '../../src/errors.js'
import {KubeClient} from '../../src/kube/client.js'
import {tempDir} from '../helpers/cli.js'

describe('kube client', () => {
  it('reports a broken kubeconfig without quoting the credentials around the fault', async () => {
    const file = join(await tempDir(), 'config')
    await writeFile(file, 'apiVersion: v1\nusers:\n  - name: me\n    user:\n      token: SUPERSECRETTOKEN123\n     client-key-data: [broken\n')
    let error: unknown
    try {
      KubeClient.connect({kubeconfig: file, context: 'k3d-demo'})
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ClusterError)
    expect((error as ClusterError).message).toMatch(new RegExp(`^Could not read the kubeconfig ${file}: \\S`))
    expect(JSON.stringify({message: (error as ClusterError).message, details: (error as ClusterError).details})).not.toContain('SUPERSECRETTOKEN123')
  })

  it("asks for no API group's resource list for the kinds it knows, and looks up another kind's before applying it", async () => {
    const asked: string[] = []
    const answers: Record<string, object> = {
      '/api/v1/namespaces/team/pods': {apiVersion: 'v1', kind: 'PodList', metadata: {}, items: []},
      '/apis/apps/v1/namespaces/team/deployments/web': {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'web', namespace: 'team'}},
      '/apis/example.com/v1': {
        kind: 'APIResourceList',
        groupVersion: 'example.com/v1',
        resources: [{name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: ['get', 'patch']}],
      },
      '/apis/example.com/v1/namespaces/team/widgets/w': {apiVersion: 'example.com/v1', kind: 'Widget', metadata: {name: 'w', namespace: 'team'}},
    }
    const server = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname
      asked.push(`${request.method} ${path}`)
      const answer = answers[path]
      response.writeHead(answer ? 200 : 404, {'content-type': 'application/json'}).end(JSON.stringify(answer ?? {kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404}))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const file = join(await tempDir(), 'config')
      const {port} = server.address() as AddressInfo
      // client-node refuses plain HTTP unless TLS verification is "skipped".
      await writeFile(
        file,
        `apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {}\n`,
      )
      const kube = KubeClient.connect({kubeconfig: file, context: 'c'})
      expect(await Promise.all([kube.list('Pod', 'team'), kube.get('Deployment', 'team', 'web')])).toMatchObject([[], {metadata: {name: 'web'}}])
      expect(asked.sort()).toEqual(['GET /api/v1/namespaces/team/pods', 'GET /apis/apps/v1/namespaces/team/deployments/web'])
      asked.length = 0
      await kube.apply({apiVersion: 'example.com/v1', kind: 'Widget', metadata: {name: 'w', namespace: 'team'}})
      expect(asked).toEqual(['GET /apis/example.com/v1', 'PATCH /apis/example.com/v1/namespaces/team/widgets/w'])
    } finally {
      server.close()
    }
  })
})
