import {writeFile} from 'node:fs/promises'
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
})
