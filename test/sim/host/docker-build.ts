/**
 * `docker build` as Docker 28.5 with buildx runs it, for simple Dockerfiles: BuildKit's plain
 * progress (`--progress=plain`) on stderr, step caching, `.dockerignore`, multi-stage builds
 * and `--target`, build args, and its error texts (a parse error, a COPY source that is not in
 * the context, a base image that cannot be fetched offline, a failing RUN) with the framed
 * Dockerfile snippet. RUN runs nothing: `false` and `exit N` fail as a shell would, `echo`
 * prints; every other command succeeds. Images land in the host's content-addressed store.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'

import dockerignore from '@balena/dockerignore'

import type {SimClock} from '../apiserver/contract.js'
import type {ToolIO} from './exec.js'
import {canonicalName, emptyConfig, type ImageConfig, type ImageStore, makeImage, parseReference, sha256, type SimImage} from './images.js'

/** Simulated durations (ms of scenario time). */
const timing = {metadata: 400, from: 300, copy: 100, run: 1500, workdir: 50, export: 300}

export interface BuildRequest {
  cwd: string
  context: string
  dockerfile?: string
  tags: string[]
  target?: string
  buildArgs: string[]
  iidfile?: string
  noCache: boolean
}

/** What the build needs of the host: its image store, the builder's cache, the clock, the network. */
export interface BuildHost {
  images: ImageStore
  /** Step cache keys BuildKit has, and base images it resolved. */
  cache: Set<string>
  clock: SimClock
  offline: boolean
}

class BuildFailure extends Error {}

interface Instruction {
  line: number
  keyword: string
  args: string
}

const KNOWN = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL'])

/** The Dockerfile's instructions; throws BuildKit's parse error for an unknown one. */
function parse(text: string): Instruction[] | {line: number; message: string} {
  const lines = text.split(/\r?\n/)
  const out: Instruction[] = []
  for (let i = 0; i < lines.length; i++) {
    let current = lines[i]!.trim()
    if (current === '' || current.startsWith('#')) continue
    const start = i
    const parts: string[] = []
    while (current.endsWith('\\') && i + 1 < lines.length) {
      parts.push(current.slice(0, -1))
      current = lines[++i]!.trim()
      while (current.startsWith('#') && i + 1 < lines.length) current = lines[++i]!.trim()
    }
    parts.push(current)
    const joined = parts.join(' ').replace(/\s+/g, ' ').trim()
    const keyword = joined.split(' ')[0]!.toUpperCase()
    if (!KNOWN.has(keyword)) return {line: start + 1, message: `dockerfile parse error on line ${start + 1}: unknown instruction: ${joined.split(' ')[0]}`}
    out.push({line: start + 1, keyword, args: joined.slice(keyword.length).trim()})
  }
  return out
}

function substitute(text: string, vars: Map<string, string>): string {
  return text.replace(
    /\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g,
    (_all, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => vars.get(braced ?? bare ?? '') ?? fallback ?? '',
  )
}

/** The context as BuildKit sees it: every file not left out by .dockerignore, with its content digest. */
function contextFiles(context: string, dockerfile: string): Map<string, {hash: string; size: number}> {
  const ignoreFile = [`${dockerfile}.dockerignore`, join(context, '.dockerignore')].find((path) => {
    try {
      return statSync(path).isFile()
    } catch {
      return false
    }
  })
  const rules = dockerignore.default().add(
    ignoreFile
      ? readFileSync(ignoreFile, 'utf8')
          .split(/\r?\n/)
          .filter((l) => l.trim() && !l.trim().startsWith('#'))
      : [],
  )
  const files = new Map<string, {hash: string; size: number}>()
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      const path = `${prefix}${entry.name}`
      if (entry.isDirectory()) walk(join(dir, entry.name), `${path}/`)
      else if (entry.isFile() && !rules.ignores(path)) {
        const data = readFileSync(join(dir, entry.name))
        files.set(path, {hash: sha256(data.toString('latin1')), size: data.length})
      }
    }
  }
  walk(context, '')
  return files
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  )
}

/** The context files a COPY source names: a file, a directory's files, or a glob. */
function matchSources(files: Map<string, {hash: string; size: number}>, source: string): string[] {
  const path = source.replace(/^\.?\/+/, '').replace(/\/+$/, '')
  if (path === '' || path === '.') return [...files.keys()]
  if (/[*?]/.test(path)) return [...files.keys()].filter((file) => globToRegExp(path).test(file))
  return [...files.keys()].filter((file) => file === path || file.startsWith(`${path}/`))
}

