/** kubectl, driven as a process: only `doctor` asks for it (devctl itself talks to the API through its client). */
import * as z from 'zod'

import {PrerequisiteError} from '../errors.js'
import {parseToolJson} from './json-output.js'
import {run} from './process.js'

const versionSchema = z.looseObject({clientVersion: z.looseObject({gitVersion: z.string()})})

export class Kubectl {
  constructor(private readonly binary = 'kubectl') {}

  /** The client's version ("1.34.1"). */
  async version(signal?: AbortSignal): Promise<string> {
    const {stdout} = await run(this.binary, ['version', '--client', '-o', 'json'], {signal})
    return parseToolJson(versionSchema, stdout, 'kubectl version --client -o json', PrerequisiteError).clientVersion.gitVersion.replace(/^v/, '')
  }
}
