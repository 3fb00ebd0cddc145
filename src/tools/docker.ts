/**
 * docker, driven as a process: the daemon k3d needs (and its resources), and the images devctl
 * builds — built, looked up, tagged and pushed.
 */
import semver from 'semver'
import * as z from 'zod'

import {BuildError, PrerequisiteError} from '../errors.js'
import {parseToolJson} from './json-output.js'
import {runAllowingFailure, tail, type RunResult} from './process.js'

const infoSchema = z.looseObject({
  ServerVersion: z.string(),
  MemTotal: z.number().optional(),
  NCPU: z.number().optional(),
  DockerRootDir: z.string().optional(),
})

export interface DockerInfo {
  serverVersion: string
  memoryBytes?: number
  cpus?: number
  /** Where Docker keeps images and volumes (a path inside a VM on macOS). */
  rootDir?: string
}

/**
 * How this Docker CLI builds: with BuildKit (buildx, which `docker build` is in Docker 23+, or
 * a Docker 18.09-22 CLI asked with DOCKER_BUILDKIT=1), or — a 23+ CLI without buildx — only
 * with the legacy builder, which takes no --progress.
 */
export type Builder = 'buildkit' | 'legacy'

export interface BuildRequest {
  contextDir: string
  dockerfile: string
  /** The image reference to tag it with (name:tag). */
  ref: string
  target?: string
  args: Record<string, string | number | boolean>
  /** Where docker writes the built image's ID. */
  iidfile: string
}

export type OutputLine = (line: string, stream: 'stdout' | 'stderr') => void

/** `docker build` as a command line (also shown to people, to reproduce a failure). */
export function buildArgs(request: BuildRequest, builder: Builder): string[] {
  return [
    'build',
    ...(builder === 'buildkit' ? ['--progress=plain'] : []),
    '-t',
    request.ref,
    '-f',
    request.dockerfile,
    ...(request.target ? ['--target', request.target] : []),
    ...Object.entries(request.args).flatMap(([name, value]) => ['--build-arg', `${name}=${String(value)}`]),
    '--iidfile',
    request.iidfile,
    request.contextDir,
  ]
}

export class Docker {
  private builder?: Promise<Builder>

  constructor(private readonly binary = 'docker') {}

  /** Which builder `docker build` uses here (asked once per run). */
  detectBuilder(signal?: AbortSignal): Promise<Builder> {
    this.builder ??= (async () => {
      if ((await runAllowingFailure(this.binary, ['buildx', 'version'], {signal})).exitCode === 0) return 'buildkit'
      const client = await runAllowingFailure(this.binary, ['version', '--format', '{{.Client.Version}}'], {signal})
      const version = semver.coerce(client.stdout.trim())
      return version && semver.major(version) < 23 ? 'buildkit' : 'legacy'
    })()
    return this.builder
  }

  /** `docker build`, its output handed over line by line; the result says how it ended. */
  async build(request: BuildRequest, signal: AbortSignal, onLine: OutputLine): Promise<RunResult & {builder: Builder}> {
    const builder = await this.detectBuilder(signal)
    const result = await runAllowingFailure(this.binary, buildArgs(request, builder), {
      signal,
      env: {DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0'},
      onStdoutLine: (line) => onLine(line, 'stdout'),
      onStderrLine: (line) => onLine(line, 'stderr'),
    })
    return {...result, builder}
  }

  /** The ID of a local image, or undefined when there is none by that reference. */
  async imageId(ref: string, signal?: AbortSignal): Promise<string | undefined> {
    const result = await runAllowingFailure(this.binary, ['image', 'inspect', '--format', '{{.Id}}', ref], {signal})
    if (result.exitCode === 0) return result.stdout.trim() || undefined
    if (/No such image/i.test(result.stderr)) return undefined
    throw this.failure(`look up the image ${ref}`, result)
  }

  /** The image references a k3d node's containerd holds (`ctr -n k8s.io images ls -q` in its container). */
  async containerdImages(container: string, signal?: AbortSignal): Promise<string[]> {
    const result = await runAllowingFailure(this.binary, ['exec', container, 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q'], {signal})
    if (result.exitCode !== 0) throw this.failure(`list the images in the cluster node ${container}`, result)
    return result.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
  }

  async tag(source: string, target: string, signal?: AbortSignal): Promise<void> {
    const result = await runAllowingFailure(this.binary, ['tag', source, target], {signal})
    if (result.exitCode !== 0) throw this.failure(`tag ${source} as ${target}`, result)
  }

  async push(ref: string, signal: AbortSignal): Promise<void> {
    const result = await runAllowingFailure(this.binary, ['push', ref], {signal})
    if (result.exitCode === 0) return
    const text = `${result.stdout}\n${result.stderr}`
    const hint = /unauthorized|authentication required|denied/i.test(text)
      ? `Log in to the registry first: docker login ${ref.split('/')[0]}.`
      : /connection refused|no such host|i\/o timeout|dial tcp/i.test(text)
        ? "The registry cannot be reached: is it running (for k3d's, `devctl up` starts the cluster with it), and is the address in devctl.yaml right?"
        : /server gave HTTP response to HTTPS client/i.test(text)
          ? `Docker talks HTTPS to registries other than localhost: add "${ref.split('/')[0]}" to "insecure-registries" in Docker's daemon.json, or use a registry with TLS.`
          : undefined
    throw new BuildError(`docker could not push ${ref} (exit code ${result.exitCode}).`, {details: tail(text, 6), hint})
  }

  private failure(action: string, result: RunResult): BuildError | PrerequisiteError {
    const text = `${result.stderr}\n${result.stdout}`
    if (/Cannot connect to the Docker daemon|Is the docker daemon running/i.test(text)) {
      return new PrerequisiteError(`docker could not ${action}: the Docker daemon is not running.`, {
        hint: 'Start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), then run this again.',
      })
    }
    return new BuildError(`docker could not ${action} (exit code ${result.exitCode}).`, {details: tail(text, 4)})
  }

  /** The daemon's info; a PrerequisiteError that says how to start it when it is not running. */
  async info(signal?: AbortSignal): Promise<DockerInfo> {
    const result = await runAllowingFailure(this.binary, ['info', '--format', '{{json .}}'], {signal})
    const output = `${result.stderr}\n${result.stdout}`
    if (result.exitCode !== 0 || /Cannot connect to the Docker daemon|Is the docker daemon running/i.test(output)) {
      throw new PrerequisiteError('Docker is installed but its daemon is not reachable, and k3d runs the cluster in Docker.', {
        details: tail(result.stderr || result.stdout, 2),
        hint: 'Start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), then run this again.',
      })
    }
    const info = parseToolJson(infoSchema, result.stdout, 'docker info', PrerequisiteError, {firstChar: '{'})
    return {serverVersion: info.ServerVersion, memoryBytes: info.MemTotal, cpus: info.NCPU, rootDir: info.DockerRootDir}
  }
}