interface Stage {
  name?: string
  index: number
  base: string
  instructions: Instruction[]
  from: Instruction
}

/** Runs one build, writing BuildKit's plain progress; returns the exit code. */
export async function dockerBuild(request: BuildRequest, io: ToolIO, host: BuildHost): Promise<number> {
  const out = (text: string) => io.stderr(`${text}\n`)
  const sleep = (ms: number) => host.clock.sleep(ms, io.abandoned)
  const seconds = (ms: number) => `${((ms * host.clock.factor) / 1000).toFixed(1)}s`
  const context = resolve(request.cwd, request.context)
  const dockerfilePath = request.dockerfile ? resolve(request.cwd, request.dockerfile) : join(context, 'Dockerfile')
  const dockerfileName = basename(dockerfilePath)
  let vertex = 0
  let dockerfileLines: string[] = []

  const fail = (message: string, failed?: {name: string; logs: string[]; line?: number}): never => {
    if (failed) {
      out('------')
      out(` > ${failed.name}:`)
      for (const line of failed.logs) out(line)
      out('------')
    }
    if (failed?.line !== undefined || /parse error on line (\d+)/.test(message)) {
      const line = failed?.line ?? Number(/parse error on line (\d+)/.exec(message)![1])
      out(`${dockerfileName}:${line}`)
      out('--------------------')
      for (let n = Math.max(1, line - 2); n <= Math.min(dockerfileLines.length, line + 2); n++) {
        out(`${String(n).padStart(4)} | ${n === line ? '>>>' : '   '} ${dockerfileLines[n - 1] ?? ''}`.trimEnd())
      }
      out('--------------------')
    }
    out(`ERROR: failed to build: failed to solve: ${message}`)
    throw new BuildFailure(message)
  }

  const step = async <T>(name: string, cacheKey: string | undefined, work: (log: (line: string) => void) => Promise<T>, durationMs: number, line?: number): Promise<T> => {
    const id = ++vertex
    out(`#${id} ${name}`)
    const logs: string[] = []
    const log = (text: string) => {
      const stamp = ((performance.now() % 1000) / 1000 + 0.1).toFixed(3)
      logs.push(`${stamp} ${text}`)
      out(`#${id} ${stamp} ${text}`)
    }
    const cached = cacheKey !== undefined && !request.noCache && host.cache.has(cacheKey)
    try {
      const result = await work(log)
      if (cached) out(`#${id} CACHED`)
      else {
        await sleep(durationMs)
        if (cacheKey !== undefined) host.cache.add(cacheKey)
        out(`#${id} DONE ${seconds(durationMs)}`)
      }
      out('')
      return result
    } catch (error) {
      if (!(error instanceof StepError)) throw error
      out(`#${id} ERROR: ${error.message}`)
      return fail(error.summary ?? error.message, {name, logs, line})
    }
  }

  try {
    out('#0 building with "default" instance using docker driver')
    out('')
    const text = await step(
      `[internal] load build definition from ${dockerfileName}`,
      undefined,
      async () => {
        let content: string
        try {
          content = readFileSync(dockerfilePath, 'utf8')
        } catch {
          throw new StepError(`failed to read dockerfile: open ${dockerfileName}: no such file or directory`)
        }
        out(`#${vertex} transferring dockerfile: ${Buffer.byteLength(content)}B done`)
        return content
      },
      10,
    )
    dockerfileLines = text.split(/\r?\n/)
    const parsed = parse(text)
    if (!Array.isArray(parsed)) return fail(parsed.message)

    // Stages, with the ARGs declared before the first FROM.
    const args = new Map<string, string>()
    const given = new Map(request.buildArgs.map((spec) => [spec.split('=')[0]!, spec.includes('=') ? spec.slice(spec.indexOf('=') + 1) : '']))
    const stages: Stage[] = []
    for (const instruction of parsed) {
      if (instruction.keyword === 'FROM') {
        const words = instruction.args.split(' ').filter((w) => !w.startsWith('--'))
        stages.push({name: words[2]?.toLowerCase() === 'as' ? words[3] : undefined, index: stages.length, base: substitute(words[0] ?? '', args), instructions: [], from: instruction})
      } else if (stages.length === 0) {
        if (instruction.keyword !== 'ARG') return fail(`no build stage in current context`)
        const [name = '', value] = instruction.args.split('=')
        args.set(name, given.get(name) ?? value ?? '')
      } else stages.at(-1)!.instructions.push(instruction)
    }
    if (stages.length === 0) return fail('the Dockerfile cannot be empty')
    const byName = (name: string) => stages.find((s) => s.name === name || String(s.index) === name)
    const target = request.target ? byName(request.target) : stages.at(-1)
    if (!target) return fail(`target stage "${request.target}" could not be found`)
    // The stages the target needs: its own, its bases, and those it copies from.
    const needed = new Set<Stage>()
    const need = (stage: Stage) => {
      if (needed.has(stage)) return
      const base = byName(stage.base)
      if (base && base.index < stage.index) need(base)
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
        const from = /--from=(\S+)/.exec(copy.args)?.[1]
        const source = from === undefined ? undefined : byName(from)
        if (source) need(source)
      }
      needed.add(stage)
    }
    need(target)
    const order = stages.filter((s) => needed.has(s))

    // Base images: from the local store, else fetched (not when offline).
    const bases = new Map<Stage, SimImage | undefined>()
    for (const stage of order) {
      if (stage.base === 'scratch' || byName(stage.base)) continue
      const name = canonicalName(stage.base)
      await step(
        `[internal] load metadata for ${name}`,
        undefined,
        async () => {
          const local = host.images.get(stage.base)
          if (local || host.cache.has(`base:${name}`)) return
          if (host.offline) {
            const {registry, repository, tag} = parseReference(stage.base)
            const endpoint = registry === 'docker.io' ? 'registry-1.docker.io' : registry
            throw new StepError(
              `failed to do request: Head "https://${endpoint}/v2/${repository}/manifests/${tag}": dial tcp: lookup ${endpoint}: no such host`,
              `${stage.base}: failed to resolve source metadata for ${name}: failed to do request: Head "https://${endpoint}/v2/${repository}/manifests/${tag}": dial tcp: lookup ${endpoint}: no such host`,
            )
          }
          host.cache.add(`base:${name}`)
        },
        timing.metadata,
        stage.from.line,
      )
      bases.set(stage, host.images.get(stage.base) ?? makeImage([sha256(`base:${name}`)], emptyConfig(), 5_000_000 + (Number.parseInt(sha256(name).slice(0, 6), 16) % 50_000_000)))
    }

    await step(
      '[internal] load .dockerignore',
      undefined,
      async () => {
        const ignore = [`${dockerfilePath}.dockerignore`, join(context, '.dockerignore')].find((p) => {
          try {
            return statSync(p).isFile()
          } catch {
            return false
          }
        })
        out(`#${vertex} transferring context: ${ignore ? statSync(ignore).size : 2}B done`)
      },
      10,
    )

    let files: Map<string, {hash: string; size: number}> | undefined
    const results = new Map<Stage, SimImage>()
    const multi = order.length > 1
    for (const stage of order) {
      const stepCount = (stage.base === 'scratch' || byName(stage.base) ? 0 : 1) + stage.instructions.filter((i) => ['COPY', 'ADD', 'RUN', 'WORKDIR'].includes(i.keyword)).length
      let position = 0
      const label = () => `[${multi ? `${stage.name ?? `stage-${stage.index}`} ` : ''}${++position}/${stepCount}]`
      const parent = byName(stage.base)
      const image: SimImage = parent && parent.index < stage.index ? results.get(parent)! : (bases.get(stage) ?? makeImage([], emptyConfig(), 0))
      let key = image.id
      if (stage.base !== 'scratch' && !parent) {
        const name = canonicalName(stage.base)
        await step(`${label()} FROM ${name}@sha256:${sha256(`manifest:${name}`)}`, `from:${image.id}`, async () => undefined, timing.from, stage.from.line)
      }
      const vars = new Map(args)
      const config: ImageConfig = structuredClone(image.config)
      const layers = [...image.layers]
      let size = image.size
      for (const instruction of stage.instructions) {
        const expanded = substitute(instruction.args, new Map([...vars, ...config.Env.map((e) => e.split('=') as [string, string])]))
        switch (instruction.keyword) {
          case 'ARG': {
            const [name = '', value] = expanded.split('=')
            vars.set(name, given.get(name) ?? args.get(name) ?? value ?? '')
            break
          }
          case 'ENV': {
            const pairs = expanded.includes('=')
              ? [...expanded.matchAll(/(\w+)=("[^"]*"|\S*)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')])
              : [[expanded.split(' ')[0]!, expanded.split(' ').slice(1).join(' ')]]
            for (const [name, value] of pairs) config.Env = [...config.Env.filter((e) => !e.startsWith(`${name}=`)), `${name}=${value}`]
            break
          }
          case 'LABEL':
            for (const m of expanded.matchAll(/([\w.-]+)=("[^"]*"|\S*)/g)) config.Labels[m[1]!] = m[2]!.replace(/^"|"$/g, '')
            break
          case 'USER':
            config.User = expanded
            break
          case 'EXPOSE':
            for (const port of expanded.split(' ')) config.ExposedPorts[port.includes('/') ? port : `${port}/tcp`] = {}
            break
          case 'CMD':
          case 'ENTRYPOINT': {
            const value = expanded.startsWith('[') ? (JSON.parse(expanded) as string[]) : ['/bin/sh', '-c', expanded]
            if (instruction.keyword === 'CMD') config.Cmd = value
            else config.Entrypoint = value
            break
          }
          case 'WORKDIR':
            config.WorkingDir = expanded.startsWith('/') ? expanded : `${config.WorkingDir || '/'}${config.WorkingDir.endsWith('/') ? '' : '/'}${expanded}`
            key = sha256(`${key}|WORKDIR ${config.WorkingDir}`)
            await step(`${label()} WORKDIR ${instruction.args}`, key, async () => undefined, timing.workdir, instruction.line)
            break
          case 'COPY':
          case 'ADD': {
            const words = expanded.split(' ')
            const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length)
            const paths = words.filter((w) => !w.startsWith('--'))
            const destination = paths.pop() ?? '/'
            let content: string
            if (from !== undefined) {
              const source = byName(from)
              const sourceImage = source ? results.get(source) : host.images.get(from)
              content = `${sourceImage?.id ?? from}:${paths.join(' ')}`
            } else {
              files ??= await step(
                '[internal] load build context',
                undefined,
                async () => {
                  const found = contextFiles(context, dockerfilePath)
                  out(`#${vertex} transferring context: ${[...found.values()].reduce((sum, f) => sum + f.size, 0)}B done`)
                  return found
                },
                20,
              )
              const chosen: string[] = []
              for (const source of paths) {
                const matched = matchSources(files, source)
                if (matched.length === 0) {
                  const ref = sha256(context).slice(0, 25)
                  const missing = `failed to calculate checksum of ref ${ref}::${sha256(context + dockerfilePath).slice(0, 25)}: "/${source.replace(/^\.?\/+/, '')}": not found`
                  await step(
                    `${label()} ${instruction.keyword} ${instruction.args}`,
                    undefined,
                    async () => {
                      throw new StepError(missing, `failed to compute cache key: ${missing}`)
                    },
                    0,
                    instruction.line,
                  )
                }
                chosen.push(...matched)
              }
              content = chosen
                .sort()
                .map((path) => `${path}=${files!.get(path)!.hash}`)
                .join(',')
              size += chosen.reduce((sum, path) => sum + files!.get(path)!.size, 0)
            }
            const layer = sha256(`${key}|${instruction.keyword} ${destination}|${content}`)
            key = layer
            layers.push(layer)
            await step(`${label()} ${instruction.keyword} ${instruction.args}`, key, async () => undefined, timing.copy, instruction.line)
            break
          }
          case 'RUN': {
            const command = expanded.replace(/^\[|\]$/g, '')
            key = sha256(`${key}|RUN ${command}|${config.Env.join(',')}`)
            layers.push(key)
            size += 1_048_576
            await step(
              `${label()} RUN ${instruction.args}`,
              key,
              async (log) => {
                if (host.cache.has(key) && !request.noCache) return
                const exit = /^(?:false|exit (\d+))$/.exec(command.trim())
                if (exit) {
                  const code = exit[1] ?? '1'
                  throw new StepError(`process "/bin/sh -c ${command}" did not complete successfully: exit code: ${code}`)
                }
                const echo = /^echo (.*)$/.exec(command.trim())
                if (echo) log(echo[1]!.replace(/^["']|["']$/g, ''))
              },
              timing.run,
              instruction.line,
            )
            break
          }
        }
      }
      results.set(stage, makeImage(layers, config, size))
    }

    const built = results.get(target)!
    await step(
      'exporting to image',
      undefined,
      async () => {
        out(`#${vertex} exporting layers ${seconds(timing.export / 2)} done`)
        out(`#${vertex} writing image ${built.id} done`)
        for (const tag of request.tags) {
          host.images.tag(tag, built, true)
          out(`#${vertex} naming to ${canonicalName(tag)} done`)
        }
        host.images.add(built)
      },
      timing.export,
    )
    if (request.iidfile) await writeFile(resolve(request.cwd, request.iidfile), built.id)
    return 0
  } catch (error) {
    if (error instanceof BuildFailure) return 1
    throw error
  }
}

/** A step's failure: what its vertex says, and (when it differs) what the build's last line says. */
class StepError extends Error {
  constructor(
    message: string,
    readonly summary?: string,
  ) {
    super(message)
  }
}
