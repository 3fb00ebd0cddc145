/**
 * A failed `docker build`, explained: which image, the Dockerfile line that failed (whichever
 * builder ran it), the step's last lines, and what to do about the usual causes — a file the
 * context does not have or `.dockerignore` leaves out, a base image that cannot be fetched
 * (offline, or a wrong name), a Dockerfile that does not parse, a command that failed.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {BuildError, PrerequisiteError, type DevctlError} from '../errors.js'
import type {IgnoreRules} from './context.js'
import {baseImageOf, instructionOfStep, parseDockerfile, type Instruction} from './dockerfile.js'
import type {BuildFailureFacts} from './progress.js'

export interface FailedBuild {
  /** The image's name, as in devctl.yaml. */
  name: string
  contextDir: string
  /** The context as the user wrote it (build[].context). */
  shownContext: string
  /** The Dockerfile as shown to the user (relative to the project). */
  shownDockerfile: string
  dockerfileText?: string
  rules: IgnoreRules
  /** The command that reproduces it, shown last. */
  command: string
}

/** The file a COPY/ADD could not find, from either builder's message. */
function missingSource(error: string): string | undefined {
  const match =
    /"\/([^"]+)":? not found/.exec(error) ??
    /file not found in build context or excluded by \.dockerignore: stat ([^:]+): file does not exist/.exec(error) ??
    /lstat \/var\/lib\/docker\/tmp\/[^/]+\/([^:]+): no such file or directory/.exec(error)
  return match?.[1]
}

const OFFLINE = /no such host|i\/o timeout|connection refused|network is unreachable|TLS handshake timeout|dial tcp/i
const UNKNOWN_IMAGE = /pull access denied|repository does not exist|manifest for \S+ not found|manifest unknown|: not found$/i

function failedInstruction(facts: BuildFailureFacts, instructions: Instruction[]): Instruction | undefined {
  if (facts.dockerfileLine !== undefined) return instructions.find((i) => i.line === facts.dockerfileLine) ?? {line: facts.dockerfileLine, keyword: '', text: ''}
  if (facts.instructionIndex !== undefined) return instructions[facts.instructionIndex - 1]
  return facts.step === undefined ? undefined : instructionOfStep(instructions, facts.step)
}

function hintFor(build: FailedBuild, facts: BuildFailureFacts, instruction: Instruction | undefined): string {
  const {error} = facts
  const missing = missingSource(error)
  if (missing !== undefined) {
    if (build.rules.ignores(missing) && existsSync(join(build.contextDir, missing))) {
      return `${missing} is in the build context, but ${build.rules.file ?? '.dockerignore'} leaves it out: remove the rule that matches it there (or add !${missing} after it).`
    }
    return `${missing} is not in the build context ${build.shownContext}: COPY and ADD read paths relative to the context (build[].context in devctl.yaml), not to the Dockerfile.`
  }
  if (/parse error|unknown instruction|Dockerfile parse/i.test(error))
    return `Fix the Dockerfile${instruction ? ` at line ${instruction.line}` : ''} (a misspelled instruction, or a line continuation that ends too early).`
  const base =
    instruction?.keyword === 'FROM'
      ? baseImageOf(instruction)
      : /load metadata for (\S+)|resolve source metadata for (\S+)/
          .exec(`${facts.step ?? ''} ${error}`)
          ?.slice(1)
          .find(Boolean)
  if (base && OFFLINE.test(error)) {
    return `The base image ${base} is not on this machine and its registry cannot be reached (offline?). Pull it once while online (docker pull ${base}), or build FROM an image \`docker images\` lists.`
  }
  if (base && UNKNOWN_IMAGE.test(error)) return `The base image ${base} was not found under that name, or its registry needs a login: check the FROM line (\`docker pull ${base}\` says more).`
  const exit = /did not complete successfully: exit code: (\d+)|returned a non-zero code: (\d+)/.exec(error)
  if (exit) return `A command in the Dockerfile failed (exit code ${exit[1] ?? exit[2]}); its last lines are above. Fix it and save: \`devctl dev\` rebuilds, \`devctl up\` builds again.`
  return `Read docker's error above; \`${build.command}\` shows the whole build.`
}

export function explainBuildFailure(build: FailedBuild, facts: BuildFailureFacts): DevctlError {
  if (/Cannot connect to the Docker daemon|Is the docker daemon running/i.test(facts.error)) {
    return new PrerequisiteError(`Docker is not running, so the image ${build.name} cannot be built.`, {
      hint: 'Start Docker (Docker Desktop, colima, or `sudo systemctl start docker`), then run this again.',
    })
  }
  const instructions = build.dockerfileText === undefined ? [] : parseDockerfile(build.dockerfileText)
  const instruction = failedInstruction(facts, instructions)
  const details: string[] = []
  if (instruction) details.push(`${build.shownDockerfile}:${instruction.line}${instruction.text ? `: ${instruction.text}` : ''}`)
  if (facts.lastLines.length > 0) details.push(`last lines of ${facts.step ?? 'the step'}:`, ...facts.lastLines.map((line) => `  │ ${line}`))
  details.push(`to see the whole build: ${build.command}`)
  return new BuildError(`The image ${build.name} did not build: ${facts.error}`, {details, hint: hintFor(build, facts, instruction)})
}
