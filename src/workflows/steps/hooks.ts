/**
 * Lifecycle hooks from devctl.yaml: shell commands run at prerequisites / before deploy /
 * after deploy / validate, in the project directory, their output shown under the step.
 */
import type {HookStage} from '../../config/schema.js'
import {ChartError, PrerequisiteError, RolloutError, type DevctlError} from '../../errors.js'
import {runAllowingFailure} from '../../tools/process.js'
import type {StepRun} from '../pipeline.js'
import type {Project} from '../project.js'

const FAILURE: Record<HookStage, new (message: string, options?: {details?: string[]; hint?: string}) => DevctlError> = {
  prerequisites: PrerequisiteError,
  beforeDeploy: ChartError,
  afterDeploy: ChartError,
  validate: RolloutError,
}

export async function runHooks(project: Project, stage: HookStage, run: StepRun): Promise<void> {
  for (const command of project.config.hooks[stage]) {
    const output: string[] = []
    const onLine = (line: string) => {
      output.push(line)
      run.log(`hook`, line)
    }
    const result = await runAllowingFailure(command, [], {
      shell: true,
      cwd: project.dir,
      signal: run.signal,
      env: {DEVCTL_NAMESPACE: project.names.namespace, DEVCTL_RELEASE: project.names.release, DEVCTL_KUBE_CONTEXT: project.names.kubeContext},
      onStdoutLine: onLine,
      onStderrLine: onLine,
    })
    if (result.exitCode !== 0) {
      throw new FAILURE[stage](`The ${stage} hook \`${result.command}\` failed (exit code ${result.exitCode}).`, {
        details: output.slice(-10),
        hint: `Fix it, or remove it from hooks.${stage} in devctl.yaml.`,
      })
    }
  }
}
