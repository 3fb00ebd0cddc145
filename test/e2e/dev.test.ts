/**
 * `devctl dev` end to end: a project with a Dockerfile goes from `devctl init` to `devctl dev`;
 * an edit to its source leads to a rebuilt image and a replaced pod with its logs in view; a
 * save that changes nothing builds and deploys nothing; a values change redeploys without a
 * build; a broken Dockerfile is explained and the watching goes on; Ctrl-C leaves it running.
 * The built CLI as a subprocess, against the simulator and the real helm.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {CLI, runCli, tempDir} from '../helpers/cli.js'
import {freePort, helmDeploys} from '../helpers/environment.js'
import {startSimulator, type Simulator} from '../sim/index.js'
import type {KubeObject} from '../sim/apiserver/contract.js'

interface Event {
  type: string
  cycle?: number
  status?: string
  summary?: string
  trigger?: string
  changes?: string[]
  durations?: Record<string, number>
  step?: string
  pod?: string
  line?: string
  error?: {exitCode: number; message: string; details: string[]; hint?: string}
  result?: {images?: Array<{ref: string; id: string}>}
}

/** `devctl dev` running: its output as it comes, and a way to wait for what it prints. */
class DevRun {
  stdout = ''
  stderr = ''
  readonly exited: Promise<number>

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk))
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))))
  }

  events(): Event[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Event)
  }

  cycleEnd(cycle: number): Event | undefined {
    return this.events().find((e) => e.type === 'cycle:end' && e.cycle === cycle)
  }

  /** The events of one cycle, from its start to its end. */
  cycleEvents(cycle: number): Event[] {
    const all = this.events()
    const start = all.findIndex((e) => e.type === 'cycle:start' && e.cycle === cycle)
    const end = all.findIndex((e) => e.type === 'cycle:end' && e.cycle === cycle)
    return all.slice(start, end + 1)
  }

  async until<T>(check: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = check()
      if (found) return found
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout:\n${this.stdout.slice(-4000)}\nstderr:\n${this.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

let sim: Simulator | undefined
let running: DevRun | undefined
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGINT')
    await running.exited
  }
  running = undefined
  await sim?.stop()
  sim = undefined
})

/** A project as a team has it: its own code and Dockerfile, then `devctl init` (which offers build:). */
async function projectWithDockerfile(sim: Simulator): Promise<string> {
  const dir = await tempDir('devctl-dev-')
  await mkdir(join(dir, 'src'))
  await mkdir(join(dir, 'docs'))
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY src /app\nCMD ["/app/server"]\n')
  await writeFile(join(dir, 'src', 'server.txt'), 'version 1\n')
  await writeFile(join(dir, '.dockerignore'), 'docs/\n')
  await writeFile(join(dir, 'docs', 'notes.md'), 'notes\n')
  const init = await runCli(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input', '--port', `${await freePort()}:80`], {cwd: dir, env: sim.env})
  expect(init.exitCode, init.stderr).toBe(0)
  return dir
}

function startDev(sim: Simulator, dir: string, args: string[]): DevRun {
  const child = spawn(process.execPath, [CLI, 'dev', '--debounce', '100', ...args], {cwd: dir, env: {...process.env, ...sim.env, NO_COLOR: '1', CI: ''}, stdio: ['ignore', 'pipe', 'pipe']})
  return new DevRun(child)
}

function apiPods(sim: Simulator): KubeObject[] {
  return (sim.cluster('demo')?.list('v1', 'Pod', 'demo') ?? []).filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'api' && !p.metadata.deletionTimestamp)
}

const imageIDs = (sim: Simulator) => apiPods(sim).map((pod) => (pod.status as {containerStatuses?: Array<{imageID: string}>}).containerStatuses?.[0]?.imageID)
const helmUpgrades = (sim: Simulator) => helmDeploys(sim).length
const builds = (sim: Simulator) => sim.commands('docker').filter((c) => c.argv[0] === 'build')
const imports = (sim: Simulator) => sim.commands('k3d').filter((c) => c.argv[0] === 'image')

