/**
 * The stand-in `helm` (3.17 or 4.1, per simulator). Commands that never touch a cluster run the
 * real binary. Release commands are emulated against the cluster's REST API with helm's own
 * order of operations, release records, output and error texts for each major version.
 */
import {spawn} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {stringify as stringifyYaml} from 'yaml'

import type {KubeObject} from '../apiserver/contract.js'
import {type Invocation, type ToolIO} from './exec.js'
import {commandWords, FlagError, parseFlags, type ParsedFlags} from './flags.js'
import {goAnsic, goTimeString} from './gotime.js'
import {chartLabel, HelmRenderError, manifestText, renderChart, type RenderedChart} from './helm-chart.js'
import {ReleaseEngine, type WaitStrategy} from './helm-engine.js'
import {chartPathFlagNames, globalHelmFlags, helmCommandFlags, valueFlagNames} from './helm-flags.js'
import {helmNow, type Release, releaseJson, type ReleaseStatus, ReleaseStorage, systemLabels} from './helm-release.js'
import type {HelmVersion, SimHost} from './host.js'
import {KubeClient, UnreachableError} from './kube-client.js'
import {resolveEndpoint} from './kubeconfig.js'

/** A failure helm reports as "Error: <message>" with exit 1. */
class HelmError extends Error {}

/** Aliases cobra accepts for the emulated commands. */
const emulated: Record<string, string> = {
  install: 'install',
  upgrade: 'upgrade',
  status: 'status',
  history: 'history',
  hist: 'history',
  rollback: 'rollback',
  uninstall: 'uninstall',
  un: 'uninstall',
  delete: 'uninstall',
  del: 'uninstall',
  list: 'list',
  ls: 'list',
  get: 'get',
}

function goQuote(text: string): string {
  return JSON.stringify(text)
}

/** helm 4 logs through slog's text handler on stderr (without timestamps). */
function slogLine(level: 'ERROR' | 'WARN', message: string, attrs: Record<string, string> = {}): string {
  const value = (v: string): string => (/^[\w./:-]+$/.test(v) ? v : goQuote(v))
  return `level=${level} msg=${value(message)}${Object.entries(attrs).map(([k, v]) => ` ${k}=${value(v)}`).join('')}\n`
}

function helmEnv(invocation: Invocation, host: SimHost): Record<string, string> {
  const base = join(host.options.stateDir, 'helm')
  return {
    HELM_CACHE_HOME: join(base, 'cache'),
    HELM_CONFIG_HOME: join(base, 'config'),
    HELM_DATA_HOME: join(base, 'data'),
    ...invocation.env,
  }
}

