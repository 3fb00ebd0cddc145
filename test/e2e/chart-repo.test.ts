/**
 * A team chart published to a chart repository and pinned by a version range in devctl.yaml:
 * the built CLI against the simulator, with a real chart repository (packaged and indexed by the
 * real helm) served on loopback.
 */
import {execFile} from 'node:child_process'
import {cp, readFile, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {parse, stringify} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {tempDir, TOOLS} from '../helpers/cli.js'
import {output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'

const helm = (args: string[]) => promisify(execFile)(TOOLS.helm3, args)

describe('a chart from a repository, by version range', () => {
  let env: TestEnvironment
  let repoDir: string
  let server: Server
  let url: string

  /** Package the preset's chart as this version into the repository and index it again. */
  async function publish(version: string): Promise<void> {
    const source = join(await tempDir('devctl-chart-'), 'web-worker')
    await cp(join(env.dir, 'chart'), source, {recursive: true})
    const chartFile = join(source, 'Chart.yaml')
    await writeFile(chartFile, (await readFile(chartFile, 'utf8')).replace(/^version: .*$/m, `version: ${version}`))
    await helm(['package', source, '--destination', repoDir])
    await helm(['repo', 'index', repoDir, '--url', url])
  }

  const helmUpgrades = () => env.sim.commands('helm').filter((c) => c.argv[0] === 'upgrade').length
  const deployedChart = async () => (JSON.parse((await env.devctl(['status', '--json'])).stdout) as {release: {chart: string}}).release.chart

  beforeAll(async () => {
    env = await startEnvironment()
    repoDir = await tempDir('devctl-repo-')
    server = createServer((request, response) => {
      readFile(join(repoDir, (request.url ?? '/').replace(/^\/+/, '').replaceAll('..', '')))
        .then((body) => response.end(body))
        .catch(() => response.writeHead(404).end())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    await publish('0.1.0')
    const configFile = join(env.dir, 'devctl.yaml')
    const config = parse(await readFile(configFile, 'utf8')) as {app: {chart: unknown}}
    config.app.chart = {repo: url, name: 'web-worker', version: '~0.1.0'}
    await writeFile(configFile, stringify(config))
  })

  afterAll(async () => {
    await env?.stop()
    await new Promise((resolve) => server?.close(resolve))
  })

  it('up installs the newest chart the range allows', async () => {
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(await deployedChart()).toBe('web-worker-0.1.0')
  })

  it('a newer chart within the range: up stays put without asking the repository, upgrade moves to it', async () => {
    await publish('0.1.1')
    await publish('0.2.0')
    const before = helmUpgrades()
    const again = await env.devctl(['up'])
    expect(again.exitCode, output(again)).toBe(0)
    expect(helmUpgrades()).toBe(before)

    const upgrade = await env.devctl(['upgrade', '--yes'])
    expect(upgrade.exitCode, output(upgrade)).toBe(0)
    expect(upgrade.stdout).toContain('Upgrade of demo (revision 1 → 2): a newer chart within ~0.1.0')
    expect(upgrade.stdout).toContain('  chart version: 0.1.0 → 0.1.1')
    expect(await deployedChart()).toBe('web-worker-0.1.1')
    expect(env.sim.commands('helm').filter((c) => c.argv[0] === 'upgrade').at(-1)?.argv).toEqual(expect.arrayContaining(['--repo', url, '--version', '0.1.1']))
  })

  it('then nothing changed: upgrade and up call no helm upgrade', async () => {
    const before = helmUpgrades()
    const upgrade = await env.devctl(['upgrade', '--yes'])
    expect(upgrade.exitCode, output(upgrade)).toBe(0)
    expect(upgrade.stdout).toMatch(/demo: nothing changed since revision 2; helm was not called\./)
    expect((await env.devctl(['up'])).exitCode).toBe(0)
    expect(helmUpgrades()).toBe(before)
  })

  it('a range nothing matches: a chart error naming it, exit 6', async () => {
    const result = await env.devctl(['upgrade', '--yes', '--chart-version', '^9.0.0'])
    expect(result.exitCode).toBe(6)
    expect(result.stderr).toMatch(/^Error: helm could not find a chart web-worker matching version \^9\.0\.0\./m)
    expect(result.stderr).toMatch(/→ Check app\.chart in devctl\.yaml/)
    expect(await deployedChart()).toBe('web-worker-0.1.1')
  })
})
