/** Shared by the apiserver's fidelity tests: a cluster, a kubeconfig for it, and the real kubectl. */
import {execFile} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {KubeConfig} from '@kubernetes/client-node'

import {createApiServer, createClock, type ApiServer, type ApiServerOptions} from './index.js'

const repoRoot = resolve(import.meta.dirname, '../../..')

export function kubectlPath(version: 'v32' | 'v34' = 'v34'): string {
  return join(repoRoot, '.tools', `kubectl-${version}`, 'kubectl')
}

export interface KubectlResult {
  code: number
  stdout: string
  stderr: string
}

export interface TestCluster {
  server: ApiServer
  kubeconfigPath: string
  kubeConfig: KubeConfig
  /** The real kubectl; with `token`, as that token's user over HTTPS (kubectl sends credentials only over TLS). */
  kubectl(args: string[], options?: {version?: 'v32' | 'v34'; input?: string; timeoutMs?: number; token?: string}): Promise<KubectlResult>
  close(): Promise<void>
}

export async function startTestCluster(overrides: Partial<ApiServerOptions> = {}): Promise<TestCluster> {
  const server = await createApiServer({
    clusterName: 'sim',
    clock: createClock(0.01),
    nodes: [{name: 'k3d-sim-server-0', cpu: '4', memory: '8Gi', role: 'server'}],
    ...overrides,
  })
  const directory = mkdtempSync(join(tmpdir(), 'sim-apiserver-'))
  const kubeconfigPath = join(directory, 'kubeconfig')
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: sim',
    // client-node refuses plain HTTP unless TLS verification is "skipped".
    `  cluster: {server: "${server.url}", insecure-skip-tls-verify: true}`,
    'contexts:',
    '- name: sim',
    '  context: {cluster: sim, user: sim, namespace: default}',
    'current-context: sim',
    'users:',
    '- name: sim',
    '  user: {}',
    '',
  ].join('\n')
  writeFileSync(kubeconfigPath, kubeconfig)
  const caPath = join(directory, 'ca.crt')
  writeFileSync(caPath, Buffer.from(server.certificateAuthorityData, 'base64'))
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromString(kubeconfig)
  return {
    server,
    kubeconfigPath,
    kubeConfig,
    kubectl: (args, options = {}) =>
      new Promise((done) => {
        const asUser = options.token === undefined ? [] : [`--server=${server.secureUrl}`, `--certificate-authority=${caPath}`, `--token=${options.token}`]
        const child = execFile(
          kubectlPath(options.version),
          [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${join(directory, 'cache')}`, ...asUser, ...args],
          {
            timeout: options.timeoutMs ?? 20_000,
            env: {PATH: process.env.PATH ?? '', HOME: directory},
          },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
            done({code, stdout, stderr})
          },
        )
        if (options.input !== undefined) child.stdin?.end(options.input)
      }),
    close: async () => {
      await server.close()
      rmSync(directory, {recursive: true, force: true})
    },
  }
}

/** Polls until `check` returns a value (not undefined/false), or fails with the last seen state. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, options: {timeoutMs?: number; what?: string} = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
      last = value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'condition'}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
