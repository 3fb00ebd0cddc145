import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {eventually, startTestCluster, type TestCluster} from './test-support.js'

let cluster: TestCluster

beforeAll(async () => {
  cluster = await startTestCluster({k3sSystemWorkloads: true})
})

afterAll(async () => {
  await cluster.close()
})

function restarts(namespace: string, name: string): number | undefined {
  const pod = cluster.server.get('v1', 'Pod', namespace, name)
  return (pod?.status as {containerStatuses?: Array<{restartCount: number; ready: boolean}>} | undefined)?.containerStatuses?.[0]?.restartCount
}

describe('a k3s cluster', () => {
  it('comes with kube-system running: coredns, local-path, metrics-server, traefik', async () => {
    await eventually(
      async () => {
        const result = await cluster.kubectl(['rollout', 'status', '-n', 'kube-system', 'deployment/coredns', 'deployment/traefik', '--timeout=1s'])
        return result.code === 0
      },
      {what: 'kube-system to roll out'},
    )
    const jobs = await cluster.kubectl(['get', 'jobs', '-n', 'kube-system', '--no-headers'])
    expect(jobs.stdout).toMatch(/^helm-install-traefik\s+Complete\s+1\/1\s/m)
    expect(jobs.stdout).toMatch(/^helm-install-traefik-crd\s+Complete\s+1\/1\s/m)
    const services = await cluster.kubectl(['get', 'svc', '-n', 'kube-system', 'traefik', '--no-headers'])
    expect(services.stdout).toMatch(/^traefik\s+LoadBalancer\s+10\.43\.\d+\.\d+\s+172\.\d+\.0\.2\s+80:3\d{4}\/TCP,443:3\d{4}\/TCP\s+\d+s$/m)
    const classes = await cluster.kubectl(['get', 'storageclass', '--no-headers'])
    expect(classes.stdout).toMatch(/^local-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+\d+s$/m)
    const nodes = await cluster.kubectl(['get', 'nodes', '-o', 'wide', '--no-headers'])
    expect(nodes.stdout).toMatch(/^k3d-sim-server-0\s+Ready\s+control-plane,master\s+\d+s\s+v1\.31\.5\+k3s1\s+172\.\d+\.0\.2\s+<none>\s+K3s v1\.31\.5\+k3s1\s+\S+\s+containerd:\/\/\S+$/m)
  })

  it('refuses connections while stopped, keeps its state, and restarts its pods on start', async () => {
    await cluster.kubectl(['create', 'namespace', 'reboot'])
    await cluster.kubectl(['run', 'app', '-n', 'reboot', '--image=redis:7.4'])
    await eventually(() => restarts('reboot', 'app') === 0 && (cluster.server.get('v1', 'Pod', 'reboot', 'app')?.status as {phase: string}).phase === 'Running')
    const port = cluster.server.port
    await cluster.server.stop()
    await expect(fetch(`${cluster.server.url}/version`)).rejects.toThrow()
    const stopped = await cluster.kubectl(['get', 'pods', '-n', 'reboot'], {timeoutMs: 10_000})
    expect(stopped.code).toBe(1)
    expect(stopped.stderr).toContain(`The connection to the server 127.0.0.1:${port} was refused - did you specify the right host or port?`)
    expect(cluster.server.get('v1', 'Pod', 'reboot', 'app')).toBeDefined()

    await cluster.server.start()
    expect(cluster.server.port).toBe(port)
    await eventually(() => restarts('reboot', 'app') === 1, {what: 'the pod to restart after the reboot'})
    const status = (cluster.server.get('v1', 'Pod', 'reboot', 'app')?.status as {containerStatuses: Array<{lastState: {terminated?: {reason?: string; exitCode?: number}}}>}).containerStatuses[0]
    expect(status?.lastState.terminated).toMatchObject({reason: 'Unknown', exitCode: 255})
    const events = await cluster.kubectl(['get', 'events', '-n', 'reboot', '--field-selector', 'reason=SandboxChanged'])
    expect(events.stdout).toContain('Pod sandbox changed, it will be killed and re-created.')
  })

  it('frees its port on close', async () => {
    const other = await startTestCluster({clusterName: 'other'})
    const url = other.server.url
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    await other.close()
    await expect(fetch(`${url}/healthz`)).rejects.toThrow()
  })
})
