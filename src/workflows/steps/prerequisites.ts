/**
 * Step 1 of `up`: everything that can be checked before anything changes — values files,
 * secrets, docker, k3d, helm, free host ports, and the config's own prerequisite hooks.
 */
import {PrerequisiteError} from '../../errors.js'
import {readValuesFile} from '../../config/yaml-file.js'
import {ensureSecrets} from '../../secrets/store.js'
import {isPortFree, nextFreePort, portHolder} from '../../system/ports.js'
import {Helm} from '../../tools/helm.js'
import {K3d, type K3dCluster} from '../../tools/k3d.js'
import type {WorkflowContext} from '../context.js'
import type {LeafStep, StepRun} from '../pipeline.js'
import {boundHostPorts, readCreatedWith, type ClusterShape} from './cluster-config.js'
import {runHooks} from './hooks.js'

export interface PrerequisiteContext extends WorkflowContext {
  /** The k3d cluster as found before `up` touched anything (undefined: none yet). */
  existingCluster?: K3dCluster
  /** What that cluster was created with, from the k3d config devctl wrote then (undefined: not created by devctl). */
  createdWith?: ClusterShape
}

/** Host ports the cluster will bind, with what each is for. */
export function clusterPorts(ctx: WorkflowContext): Array<{port: number; purpose: string; configKey: string}> {
  const cluster = ctx.config.cluster
  if (cluster.provider !== 'k3d') return []
  return [
    ...(cluster.apiPort ? [{port: cluster.apiPort, purpose: 'the Kubernetes API', configKey: 'cluster.apiPort'}] : []),
    ...cluster.ports.map((p, i) => ({port: p.host, purpose: `port mapping ${p.host}:${p.container}`, configKey: `cluster.ports[${i}].host`})),
    ...(cluster.registry?.enabled ? [{port: cluster.registry.port, purpose: 'the local registry', configKey: 'cluster.registry.port'}] : []),
  ]
}

interface PortToBind {
  port: number
  purpose: string
  /** What to do when it is taken, given a free port nearby. */
  hint(alternative: number | undefined): string
}

/**
 * The host ports `up` is about to bind: devctl.yaml's for a new cluster; for a stopped one, the
 * ports it was created with, which k3d binds again on start whatever devctl.yaml says now.
 */
function portsToBind(ctx: PrerequisiteContext): PortToBind[] {
  const {createdWith} = ctx
  if (!createdWith) {
    return clusterPorts(ctx).map(({port, purpose, configKey}) => ({
      port,
      purpose,
      hint: (alternative) => `Stop what holds it, or set ${configKey} in devctl.yaml to a free port${alternative ? ` such as ${alternative}` : ''}.`,
    }))
  }
  const name = ctx.names.clusterName
  return boundHostPorts(createdWith).map(({port, purpose}) => ({
    port,
    purpose: `${purpose} of the stopped cluster ${name}`,
    hint: () => `Stop what holds it: cluster ${name} was created with this port and binds it again when it starts. A new port in devctl.yaml only applies to a new cluster (\`devctl down && devctl up\`, which deletes the cluster's data).`,
  }))
}

/** Fails with who holds the first busy port and what to do about it. */
async function assertPortsFree(ports: PortToBind[]): Promise<void> {
  const taken = new Set(ports.map((p) => p.port))
  for (const {port, purpose, hint} of ports) {
    if (await isPortFree(port)) continue
    const [holder, alternative] = await Promise.all([portHolder(port), nextFreePort(port, taken)])
    throw new PrerequisiteError(`Host port ${port} (for ${purpose}) is already in use${holder ? ` by ${holder}` : ''}.`, {hint: hint(alternative)})
  }
}

async function assertValuesFiles(ctx: WorkflowContext): Promise<void> {
  for (const file of ctx.valuesFiles) await readValuesFile(file)
}

export const prerequisitesStep: LeafStep<PrerequisiteContext> = {
  id: 'prerequisites',
  title: 'Prerequisites',
  async execute(ctx, run: StepRun) {
    const k3d = ctx.config.cluster.provider === 'k3d'
    // Independent checks run side by side: each is a process start or a file read.
    const [, , helm, k3dState] = await Promise.all([
      assertValuesFiles(ctx),
      ensureSecrets(ctx.loaded.dir).then(({secrets, created}) => {
        ctx.secrets = secrets
        if (created) run.note('generated passwords into .devctl/secrets.yaml')
      }),
      ctx.tools.helm.version(run.signal),
      k3d
        ? Promise.all([
            ctx.tools.k3d.version(run.signal),
            // Listing clusters needs Docker, so it doubles as the Docker check; when it fails,
            // docker itself says what is wrong (not running, not installed) more clearly than k3d.
            ctx.tools.k3d.find(ctx.names.clusterName, run.signal).catch(async (error: unknown) => {
              await ctx.tools.docker.info(run.signal)
              throw error
            }),
          ]).then(([version, cluster]) => {
            K3d.assertSupported(version)
            return {version, cluster}
          })
        : undefined,
    ])
    Helm.assertSupported(helm.version)
    ctx.helmMajor = helm.major
    ctx.existingCluster = k3dState?.cluster
    if (ctx.existingCluster) ctx.createdWith = await readCreatedWith(ctx.stateDir)
    // A running cluster holds its own ports; only check them when they are about to be bound.
    if (k3d && !ctx.existingCluster?.running) await assertPortsFree(portsToBind(ctx))
    await runHooks(ctx, 'prerequisites', run)
    return `Prerequisites: helm ${helm.version}${k3dState ? `, k3d ${k3dState.version}` : ''}`
  },
}
