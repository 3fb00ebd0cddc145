/** docker, driven as a process: only to check that a daemon is there for k3d, and its resources. */
import * as z from 'zod'

import {PrerequisiteError} from '../errors.js'
import {parseToolJson} from './json-output.js'
import {runAllowingFailure, tail} from './process.js'

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

export class Docker {
  constructor(private readonly binary = 'docker') {}

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
