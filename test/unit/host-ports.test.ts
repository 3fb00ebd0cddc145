/** `up` and `doctor` ask one module which host ports the cluster will bind and whether they are free. */
import {createServer, type Server} from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {portsToBind, probeHostPorts} from '../../src/cluster/host-ports.js'
import type {ResolvedNames} from '../../src/config/load.js'
import {configSchema, type DevctlConfig} from '../../src/config/schema.js'

const names = {clusterName: 'demo'} as ResolvedNames
const config = (ports: number[]): DevctlConfig =>
  configSchema.parse({
    apiVersion: 'devctl.dev/v1',
    project: 'demo',
    cluster: {provider: 'k3d', apiPort: 6550, ports: ports.map((host) => ({host, container: 80}))},
    app: {chart: {path: './chart'}},
  })

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})
async function hold(): Promise<number> {
  const server = createServer()
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
  return (server.address() as {port: number}).port
}

describe('host ports', () => {
  it("binds devctl.yaml's ports for a new cluster, none for a running one", () => {
    expect(portsToBind(config([8080]), names, {exists: false}).map((p) => [p.port, p.configKey])).toEqual([
      [6550, 'cluster.apiPort'],
      [8080, 'cluster.ports[0].host'],
    ])
    expect(portsToBind(config([8080]), names, {exists: true, running: true})).toEqual([])
  })

  it('binds the ports a stopped cluster was created with, whatever devctl.yaml says now', () => {
    const createdWith = {kubeAPI: {hostPort: '6550'}, ports: [{port: '8080:80', nodeFilters: ['loadbalancer']}]}
    expect(portsToBind(config([9090]), names, {exists: true, running: false, createdWith}).map((p) => [p.port, p.configKey, p.purpose])).toEqual([
      [6550, undefined, 'the Kubernetes API of the stopped cluster demo'],
      [8080, undefined, 'port mapping 8080:80 of the stopped cluster demo'],
    ])
  })

  it('finds a held port busy and offers a different free port for each busy one, with what to do', async () => {
    const [a, b] = [await hold(), await hold()]
    const probes = await probeHostPorts(
      [
        {port: a, purpose: 'port mapping A', configKey: 'cluster.ports[0].host'},
        {port: b, purpose: 'port mapping B', configKey: 'cluster.ports[1].host'},
      ],
      names,
      {exists: false},
    )
    expect(probes.map((p) => p.free)).toEqual([false, false])
    expect(probes[0]!.alternative).not.toBe(probes[1]!.alternative)
    expect(probes[0]!.fix).toMatch(/^Stop what holds it, or set cluster\.ports\[0\]\.host in devctl\.yaml to a free port such as \d+\.$/)
  })

  it("tells a stopped cluster's user that devctl.yaml cannot move its port", async () => {
    const port = await hold()
    const createdWith = {ports: [{port: `${port}:80`, nodeFilters: ['loadbalancer']}]}
    const binding = {exists: true, running: false, createdWith} as const
    const [probe] = await probeHostPorts(portsToBind(config([port + 1]), names, binding), names, binding)
    expect(probe).toMatchObject({port, free: false})
    expect(probe!.fix).toMatch(/^Stop what holds it: cluster demo was created with this port/)
  })
})
