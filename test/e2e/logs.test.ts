/**
 * `devctl logs` as a user runs it: the built CLI against the simulator, on a `web-worker`
 * environment brought up with `devctl up`, plus workloads the tests add with the real kubectl
 * (a crash-looping one, a steady printer, one with an init container).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {rm} from 'node:fs/promises'
import {createServer} from 'node:net'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {eventually} from '../sim/apiserver/test-support.js'
import type {Pod} from '../sim/apiserver/types.js'
import {type Simulator, startSimulator} from '../sim/index.js'
import {CLI, runCli, tempDir, TOOLS} from '../helpers/cli.js'

const NAMESPACE = 'demo'
const STEADY_LINES = 30_000

// Workloads the tests create get their behaviour from these rules (sim time: ×0.01 in tests).
const CRASH_LOOP = {match: {labels: {'logs-e2e': 'restart'}}, behavior: 'crashLoop', runFor: '1s', logs: {lines: ['hello from a run'], exitLines: ['panic: boom']}}
const SCENARIO = {
  rules: [
    CRASH_LOOP,
    // 10 lines per millisecond (many share a timestamp) for 3 s: long enough to cut it many times.
    {match: {labels: {'logs-e2e': 'steady'}}, behavior: 'run', logs: {replaceDefaults: true, generate: {lines: STEADY_LINES, rate: 100, text: 'steady line {i}'}}},
    // helm deletes the succeeded hook Job (and its pod) at once; a migration that lasts a few
    // seconds, as real ones do, leaves a follower time to open its log however loaded the machine.
    {match: {container: 'migrate'}, runFor: '3m'},
  ],
}

interface Follower {
  lines: string[]
  stderr(): string
  waitFor(check: (lines: string[]) => boolean, what: string): Promise<void>
  /** Ctrl-C, then the exit code. */
  interrupt(): Promise<number>
}