describe('devctl dev', () => {
  it('from init to a rebuilt image on save, only what changed, failures explained, Ctrl-C leaving it up (--json)', async () => {
    sim = await startSimulator({helmVersion: 3})
    const dir = await projectWithDockerfile(sim)
    const dev = (running = startDev(sim, dir, ['--json']))

    // Cycle 0 is `up`: the image built and imported, the release deployed; then it watches.
    const first = await dev.until(() => dev.cycleEnd(0), 'the first up')
    expect(first.status, JSON.stringify(first.error)).toBe('done')
    const [built] = first.result!.images!
    await dev.until(() => dev.events().find((e) => e.type === 'watching'), 'watching')
    expect(builds(sim)).toHaveLength(1)
    await dev.until(() => imageIDs(sim!).length === 1 && imageIDs(sim!)[0] === built!.id, 'the API pod running the first image')
    const firstPods = apiPods(sim).map((pod) => pod.metadata.name)

    // An edit to the source: rebuilt, imported, deployed, rolled out; the new pod's logs in view.
    await writeFile(join(dir, 'src', 'server.txt'), 'version 2\n')
    const edited = await dev.until(() => dev.cycleEnd(1), 'the cycle after an edit')
    expect(edited.status, JSON.stringify(edited.error)).toBe('done')
    expect(edited.summary).toMatch(/^demo rebuilt in [\d.]+m?s, imported in [\d.]+m?s, deployed in [\d.]+m?s, rolled out in [\d.]+m?s$/)
    expect(Object.keys(edited.durations!).sort()).toEqual(['build', 'deploy', 'images', 'rollout'])
    expect(dev.cycleEvents(1)[0]).toMatchObject({type: 'cycle:start', trigger: 'images', changes: ['src/server.txt']})
    expect(builds(sim)).toHaveLength(2)
    const newRef = imports(sim).at(-1)!.argv[2]!
    expect(newRef).not.toBe(built!.ref)
    expect(imports(sim).map((c) => c.argv[2])).toEqual([built!.ref, newRef])
    const newId = sim.images.get(newRef)!.id
    await dev.until(() => imageIDs(sim!).length === 1 && imageIDs(sim!)[0] === newId, 'the API pod running the rebuilt image')
    const newPod = apiPods(sim)[0]!.metadata.name
    expect(firstPods).not.toContain(newPod)
    await dev.until(() => dev.events().find((e) => e.type === 'log' && e.pod === newPod), `a log line of the new pod ${newPod}`)

    // A file .dockerignore leaves out is not even watched; a save that changes nothing builds and deploys nothing.
    const upgrades = helmUpgrades(sim)
    await writeFile(join(dir, 'docs', 'notes.md'), 'more notes\n')
    await writeFile(join(dir, 'src', 'server.txt'), 'version 2\n')
    const same = await dev.until(() => dev.cycleEnd(2), 'the cycle after a save without a change')
    expect(dev.cycleEvents(2)[0]!.changes).toEqual(['src/server.txt'])
    expect(same).toMatchObject({status: 'unchanged', summary: 'demo unchanged, nothing to redeploy'})
    expect(builds(sim)).toHaveLength(2)
    expect(helmUpgrades(sim)).toBe(upgrades)

    // A values change redeploys without a build.
    const values = join(dir, 'values.dev.yaml')
    await writeFile(values, (await readFile(values, 'utf8')).replace('&logLevel debug', '&logLevel info'))
    const redeployed = await dev.until(() => dev.cycleEnd(3), 'the cycle after a values change')
    expect(redeployed.status, JSON.stringify(redeployed.error)).toBe('done')
    expect(redeployed.summary).toMatch(/^values\.dev\.yaml changed, deployed in [\d.]+m?s, rolled out in [\d.]+m?s$/)
    expect(dev.cycleEvents(3).some((e) => e.type === 'step:start' && (e.step === 'build' || e.step?.startsWith('build:')))).toBe(false)
    expect(builds(sim)).toHaveLength(2)
    expect(helmUpgrades(sim)).toBe(upgrades + 1)

    // A broken Dockerfile: the cycle explains itself (exit code 13's failure) and the watching goes on.
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY source /app\n')
    const broken = await dev.until(() => dev.cycleEnd(4), 'the cycle with a broken Dockerfile')
    expect(broken.status).toBe('failed')
    expect(broken.error).toMatchObject({
      exitCode: 13,
      hint: 'source is not in the build context .: COPY and ADD read paths relative to the context (build[].context in devctl.yaml), not to the Dockerfile.',
    })
    expect(broken.error!.details[0]).toBe('Dockerfile:2: COPY source /app')
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY src /app\nCMD ["/app/server", "--verbose"]\n')
    const fixed = await dev.until(() => dev.cycleEnd(5), 'the cycle after the fix')
    expect(fixed.status, JSON.stringify(fixed.error)).toBe('done')
    expect(fixed.summary).toMatch(/^demo rebuilt in /)

    // Ctrl-C: exit 130 without an error, the environment still up.
    dev.child.kill('SIGINT')
    expect(await dev.exited).toBe(130)
    expect(dev.stderr).toBe('')
    expect(apiPods(sim)).toHaveLength(1)
    expect(sim.commands('k3d').filter((c) => c.argv[1] === 'delete')).toHaveLength(0)
  })

  it("prints a line per cycle with its durations and the new pods' logs, in plain output", async () => {
    sim = await startSimulator({helmVersion: 4})
    const dir = await projectWithDockerfile(sim)
    const dev = (running = startDev(sim, dir, []))
    await dev.until(() => /● watching \.\/, values\.dev\.yaml, chart\/, devctl\.yaml/.test(dev.stdout), 'the watching line')
    expect(dev.stdout).toMatch(/✔ Image demo:dev-[a-f0-9]{16} built in/)
    expect(dev.stdout).toMatch(/✔ cycle 0: demo is up: demo built in [\d.]+m?s, imported in [\d.]+m?s, deployed in [\d.]+m?s, rolled out in [\d.]+m?s \([\d.]+m?s\)/)
    await writeFile(join(dir, 'src', 'server.txt'), 'version 2\n')
    await dev.until(() => /✔ cycle 1: demo rebuilt in [\d.]+m?s, imported in [\d.]+m?s, deployed in [\d.]+m?s, rolled out in [\d.]+m?s \([\d.]+m?s\)/.test(dev.stdout), 'the line of cycle 1')
    expect(dev.stdout).toContain('⟳ cycle 1: src/server.txt changed')
    const pod = apiPods(sim)[0]!.metadata.name
    const label = `api-${pod.split('-').at(-1)}`
    await dev.until(() => dev.stdout.includes(`${label} │ `), `a log line of ${pod}`)
    dev.child.kill('SIGINT')
    expect(await dev.exited).toBe(130)
    expect(dev.stderr).toBe('Stopped watching. The environment is still up: `devctl status` shows it, `devctl down` removes it.\n')
  })

  it('keeps watching when devctl.yaml is broken, and runs up again once it is fixed', async () => {
    sim = await startSimulator({helmVersion: 3})
    const dir = await projectWithDockerfile(sim)
    const dev = (running = startDev(sim, dir, ['--json']))
    await dev.until(() => dev.events().find((e) => e.type === 'watching'), 'watching')
    const config = join(dir, 'devctl.yaml')
    const good = await readFile(config, 'utf8')
    await writeFile(config, good.replace('project: demo', 'project: Demo_Bad'))
    const broken = await dev.until(() => dev.cycleEnd(1), 'the cycle with a broken devctl.yaml')
    expect(broken).toMatchObject({status: 'failed', error: {exitCode: 3}})
    expect(broken.error!.message).toMatch(/devctl\.yaml:\d+:\d+: "project" must be a DNS label/)
    await writeFile(config, good)
    const again = await dev.until(() => dev.cycleEnd(2), 'the cycle after the fix')
    expect(again.status, JSON.stringify(again.error)).toBe('unchanged')
    expect(dev.cycleEvents(2)[0]).toMatchObject({trigger: 'config'})
    dev.child.kill('SIGINT')
    expect(await dev.exited).toBe(130)
  })
})
