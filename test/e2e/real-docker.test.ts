/**
 * devctl's image builds against a REAL Docker engine (Debian's docker.io; .ci/run installs and
 * starts one where it can): a `FROM scratch` image needs no registry. The digest decides the
 * tag, the tag decides whether docker builds at all, the ID devctl reports is the one docker
 * has, and a broken Dockerfile is explained from the real builder's output (BuildKit, or the
 * legacy builder a Docker 23+ CLI without buildx falls back to). Skipped, saying why, where no
 * engine answers (the docker CLI talks to $DOCKER_HOST, else its default socket).
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {buildImage, imageBuilds, TAG_PREFIX} from '../../src/build/images.js'
import {BuildError} from '../../src/errors.js'
import {Docker} from '../../src/tools/docker.js'
import {tempDir} from '../helpers/cli.js'

function engineProblem(): string | undefined {
  const probe = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], {encoding: 'utf8', timeout: 20_000})
  if (probe.error) return `the docker CLI is not installed (${(probe.error as NodeJS.ErrnoException).code})`
  if (probe.status !== 0)
    return `no Docker engine answers at ${process.env.DOCKER_HOST ?? 'the default socket'} (${(probe.stderr || probe.stdout).trim().split('\n').at(-1)}); .ci/run installs and starts one where it can`
  return undefined
}

const skipped = engineProblem()
if (skipped) console.warn(`SKIPPED: the real-Docker build test, because ${skipped}.`)

const NAME = `devctl-realdocker-${process.pid}`

describe.skipIf(skipped !== undefined)(`devctl's image builds with a real Docker engine${skipped ? `: skipped, ${skipped}` : ''}`, () => {
  const refs = new Set<string>()
  afterAll(() => {
    if (refs.size > 0) spawnSync('docker', ['rmi', '-f', ...refs], {encoding: 'utf8'})
  })

  it('tags by content digest, builds only when the context changed, and reports the ID docker has', async () => {
    const dir = await tempDir('devctl-realdocker-')
    await mkdir(join(dir, 'notes'))
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY app.txt /app.txt\n')
    await writeFile(join(dir, 'app.txt'), 'version 1\n')
    await writeFile(join(dir, 'notes', 'todo.md'), 'left out\n')
    await writeFile(join(dir, '.dockerignore'), 'notes/\n.devctl/\n')
    const stateDir = join(dir, '.devctl')
    const [build] = imageBuilds([{name: NAME, context: '.', dockerfile: 'Dockerfile', args: {}, tag: 'image.tag'}], dir, stateDir)
    const docker = new Docker()
    const steps: string[] = []
    const report = {signal: new AbortController().signal, step: (line: string) => steps.push(line), note: () => {}}
    const inspect = (ref: string) => execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], {encoding: 'utf8'}).trim()

    const first = await buildImage(build!, docker, stateDir, report)
    refs.add(first.ref)
    expect(first.built).toBe(true)
    expect(first.tag).toMatch(new RegExp(`^${TAG_PREFIX}[a-f0-9]{16}$`))
    expect(first.ref).toBe(`${NAME}:${first.tag}`)
    expect(inspect(first.ref)).toBe(first.id)
    expect((await readFile(build!.iidfile, 'utf8')).trim()).toBe(first.id)
    // The real builder's steps, condensed: whichever builder this CLI uses, COPY is one line.
    expect(
      steps.some((line) => /COPY app\.txt \/app\.txt {2}\S+/.test(line)),
      steps.join('\n'),
    ).toBe(true)

    // Nothing changed, or only what .dockerignore leaves out: the same tag, found, not built.
    await writeFile(join(dir, 'notes', 'todo.md'), 'still left out\n')
    steps.length = 0
    const again = await buildImage(build!, docker, stateDir, report)
    expect(again).toMatchObject({built: false, ref: first.ref, id: first.id})
    expect(steps).toEqual([])

    // The code changed: a new tag, a new image.
    await writeFile(join(dir, 'app.txt'), 'version 2\n')
    const changed = await buildImage(build!, docker, stateDir, report)
    refs.add(changed.ref)
    expect(changed.built).toBe(true)
    expect(changed.tag).not.toBe(first.tag)
    expect(changed.id).not.toBe(first.id)
    expect(inspect(changed.ref)).toBe(changed.id)
    // The first image is still there, under its own tag.
    expect(inspect(first.ref)).toBe(first.id)
  })

  it("explains a Dockerfile that copies a file .dockerignore leaves out, from the real builder's output", async () => {
    const dir = await tempDir('devctl-realdocker-')
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY app.txt /app.txt\nCOPY secret.txt /secret.txt\n')
    await writeFile(join(dir, 'app.txt'), 'app\n')
    await writeFile(join(dir, 'secret.txt'), 'not for images\n')
    await writeFile(join(dir, '.dockerignore'), 'secret.txt\n.devctl/\n')
    const stateDir = join(dir, '.devctl')
    const [build] = imageBuilds([{name: `${NAME}-broken`, context: '.', dockerfile: 'Dockerfile', args: {}, tag: 'image.tag'}], dir, stateDir)
    const failure = await buildImage(build!, new Docker(), stateDir, {signal: new AbortController().signal, step: () => {}, note: () => {}}).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(BuildError)
    const error = failure as BuildError
    expect(error.exitCode).toBe(13)
    expect(error.message).toMatch(/^The image devctl-realdocker-\d+-broken did not build: /)
    expect(error.details[0]).toBe('Dockerfile:3: COPY secret.txt /secret.txt')
    expect(error.hint).toBe('secret.txt is in the build context, but .dockerignore leaves it out: remove the rule that matches it there (or add !secret.txt after it).')
  })
})