/** Runs the real helm binary with the caller's argv (commands that never touch a cluster). */
async function passThrough(invocation: Invocation, io: ToolIO, host: SimHost): Promise<number> {
  const readsStdin = invocation.argv.some((arg, i) => arg === '-' && i > 0)
  const stdin = readsStdin ? await io.readStdin() : undefined
  return new Promise((resolve, reject) => {
    const child = spawn(host.helmBinary(), invocation.argv, {cwd: invocation.cwd, env: {PATH: process.env.PATH ?? '', ...helmEnv(invocation, host)}, signal: io.abandoned})
    child.stdout.on('data', (chunk: Buffer) => io.stdout(chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => io.stderr(chunk.toString('utf8')))
    child.stdin.end(stdin)
    child.on('error', (error) => (io.abandoned.aborted ? reject(io.abandoned.reason) : reject(error)))
    child.on('close', (code) => resolve(code ?? 1))
  })
}

interface InstallOptions {
  name: string
  chartRef: string
  /** Prefix of failures: "INSTALLATION FAILED" for `helm install`, none via `upgrade --install`. */
  prefix: string
  /** Reinstalling over an uninstalled (kept) release. */
  replace: boolean
}

class HelmSession {
  readonly helm: HelmVersion
  kube: KubeClient | undefined
  /** The server's gitVersion, for rendering with the cluster's capabilities. */
  private kubeVersion: string | undefined
  storage!: ReleaseStorage
  namespace = 'default'
  private unreachable: Error | undefined

  constructor(
    readonly host: SimHost,
    readonly io: ToolIO,
    readonly invocation: Invocation,
    readonly flags: ParsedFlags,
  ) {
    this.helm = host.helmVersion
  }

  get texts(): {unreachable: string; cannotReuse: string; continueInstall: string; continueUpdate: string; rollbackFlag: string} {
    return this.helm === 3
      ? {unreachable: 'Kubernetes cluster unreachable', cannotReuse: 'cannot re-use a name that is still in use', continueInstall: 'Unable to continue with install', continueUpdate: 'Unable to continue with update', rollbackFlag: 'atomic'}
      : {unreachable: 'kubernetes cluster unreachable', cannotReuse: 'cannot reuse a name that is still in use', continueInstall: 'unable to continue with install', continueUpdate: 'unable to continue with update', rollbackFlag: 'rollback-on-failure'}
  }

  /** Finds the cluster in the kubeconfig and notes whether it answers (helm's IsReachable). */
  async connect(): Promise<void> {
    if (this.kube) return
    let endpoint
    try {
      endpoint = await resolveEndpoint(this.invocation.env, this.flags.string('kubeconfig'), this.flags.string('kube-context'))
    } catch (error) {
      throw new HelmError(`${this.texts.unreachable}: ${(error as Error).message}`)
    }
    this.namespace = this.flags.string('namespace') || endpoint.namespace
    this.kube = new KubeClient(this.flags.string('kube-apiserver') || endpoint.server, this.flags.string('kube-token') || endpoint.token, this.io.abandoned)
    this.storage = new ReleaseStorage(this.kube, this.namespace, this.helm)
    try {
      this.kubeVersion = (await this.kube.version()).gitVersion
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error
      this.unreachable = new HelmError(`${this.texts.unreachable}: ${error.message}`)
    }
  }

  get cluster(): KubeClient {
    if (!this.kube) throw new Error('not connected')
    return this.kube
  }

  requireReachable(): void {
    if (this.unreachable) throw this.unreachable
  }

  engine(signal: AbortSignal, applyMethod?: string): ReleaseEngine {
    return new ReleaseEngine(this.cluster.withSignal(signal), this.helm, this.host.clock, signal, applyMethod === 'ssa')
  }

  /** helm 4's --server-side: true/false, or "auto" = what the previous release used (ssa when new). */
  applyMethod(previous: Release | undefined): string | undefined {
    if (this.helm === 3) return undefined
    const flag = this.flags.string('server-side')
    if (flag === 'auto') return previous?.applyMethod ?? 'ssa'
    return flag === 'false' ? 'csa' : 'ssa'
  }

  async history(name: string): Promise<Release[]> {
    return this.storage.history(name)
  }

  async last(name: string): Promise<Release> {
    const history = await this.history(name)
    const last = history.at(-1)
    if (!last) throw new HelmError('release: not found')
    return last
  }

  get waitStrategy(): WaitStrategy {
    if (this.helm === 3) return this.flags.bool('wait') || this.flags.bool('atomic') ? 'legacy' : 'none'
    const given = this.flags.string('wait')
    const strategy = given === 'true' ? 'watcher' : given === 'false' ? 'hookOnly' : given
    if (strategy === 'hookOnly') return this.rollbackOnFailure ? 'watcher' : 'none'
    return strategy as WaitStrategy
  }

  /** uninstall --wait: helm 3's bool, helm 4's strategy (anything but hookOnly waits). */
  get uninstallWaits(): boolean {
    return this.helm === 3 ? this.flags.bool('wait') : this.flags.string('wait') !== 'hookOnly' && this.flags.string('wait') !== 'false'
  }

  get rollbackOnFailure(): boolean {
    return this.flags.bool('atomic') || (this.helm === 4 && this.flags.bool('rollback-on-failure'))
  }

  get dryRun(): boolean {
    const value = this.flags.string('dry-run')
    return this.flags.has('dry-run') && value !== 'none' && value !== 'false'
  }

  /** Some of the command's flags as given, in order, to hand to the real helm. */
  private givenFlags(names: string[]): string[] {
    const args: string[] = []
    const argv = this.invocation.argv
    const bools = new Set(['verify', 'insecure-skip-tls-verify', 'plain-http', 'pass-credentials'])
    for (let i = 0; i < argv.length; i++) {
      const token = argv[i] as string
      // --name, --name=value, -f, -fvalue, -f=value
      const match = /^(?:--([a-z-]+)(=.*)?|-f(.*))$/.exec(token)
      const name = match?.[1] ?? (match?.[3] !== undefined ? 'values' : undefined)
      if (!name || !names.includes(name)) continue
      if (match?.[2] || match?.[3] || bools.has(name)) args.push(token)
      else args.push(token, argv[++i] ?? '')
    }
    return args
  }

  /** The value flags (-f, --set, ...) in the order given, for the real `helm template`. */
  valueArgs(): string[] {
    return this.givenFlags(valueFlagNames)
  }

  /** --post-renderer and its args: the real `helm template` runs them too. */
  postRendererArgs(): string[] {
    return this.givenFlags(['post-renderer', 'post-renderer-args'])
  }

  /** A values file in the simulator's scratch space (previous values, or what came on stdin). */
  private async valuesFile(name: string, content: string): Promise<string> {
    const scratch = join(this.host.options.stateDir, 'values')
    await mkdir(scratch, {recursive: true})
    const file = join(scratch, `${name}-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`)
    await writeFile(file, content)
    return file
  }

  async render(name: string, chartRef: string, isUpgrade: boolean, extraValues: Record<string, unknown> | undefined): Promise<RenderedChart> {
    const env = helmEnv(this.invocation, this.host)
    // `-f -` reads the caller's stdin; the real helm gets it as a file.
    const stdinFile = this.valueArgs().some((a) => a === '-' || a.endsWith('=-')) ? await this.valuesFile(name, await this.io.readStdin()) : undefined
    let valueArgs = this.valueArgs().map((a) => (a === '-' ? (stdinFile as string) : a.endsWith('=-') ? `${a.slice(0, -1)}${stdinFile}` : a))
    if (extraValues) valueArgs = ['--values', await this.valuesFile(name, JSON.stringify(extraValues)), ...valueArgs]
    try {
      return await renderChart({
        helmBinary: this.host.helmBinary(),
        helm: this.helm,
        releaseName: name,
        namespace: this.namespace,
        chartRef,
        pullArgs: this.givenFlags(chartPathFlagNames),
        valueArgs,
        postRendererArgs: this.postRendererArgs(),
        isUpgrade,
        kubeVersion: this.kubeVersion,
        cwd: this.invocation.cwd,
        env,
        scratchDir: join(this.host.options.stateDir, 'render'),
        signal: this.io.abandoned,
      })
    } catch (error) {
      if (error instanceof HelmRenderError) throw new HelmError(error.message.replace(/^INSTALLATION FAILED: /, ''))
      throw error
    }
  }

  checkLabels(): Record<string, string> {
    const labels = this.flags.map('labels')
    if (Object.keys(labels).some((k) => systemLabels.includes(k))) throw new HelmError(`user supplied labels contains system reserved label name. System labels: [${systemLabels.join(' ')}]`)
    return labels
  }

  /**
   * Runs a release operation that helm lets Ctrl-C cancel: on SIGINT/SIGTERM it prints
   * "Release X has been cancelled.", stops the work and fails with "context canceled".
   */
  async cancellable<T>(name: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const stop = new AbortController()
    let cancel!: () => void
    const cancellation = new Promise<never>((_, reject) => {
      cancel = () => {
        this.io.stdout(`Release ${name} has been cancelled.\n`)
        reject(new HelmError('context canceled'))
      }
    })
    const untrap = this.io.trapSignals(() => cancel())
    try {
      return await Promise.race([work(AbortSignal.any([stop.signal, this.io.abandoned])), cancellation])
    } finally {
      untrap()
      stop.abort(new HelmError('context canceled'))
    }
  }

  // --- output -----------------------------------------------------------------------------

  printRelease(release: Release, options: {showDescription?: boolean; hideNotes?: boolean} = {}): void {
    const format = this.flags.string('output') || 'table'
    if (format === 'json') return this.io.stdout(`${JSON.stringify(releaseJson(release, this.helm))}\n`)
    if (format === 'yaml') return this.io.stdout(stringifyYaml(releaseJson(release, this.helm)))
    const lines = [`NAME: ${release.name}`]
    if (release.info.last_deployed) lines.push(`LAST DEPLOYED: ${goAnsic(new Date(release.info.last_deployed))}`)
    lines.push(`NAMESPACE: ${release.namespace}`, `STATUS: ${this.colourStatus(release.info.status)}`, `REVISION: ${release.version}`)
    if (this.helm === 4 || options.showDescription) lines.push(`DESCRIPTION: ${release.info.description}`)
    lines.push('TEST SUITE: None')
    if (release.info.description === 'Dry run complete') {
      lines.push('HOOKS:', ...release.hooks.map((h) => `---\n# Source: ${h.path}\n${h.manifest}`), `MANIFEST:\n${release.manifest}`)
    }
    if (!options.hideNotes && release.info.notes) lines.push(`NOTES:\n${release.info.notes.trim()}`)
    this.io.stdout(`${lines.join('\n')}\n`)
  }

  /** helm 4 colours the status on a terminal (fatih/color, off for pipes and NO_COLOR). */
  private colourStatus(status: ReleaseStatus): string {
    const mode = this.flags.string('color') || this.flags.string('colour')
    const wanted = this.helm === 4 && mode !== 'never' && (mode === 'always' || (this.invocation.stdoutIsTTY && !this.invocation.env.NO_COLOR))
    if (!wanted) return status
    const code = status === 'deployed' ? 32 : status === 'failed' || status === 'unknown' ? 31 : status.startsWith('pending') || status === 'uninstalling' ? 33 : 0
    return code ? `\u001b[${code}m${status}\u001b[0m` : status
  }

  printTable(header: string[], rows: string[][]): void {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
    const line = (cells: string[]): string => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('\t')}\n`
    this.io.stdout((this.flags.bool('no-headers') ? [] : [line(header)]).concat(rows.map(line)).join(''))
  }

  printData(data: unknown): void {
    const format = this.flags.string('output') || 'table'
    this.io.stdout(format === 'json' ? `${JSON.stringify(data)}\n` : stringifyYaml(data))
  }

  // --- install ----------------------------------------------------------------------------

  async install(options: InstallOptions): Promise<number> {
    const fail = (message: string): never => {
      throw new HelmError(options.prefix ? `${options.prefix}: ${message}` : message)
    }
    await this.connect()
    let rendered: RenderedChart
    try {
      rendered = await this.render(options.name, options.chartRef, false, undefined)
    } catch (error) {
      if (error instanceof HelmError) fail(error.message)
      throw error
    }
    if (this.unreachable && !this.dryRun) {
      if (this.helm === 4) this.io.stderr(slogLine('ERROR', `cluster reachability check failed: ${this.unreachable.message}`))
      fail(this.helm === 4 ? `cluster reachability check failed: ${this.unreachable.message}` : this.unreachable.message)
    }
    const history = this.dryRun ? [] : await this.history(options.name)
    const latest = history.at(-1)
    const replaceable = latest && (latest.info.status === 'uninstalled' || latest.info.status === 'failed')
    if (latest && !(options.replace && replaceable)) {
      if (this.helm === 4) this.io.stderr(slogLine('ERROR', 'release name check failed', {error: this.texts.cannotReuse}))
      fail(this.helm === 4 ? `release name check failed: ${this.texts.cannotReuse}` : this.texts.cannotReuse)
    }
    let labels: Record<string, string> = {}
    try {
      labels = this.checkLabels()
    } catch (error) {
      fail((error as Error).message)
    }
    const now = helmNow()
    const release: Release = {
      name: options.name,
      namespace: this.namespace,
      version: latest ? latest.version + 1 : 1,
      info: {first_deployed: now, last_deployed: now, deleted: '', description: 'Initial install underway', status: 'pending-install', notes: rendered.notes},
      chart: rendered.chart,
      config: rendered.config,
      manifest: manifestText(rendered.manifests),
      hooks: rendered.hooks,
      labels,
      applyMethod: this.applyMethod(undefined),
    }
    const engine = this.engine(this.io.abandoned, release.applyMethod)
    let objects: KubeObject[] = []
    let adopted: KubeObject[] = []
    try {
      if (!this.unreachable) {
        objects = await engine.build(rendered.manifests, release, true)
        if (!this.dryRun) {
          try {
            adopted = await engine.adoptable(objects, release, this.flags.bool('take-ownership'))
          } catch (error) {
            fail(`${this.texts.continueInstall}: ${(error as Error).message}`)
          }
        }
      }
    } catch (error) {
      if (error instanceof HelmError) throw error
      fail(`unable to build kubernetes objects from release manifest: ${(error as Error).message}`)
    }
    if (this.dryRun) {
      release.info.description = 'Dry run complete'
      this.printRelease(release, {hideNotes: this.flags.bool('hide-notes')})
      return 0
    }
    if (this.flags.bool('create-namespace')) {
      await this.cluster.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: this.namespace, labels: {name: this.namespace}}}).catch((error: unknown) => {
        if (!(error as {alreadyExists?: boolean}).alreadyExists) throw new HelmError(options.prefix ? `${options.prefix}: ${(error as Error).message}` : (error as Error).message)
      })
    }
    // helm's replaceRelease: a failed last revision keeps its status.
    if (latest && options.replace && latest.info.status !== 'failed') {
      latest.info.status = 'superseded'
      latest.info.description = 'superseded by new release'
      await this.storage.update(latest)
    }
    try {
      await this.storage.create(release)
    } catch (error) {
      fail((error as Error).message)
    }

    const timeoutMs = this.flags.duration('timeout')
    try {
      await this.cancellable(options.name, async (signal) => {
        const work = this.engine(signal, release.applyMethod)
        if (!this.flags.bool('no-hooks')) await work.runHooks(release, 'pre-install', timeoutMs, this.storage).catch((error: Error) => Promise.reject(new HelmError(`failed pre-install: ${error.message}`)))
        const adoptedKeys = new Set(adopted.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`))
        if (adopted.length > 0) await work.updateAll(adopted, objects)
        else await work.createAll(objects.filter((o) => !adoptedKeys.has(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)))
        await work.waitReady(objects, timeoutMs, this.waitStrategy, this.flags.bool('wait-for-jobs'))
        if (!this.flags.bool('no-hooks')) await work.runHooks(release, 'post-install', timeoutMs, this.storage).catch((error: Error) => Promise.reject(new HelmError(`failed post-install: ${error.message}`)))
      })
    } catch (error) {
      if (this.io.abandoned.aborted) throw error
      const message = (error as Error).message
      release.info.status = 'failed'
      release.info.description = `Release ${goQuote(options.name)} failed: ${message}`
      await this.storage.update(release)
      if (this.rollbackOnFailure) {
        await this.purge(options.name)
        fail(`release ${options.name} failed, and has been uninstalled due to ${this.texts.rollbackFlag} being set: ${message}`)
      }
      fail(message)
    }
    release.info.status = 'deployed'
    release.info.description = this.flags.string('description') || 'Install complete'
    await this.storage.update(release)
    this.printRelease(release, {hideNotes: this.flags.bool('hide-notes')})
    return 0
  }

  /** Uninstall without history (what --atomic does to a failed install). */
  private async purge(name: string): Promise<void> {
    const history = await this.history(name)
    const last = history.at(-1)
    if (!last) return
    const engine = this.engine(this.io.abandoned)
    await engine.deleteAll(await engine.buildFromManifest(last.manifest, last))
    for (const release of history) await this.storage.delete(release)
  }

  // --- upgrade ----------------------------------------------------------------------------

  async upgrade(name: string, chartRef: string): Promise<number> {
    if (this.flags.bool('install')) {
      await this.connect()
      this.requireReachable()
      const history = await this.history(name)
      const latest = history.at(-1)
      if (!latest || latest.info.status === 'uninstalled') {
        if ((this.flags.string('output') || 'table') === 'table') this.io.stdout(`Release ${goQuote(name)} does not exist. Installing it now.\n`)
        return this.install({name, chartRef, prefix: '', replace: latest !== undefined})
      }
    }
    const fail = (message: string): never => {
      throw new HelmError(`UPGRADE FAILED: ${message}`)
    }
    await this.connect()
    if (this.unreachable) fail(this.unreachable.message)
    const history = await this.history(name)
    const last = history.at(-1)
    if (!last) fail(`${goQuote(name)} has no deployed releases`)
    const lastRelease = last as Release
    if (lastRelease.info.status.startsWith('pending')) fail('another operation (install/upgrade/rollback) is in progress')
    const current = [...history].reverse().find((r) => r.info.status === 'deployed') ?? (['failed', 'superseded'].includes(lastRelease.info.status) ? lastRelease : undefined)
    if (!current) fail(`${goQuote(name)} has no deployed releases`)
    const currentRelease = current as Release

    // helm reuses the last values when none are given (and merges them with --reuse-values).
    const givenValues = this.valueArgs().length > 0
    const reuse = !this.flags.bool('reset-values') && (this.flags.bool('reuse-values') || this.flags.bool('reset-then-reuse-values') || !givenValues)
    let rendered: RenderedChart
    try {
      rendered = await this.render(name, chartRef, true, reuse ? currentRelease.config : undefined)
    } catch (error) {
      if (error instanceof HelmError) fail(error.message)
      throw error
    }
    let userLabels: Record<string, string> = {}
    try {
      userLabels = this.checkLabels()
    } catch (error) {
      fail((error as Error).message)
    }
    const labels = {...lastRelease.labels}
    for (const [key, value] of Object.entries(userLabels)) {
      if (value === 'null') delete labels[key]
      else labels[key] = value
    }
    const upgraded: Release = {
      name,
      namespace: currentRelease.namespace,
      version: lastRelease.version + 1,
      info: {first_deployed: currentRelease.info.first_deployed, last_deployed: helmNow(), deleted: '', description: 'Preparing upgrade', status: 'pending-upgrade', notes: rendered.notes},
      chart: rendered.chart,
      config: rendered.config,
      manifest: manifestText(rendered.manifests),
      hooks: rendered.hooks,
      labels,
      applyMethod: this.applyMethod(currentRelease),
    }
    const engine = this.engine(this.io.abandoned, upgraded.applyMethod)
    let currentObjects: KubeObject[] = []
    let target: KubeObject[] = []
    try {
      currentObjects = await engine.buildFromManifest(currentRelease.manifest, currentRelease)
    } catch (error) {
      fail(`unable to build kubernetes objects from current release manifest: ${(error as Error).message}`)
    }
    try {
      target = await engine.build(rendered.manifests, upgraded, true)
    } catch (error) {
      fail(`unable to build kubernetes objects from new release manifest: ${(error as Error).message}`)
    }
    const known = new Set(currentObjects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`))
    try {
      await engine.adoptable(target.filter((o) => !known.has(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)), upgraded, this.flags.bool('take-ownership'))
    } catch (error) {
      fail(`${this.texts.continueUpdate}: ${(error as Error).message}`)
    }
    if (this.dryRun) {
      upgraded.info.description = this.flags.string('description') || 'Dry run complete'
      this.printRelease(upgraded, {hideNotes: this.flags.bool('hide-notes')})
      return 0
    }
    await this.storage.create(upgraded)

    const timeoutMs = this.flags.duration('timeout')
    try {
      await this.cancellable(name, async (signal) => {
        const work = this.engine(signal, upgraded.applyMethod)
        if (!this.flags.bool('no-hooks')) await work.runHooks(upgraded, 'pre-upgrade', timeoutMs, this.storage).catch((error: Error) => Promise.reject(new HelmError(`pre-upgrade hooks failed: ${error.message}`)))
        await work.updateAll(currentObjects, target)
        await work.waitReady(target, timeoutMs, this.waitStrategy, this.flags.bool('wait-for-jobs'))
        if (!this.flags.bool('no-hooks')) await work.runHooks(upgraded, 'post-upgrade', timeoutMs, this.storage).catch((error: Error) => Promise.reject(new HelmError(`post-upgrade hooks failed: ${error.message}`)))
      })
    } catch (error) {
      if (this.io.abandoned.aborted) throw error
      const message = (error as Error).message
      if (this.helm === 4) this.io.stderr(slogLine('WARN', 'upgrade failed', {name, error: message}))
      upgraded.info.status = 'failed'
      upgraded.info.description = `Upgrade ${goQuote(name)} failed: ${message}`
      await this.storage.update(upgraded)
      if (this.rollbackOnFailure) {
        const previous = [...(await this.history(name))].reverse().find((r) => r.info.status === 'superseded' || r.info.status === 'deployed')
        if (!previous) fail(`unable to find a previously successful release when attempting to rollback. original upgrade error: ${message}`)
        await this.performRollback(name, (previous as Release).version, true)
        fail(`release ${name} failed, and has been rolled back due to ${this.texts.rollbackFlag} being set: ${message}`)
      }
      fail(message)
    }
    currentRelease.info.status = 'superseded'
    await this.storage.update(currentRelease)
    upgraded.info.status = 'deployed'
    upgraded.info.description = this.flags.string('description') || 'Upgrade complete'
    await this.storage.update(upgraded)
    await this.pruneHistory(name)
    if ((this.flags.string('output') || 'table') === 'table') this.io.stdout(`Release ${goQuote(name)} has been upgraded. Happy Helming!\n`)
    this.printRelease(upgraded, {hideNotes: this.flags.bool('hide-notes')})
    return 0
  }

  /** --history-max: the oldest superseded records beyond the limit are deleted. */
  private async pruneHistory(name: string): Promise<void> {
    const max = this.flags.int('history-max')
    if (max <= 0) return
    const history = await this.history(name)
    const removable = history.filter((r) => r.info.status === 'superseded' || r.info.status === 'failed')
    for (const release of removable.slice(0, Math.max(0, history.length - max))) await this.storage.delete(release)
  }

  // --- rollback ---------------------------------------------------------------------------

  /** helm's Rollback.Run; `toVersion` 0 means the previous revision. */
  async performRollback(name: string, toVersion: number, wait: boolean): Promise<void> {
    const history = await this.history(name)
    const current = history.at(-1)
    if (!current) throw new HelmError('release: not found')
    const previousVersion = toVersion === 0 ? current.version - 1 : toVersion
    const previous = history.find((r) => r.version === previousVersion)
    if (!previous) throw new HelmError(`release has no ${previousVersion} version`)
    const target: Release = {
      ...structuredClone(previous),
      version: current.version + 1,
      info: {first_deployed: current.info.first_deployed, last_deployed: helmNow(), deleted: '', description: `Rollback to ${previousVersion}`, status: 'pending-rollback', notes: previous.info.notes},
      applyMethod: this.applyMethod(current),
    }
    if (this.dryRun) return
    await this.storage.create(target)
    const engine = this.engine(this.io.abandoned, target.applyMethod)
    const currentObjects = await engine.buildFromManifest(current.manifest, current)
    const targetObjects = await engine.buildFromManifest(target.manifest, target)
    const timeoutMs = this.flags.duration('timeout')
    if (!this.flags.bool('no-hooks')) await engine.runHooks(target, 'pre-rollback', timeoutMs, this.storage)
    try {
      await engine.updateAll(currentObjects, targetObjects)
    } catch (error) {
      current.info.status = 'superseded'
      target.info.status = 'failed'
      target.info.description = `Rollback ${goQuote(name)} failed: ${(error as Error).message}`
      await this.storage.update(current)
      await this.storage.update(target)
      throw error
    }
    try {
      await engine.waitReady(targetObjects, timeoutMs, wait ? (this.helm === 3 ? 'legacy' : 'watcher') : this.waitStrategy, this.flags.bool('wait-for-jobs'))
    } catch (error) {
      target.info.status = 'failed'
      target.info.description = `Release ${goQuote(name)} failed: ${(error as Error).message}`
      await this.storage.update(current)
      await this.storage.update(target)
      throw new HelmError(`release ${name} failed: ${(error as Error).message}`)
    }
    if (!this.flags.bool('no-hooks')) await engine.runHooks(target, 'post-rollback', timeoutMs, this.storage)
    for (const release of history.filter((r) => r.info.status === 'deployed')) {
      release.info.status = 'superseded'
      await this.storage.update(release)
    }
    target.info.status = 'deployed'
    await this.storage.update(target)
  }

  async rollback(name: string, revision: string | undefined): Promise<number> {
    await this.connect()
    this.requireReachable()
    const version = revision === undefined ? 0 : Number(revision)
    if (!Number.isInteger(version)) throw new HelmError(`could not convert revision to a number: strconv.Atoi: parsing ${goQuote(revision ?? '')}: invalid syntax`)
    if (version < 0) throw new HelmError('invalid release revision')
    await this.performRollback(name, version, false)
    this.io.stdout('Rollback was a success! Happy Helming!\n')
    return 0
  }

  // --- uninstall --------------------------------------------------------------------------

  async uninstall(names: string[]): Promise<number> {
    await this.connect()
    this.requireReachable()
    for (const name of names) {
      const history = await this.history(name)
      const release = history.at(-1)
      if (!release) {
        if (this.flags.bool('ignore-not-found')) continue
        throw new HelmError(`uninstall: Release not loaded: ${name}: release: not found`)
      }
      if (this.flags.bool('dry-run')) {
        this.io.stdout(`release ${goQuote(name)} uninstalled\n`)
        continue
      }
      if (release.info.status === 'uninstalled') {
        if (this.flags.bool('keep-history')) throw new HelmError(`the release named ${goQuote(name)} is already deleted`)
        for (const record of history) await this.storage.delete(record)
        this.io.stdout(`release ${goQuote(name)} uninstalled\n`)
        continue
      }
      release.info.status = 'uninstalling'
      release.info.deleted = helmNow()
      release.info.description = 'Deletion in progress (or silently failed)'
      const engine = this.engine(this.io.abandoned)
      const timeoutMs = this.flags.duration('timeout')
      if (!this.flags.bool('no-hooks')) await engine.runHooks(release, 'pre-delete', timeoutMs, this.storage)
      await this.storage.update(release)
      const objects = await engine.buildFromManifest(release.manifest, release)
      const kept = await engine.deleteAll(objects)
      if (this.uninstallWaits) await engine.waitDeleted(objects.filter((o) => !kept.includes(o)), timeoutMs)
      if (!this.flags.bool('no-hooks')) await engine.runHooks(release, 'post-delete', timeoutMs, this.storage)
      release.info.status = 'uninstalled'
      release.info.description = this.flags.string('description') || 'Uninstallation complete'
      if (this.flags.bool('keep-history')) await this.storage.update(release)
      else for (const record of history) await this.storage.delete(record)
      if (kept.length > 0) this.io.stdout(`These resources were kept due to the resource policy:\n${kept.map((o) => `[${o.kind}] ${o.metadata.name}\n`).join('')}\n`)
      this.io.stdout(`release ${goQuote(name)} uninstalled\n`)
    }
    return 0
  }

  // --- read-only commands -----------------------------------------------------------------

  async release(name: string, revision: number): Promise<Release> {
    await this.connect()
    this.requireReachable()
    const history = await this.history(name)
    const found = revision > 0 ? history.find((r) => r.version === revision) : history.at(-1)
    if (!found) throw new HelmError('release: not found')
    return found
  }

  async status(name: string): Promise<number> {
    const release = await this.release(name, this.flags.int('revision'))
    this.printRelease(release, {showDescription: this.flags.bool('show-desc')})
    return 0
  }

  async historyCommand(name: string): Promise<number> {
    await this.connect()
    this.requireReachable()
    const history = (await this.history(name)).slice(-this.flags.int('max'))
    if (history.length === 0) throw new HelmError('release: not found')
    const rows = history.map((r) => ({
      revision: r.version,
      updated: r.info.last_deployed,
      status: r.info.status,
      chart: chartLabel(r.chart),
      app_version: r.chart.metadata.appVersion ?? '',
      description: r.info.description,
    }))
    if ((this.flags.string('output') || 'table') !== 'table') {
      this.printData(rows)
      return 0
    }
    this.printTable(
      ['REVISION', 'UPDATED', 'STATUS', 'CHART', 'APP VERSION', 'DESCRIPTION'],
      rows.map((r) => [String(r.revision), goAnsic(new Date(r.updated)), r.status, r.chart, r.app_version, r.description]),
    )
    return 0
  }

  async getValues(name: string): Promise<number> {
    const release = await this.release(name, this.flags.int('revision'))
    const values = this.flags.bool('all') ? coalesce(release.chart.values, release.config) : release.config
    const format = this.flags.string('output') || 'table'
    if (format !== 'table') this.printData(values)
    else this.io.stdout(`${this.flags.bool('all') ? 'COMPUTED' : 'USER-SUPPLIED'} VALUES:\n${Object.keys(values).length === 0 ? 'null\n' : stringifyYaml(values)}`)
    return 0
  }

  async list(): Promise<number> {
    await this.connect()
    this.requireReachable()
    const all = await this.storage.all(this.flags.bool('all-namespaces'))
    const latest = new Map<string, Release>()
    for (const release of all) {
      const key = `${release.namespace}/${release.name}`
      if ((latest.get(key)?.version ?? 0) < release.version) latest.set(key, release)
    }
    const wanted = (['deployed', 'failed', 'pending', 'superseded', 'uninstalled', 'uninstalling'] as const).filter((s) => this.flags.bool(s))
    const filter = (release: Release): boolean => {
      if (this.helm === 3 && this.flags.bool('all')) return true
      const states = wanted.length > 0 ? wanted : ['deployed', 'failed']
      return states.some((s) => (s === 'pending' ? release.info.status.startsWith('pending') : release.info.status === s))
    }
    const pattern = this.flags.string('filter') ? new RegExp(this.flags.string('filter')) : undefined
    let releases = [...latest.values()].filter(filter).filter((r) => !pattern || pattern.test(r.name))
    releases.sort((a, b) => (this.flags.bool('date') ? a.info.last_deployed.localeCompare(b.info.last_deployed) : a.name.localeCompare(b.name)))
    if (this.flags.bool('reverse')) releases = releases.reverse()
    releases = releases.slice(this.flags.int('offset'), this.flags.int('offset') + this.flags.int('max'))
    if (this.flags.bool('short')) {
      this.io.stdout(releases.map((r) => `${r.name}\n`).join(''))
      return 0
    }
    const rows = releases.map((r) => ({
      name: r.name,
      namespace: r.namespace,
      revision: String(r.version),
      updated: goTimeString(new Date(r.info.last_deployed)),
      status: r.info.status,
      chart: chartLabel(r.chart),
      app_version: r.chart.metadata.appVersion ?? '',
    }))
    if ((this.flags.string('output') || 'table') !== 'table') {
      this.printData(rows)
      return 0
    }
    this.printTable(['NAME', 'NAMESPACE', 'REVISION', 'UPDATED', 'STATUS', 'CHART', 'APP VERSION'], rows.map((r) => Object.values(r)))
    return 0
  }
}

/** helm's CoalesceValues: the chart's defaults overlaid with the user's values; null deletes. */
function coalesce(defaults: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {...defaults}
  for (const [key, value] of Object.entries(overrides)) {
    const base = result[key]
    if (value === null) delete result[key]
    else if (value && typeof value === 'object' && !Array.isArray(value) && base && typeof base === 'object' && !Array.isArray(base)) result[key] = coalesce(base as Record<string, unknown>, value as Record<string, unknown>)
    else result[key] = value
  }
  return result
}

function usage(command: string, text: string): HelmError {
  return new HelmError(`"helm ${command}" ${text}`)
}

export async function runHelm(invocation: Invocation, io: ToolIO, host: SimHost): Promise<number> {
  const globals = globalHelmFlags(host.helmVersion)
  const [first = '', second = ''] = commandWords(invocation.argv, globals, 2)
  const command = emulated[first]
  const path = command === 'get' ? `get ${second}` : command
  const help = invocation.argv.some((a) => a === '-h' || a === '--help')
  if (!path || help || (command === 'get' && !['values', 'manifest', 'notes', 'hooks'].includes(second))) return passThrough(invocation, io, host)

  let flags: ParsedFlags
  try {
    flags = parseFlags(invocation.argv, [...globals, ...helmCommandFlags(host.helmVersion, path)]).withoutLeadingArgs(path.split(' ').length)
  } catch (error) {
    if (!(error instanceof FlagError)) throw error
    io.stderr(`Error: ${error.message}\n`)
    return 1
  }
  for (const warning of flags.warnings) io.stderr(`${warning}\n`)
  const session = new HelmSession(host, io, invocation, flags)
  const args = flags.args
  try {
    switch (path) {
      case 'install': {
        if (args.length < 1) throw usage('install', 'requires at least 1 argument\n\nUsage:  helm install [NAME] [CHART] [flags]')
        if (args.length === 1 && !flags.bool('generate-name')) throw new HelmError('INSTALLATION FAILED: must either provide a name or specify --generate-name')
        const [name, chartRef] = args.length === 1 ? [`${args[0]?.split('/').at(-1)}-${Math.floor(Date.now() / 1000)}`, args[0] as string] : [args[0] as string, args[1] as string]
        return await session.install({name, chartRef, prefix: 'INSTALLATION FAILED', replace: flags.bool('replace')})
      }
      case 'upgrade':
        if (args.length !== 2) throw usage('upgrade', 'requires 2 arguments\n\nUsage:  helm upgrade [RELEASE] [CHART] [flags]')
        return await session.upgrade(args[0] as string, args[1] as string)
      case 'status':
        if (args.length !== 1) throw usage('status', 'requires 1 argument\n\nUsage:  helm status RELEASE_NAME [flags]')
        return await session.status(args[0] as string)
      case 'history':
        if (args.length !== 1) throw usage('history', 'requires 1 argument\n\nUsage:  helm history RELEASE_NAME [flags]')
        return await session.historyCommand(args[0] as string)
      case 'rollback':
        if (args.length < 1 || args.length > 2) throw usage('rollback', 'requires at least 1 argument\n\nUsage:  helm rollback <RELEASE> [REVISION] [flags]')
        return await session.rollback(args[0] as string, args[1])
      case 'uninstall':
        if (args.length < 1) throw usage('uninstall', 'requires at least 1 argument\n\nUsage:  helm uninstall RELEASE_NAME [...] [flags]')
        return await session.uninstall(args)
      case 'list':
        return await session.list()
      case 'get values':
        if (args.length !== 1) throw usage('get values', 'requires 1 argument\n\nUsage:  helm get values RELEASE_NAME [flags]')
        return await session.getValues(args[0] as string)
      default: {
        if (args.length !== 1) throw usage(path, `requires 1 argument\n\nUsage:  helm ${path} RELEASE_NAME [flags]`)
        const release = await session.release(args[0] as string, flags.int('revision'))
        if (path === 'get manifest') io.stdout(`${release.manifest}\n`)
        else if (path === 'get notes') io.stdout(release.info.notes ? `NOTES:\n${release.info.notes}\n` : '')
        else io.stdout(release.hooks.map((h) => `---\n# Source: ${h.path}\n${h.manifest}\n`).join(''))
        return 0
      }
    }
  } catch (error) {
    // Programming errors surface as a simulator failure; everything else is helm's "Error: ...".
    if (!(error instanceof Error) || error instanceof TypeError || error instanceof RangeError || io.abandoned.aborted) throw error
    io.stderr(`Error: ${error.message}\n`)
    return 1
  }
}
