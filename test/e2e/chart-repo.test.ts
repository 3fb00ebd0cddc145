/**
 * A team chart published to a chart repository and pinned by a version range in devctl.yaml:
 * the built CLI against the simulator, the real helm packaging and fetching, and a real
 * repository on loopback — an HTTP chart repository (indexed by helm, served here), and an OCI
 * registry (the CNCF distribution registry, Debian's docker-registry, charts pushed with
 * `helm push`, reached over plain HTTP).
 */
import {execFile, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {cp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {parse, stringify} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {resultRecord, tempDir, TOOLS} from '../helpers/cli.js'
import {helmDeploys, output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'

const REGISTRY = '/usr/bin/docker-registry'
const registryMissing = existsSync(REGISTRY) ? undefined : `${REGISTRY} is missing (Debian: apt-get install docker-registry; .ci/run installs it)`
if (registryMissing) console.warn(`SKIPPED: the OCI registry tests, because ${registryMissing}.`)

/** Where published charts live, as devctl.yaml names it and as helm is told to fetch from it. */
interface ChartHost {
  /** app.chart in devctl.yaml, without the version. */
  chart: Record<string, unknown>
  /** How devctl's messages name the chart. */
  label: string
  /** What `helm upgrade` is given to fetch this version from here. */
  fetchArgs(version: string): string[]
  /** Makes a packaged chart (.tgz) available. */
  publish(packaged: string): Promise<void>
  stop(): Promise<void>
}

type Helm = (args: string[]) => Promise<unknown>

/** A classic chart repository: the packages and helm's index.yaml, served over HTTP. */
async function httpRepository(helm: Helm): Promise<ChartHost> {
  const dir = await tempDir('devctl-repo-')
  const server = createServer((request, response) => {
    readFile(join(dir, (request.url ?? '/').replace(/^\/+/, '').replaceAll('..', '')))
      .then((body) => response.end(body))
      .catch(() => response.writeHead(404).end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  return {
    chart: {repo: url, name: 'web-worker'},
    label: 'web-worker',
    fetchArgs: (version) => ['web-worker', '--repo', url, '--version', version],
    async publish(packaged) {
      await cp(packaged, join(dir, packaged.split('/').at(-1) ?? ''))
      await helm(['repo', 'index', dir, '--url', url])
    },
    async stop() {
      await new Promise((resolve) => server.close(resolve))
      await rm(dir, {recursive: true, force: true})
    },
  }
}

/** The distribution registry on a free loopback port (it says which), storing in a temp dir. */
async function ociRegistry(helm: Helm): Promise<ChartHost> {
  const dir = await tempDir('devctl-registry-')
  const config = join(dir, 'config.yml')
  await writeFile(
    config,
    stringify({
      version: 0.1,
      log: {level: 'info', accesslog: {disabled: true}},
      storage: {filesystem: {rootdirectory: join(dir, 'data')}},
      http: {addr: '127.0.0.1:0', secret: 'devctl-test'},
    }),
  )
  const registry = spawn(REGISTRY, ['serve', config], {stdio: ['ignore', 'ignore', 'pipe']})
  const exited = new Promise((resolve) => registry.once('exit', resolve))
  const address = await new Promise<string>((resolve, reject) => {
    let log = ''
    registry.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk
      const listening = /msg="listening on (127\.0\.0\.1:\d+)"/.exec(log)
      if (listening?.[1]) resolve(listening[1])
    })
    registry.once('exit', (code) => reject(new Error(`docker-registry exited (${code}) before listening:\n${log}`)))
  })
  const reference = `oci://${address}/charts/web-worker`
  return {
    chart: {oci: reference, plainHttp: true},
    label: reference,
    fetchArgs: (version) => [reference, '--version', version, '--plain-http'],
    async publish(packaged) {
      await helm(['push', packaged, `oci://${address}/charts`, '--plain-http'])
    },
    async stop() {
      registry.kill('SIGTERM')
      await exited
      await rm(dir, {recursive: true, force: true})
    },
  }
}

function chartHostSuite(helmVersion: 3 | 4, start: (helm: Helm) => Promise<ChartHost>): void {
  let env: TestEnvironment
  let host: ChartHost
  const realHelm = helmVersion === 3 ? TOOLS.helm3 : TOOLS.helm4
  // The test's own helm calls get their own config and cache, as a CI job publishing charts would.
  const helm: Helm = (args) => promisify(execFile)(realHelm, args, {env: {...process.env, ...env.sim.env}})

  /** Package the preset's chart as this version and publish it. */
  async function publish(version: string): Promise<void> {
    const scratch = await tempDir('devctl-chart-')
    const source = join(scratch, 'web-worker')
    await cp(join(env.dir, 'chart'), source, {recursive: true})
    const chartFile = join(source, 'Chart.yaml')
    await writeFile(chartFile, (await readFile(chartFile, 'utf8')).replace(/^version: .*$/m, `version: ${version}`))
    await helm(['package', source, '--destination', scratch])
    const [packaged] = (await readdir(scratch)).filter((name) => name.endsWith('.tgz'))
    await host.publish(join(scratch, packaged ?? ''))
    await rm(scratch, {recursive: true, force: true})
  }

  const helmUpgrades = () => helmDeploys(env.sim)
  const deployedChart = async () => resultRecord<{release: {chart: string}}>((await env.devctl(['status', '--json'])).stdout).result.release.chart

  beforeAll(async () => {
    env = await startEnvironment({helmVersion})
    host = await start(helm)
    await publish('0.1.0')
    const configFile = join(env.dir, 'devctl.yaml')
    const config = parse(await readFile(configFile, 'utf8')) as {app: {chart: unknown}}
    config.app.chart = {...host.chart, version: '~0.1.0'}
    await writeFile(configFile, stringify(config))
  })

  afterAll(async () => {
    await env?.stop()
    await host?.stop()
  })

  it('up installs the newest chart the range allows', async () => {
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(await deployedChart()).toBe('web-worker-0.1.0')
  })

  it('a newer chart within the range: up stays put without asking the repository, upgrade moves to it', async () => {
    await publish('0.1.1')
    await publish('0.2.0')
    const before = helmUpgrades().length
    const again = await env.devctl(['up'])
    expect(again.exitCode, output(again)).toBe(0)
    expect(helmUpgrades()).toHaveLength(before)

    const upgrade = await env.devctl(['upgrade', '--yes'])
    expect(upgrade.exitCode, output(upgrade)).toBe(0)
    expect(upgrade.stdout).toContain('Upgrade of demo (revision 1 → 2): a newer chart within ~0.1.0')
    expect(upgrade.stdout).toContain('  chart version: 0.1.0 → 0.1.1')
    expect(await deployedChart()).toBe('web-worker-0.1.1')
    expect(helmUpgrades().at(-1)?.argv.join(' ')).toContain(host.fetchArgs('0.1.1').join(' '))
  })

  it('then nothing changed: upgrade and up call no helm upgrade', async () => {
    const before = helmUpgrades().length
    const upgrade = await env.devctl(['upgrade', '--yes'])
    expect(upgrade.exitCode, output(upgrade)).toBe(0)
    expect(upgrade.stdout).toMatch(/demo: nothing changed since revision 2; helm was not called\./)
    expect((await env.devctl(['up'])).exitCode).toBe(0)
    expect(helmUpgrades()).toHaveLength(before)
  })

  it('a range nothing matches: a chart error naming it, exit 6', async () => {
    const result = await env.devctl(['upgrade', '--yes', '--chart-version', '^9.0.0'])
    expect(result.exitCode).toBe(6)
    expect(result.stderr).toContain(`Error: helm could not find a chart ${host.label} matching version ^9.0.0.`)
    expect(result.stderr).toMatch(/→ Check app\.chart in devctl\.yaml/)
    expect(await deployedChart()).toBe('web-worker-0.1.1')
  })
}

describe('a chart from an HTTP chart repository, by version range (helm 3)', () => chartHostSuite(3, httpRepository))

describe.skipIf(registryMissing !== undefined)(`a chart from an OCI registry over plain HTTP, by version range (helm 4)${registryMissing ? `: skipped, ${registryMissing}` : ''}`, () =>
  chartHostSuite(4, ociRegistry),
)
