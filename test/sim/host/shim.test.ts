import {resolve} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type Simulator, startSimulator} from '../index.js'
import {plain, run, spawnTool} from './testing.js'

const bin = resolve(import.meta.dirname, '../bin')

/** Resolves once the running tool has printed `text` on stdout. */
function printed(child: ReturnType<typeof spawnTool>, text: string): Promise<void> {
  return new Promise((resolveSeen) => {
    let seen = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8')
      if (plain(seen).includes(text)) resolveSeen()
    })
  })
}

describe('shims without a daemon', () => {
  it.each([
    ['docker', /^Cannot connect to the Docker daemon at unix:\/\/\/var\/run\/docker\.sock\. Is the docker daemon running\?$/],
    ['k3d', /FATA.*runtime failed to list nodes: .*Is the docker daemon running\?/],
  ])('%s fails like the real tool with no docker behind it', async (tool, message) => {
    const result = await execa(resolve(bin, tool), ['version'], {env: {PATH: process.env.PATH}, extendEnv: false, reject: false})
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(message)
  })
})

describe('shim protocol', () => {
  let sim: Simulator
  let realTime: Simulator
  beforeAll(async () => {
    sim = await startSimulator({helmVersion: 3})
    // Real time, so a create is still running when a test interrupts it.
    realTime = await startSimulator({helmVersion: 3, timeFactor: 1})
  })
  afterAll(async () => {
    await sim.stop()
    await realTime.stop()
  })

  it('forwards stdin when the tool reads "-"', async () => {
    const config = 'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: fromstdin\n'
    const created = await spawnTool(sim, 'k3d', ['cluster', 'create', '--config', '-'], {input: config})
    expect(created.exitCode).toBe(0)
    expect(plain(String(created.stdout))).toContain("Cluster 'fromstdin' created successfully!")
  })

  it('dies of SIGINT like the real k3d and records it', async () => {
    const child = spawnTool(realTime, 'k3d', ['cluster', 'create', 'interrupted'])
    await printed(child, 'Starting servers...')
    child.kill('SIGINT')
    const result = await child
    expect(result.signal).toBe('SIGINT')
    expect(realTime.commands('k3d').at(-1)).toMatchObject({argv: ['cluster', 'create', 'interrupted'], outcome: {signal: 'SIGINT'}})
    // Like real k3d, an interrupted create leaves its containers behind.
    const listed = await run(realTime, 'k3d', ['cluster', 'list', '--no-headers'])
    expect(listed.stdout).toMatch(/^interrupted /m)
  }, 30_000)

  it('abandons the operation where it is when the caller is killed', async () => {
    const child = spawnTool(realTime, 'k3d', ['cluster', 'create', 'killed'])
    await printed(child, 'Starting servers...')
    child.kill('SIGKILL')
    await child
    await expect.poll(() => realTime.commands('k3d').at(-1)?.outcome).toEqual({abandoned: true})
    const listed = await run(realTime, 'k3d', ['cluster', 'list', '-o', 'json'])
    expect((JSON.parse(listed.stdout) as Array<{name: string}>).find((c) => c.name === 'killed')).toMatchObject({serversCount: 1, hasLoadbalancer: true})
  }, 30_000)
})
