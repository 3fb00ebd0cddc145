/**
 * docker build's output condensed to a line per step, and a failed build explained: the real
 * outputs of BuildKit (Docker 20.10's and buildx's) and of the legacy builder, captured from
 * real builds, each cause with its hint.
 */
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {readIgnoreRules} from '../../src/build/context.js'
import {instructionOfStep, parseDockerfile} from '../../src/build/dockerfile.js'
import {explainBuildFailure, type FailedBuild} from '../../src/build/explain.js'
import {BuildProgress} from '../../src/build/progress.js'
import {BuildError, ExitCode, PrerequisiteError} from '../../src/errors.js'
import {tempDir} from '../helpers/cli.js'

type Stream = 'stdout' | 'stderr'

function read(lines: string, stream: Stream = 'stderr') {
  const steps: string[] = []
  const activity: string[] = []
  const progress = new BuildProgress({step: (line) => steps.push(line), activity: (note) => activity.push(note)})
  for (const line of lines.split('\n')) progress.push(line, stream)
  return {steps, activity, progress}
}

// Docker 20.10's BuildKit (DOCKER_BUILDKIT=1 docker build --progress=plain), a COPY of a missing file.
const BUILDKIT_2010_MISSING = `#1 [internal] load build definition from Dockerfile.missing
#1 sha256:b36db8804a5e680ed01ecaf1aa766fd6bdac3e072cba4ab90e376159d7cf43e6
#1 transferring dockerfile: 96B 0.0s done
#1 DONE 0.0s

#2 [internal] load .dockerignore
#2 transferring context: 2B done
#2 DONE 0.0s

#3 [internal] load build context
#3 transferring context: 26B done
#3 DONE 0.0s

#4 [1/2] COPY a.txt /a.txt
#4 CACHED

#5 [2/2] COPY missing.txt /m
#5 ERROR: "/missing.txt" not found: not found
------
 > [2/2] COPY missing.txt /m:
------
failed to compute cache key: "/missing.txt" not found: not found`

// buildx (Docker 28): a RUN that fails, with its output and the framed Dockerfile snippet.
const BUILDX_RUN_FAILS = `#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 109B done
#1 DONE 0.0s

#2 [internal] load metadata for docker.io/library/alpine:3.20
#2 DONE 0.6s

#3 [internal] load .dockerignore
#3 transferring context: 2B done
#3 DONE 0.0s

#4 [1/3] FROM docker.io/library/alpine:3.20@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d
#4 CACHED

#5 [internal] load build context
#5 transferring context: 30B done
#5 DONE 0.0s

#6 [2/3] COPY app.sh /app.sh
#6 DONE 0.1s

#7 [3/3] RUN sh /app.sh test
#7 0.211 running the tests
#7 0.254 FAIL: TestOrder (expected 2, got 3)
#7 ERROR: process "/bin/sh -c sh /app.sh test" did not complete successfully: exit code: 1
------
 > [3/3] RUN sh /app.sh test:
0.211 running the tests
0.254 FAIL: TestOrder (expected 2, got 3)
------
Dockerfile:3
--------------------
   1 |     FROM alpine:3.20
   2 |     COPY app.sh /app.sh
   3 | >>> RUN sh /app.sh test
   4 |     
--------------------
ERROR: failed to build: failed to solve: process "/bin/sh -c sh /app.sh test" did not complete successfully: exit code: 1`

// The legacy builder (a Docker 23+ CLI without buildx), a COPY of a missing file: progress on stdout, the error on stderr.
const LEGACY_STDOUT = `Sending build context to Docker daemon  7.168kB
Step 1/3 : FROM scratch
 ---> 
Step 2/3 : COPY a.txt /a.txt
 ---> Using cache
 ---> 7ab4b6c573b1
Step 3/3 : COPY missing.txt /m`
const LEGACY_STDERR = `DEPRECATED: The legacy builder is deprecated and will be removed in a future release.
            Install the buildx component to build images with BuildKit:
            https://docs.docker.com/go/buildx/

COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist`

async function project(files: Record<string, string>): Promise<string> {
  const dir = await tempDir()
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), {recursive: true})
    await writeFile(join(dir, path), text)
  }
  return dir
}

