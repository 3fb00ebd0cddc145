/**
 * The app's port mappings listen on 127.0.0.1 like the API and the registry, so the development
 * app is not reachable from the network unless devctl.yaml says so (hostIP: 0.0.0.0).
 */
import {readFile, writeFile} from 'node:fs/promises'
import {networkInterfaces} from 'node:os'
import {join} from 'node:path'

import {parse, stringify} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import {startEnvironment, type TestEnvironment} from '../helpers/environment.js'

// An address of this machine that is not loopback: where a neighbour on the network would knock.
const LAN_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((a) => a?.family === 'IPv4' && !a.internal)?.address

let env: TestEnvironment | undefined
afterEach(async () => {
  await env?.stop()
  env = undefined
})

async function webPort(dir: string): Promise<number> {
  const config = parse(await readFile(join(dir, 'devctl.yaml'), 'utf8')) as {cluster: {ports: Array<{host: number}>}}
  return config.cluster.ports[0]!.host
}

describe('port mappings', () => {
  it('listen on 127.0.0.1 by default: the app answers locally, not from the network', async () => {
    env = await startEnvironment()
    const plan = await env.devctl(['up', '--dry-run'])
    const port = await webPort(env.dir)
    expect(plan.stdout).toContain(`- port: 127.0.0.1:${port}:80`)

    const up = await env.devctl(['up', '--quiet'])
    expect(up.exitCode, up.stderr).toBe(0)
    const written = parse(await readFile(join(env.dir, '.devctl', 'k3d-cluster.yaml'), 'utf8')) as {ports: Array<{port: string}>; kubeAPI: {hostIP: string}}
    expect(written.ports.map((p) => p.port)).toEqual([`127.0.0.1:${port}:80`])
    expect(written.kubeAPI.hostIP).toBe('127.0.0.1')
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404)
    if (LAN_ADDRESS) await expect(fetch(`http://${LAN_ADDRESS}:${port}/`)).rejects.toThrow()
  })

  it('listen on every interface only when devctl.yaml says hostIP: 0.0.0.0', async () => {
    env = await startEnvironment()
    const path = join(env.dir, 'devctl.yaml')
    const config = parse(await readFile(path, 'utf8')) as {cluster: {ports: Array<Record<string, unknown>>}}
    config.cluster.ports[0]!.hostIP = '0.0.0.0'
    await writeFile(path, stringify(config))
    const up = await env.devctl(['up', '--quiet'])
    expect(up.exitCode, up.stderr).toBe(0)
    const port = await webPort(env.dir)
    if (LAN_ADDRESS) expect((await fetch(`http://${LAN_ADDRESS}:${port}/`)).status).toBe(404)
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404)
  })

  it('a hostIP that is not an address is a config error at file:line:col', async () => {
    env = await startEnvironment()
    const path = join(env.dir, 'devctl.yaml')
    const config = parse(await readFile(path, 'utf8')) as {cluster: {ports: Array<Record<string, unknown>>}}
    config.cluster.ports[0]!.hostIP = 'everywhere'
    await writeFile(path, stringify(config))
    const up = await env.devctl(['up'])
    expect(up.exitCode).toBe(3)
    expect(up.stderr).toMatch(
      /^Error: devctl\.yaml:\d+:\d+: "cluster\.ports\.0\.hostIP" must be an IPv4 address such as "127\.0\.0\.1" \(this machine only\) or "0\.0\.0\.0" \(every network interface\), but found the string "everywhere"\./m,
    )
  })
})
