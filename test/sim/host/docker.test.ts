import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type Simulator, startSimulator} from '../index.js'
import {bytesSize} from './docker.js'
import {run} from './testing.js'

const daemonDown = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n'

describe('docker stand-in', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({helmVersion: 3, memoryBytes: 8 * 1024 ** 3, cpus: 4})
  })
  afterAll(async () => sim.stop())

  it("prints client and server versions in docker's layout", async () => {
    const result = await run(sim, 'docker', ['version'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/^Client: Docker Engine - Community\n Version:           28\.5\.2\n API version:       1\.51\n/)
    expect(result.stdout).toContain('\nServer: Docker Engine - Community\n Engine:\n  Version:          28.5.2\n  API version:      1.51 (minimum version 1.24)\n')
    expect((await run(sim, 'docker', ['version', '--format', '{{.Server.Version}}'])).stdout).toBe('28.5.2\n')
  })

  it('reports the memory and CPUs a doctor checks, changeable while running', async () => {
    const info = JSON.parse((await run(sim, 'docker', ['info', '--format', '{{json .}}'])).stdout) as {MemTotal: number; NCPU: number; ServerVersion: string}
    expect(info).toMatchObject({MemTotal: 8 * 1024 ** 3, NCPU: 4, ServerVersion: '28.5.2'})
    const pretty = await run(sim, 'docker', ['info'])
    expect(pretty.stdout).toContain(' CPUs: 4\n Total Memory: 8GiB\n')
    await sim.injectFault({type: 'docker-resources', memoryBytes: 2 * 1024 ** 3})
    expect((await run(sim, 'docker', ['info', '--format', '{{.MemTotal}}'])).stdout).toBe(`${2 * 1024 ** 3}\n`)
  })

  it('fails like docker when the daemon is not running', async () => {
    await sim.injectFault({type: 'docker-stopped'})
    try {
      const version = await run(sim, 'docker', ['version'])
      expect(version.exitCode).toBe(1)
      expect(version.stdout).toMatch(/^Client: Docker Engine - Community\n[^]* Context:           default\n$/)
      expect(version.stderr).toBe(daemonDown)
      const info = await run(sim, 'docker', ['info', '--format', '{{.ServerVersion}}'])
      expect(info.exitCode).toBe(1)
      expect(info.stderr).toBe(daemonDown)
      expect((await run(sim, 'docker', ['ps'])).exitCode).toBe(1)
    } finally {
      await sim.injectFault({type: 'docker-started'})
    }
  })

  it("rejects templates it cannot execute with docker's exit code", async () => {
    const result = await run(sim, 'docker', ['info', '--format', '{{range .Plugins}}{{end}}'])
    expect(result.exitCode).toBe(64)
    expect(result.stderr).toMatch(/^template parsing error: /)
  })

  it('formats byte sizes like go-units', () => {
    expect(bytesSize(16 * 1024 ** 3)).toBe('16GiB')
    expect(bytesSize(16_723_546_112)).toBe('15.58GiB')
    expect(bytesSize(1536 * 1024 ** 2)).toBe('1.5GiB')
  })
})