async function failedBuild(dir: string, dockerfileText: string): Promise<FailedBuild> {
  return {
    name: 'shop-api',
    contextDir: dir,
    shownContext: '.',
    shownDockerfile: 'Dockerfile',
    dockerfileText,
    rules: await readIgnoreRules(dir, join(dir, 'Dockerfile')),
    command: 'docker build -f Dockerfile .',
  }
}

describe('build progress, condensed', () => {
  it('gives one line per Dockerfile step (not the builder bookkeeping) and the failing step', () => {
    const {steps, progress} = read(BUILDKIT_2010_MISSING)
    expect(steps).toEqual(['[1/2] COPY a.txt /a.txt  cached', '[2/2] COPY missing.txt /m  failed'])
    expect(progress.failure()).toMatchObject({step: '[2/2] COPY missing.txt /m', error: 'failed to compute cache key: "/missing.txt" not found: not found'})
  })

  it("keeps a failing command's last lines, the Dockerfile line buildx names, and its final error", () => {
    const {steps, activity, progress} = read(BUILDX_RUN_FAILS)
    expect(steps).toEqual(['[1/3] FROM docker.io/library/alpine:3.20  cached', '[2/3] COPY app.sh /app.sh  0.1s', '[3/3] RUN sh /app.sh test  failed'])
    expect(activity).toContain('[3/3] RUN sh /app.sh test: FAIL: TestOrder (expected 2, got 3)')
    expect(progress.failure()).toEqual({
      step: '[3/3] RUN sh /app.sh test',
      instructionIndex: undefined,
      dockerfileLine: 3,
      lastLines: ['running the tests', 'FAIL: TestOrder (expected 2, got 3)'],
      error: 'failed to build: failed to solve: process "/bin/sh -c sh /app.sh test" did not complete successfully: exit code: 1',
    })
  })

  it('reads the legacy builder: steps from stdout, cache hits, the error from stderr', () => {
    const steps: string[] = []
    const progress = new BuildProgress({step: (line) => steps.push(line), activity: () => {}})
    for (const line of LEGACY_STDOUT.split('\n')) progress.push(line, 'stdout')
    for (const line of LEGACY_STDERR.split('\n')) progress.push(line, 'stderr')
    const failure = progress.failure()
    expect(steps).toEqual(['[1] FROM scratch  done', '[2] COPY a.txt /a.txt  cached', '[3] COPY missing.txt /m  failed'])
    expect(failure).toMatchObject({
      step: 'COPY missing.txt /m',
      instructionIndex: 3,
      error: 'COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist',
    })
  })
})

