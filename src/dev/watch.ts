/**
 * What `devctl dev` watches, and what a change means: a file of an image's build context that
 * its .dockerignore keeps (rebuild that image), a values file or the local chart (redeploy, no
 * build), devctl.yaml (everything, as `up`). Paths nothing depends on — what .dockerignore leaves
 * out, .devctl/, .git/ — are not watched at all (a big node_modules would exhaust inotify).
 * Changes are collected while a cycle runs and handed over in debounced batches.
 */
import {relative, resolve, sep} from 'node:path'

import type {FSWatcher} from 'chokidar'

import type {IgnoreRules} from '../build/context.js'

export interface WatchedContext {
  /** The image's name (build[].name). */
  name: string
  dir: string
  rules: IgnoreRules
}

export interface WatchedProject {
  dir: string
  configFile: string
  valuesFiles: string[]
  /** A local chart directory (a repository or OCI chart has none to watch). */
  chartDir?: string
  contexts: WatchedContext[]
}

/** What a batch of changes asks for. */
export interface ChangeBatch {
  /** The changed paths, relative to the project directory. */
  paths: string[]
  config: boolean
  /** A values file or the chart changed: redeploy. */
  values: boolean
  /** Images whose build context changed. */
  images: Set<string>
  /** A .dockerignore changed: what is watched changes too. */
  ignoreRules: boolean
}

/** Always left alone: devctl's own state, and version control's. */
const NEVER = new Set(['.devctl', '.git'])

function inside(dir: string, path: string): string | undefined {
  const rel = relative(dir, path)
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !rel.includes(`..${sep}`)) ? rel.split(sep).join('/') : undefined
}

/** What a change to `path` (absolute) touches; undefined: nothing. */
export function classify(project: WatchedProject, path: string): {config?: boolean; values?: boolean; image?: string; ignoreRules?: boolean} | undefined {
  if (path === project.configFile) return {config: true}
  if (project.valuesFiles.includes(path)) return {values: true}
  const rel = inside(project.dir, path)
  if (rel !== undefined && rel.split('/').some((part) => NEVER.has(part))) return undefined
  if (project.chartDir && inside(project.chartDir, path) !== undefined) return {values: true}
  for (const context of project.contexts) {
    const inContext = inside(context.dir, path)
    if (inContext === undefined || inContext === '') continue
    if (/(^|\/)([^/]*\.)?[Dd]ockerfile\.dockerignore$|(^|\/)\.dockerignore$/.test(inContext)) return {image: context.name, ignoreRules: true}
    if (!context.rules.ignores(inContext)) return {image: context.name}
  }
  return undefined
}

/** Is `path` a directory on the way to something watched (so it must be walked)? */
function leadsToWatched(project: WatchedProject, path: string): boolean {
  const targets = [project.configFile, ...project.valuesFiles, ...(project.chartDir ? [project.chartDir] : []), ...project.contexts.map((c) => c.dir)]
  return targets.some((target) => inside(path, target) !== undefined)
}

export class ProjectWatcher {
  private pending = new Map<string, ReturnType<typeof classify>>()
  private readonly waiters = new Set<() => void>()

  private constructor(
    private readonly project: WatchedProject,
    private readonly watcher: FSWatcher,
  ) {}

  /** Start watching; resolves once the initial scan is done. `trouble` hears the watcher's errors. */
  static async start(project: WatchedProject, trouble: (message: string) => void): Promise<ProjectWatcher> {
    // chokidar is loaded only by `devctl dev`.
    const {watch} = await import('chokidar')
    const roots = [project.configFile, ...project.valuesFiles, ...(project.chartDir ? [project.chartDir] : []), ...project.contexts.map((c) => c.dir)]
    const watcher = watch([...new Set(roots)], {
      ignoreInitial: true,
      ignored: (path, stats) => {
        const absolute = resolve(path)
        if (classify(project, absolute) !== undefined) return false
        // A directory is walked when something watched lies below it, or a ! rule may bring files back.
        if (stats?.isFile()) return true
        return (
          !leadsToWatched(project, absolute) &&
          !project.contexts.some(
            (c) =>
              c.rules.hasExceptions &&
              inside(c.dir, absolute) !== undefined &&
              !inside(c.dir, absolute)!
                .split('/')
                .some((p) => NEVER.has(p)),
          )
        )
      },
    })
    const watching = new ProjectWatcher(project, watcher)
    watcher.on('all', (_event, path) => watching.changed(resolve(path)))
    watcher.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code
      trouble(
        code === 'ENOSPC' || code === 'EMFILE'
          ? `Watching files failed (${code}: too many watched files). Leave big directories out in .dockerignore (node_modules, build output), or raise the limit: sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512.`
          : `Watching files failed: ${(error as Error).message}`,
      )
    })
    await new Promise<void>((ready) => watcher.once('ready', () => ready()))
    return watching
  }

  /** The roots watched, relative to the project. */
  get roots(): string[] {
    const shown = (path: string) => relative(this.project.dir, path) || '.'
    return [
      ...new Set([
        ...this.project.contexts.map((c) => `${shown(c.dir)}/`),
        ...this.project.valuesFiles.map(shown),
        ...(this.project.chartDir ? [`${shown(this.project.chartDir)}/`] : []),
        shown(this.project.configFile),
      ]),
    ]
  }

  private changed(path: string): void {
    const touched = classify(this.project, path)
    if (!touched) return
    this.pending.set(path, touched)
    for (const waiter of [...this.waiters]) waiter()
  }

  /** true on the next change, false after `timeoutMs` without one; rejects when `signal` aborts. */
  private waitForChange(signal: AbortSignal, timeoutMs?: number): Promise<boolean> {
    return new Promise<boolean>((resolveWait, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.waiters.delete(onChange)
        settle()
      }
      const onChange = () => finish(() => resolveWait(true))
      const onAbort = () => finish(() => reject(signal.reason))
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => finish(() => resolveWait(false)), timeoutMs)
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, {once: true})
      this.waiters.add(onChange)
    })
  }

  /**
   * The next batch: waits for a change, then for `quietMs` without another (at most `maxMs` in
   * all, so a build writing files forever still gets a cycle). Rejects when `signal` aborts.
   */
  async next(signal: AbortSignal, quietMs: number, maxMs = Math.max(5000, quietMs * 10)): Promise<ChangeBatch> {
    while (this.pending.size === 0) await this.waitForChange(signal)
    const first = Date.now()
    while (Date.now() - first < maxMs && (await this.waitForChange(signal, Math.min(quietMs, maxMs - (Date.now() - first))))) {
      // Another change within the quiet time: wait for quiet again.
    }
    const entries = [...this.pending]
    this.pending = new Map()
    return {
      paths: entries.map(([path]) => relative(this.project.dir, path) || path),
      config: entries.some(([, t]) => t?.config),
      values: entries.some(([, t]) => t?.values),
      images: new Set(entries.flatMap(([, t]) => (t?.image ? [t.image] : []))),
      ignoreRules: entries.some(([, t]) => t?.ignoreRules),
    }
  }

  async close(): Promise<void> {
    this.waiters.clear()
    await this.watcher.close()
  }
}