describe('devctl logs (built CLI, simulator)', () => {
  let sim: Simulator
  let dir: string
  let env: NodeJS.ProcessEnv

  // Followers still running when a test fails are killed, so none outlives the simulator.
  const running = new Set<ChildProcess>()
  const cli = (args: string[]) => runCli(args, {cwd: dir, env})

  function follow(args: string[]): Follower {
    const child = spawn(process.execPath, [CLI, 'logs', ...args], {cwd: dir, env: {...process.env, NO_COLOR: '1', CI: '', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    running.add(child)
    child.on('close', () => running.delete(child))
    const lines: string[] = []
    let partial = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      lines.push(...parts)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))))
    return {
      lines,
      stderr: () => stderr,
      async waitFor(check, what) {
        const deadline = Date.now() + 60_000
        while (!check(lines)) {
          if (child.exitCode !== null) throw new Error(`devctl logs exited (${child.exitCode}) before: ${what}\n${stderr}`)
          if (Date.now() > deadline) throw new Error(`no ${what} after 60 s; the last lines:\n${lines.slice(-20).join('\n')}\n${stderr}`)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      },
      async interrupt() {
        child.kill('SIGINT')
        return exited
      },
    }
  }

  /** The real kubectl (asynchronously: the simulator answers from this process). */
  function kubectl(args: string[], input?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(TOOLS.kubectl, [...args, '-n', NAMESPACE], {env: {...process.env, ...env}, stdio: ['pipe', 'ignore', 'pipe']})
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr}`))))
      child.stdin.end(input ?? '')
    })
  }

  /** A Deployment that belongs to the release through helm's annotation (pods reach it via their ReplicaSet). */
  function deployment(name: string, label: string, options: {initContainer?: boolean} = {}): string {
    const init = options.initContainer
      ? `\n      initContainers:\n        - name: wait-for-db\n          image: busybox:1.36\n          command: [sh, -c, "until nc -z devctl-postgres 5432; do sleep 1; done"]`
      : ''
    return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations: {meta.helm.sh/release-name: demo, meta.helm.sh/release-namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}, logs-e2e: ${label}, app.kubernetes.io/component: ${name}}
    spec:${init}
      containers:
        - name: app
          image: example.com/${name}:1.0
`
  }

  beforeAll(async () => {
    sim = await startSimulator({helmVersion: 3, scenario: SCENARIO})
    env = sim.env
    dir = await tempDir('devctl-logs-')
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const {port: free} = server.address() as {port: number}
        server.close(() => resolve(free))
      })
    })
    const init = await cli(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input', '--port', `${port}:80`])
    expect(init.exitCode, init.stderr).toBe(0)
    const up = await cli(['up', '--quiet'])
    expect(up.exitCode, up.stderr + up.stdout).toBe(0)
  })

  afterEach(() => {
    for (const child of running) child.kill('SIGKILL')
  })

  afterAll(async () => sim?.stop())

  it('prints every pod of the release with --no-follow, one pod/container prefix per line, and exits 0', async () => {
    const result = await cli(['logs', '--no-follow'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
    const lines = result.stdout.trimEnd().split('\n')
    const prefixes = new Set(lines.map((line) => line.split(' ')[0]))
    expect([...prefixes].map((p) => p!.replace(/-[a-z0-9]+-[a-z0-9]{5}\//, '-*/')).sort()).toEqual(['demo-web-worker-*/api', 'demo-web-worker-worker-*/worker'])
    // devctl's own Postgres and Redis only with --services.
    const withServices = await cli(['logs', '--no-follow', '--services', '--grep', '[Rr]eady to accept connections'])
    expect(withServices.stdout).toMatch(/^devctl-postgres-0\/postgres .*database system is ready to accept connections$/m)
    expect(withServices.stdout).toMatch(/^devctl-redis-0\/redis .*Ready to accept connections tcp$/m)
  })

  it('reaches a running cluster through the kubeconfig devctl kept, without a k3d process; fetches it again when it is gone', async () => {
    const k3dRuns = () => sim.commands('k3d').map((c) => c.argv.slice(0, 2).join(' '))
    const before = k3dRuns().length
    const kept = await cli(['logs', '--no-follow', '--tail', '1'])
    expect(kept.exitCode, kept.stderr).toBe(0)
    expect(k3dRuns().slice(before)).toEqual([])
    await rm(join(dir, '.devctl', 'kubeconfig'))
    const fetched = await cli(['logs', '--no-follow', '--tail', '1'])
    expect(fetched.exitCode, fetched.stderr).toBe(0)
    expect(fetched.stdout).toMatch(/^demo-web-worker-\S+\/api /m)
    expect(k3dRuns().slice(before)).toEqual(['cluster list', 'kubeconfig get'])
  })

  const linesOf = async (args: string[]) => (await cli(['logs', '--no-follow', ...args])).stdout.trimEnd().split('\n')

  it('narrows to a component (its label, not every pod name containing it) or a pod-name regex', async () => {
    const worker = await linesOf(['worker'])
    expect(worker.length).toBeGreaterThan(0)
    expect(worker.every((line) => /^demo-web-worker-worker-\S+\/worker /.test(line))).toBe(true)
    const byPodName = await linesOf(['web-worker-[0-9a-f]+-'])
    expect(byPodName.length).toBeGreaterThan(0)
    expect(byPodName.every((line) => /^demo-web-worker-[0-9a-f]+-\w+\/api /.test(line))).toBe(true)
  })

  it('filters by --container, --grep and --exclude', async () => {
    const container = await linesOf(['--container', '^api$'])
    expect(container.length).toBeGreaterThan(0)
    expect(container.every((line) => /\/api /.test(line))).toBe(true)
    const grep = await linesOf(['--grep', 'heartbeat|healthz'])
    expect(grep.length).toBeGreaterThan(0)
    expect(grep.every((line) => /heartbeat|healthz/.test(line))).toBe(true)
    const exclude = await linesOf(['--exclude', 'heartbeat|healthz'])
    expect(exclude.length).toBeGreaterThan(0)
    expect(exclude.some((line) => /heartbeat|healthz/.test(line))).toBe(false)
    const badRegex = await cli(['logs', '--no-follow', '--grep', 'a('])
    expect(badRegex.exitCode).toBe(2)
    expect(badRegex.stderr).toMatch(/^Error: --grep "a\(" is not a valid regular expression/)
  })

  it('prints one parseable JSON object per line with --json, events included with --events', async () => {
    const result = await cli(['logs', '--no-follow', '--json', '--events'])
    expect(result.exitCode, result.stderr).toBe(0)
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    // Log records, then exactly one result record.
    expect(lines.at(-1)).toMatchObject({type: 'result', command: 'logs', status: 'ok', result: {pods: expect.any(Number), containers: expect.any(Number)}})
    const records = lines.slice(0, -1)
    for (const record of records) {
      expect(Object.keys(record).sort()).toEqual(['container', 'message', 'pod', 'stream', 'ts', 'type'])
      expect(Number.isFinite(Date.parse(String(record.ts)))).toBe(true)
    }
    expect(records.some((r) => r.stream === 'event' && /^Normal Scheduled: Successfully assigned demo\//.test(String(r.message)))).toBe(true)
    expect(records.some((r) => r.stream === 'log' && r.container === 'worker')).toBe(true)
    // In time order.
    const times = records.map((r) => Date.parse(String(r.ts)))
    expect(times).toEqual([...times].sort((a, b) => a - b))
  })

  it('starts at --tail lines and at --since', async () => {
    /** The log records of a --json run (without its result record). */
    const records = (stdout: string) =>
      stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as {type: string; ts: string; message: string})
        .filter((record) => record.type === 'log')
    const full = records((await cli(['logs', '--no-follow', '--json', 'worker'])).stdout)
    expect(full.length).toBeGreaterThan(6)
    const tail = records((await cli(['logs', '--no-follow', '--json', '--tail', '3', 'worker'])).stdout)
    expect(tail).toHaveLength(3)
    // The tail is the end of the log as it was then; the full read came first, so it ends no earlier.
    expect(Date.parse(tail[0]!.ts)).toBeGreaterThanOrEqual(Date.parse(full.at(-3)!.ts))

    const from = full[Math.floor(full.length / 2)]!.ts
    const since = records((await cli(['logs', '--no-follow', '--json', '--since', from, 'worker'])).stdout)
    const expected = full.filter((line) => Date.parse(line.ts) >= Date.parse(from))
    expect(since.slice(0, expected.length)).toEqual(expected)
    expect(since.every((line) => Date.parse(line.ts) >= Date.parse(from))).toBe(true)
    expect((await cli(['logs', '--no-follow', '--since', '1h', 'worker'])).stdout.trimEnd().split('\n').length).toBeGreaterThanOrEqual(full.length)
  })

  it('follows a new pod, its init container included, and the migration Job pod of an upgrade', async () => {
    const logs = follow([])
    await logs.waitFor((lines) => lines.some((line) => line.includes('/worker ')), 'the backlog')
    await kubectl(['apply', '--validate=false', '-f', '-'], deployment('late-api', 'late', {initContainer: true}))
    await logs.waitFor((lines) => lines.some((line) => /^late-api-\S+\/app Starting app$/.test(line)), 'the new pod')
    expect(logs.lines.some((line) => /^late-api-\S+\/wait-for-db Starting wait-for-db$/.test(line))).toBe(true)

    const upgrade = await cli(['up', '--force', '--quiet'])
    expect(upgrade.exitCode, upgrade.stderr).toBe(0)
    await logs.waitFor((lines) => lines.some((line) => /^demo-web-worker-migrate-\S+\/migrate Migrations complete/.test(line)), 'the migration')
    const migration = logs.lines.filter((line) => line.startsWith('demo-web-worker-migrate-')).map((line) => line.replace(/^\S+ /, ''))
    expect(migration.slice(0, 2)).toEqual(['Connecting to database...', 'Running migrations...'])
    expect(migration.slice(2, -1).every((line) => /^applying \S+ \.\.\. ok$/.test(line)) && migration.length > 3).toBe(true)
    expect(migration.at(-1)).toMatch(/^Migrations complete/)
    expect(await logs.interrupt()).toBe(130)
    await kubectl(['delete', 'deployment', 'late-api', '--wait=false'])
  }, 120_000)

  /** Cuts a pod's lines into runs at its crash line: every finished run must be the same, whole, once. */
  function runsOf(lines: string[], pod: RegExp): {finished: string[][]; current: string[]} {
    const runs: string[][] = [[]]
    for (const line of lines) {
      if (!pod.test(line)) continue
      runs.at(-1)!.push(line.replace(/^\S+ /, ''))
      if (line.endsWith(' panic: boom')) runs.push([])
    }
    return {finished: runs.slice(0, -1), current: runs.at(-1)!}
  }

  it('shows a crashed run to its last line once, then the restarted run', async () => {
    const logs = follow(['crasher'])
    await kubectl(['apply', '--validate=false', '-f', '-'], deployment('crasher', 'restart'))
    await logs.waitFor((lines) => runsOf(lines, /^crasher-/).finished.length >= 2, 'two crashes')
    expect(await logs.interrupt()).toBe(130)
    const {finished, current} = runsOf(logs.lines, /^crasher-/)
    const run = finished[0]!
    expect(run[0]).toBe('Starting app')
    expect(run.filter((line) => line === 'hello from a run')).toHaveLength(1)
    expect(run.slice(-2)).toEqual(['Error: exiting with failure', 'panic: boom'])
    for (const other of finished) expect(other).toEqual(run)
    expect(run.slice(0, current.length)).toEqual(current)

    // Started after the crashes: the run before the restart is read from `previous`, once. Here
    // runs crash every few tenths of a second (a real crash loop waits 10 s and more between
    // runs), so let the next run stay up: the read below must not race a restart.
    await sim.setScenario({rules: SCENARIO.rules.map((rule) => (rule === CRASH_LOOP ? {...rule, behavior: 'run'} : rule))})
    await eventually(
      () => {
        const pods = (sim.cluster('demo')?.list('v1', 'Pod', NAMESPACE) ?? []) as Pod[]
        const app = pods.find((p) => p.metadata.name.startsWith('crasher-'))?.status?.containerStatuses?.[0]
        return Boolean(app?.state.running && app.lastState.terminated)
      },
      {what: 'a crasher run that stays up after the crashes', timeoutMs: 30_000},
    )
    const afterwards = await cli(['logs', '--no-follow', 'crasher'])
    const again = runsOf(afterwards.stdout.split('\n'), /^crasher-/)
    const shown = `--- devctl logs --no-follow crasher ---\n${afterwards.stdout}${afterwards.stderr}`
    expect(again.finished.length, shown).toBeGreaterThanOrEqual(1)
    for (const other of again.finished) expect(other, shown).toEqual(run)
    expect(run.slice(0, again.current.length), shown).toEqual(again.current)
    await kubectl(['delete', 'deployment', 'crasher', '--wait=false'])
  })

  it('loses and repeats no line when log streams and watches drop, and still picks up new pods', async () => {
    const logs = follow(['--json', 'steady|late-steady'])
    await kubectl(['apply', '--validate=false', '-f', '-'], deployment('steady', 'steady'))
    // Every line is JSON; the last one (after Ctrl-C) is the error object, not a log record.
    const messages = () => logs.lines.map((line) => JSON.parse(line) as {pod?: string; message?: string}).filter((record) => record.pod !== undefined)
    const lastLines = () => messages().filter((m) => m.message === `steady line ${STEADY_LINES}`).length
    // Each fault hits streams that are live again: it waits for 500 more lines since the last.
    // No fault comes after a pod's last line, so a line a resume repeats would arrive before the
    // last line (a stream is read in order): once both last lines are in, nothing can follow.
    let drops = 0
    for (; drops < 12 && lastLines() === 0; drops++) {
      const seen = logs.lines.length
      await logs.waitFor((lines) => lines.length >= seen + 500, `500 lines after ${drops} fault(s)`)
      await sim.injectFault({type: 'drop-log-streams', cluster: 'demo'})
      if (drops % 3 === 0) await sim.injectFault({type: 'drop-watches', cluster: 'demo'})
      if (drops === 4) await kubectl(['apply', '--validate=false', '-f', '-'], deployment('late-steady', 'steady'))
    }
    expect(drops, 'faults before the first pod printed its last line').toBeGreaterThanOrEqual(6)
    await logs.waitFor(() => lastLines() >= 2, 'both pods printed everything')
    expect(await logs.interrupt()).toBe(130)
    for (const pod of ['steady', 'late-steady']) {
      const lines = messages()
        .filter((m) => m.pod!.startsWith(`${pod}-`))
        .map((m) => m.message)
      expect(lines).toHaveLength(STEADY_LINES)
      expect(lines).toEqual(Array.from({length: STEADY_LINES}, (_, i) => `steady line ${i + 1}`))
    }
    await kubectl(['delete', 'deployment', 'steady', 'late-steady', '--wait=false'])
  })

  it('exits 0 and quietly when the reader goes away (| head -n 5)', async () => {
    const shell = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" logs | head -n 5`], {cwd: dir, env: {...process.env, ...env, NO_COLOR: '1'}})
    let stdout = ''
    let stderr = ''
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    shell.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const status = await new Promise<number | null>((resolve) => shell.on('close', resolve))
    expect(stderr).toBe('')
    expect(status).toBe(0)
    expect(stdout.trimEnd().split('\n')).toHaveLength(5)
  })

  it('stops every stream on Ctrl-C and exits 130 quietly: Ctrl-C is how a person leaves logs -f', async () => {
    const logs = follow([])
    await logs.waitFor((lines) => lines.length > 0, 'some lines')
    expect(await logs.interrupt()).toBe(130)
    expect(logs.stderr()).toBe('')
  })
})
