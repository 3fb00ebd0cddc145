import {createServer, type Server} from 'node:net'
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {networkInterfaces, tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {type Simulator, startSimulator} from '../index.js'
import {kubectl, plain, run} from './testing.js'

async function holdPort(): Promise<{server: Server; port: number}> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {server, port: (server.address() as {port: number}).port}
}

describe('k3d stand-in', () => {
  let sim: Simulator
  let webPort: number
  beforeAll(async () => {
    sim = await startSimulator({helmVersion: 3})
    const probe = await holdPort()
    webPort = probe.port
    await new Promise((resolve) => probe.server.close(resolve))
  })
  afterAll(async () => sim.stop())

  it('creates a cluster that the real kubectl can use through the written kubeconfig', async () => {
    const created = await run(sim, 'k3d', ['cluster', 'create', 'demo', '--agents', '1', '-p', `${webPort}:80@loadbalancer`])
    expect(created.exitCode).toBe(0)
    const log = plain(created.stdout)
    expect(log).toMatch(/^INFO\[\d{4}\] Prep: Network/m)
    expect(log).toContain("INFO[0000] Creating node 'k3d-demo-agent-0'")
    expect(log).toContain("Cluster 'demo' created successfully!")
    expect(created.stdout.trimEnd().split('\n').at(-1)).toBe('kubectl cluster-info')
    expect(created.stderr).toBe('')

    const kubeconfig = parseYaml(await readFile(sim.kubeconfigPath, 'utf8')) as {'current-context': string; clusters: Array<{name: string; cluster: {server: string}}>; users: Array<{name: string}>}
    expect(kubeconfig['current-context']).toBe('k3d-demo')
    expect(kubeconfig.clusters[0]?.name).toBe('k3d-demo')
    expect(kubeconfig.clusters[0]?.cluster.server).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(kubeconfig.users[0]?.name).toBe('admin@k3d-demo')

    const nodes = await run(sim, kubectl, ['get', 'nodes', '-o', 'name'])
    expect(nodes.exitCode).toBe(0)
    expect(nodes.stdout.trim().split('\n').sort()).toEqual(['node/k3d-demo-agent-0', 'node/k3d-demo-server-0'])
    const pods = await run(sim, kubectl, ['get', 'pods', '-A'])
    expect(pods.exitCode).toBe(0)
    expect(sim.cluster('demo')?.port).toBe(Number(kubeconfig.clusters[0]?.cluster.server.split(':').at(-1)))
  })

  it('puts runtime labels on the nodes their filters pick, from the config file and --runtime-label, and lists them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'k3d-labels-'))
    const config = join(dir, 'k3d.yaml')
    await writeFile(
      config,
      'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata: {name: labelled}\noptions:\n  runtime:\n    labels:\n      - label: devctl.dev/owner=abc\n        nodeFilters: [server:*]\n',
    )
    const created = await run(sim, 'k3d', ['cluster', 'create', '--config', config, '--runtime-label', 'team=web@loadbalancer'])
    expect(created.exitCode).toBe(0)
    const listed = JSON.parse((await run(sim, 'k3d', ['cluster', 'list', 'labelled', '-o', 'json'])).stdout) as Array<{nodes: Array<{role: string; runtimeLabels: Record<string, string>}>}>
    const labels = Object.fromEntries(listed[0]!.nodes.map((n) => [n.role, n.runtimeLabels]))
    expect(labels.server).toMatchObject({'devctl.dev/owner': 'abc', app: 'k3d', 'k3d.role': 'server'})
    expect(labels.server?.team).toBeUndefined()
    expect(labels.loadbalancer).toMatchObject({team: 'web'})
    expect(labels.loadbalancer?.['devctl.dev/owner']).toBeUndefined()
    expect((await run(sim, 'k3d', ['cluster', 'delete', 'labelled'])).exitCode).toBe(0)
  })

  it('lists clusters with the fields of real k3d, the token only with --token', async () => {
    const listed = await run(sim, 'k3d', ['cluster', 'list', '-o', 'json'])
    expect(listed.exitCode).toBe(0)
    const [cluster] = JSON.parse(listed.stdout) as Array<Record<string, unknown> & {nodes: Array<{name: string; role: string; State: {Running: boolean; Status: string}}>}>
    expect(cluster).toMatchObject({name: 'demo', serversCount: 1, serversRunning: 1, agentsCount: 1, agentsRunning: 1, hasLoadbalancer: true})
    expect(cluster?.nodes.map((n) => [n.name, n.role, n.State.Running, n.State.Status])).toEqual([
      ['k3d-demo-server-0', 'server', true, 'running'],
      ['k3d-demo-agent-0', 'agent', true, 'running'],
      ['k3d-demo-serverlb', 'loadbalancer', true, 'running'],
    ])
    expect(cluster).not.toHaveProperty('clusterToken')
    const withToken = JSON.parse((await run(sim, 'k3d', ['cluster', 'list', '--token', '-o', 'json'])).stdout) as Array<{clusterToken: string}>
    expect(withToken[0]?.clusterToken).toMatch(/^[A-Za-z0-9]{20}$/)

    const table = await run(sim, 'k3d', ['cluster', 'list'])
    expect(table.stdout).toBe('NAME   SERVERS   AGENTS   LOADBALANCER\ndemo   1/1       1/1      true\n')
  })

  it('serves mapped host ports while the cluster runs', async () => {
    const response = await fetch(`http://127.0.0.1:${webPort}/`)
    expect(response.status).toBe(404)
  })

  it('publishes a mapped port on the host address it names, and on every interface without one', async () => {
    // An address of this machine that is not loopback, to knock from "the network".
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((a) => a?.family === 'IPv4' && !a.internal)?.address
    const [local, everywhere] = [await holdPort(), await holdPort()]
    await Promise.all([local, everywhere].map((held) => new Promise((resolve) => held.server.close(resolve))))
    const created = await run(sim, 'k3d', ['cluster', 'create', 'bound', '--no-lb', '-p', `127.0.0.1:${local.port}:80@server:0`, '-p', `${everywhere.port}:443@server:0`])
    expect(created.exitCode, created.stderr).toBe(0)
    try {
      const listed = JSON.parse((await run(sim, 'k3d', ['cluster', 'list', 'bound', '-o', 'json'])).stdout) as Array<{nodes: Array<{portMappings: Record<string, Array<{HostIp: string}>>}>}>
      const ports = listed[0]!.nodes[0]!.portMappings
      expect(ports['80/tcp']?.[0]?.HostIp).toBe('127.0.0.1')
      expect(ports['443/tcp']?.[0]?.HostIp).toBe('0.0.0.0')
      expect((await fetch(`http://127.0.0.1:${local.port}/`)).status).toBe(404)
      expect((await fetch(`http://127.0.0.1:${everywhere.port}/`)).status).toBe(404)
      if (lan) {
        await expect(fetch(`http://${lan}:${local.port}/`)).rejects.toThrow()
        expect((await fetch(`http://${lan}:${everywhere.port}/`)).status).toBe(404)
      }
    } finally {
      expect((await run(sim, 'k3d', ['cluster', 'delete', 'bound'])).exitCode).toBe(0)
    }
  })

  it('stops (connection refused, state kept) and starts a cluster again', async () => {
    const stopped = await run(sim, 'k3d', ['cluster', 'stop', 'demo'])
    expect(stopped.exitCode).toBe(0)
    expect(plain(stopped.stdout)).toContain("Stopped cluster 'demo'")
    const refused = await run(sim, kubectl, ['get', 'nodes'])
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain('was refused')
    const listed = JSON.parse((await run(sim, 'k3d', ['cluster', 'list', '-o', 'json'])).stdout) as Array<{serversRunning: number}>
    expect(listed[0]?.serversRunning).toBe(0)
    await expect(fetch(`http://127.0.0.1:${webPort}/`)).rejects.toThrow()

    const started = await run(sim, 'k3d', ['cluster', 'start', 'demo'])
    expect(started.exitCode).toBe(0)
    expect(plain(started.stdout)).toContain("Started cluster 'demo'")
    expect((await run(sim, kubectl, ['get', 'nodes'])).exitCode).toBe(0)
  })

  it("gives nodes the memory limit k3d was asked for, in docker's units", async () => {
    const rejected = await run(sim, 'k3d', ['cluster', 'create', 'small', '--servers-memory', 'lots'])
    expect(rejected.exitCode).toBe(1)
    expect(plain(rejected.stderr)).toContain("provided servers memory limit value is invalid: invalid size: 'lots'")
    const created = await run(sim, 'k3d', ['cluster', 'create', 'small', '--servers-memory', '1g', '--no-lb', '--kubeconfig-update-default=false'])
    expect(created.exitCode).toBe(0)
    expect(created.stdout).toContain('export KUBECONFIG=$(k3d kubeconfig write small)\n')
    expect(sim.cluster('small')?.get('v1', 'Node', undefined, 'k3d-small-server-0')?.status).toMatchObject({capacity: {memory: '1048576Ki'}})
    expect((await run(sim, 'k3d', ['cluster', 'delete', 'small'])).exitCode).toBe(0)
  })

  it('refuses to create a cluster that already exists', async () => {
    const again = await run(sim, 'k3d', ['cluster', 'create', 'demo'])
    expect(again.exitCode).toBe(1)
    expect(plain(again.stderr)).toMatch(/^FATA\[\d{4}\] Failed to create cluster 'demo' because a cluster with that name already exists/m)
  })

  it('fails like docker when the API port is already allocated, and rolls back', async () => {
    const held = await holdPort()
    try {
      const result = await run(sim, 'k3d', ['cluster', 'create', 'busy', '--api-port', `127.0.0.1:${held.port}`])
      expect(result.exitCode).toBe(1)
      const errors = plain(result.stderr)
      expect(errors).toContain(`Failed Cluster Start: Failed to add one or more helper nodes: runtime failed to start node 'k3d-busy-serverlb'`)
      expect(errors).toContain(`Bind for 127.0.0.1:${held.port} failed: port is already allocated`)
      expect(errors).toContain('Failed to create cluster >>> Rolling Back')
      expect(errors).toMatch(/FATA\[\d{4}\] Cluster creation FAILED, all changes have been rolled back!/)
      expect(sim.cluster('busy')).toBeUndefined()
    } finally {
      held.server.close()
    }
  })

  it('fails the same way for a mapped host port in use', async () => {
    const held = await holdPort()
    try {
      const result = await run(sim, 'k3d', ['cluster', 'create', 'busy', '-p', `${held.port}:80@loadbalancer`])
      expect(result.exitCode).toBe(1)
      expect(plain(result.stderr)).toContain(`Bind for 0.0.0.0:${held.port} failed: port is already allocated`)
      expect((JSON.parse((await run(sim, 'k3d', ['cluster', 'list', '-o', 'json'])).stdout) as Array<{name: string}>).map((c) => c.name)).toEqual(['demo'])
    } finally {
      held.server.close()
    }
  })

  it('reads a k3d.io/v1alpha5 config file and checks it against the schema', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'k3d-config-'))
    const config = (hostPort: string): string =>
      [
        'apiVersion: k3d.io/v1alpha5',
        'kind: Simple',
        'metadata:',
        '  name: fromfile',
        'servers: 1',
        'kubeAPI:',
        `  hostPort: ${hostPort}`,
        'options:',
        '  kubeconfig:',
        '    switchCurrentContext: false',
        '',
      ].join('\n')
    await writeFile(join(dir, 'bad.yaml'), config('6550'))
    const bad = await run(sim, 'k3d', ['cluster', 'create', '--config', 'bad.yaml'], {cwd: dir})
    expect(bad.exitCode).toBe(1)
    expect(plain(bad.stderr)).toContain('Schema Validation failed for config file bad.yaml: - kubeAPI.hostPort: Invalid type. Expected: string, given: integer')

    await writeFile(join(dir, 'good.yaml'), config('"0"'))
    const good = await run(sim, 'k3d', ['cluster', 'create', '--config', 'good.yaml'], {cwd: dir})
    expect(good.exitCode).toBe(0)
    expect(plain(good.stdout)).toContain('Using config file good.yaml (k3d.io/v1alpha5#simple)')
    expect(good.stdout).toContain('kubectl config use-context k3d-fromfile')
    const kubeconfig = parseYaml(await readFile(sim.kubeconfigPath, 'utf8')) as {'current-context': string; contexts: Array<{name: string}>}
    expect(kubeconfig['current-context']).toBe('k3d-demo')
    expect(kubeconfig.contexts.map((c) => c.name)).toContain('k3d-fromfile')
  })

  it('prints and merges kubeconfigs', async () => {
    const printed = await run(sim, 'k3d', ['kubeconfig', 'get', 'fromfile'])
    expect(printed.stdout).toMatch(/^---\napiVersion: v1\nclusters:\n- cluster:\n    insecure-skip-tls-verify: true\n    server: http:\/\/127\.0\.0\.1:[1-9]\d*\n  name: k3d-fromfile\n/)
    const dir = await mkdtemp(join(tmpdir(), 'k3d-merge-'))
    const target = join(dir, 'merged.yaml')
    const merged = await run(sim, 'k3d', ['kubeconfig', 'merge', 'fromfile', '-o', target])
    expect(merged.stdout).toBe(`${target}\n`)
    expect((parseYaml(await readFile(target, 'utf8')) as {'current-context': string})['current-context']).toBe('k3d-fromfile')
  })

  it("imports images into a cluster's nodes", async () => {
    const context = await mkdtemp(join(tmpdir(), 'k3d-image-'))
    await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n')
    expect((await run(sim, 'docker', ['build', '-t', 'web:dev', context])).exitCode).toBe(0)
    const imported = await run(sim, 'k3d', ['image', 'import', 'web:dev', '-c', 'demo'])
    expect(imported.exitCode).toBe(0)
    const log = plain(imported.stdout)
    expect(log).toContain("Importing image(s) into cluster 'demo'")
    expect(log).toMatch(/Importing images from tarball '.*' into node 'k3d-demo-agent-0'/)
    expect(log).toContain('Successfully imported 1 image(s) into 1 cluster(s)')
    const missing = await run(sim, 'k3d', ['image', 'import', 'web:dev', '-c', 'nope'])
    expect(missing.exitCode).toBe(1)
    expect(plain(missing.stderr)).toContain('FATA[0000] failed to get cluster nope: No nodes found for given cluster')
  })

  it('deletes clusters and their kubeconfig entries', async () => {
    for (const name of ['fromfile', 'demo']) {
      const deleted = await run(sim, 'k3d', ['cluster', 'delete', name])
      expect(deleted.exitCode).toBe(0)
      expect(plain(deleted.stdout)).toContain(`Successfully deleted cluster ${name}!`)
    }
    const kubeconfig = parseYaml(await readFile(sim.kubeconfigPath, 'utf8')) as {contexts: unknown[]; 'current-context'?: string}
    expect(kubeconfig.contexts).toEqual([])
    expect(kubeconfig['current-context']).toBeUndefined()
    expect((await run(sim, 'k3d', ['cluster', 'list', '-o', 'json'])).stdout).toBe('[]\n')
    const missing = await run(sim, 'k3d', ['cluster', 'delete', 'demo'])
    expect(missing.exitCode).toBe(0)
    expect(plain(missing.stdout)).toContain("No nodes found for cluster 'demo', nothing to delete.")
  })

  it('fails every docker-backed command like real k3d when docker is not running', async () => {
    await sim.injectFault({type: 'docker-stopped'})
    try {
      const listed = await run(sim, 'k3d', ['cluster', 'list'])
      expect(listed.exitCode).toBe(1)
      expect(plain(listed.stderr)).toMatch(/^FATA\[\d{4}\] runtime failed to list nodes: .*Cannot connect to the Docker daemon at unix:\/\/\/var\/run\/docker\.sock\. Is the docker daemon running\?/)
      const created = await run(sim, 'k3d', ['cluster', 'create', 'demo'])
      expect(created.exitCode).toBe(1)
      expect(plain(created.stderr)).toContain('Failed Cluster Preparation: Failed Network Preparation: failed to create cluster network')
      expect(plain(created.stderr)).toContain('Cluster creation FAILED, also FAILED to rollback changes!')
      expect((await run(sim, 'k3d', ['version'])).exitCode).toBe(0)
    } finally {
      await sim.injectFault({type: 'docker-started'})
    }
  })

  it('records every command the stand-ins received', () => {
    const creates = sim.commands('k3d').filter((c) => c.argv[0] === 'cluster' && c.argv[1] === 'create')
    expect(creates[0]).toMatchObject({tool: 'k3d', argv: ['cluster', 'create', 'demo', '--agents', '1', '-p', `${webPort}:80@loadbalancer`], outcome: {exit: 0}})
    expect(creates.at(-1)?.outcome).toEqual({exit: 1})
  })
})