describe('a failed build, explained', () => {
  const dockerfile = 'FROM scratch\nCOPY a.txt /a.txt\nCOPY missing.txt /m\n'

  it('names the Dockerfile line and a file the context does not have (exit code 13)', async () => {
    const dir = await project({Dockerfile: dockerfile, 'a.txt': 'a'})
    const error = explainBuildFailure(await failedBuild(dir, dockerfile), read(BUILDKIT_2010_MISSING).progress.failure())
    expect(error).toBeInstanceOf(BuildError)
    expect(error.exitCode).toBe(ExitCode.build)
    expect(error.exitCode).toBe(13)
    expect(error.message).toBe('The image shop-api did not build: failed to compute cache key: "/missing.txt" not found: not found')
    expect(error.details[0]).toBe('Dockerfile:3: COPY missing.txt /m')
    expect(error.hint).toBe('missing.txt is not in the build context .: COPY and ADD read paths relative to the context (build[].context in devctl.yaml), not to the Dockerfile.')
  })

  it('says when the file is there but .dockerignore leaves it out (legacy builder: the step number gives the line)', async () => {
    const dir = await project({Dockerfile: dockerfile, 'a.txt': 'a', 'missing.txt': 'm', '.dockerignore': '# local files\n*.txt\n!a.txt\n'})
    const progress = new BuildProgress({step: () => {}, activity: () => {}})
    for (const line of LEGACY_STDOUT.split('\n')) progress.push(line, 'stdout')
    for (const line of LEGACY_STDERR.split('\n')) progress.push(line, 'stderr')
    const error = explainBuildFailure(await failedBuild(dir, dockerfile), progress.failure())
    expect(error.details[0]).toBe('Dockerfile:3: COPY missing.txt /m')
    expect(error.hint).toBe('missing.txt is in the build context, but .dockerignore leaves it out: remove the rule that matches it there (or add !missing.txt after it).')
  })

  it('explains a base image that cannot be fetched offline, with the FROM line', async () => {
    const text = 'FROM alpine:3.20\nRUN false\n'
    const dir = await project({Dockerfile: text})
    const {progress} = read(`#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#3 [internal] load metadata for docker.io/library/alpine:3.20
#3 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/library/alpine/manifests/3.20": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
------
 > [internal] load metadata for docker.io/library/alpine:3.20:
------
failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: Head "https://registry-1.docker.io/v2/library/alpine/manifests/3.20": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host`)
    const error = explainBuildFailure(await failedBuild(dir, text), progress.failure())
    expect(error.details[0]).toBe('Dockerfile:1: FROM alpine:3.20')
    expect(error.hint).toBe(
      'The base image alpine:3.20 is not on this machine and its registry cannot be reached (offline?). Pull it once while online (docker pull alpine:3.20), or build FROM an image `docker images` lists.',
    )
  })

  it('points at a line that does not parse, and at a failing command with its last lines', async () => {
    const broken = 'FROM scratch\nCOPPY a.txt /a.txt\n'
    const dir = await project({Dockerfile: broken})
    const parse = read(`#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: unknown instruction: COPPY`).progress.failure()
    const parseError = explainBuildFailure(await failedBuild(dir, broken), parse)
    expect(parseError.details[0]).toBe('Dockerfile:2: COPPY a.txt /a.txt')
    expect(parseError.hint).toBe('Fix the Dockerfile at line 2 (a misspelled instruction, or a line continuation that ends too early).')

    const runs = 'FROM alpine:3.20\nCOPY app.sh /app.sh\nRUN sh /app.sh test\n'
    const failed = explainBuildFailure(await failedBuild(dir, runs), read(BUILDX_RUN_FAILS).progress.failure())
    expect(failed.details).toEqual([
      'Dockerfile:3: RUN sh /app.sh test',
      'last lines of [3/3] RUN sh /app.sh test:',
      '  │ running the tests',
      '  │ FAIL: TestOrder (expected 2, got 3)',
      'to see the whole build: docker build -f Dockerfile .',
    ])
    expect(failed.hint).toMatch(/^A command in the Dockerfile failed \(exit code 1\); its last lines are above\./)
  })

  it('is a prerequisite error when Docker is not running', async () => {
    const dir = await project({Dockerfile: dockerfile})
    const error = explainBuildFailure(
      await failedBuild(dir, dockerfile),
      read('ERROR: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?').progress.failure(),
    )
    expect(error).toBeInstanceOf(PrerequisiteError)
  })
})

describe('Dockerfile instructions and their lines', () => {
  it('follows continuations, comments, directives and heredocs, and finds the instruction a step names', () => {
    const instructions = parseDockerfile(`# syntax=docker/dockerfile:1
# a comment
FROM golang:1.23 AS build

RUN go mod download && \\
    # a comment inside
    go build -o /app .
RUN <<EOF
echo one
FROM not-an-instruction
EOF
FROM gcr.io/distroless/static
COPY --from=build /app /app
`)
    expect(instructions.map((i) => [i.line, i.keyword])).toEqual([
      [3, 'FROM'],
      [5, 'RUN'],
      [8, 'RUN'],
      [12, 'FROM'],
      [13, 'COPY'],
    ])
    expect(instructions[1]!.text).toBe('RUN go mod download && go build -o /app .')
    expect(instructionOfStep(instructions, '[build 2/3] RUN go mod download && go build -o /app .')?.line).toBe(5)
    expect(instructionOfStep(instructions, '[stage-1 2/2] COPY --from=build /app /app')?.line).toBe(13)
    expect(instructionOfStep(instructions, '[internal] load metadata for docker.io/library/golang:1.23')?.line).toBe(3)
    expect(instructionOfStep(instructions, '[internal] load metadata for gcr.io/distroless/static:latest')?.line).toBe(12)
  })
})
