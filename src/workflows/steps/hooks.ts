/**
 * Lifecycle hooks from devctl.yaml: shell commands run at prerequisites / before deploy /
 * after deploy / validate, in the project directory, their output shown under the step. Each
 * runs in a process group of its own, within app.timeouts.hook, and is ended with everything it
 * started when it times out or devctl is stopped.
 */
import type {HookStage} from '../../config/schema.js'
import {ChartError, PrerequisiteError, RolloutError, StepTimeoutError, type DevctlError} from '../../errors.js'
import {redact} from '../../secrets/redact.js'
import {runAllowingFailure} from '../../tools/process.js'
import {formatDuration, type StepRun} from '../pipeline.js'
import type {Project} from '../project.js'

const FAILURE: Record<HookStage, new (message: string, options?: {details?: string[]; hint?: string}) => DevctlError> = {
  prerequisites: PrerequisiteError,
  beforeDeploy: ChartError,
  afterDeploy: ChartError,
  validate: RolloutError,
}

export async function runHooks(project: Project, stage: HookStage, run: StepRun): Promise<void> {
  const limitMs = project.timeouts.hook
  for (const command of project.config.hooks[stage]) {
    const output: string[] = []
    const onLine = (line: string) => {
      output.push(line)
      run.log(`hook`, line)
    }
    const timeout = AbortSignal.timeout(limitMs)
    const result = await runAllowingFailure(command, [], {
      shell: true,
      ownProcessGroup: true,
      cwd: project.dir,
      signal: AbortSignal.any([run.signal, timeout]),
      env: {DEVCTL_NAMESPACE: project.names.namespace, DEVCTL_RELEASE: project.names.release, DEVCTL_KUBE_CONTEXT: project.names.kubeContext},
      onStdoutLine: onLine,
      onStderrLine: onLine,
    }).catch((error: unknown) => {
      if (!timeout.aborted || run.signal.aborted) throw error
      throw new StepTimeoutError(`The ${stage} hook \`${redact(command)}\` did not finish within ${formatDuration(limitMs)}; devctl stopped it and what it started.`, {
        details: output.slice(-10),
        hint: 'Make it finish sooner, or give hooks more time with app.timeouts.hook in devctl.yaml (--timeout sets every limit).',
      })
    })
    if (result.exitCode !== 0) {
      throw new FAILURE[stage](`The ${stage} hook \`${result.command}\` failed (exit code ${result.exitCode}).`, {
        details: output.slice(-10),
        hint: `Fix it, or remove it from hooks.${stage} in devctl.yaml.`,
      })
    }
  }
}
