/**
 * The images a project builds (`build:` in devctl.yaml): where each one's context, Dockerfile
 * and state live, its content tag, and building it — only when no image with that tag exists:
 * the tag is the digest of everything the build reads, so an existing tag is this very build.
 */
import {readFile, stat} from 'node:fs/promises'
import {dirname, join, relative, resolve, sep} from 'node:path'

import type {BuildImage} from '../config/schema.js'
import {BuildError, ConfigError} from '../errors.js'
import {ensureStateDir} from '../system/files.js'
import {buildArgs, type Docker} from '../tools/docker.js'
import {formatCommand} from '../tools/command-line.js'
import {digestContext} from './context.js'
import {explainBuildFailure} from './explain.js'
import {BuildProgress} from './progress.js'

export const TAG_PREFIX = 'dev-'

export interface ImageBuild {
  config: BuildImage
  /** Its position under build: in devctl.yaml. */
  index: number
  contextDir: string
  dockerfile: string
  /** As the user wrote them, for messages. */
  shownContext: string
  shownDockerfile: string
  /** This image's files in .devctl/build/: the digest cache, the built image's ID. */
  cacheFile: string
  iidfile: string
}

export interface BuiltImage {
  name: string
  /** dev-<first 16 hex of the context digest>. */
  tag: string
  /** name:tag, as docker knows it. */
  ref: string
  /** The image ID docker gave it. */
  id: string
  /** Built now (false: an image with this tag existed, nothing changed). */
  built: boolean
  /** Files in its build context. */
  files: number
  build: ImageBuild
}

/** What a build step can tell its watchers. */
export interface BuildReporter {
  signal: AbortSignal
  /** A build step ended: one condensed line. */
  step(line: string): void
  /** What runs now. */
  note(message: string): void
}

export function imageBuilds(images: BuildImage[], projectDir: string, stateDir: string): ImageBuild[] {
  return images.map((config, index) => {
    const contextDir = resolve(projectDir, config.context)
    const file = config.name.replaceAll(/[^a-zA-Z0-9.-]+/g, '_')
    return {
      config,
      index,
      contextDir,
      dockerfile: resolve(contextDir, config.dockerfile),
      shownContext: config.context,
      shownDockerfile: relative(projectDir, resolve(contextDir, config.dockerfile)) || config.dockerfile,
      cacheFile: join(stateDir, 'build', `${file}.files.json`),
      iidfile: join(stateDir, 'build', `${file}.iid`),
    }
  })
}

export function tagFor(digest: string): string {
  return `${TAG_PREFIX}${digest.slice(0, 16)}`
}

async function assertBuildable(build: ImageBuild): Promise<void> {
  const where = `build[${build.index}] (${build.config.name}) in devctl.yaml`
  const context = await stat(build.contextDir).catch(() => undefined)
  if (!context?.isDirectory()) {
    throw new ConfigError(`The build context ${build.shownContext} of ${where} is not a directory.`, {hint: 'Fix build[].context: a directory relative to devctl.yaml.'})
  }
  if (!(await stat(build.dockerfile).catch(() => undefined))?.isFile()) {
    throw new ConfigError(`${build.shownDockerfile}, the Dockerfile of ${where}, does not exist.`, {hint: 'Fix build[].dockerfile: a path relative to the build context.'})
  }
}

/**
 * A context that holds .devctl/ sends the generated passwords and the cluster's kubeconfig to
 * the builder, and `COPY . .` would put them in the image: refused unless .dockerignore leaves it out.
 */
function assertStateLeftOut(build: ImageBuild, stateDir: string, ignores: (path: string) => boolean, ignoreFile: string | undefined): void {
  const inside = relative(build.contextDir, stateDir)
  if (inside.startsWith('..') || inside === '' || inside.split(sep).includes('..')) return
  const path = inside.split(sep).join('/')
  if (ignores(path)) return
  throw new BuildError(
    `The build context ${build.shownContext} of ${build.config.name} contains ${path}/ (devctl's generated passwords and the cluster's credentials), and ${ignoreFile ?? '.dockerignore'} does not leave it out: docker would send them to the builder, and a COPY of the context would put them in the image.`,
    {
      hint: `Add a line \`${path}/\` to ${ignoreFile ?? `${build.shownContext === '.' ? '' : `${build.shownContext}/`}.dockerignore`} (\`devctl init --update\` does it).`,
    },
  )
}

/** The image for the build context as it is now: found by its content tag, or built. */
export async function buildImage(build: ImageBuild, docker: Docker, stateDir: string, report: BuildReporter): Promise<BuiltImage> {
  await assertBuildable(build)
  await ensureStateDir(stateDir)
  await ensureStateDir(dirname(build.iidfile))
  report.note('reading the build context')
  const {digest, files, rules} = await digestContext({contextDir: build.contextDir, dockerfile: build.dockerfile, target: build.config.target, args: build.config.args, cacheFile: build.cacheFile})
  assertStateLeftOut(build, stateDir, (path) => rules.ignores(path), rules.file)
  const tag = tagFor(digest)
  const ref = `${build.config.name}:${tag}`
  const existing = await docker.imageId(ref, report.signal)
  if (existing) return {name: build.config.name, tag, ref, id: existing, built: false, files, build}

  const request = {contextDir: build.contextDir, dockerfile: build.dockerfile, ref, target: build.config.target, args: build.config.args, iidfile: build.iidfile}
  report.note('building')
  const progress = new BuildProgress({step: (line) => report.step(line), activity: (message) => report.note(message)})
  const result = await docker.build(request, report.signal, (line, stream) => progress.push(line, stream))
  if (result.exitCode !== 0) {
    const dockerfileText = await readFile(build.dockerfile, 'utf8').catch(() => undefined)
    throw explainBuildFailure(
      {
        name: build.config.name,
        contextDir: build.contextDir,
        shownContext: build.shownContext,
        shownDockerfile: build.shownDockerfile,
        dockerfileText,
        rules,
        command: formatCommand('docker', buildArgs(request, result.builder)),
      },
      progress.failure(),
    )
  }
  const id = (await readFile(build.iidfile, 'utf8').catch(() => '')).trim() || (await docker.imageId(ref, report.signal))
  if (!id) throw new BuildError(`docker said it built ${ref}, and has no image by that name.`, {hint: 'Run `docker images` to see what it has, then run this again.'})
  return {name: build.config.name, tag, ref, id, built: true, files, build}
}
