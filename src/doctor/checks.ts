/**
 * The checks: each judges the gathered facts (inspect.ts) and says pass, warn, fail or skip,
 * in one line, with one line of what to do. Pure functions, so each is tested on its own.
 */
import semver from 'semver'

import {describeBusyPort} from '../cluster/host-ports.js'
import {displayPath} from '../config/yaml-file.js'
import type {DevctlError} from '../errors.js'
import {InsecureStateError, neededPasswords, SECRETS_FILE} from '../secrets/store.js'
import {formatBytes} from '../text.js'
import {Helm} from '../tools/helm.js'
import {K3d} from '../tools/k3d.js'
import type {MachineFacts, Probe} from './inspect.js'
import {installHint, type InstallableTool} from './platform.js'
import type {CheckId, CheckResult, CheckStatus} from './types.js'

const GiB = 1024 ** 3

/** Below this, the k3s server, Postgres, Redis and an app do not fit in Docker's memory. */
export const MIN_DOCKER_MEMORY = 2 * GiB
/** Below this they fit, but tightly: pods may be evicted or OOM-killed. */
export const RECOMMENDED_DOCKER_MEMORY = 4 * GiB
/** The k3s image, Postgres and Redis images and their volumes need a few GiB. */
export const MIN_FREE_DISK = 2 * GiB
export const RECOMMENDED_FREE_DISK = 10 * GiB

export const CHECK_TITLES: Record<CheckId, string> = {
  node: 'Node.js',
  docker: 'Docker',
  'docker-memory': 'Docker memory',
  k3d: 'k3d',
  helm: 'helm',
  kubectl: 'kubectl',
  disk: 'Disk space',
  config: 'devctl.yaml',
  secrets: 'Secrets',
  ports: 'Host ports',
  cluster: 'Cluster',
  'kube-context': 'Kube context',
}

type Check = (facts: MachineFacts) => CheckResult

function result(id: CheckId, status: CheckStatus, message: string, more: Partial<Pick<CheckResult, 'fix' | 'details' | 'autoFix'>> = {}): CheckResult {
  return {id, title: CHECK_TITLES[id], status, message, ...more}
}

/** A DevctlError as a failed check: its first line as the message, the rest as details, its hint as the fix. */
function fromError(id: CheckId, error: DevctlError, status: CheckStatus = 'fail'): CheckResult {
  const [first = '', ...rest] = error.message.split('\n')
  const details = [...rest, ...error.details]
  return result(id, status, first, {...(details.length ? {details} : {}), ...(error.hint ? {fix: error.hint} : {})})
}

/** The cluster runs in Docker through k3d unless devctl.yaml says to use an existing cluster. */
function existingContext(facts: MachineFacts): string | undefined {
  const cluster = facts.config.state === 'valid' ? facts.config.loaded.config.cluster : undefined
  return cluster?.provider === 'existing' ? cluster.context : undefined
}

function notNeeded(id: CheckId, context: string): CheckResult {
  return result(id, 'skip', `not needed: devctl.yaml deploys into the existing cluster of context ${context}`)
}

function missingTool(id: CheckId, tool: InstallableTool, why: string, facts: MachineFacts): CheckResult {
  return result(id, 'fail', `${tool} is not installed (or not on your PATH); ${why}.`, {fix: installHint(tool, facts.platform)})
}

const nodeCheck: Check = (facts) => {
  const {version, required} = facts.node
  if (semver.satisfies(version, required)) return result('node', 'pass', `${version} (devctl needs ${required})`)
  return result('node', 'fail', `Node.js ${version} is too old: devctl needs ${required}.`, {fix: installHint('node', facts.platform)})
}

const dockerCheck: Check = (facts) => {
  const context = existingContext(facts)
  if (context) return notNeeded('docker', context)
  const {docker} = facts
  if (docker.state === 'missing') return missingTool('docker', 'docker', 'k3d runs the cluster in Docker', facts)
  if (docker.state === 'failed') return fromError('docker', docker.error)
  return result('docker', 'pass', `${docker.value.serverVersion}, the daemon answers`)
}

const dockerMemoryCheck: Check = (facts) => {
  const context = existingContext(facts)
  if (context) return notNeeded('docker-memory', context)
  if (facts.docker.state !== 'ok') return result('docker-memory', 'skip', 'needs a running Docker daemon')
  const {memoryBytes, cpus} = facts.docker.value
  if (memoryBytes === undefined) return result('docker-memory', 'skip', '`docker info` did not say how much memory Docker has')
  const found = `Docker has ${formatBytes(memoryBytes)} of memory${cpus ? ` and ${cpus} CPUs` : ''}`
  if (memoryBytes >= RECOMMENDED_DOCKER_MEMORY) return result('docker-memory', 'pass', found)
  const fix =
    facts.platform === 'macos'
      ? `Give Docker at least ${formatBytes(RECOMMENDED_DOCKER_MEMORY)}: Docker Desktop → Settings → Resources → Memory, or \`colima start --memory 6\`.`
      : `Give Docker at least ${formatBytes(RECOMMENDED_DOCKER_MEMORY)}: on Linux it uses the machine's memory, so close memory-hungry programs or raise the VM's memory.`
  if (memoryBytes < MIN_DOCKER_MEMORY) {
    return result(
      'docker-memory',
      'fail',
      `${found}: too little for the cluster, Postgres, Redis and your app (at least ${formatBytes(MIN_DOCKER_MEMORY)}, better ${formatBytes(RECOMMENDED_DOCKER_MEMORY)}).`,
      {fix},
    )
  }
  return result('docker-memory', 'warn', `${found}: below the ${formatBytes(RECOMMENDED_DOCKER_MEMORY)} the cluster, Postgres, Redis and your app want; pods may be evicted.`, {fix})
}

/** A required tool with a version rule: missing, unreadable, unsupported, or fine. */
function versionedToolCheck(id: 'k3d' | 'helm', probe: Probe<string>, assertSupported: (version: string) => void, why: string, facts: MachineFacts): CheckResult {
  if (probe.state === 'missing') return missingTool(id, id, why, facts)
  if (probe.state === 'failed') return fromError(id, probe.error)
  try {
    assertSupported(probe.value)
  } catch (error) {
    const failed = fromError(id, error as DevctlError)
    return {...failed, fix: `${failed.fix ?? ''} ${installHint(id, facts.platform)}`.trim()}
  }
  return result(id, 'pass', probe.value)
}

const k3dCheck: Check = (facts) => {
  const context = existingContext(facts)
  if (context) return notNeeded('k3d', context)
  return versionedToolCheck('k3d', facts.k3d, (found) => K3d.assertSupported(found), 'devctl creates the local cluster with it', facts)
}

const helmCheck: Check = (facts) => {
  const {helm} = facts
  const version: Probe<string> = helm.state === 'ok' ? {state: 'ok', value: helm.value.version} : helm
  return versionedToolCheck('helm', version, (found) => Helm.assertSupported(found), 'devctl installs your chart with it', facts)
}

/** The Kubernetes minor version of the k3s image devctl.yaml runs, e.g. "1.31". */
function clusterKubernetesVersion(facts: MachineFacts): string | undefined {
  if (facts.config.state !== 'valid' || facts.config.loaded.config.cluster.provider !== 'k3d') return undefined
  const tag = facts.config.loaded.config.cluster.image.split('@')[0]?.split('/').pop()?.split(':')[1]
  return semver.coerce(tag ?? '')?.version
}

const kubectlCheck: Check = (facts) => {
  const {kubectl} = facts
  const optional = 'optional: devctl does not need it, but it is handy for looking around the cluster'
  if (kubectl.state === 'missing') return result('kubectl', 'warn', `kubectl is not installed (${optional}).`, {fix: installHint('kubectl', facts.platform)})
  if (kubectl.state === 'failed') return fromError('kubectl', kubectl.error, 'warn')
  const cluster = clusterKubernetesVersion(facts)
  const client = semver.coerce(kubectl.value)
  if (cluster && client) {
    const skew = Math.abs(semver.minor(client) - semver.minor(cluster))
    if (semver.major(client) === semver.major(cluster) && skew > 1) {
      const wanted = `${semver.major(cluster)}.${Math.max(0, semver.minor(cluster) - 1)}–${semver.major(cluster)}.${semver.minor(cluster) + 1}`
      return result('kubectl', 'warn', `kubectl ${kubectl.value} is ${skew} minor versions from the cluster's Kubernetes ${cluster}; kubectl supports one minor version of difference.`, {
        fix: `Use a kubectl ${wanted} for this cluster (${installHint('kubectl', facts.platform)}).`,
      })
    }
  }
  return result('kubectl', 'pass', kubectl.value)
}

const diskCheck: Check = (facts) => {
  if (facts.disk.length === 0) return result('disk', 'skip', 'could not read free disk space')
  const lowest = Math.min(...facts.disk.map((d) => d.freeBytes))
  const message = facts.disk.map((d) => `${formatBytes(d.freeBytes)} free for ${d.what === 'project' ? 'the project' : 'Docker'} (${d.path})`).join('; ')
  const fix = 'Free some disk space: the k3s, Postgres and Redis images and their volumes need a few GiB (`docker system prune` removes unused images and containers).'
  if (lowest < MIN_FREE_DISK) return result('disk', 'fail', `${message}: less than the ${formatBytes(MIN_FREE_DISK)} devctl needs.`, {fix})
  if (lowest < RECOMMENDED_FREE_DISK) return result('disk', 'warn', `${message}: below the recommended ${formatBytes(RECOMMENDED_FREE_DISK)}.`, {fix})
  return result('disk', 'pass', message)
}

const configCheck: Check = (facts) => {
  const {config} = facts
  if (config.state === 'missing') {
    return result('config', 'warn', `No devctl.yaml in ${config.searchedFrom} or any directory above it.`, {
      fix: "Run `devctl init` in your project's root to create one (scripts/onboard.sh does it for you).",
    })
  }
  if (config.state === 'invalid') return fromError('config', config.error)
  const [firstFileError, ...otherFileErrors] = config.fileErrors
  if (firstFileError) {
    const failed = fromError('config', firstFileError)
    const more = otherFileErrors.map((e) => e.message)
    return more.length ? {...failed, details: [...(failed.details ?? []), ...more]} : failed
  }
  const {loaded} = config
  const cluster = loaded.config.cluster.provider === 'k3d' ? `k3d cluster ${loaded.resolved.clusterName}` : `existing cluster of context ${loaded.resolved.kubeContext}`
  return result('config', 'pass', `${displayPath(loaded.path)} is valid: project ${loaded.config.project}, ${cluster}, namespace ${loaded.resolved.namespace}`)
}

const needsConfig = 'needs a valid devctl.yaml'

const secretsCheck: Check = (facts) => {
  const {secrets, config} = facts
  if (!secrets || config.state !== 'valid') return result('secrets', 'skip', needsConfig)
  if (secrets.state === 'failed') {
    const {error} = secrets
    const failed = fromError('secrets', error)
    if (!(error instanceof InsecureStateError) || error.repairs.length === 0) return failed
    const chmod = error.repairs.map((r) => `chmod ${r.mode.toString(8)} ${displayPath(r.path, config.loaded.dir)}`).join(', ')
    return {...failed, autoFix: {kind: 'make-private', description: `make devctl's state private (${chmod})`, repairs: error.repairs}}
  }
  if (secrets.state === 'ok' && secrets.value) return result('secrets', 'pass', `${SECRETS_FILE} holds the generated Postgres and Redis passwords`)
  return result('secrets', 'warn', `${SECRETS_FILE} does not exist yet (devctl generates the Postgres and Redis passwords into it).`, {
    fix: '`devctl doctor --fix` generates it now; `devctl up` would too.',
    autoFix: {kind: 'create-secrets', description: `generate passwords into ${SECRETS_FILE}`, projectDir: config.loaded.dir, passwords: neededPasswords(config.loaded.config)},
  })
}

const portsCheck: Check = (facts) => {
  const context = existingContext(facts)
  if (context) return notNeeded('ports', context)
  const {ports, config, cluster} = facts
  if (config.state !== 'valid') return result('ports', 'skip', needsConfig)
  const existing = cluster?.state === 'ok' ? cluster.value : undefined
  if (!ports) return result('ports', 'pass', `held by the running cluster ${existing?.name ?? config.loaded.resolved.clusterName}`)
  const busy = ports.filter((p) => !p.free)
  if (busy.length === 0) return result('ports', 'pass', `free: ${ports.map((p) => p.port).join(', ')}`)

  const details = busy.map((p) => `${p.port} (${p.purpose}${p.configKey ? `, ${p.configKey}` : ''}): in use${p.holder ? ` by ${p.holder}` : ''}`)
  const [first] = busy
  const message = busy.length === 1 && first ? describeBusyPort(first) : `${busy.length} host ports the cluster needs are already in use: ${busy.map((p) => p.port).join(', ')}.`
  const moves = busy.flatMap((p) => (p.alternative === undefined || p.configKey === undefined ? [] : [{configKey: p.configKey, from: p.port, to: p.alternative}]))
  if (moves.length === 0) return result('ports', 'fail', message, {details, fix: first?.fix ?? 'Stop what holds them.'})
  const movesText = moves.map((m) => `${m.configKey}: ${m.from} → ${m.to}`).join(', ')
  return result('ports', 'fail', message, {
    details,
    fix: `Stop what holds it, or let \`devctl doctor --fix\` change devctl.yaml (${movesText}).`,
    autoFix: {kind: 'move-ports' as const, description: `change devctl.yaml to free host ports (${movesText})`, configPath: config.loaded.path, moves},
  })
}

const clusterCheck: Check = (facts) => {
  const context = existingContext(facts)
  if (context) return result('cluster', 'skip', `devctl.yaml deploys into the existing cluster of context ${context} (see the kube context check)`)
  const {cluster, config} = facts
  if (config.state !== 'valid') return result('cluster', 'skip', needsConfig)
  if (!cluster || cluster.state === 'missing') return result('cluster', 'skip', 'needs Docker and k3d')
  if (cluster.state === 'failed') return fromError('cluster', cluster.error)
  const name = config.loaded.resolved.clusterName
  if (!cluster.value) return result('cluster', 'warn', `There is no k3d cluster ${name} yet.`, {fix: '`devctl up` creates it.'})
  if (!cluster.value.running) {
    return result('cluster', 'warn', `The k3d cluster ${name} is stopped.`, {
      fix: '`devctl doctor --fix` starts it now (`devctl up` would too); its data is kept.',
      autoFix: {kind: 'start-cluster', description: `start the stopped k3d cluster ${name}`, cluster: name},
    })
  }
  const {servers, agents} = cluster.value
  return result('cluster', 'pass', `k3d cluster ${name} is running (${servers} server${servers === 1 ? '' : 's'}, ${agents} agent${agents === 1 ? '' : 's'})`)
}

const kubeContextCheck: Check = (facts) => {
  const {kube, config} = facts
  if (config.state !== 'valid') return result('kube-context', 'skip', needsConfig)
  if (!kube) return result('kube-context', 'skip', 'needs a running cluster')
  if (kube.state === 'failed') return fromError('kube-context', kube.error)
  if (kube.state === 'missing') return result('kube-context', 'fail', 'k3d is not installed, so its kubeconfig cannot be read.', {fix: installHint('k3d', facts.platform)})
  return result('kube-context', 'pass', `context ${kube.value.context} answers${kube.value.server ? ` at ${kube.value.server}` : ''}`)
}

const CHECKS: Check[] = [nodeCheck, dockerCheck, dockerMemoryCheck, k3dCheck, helmCheck, kubectlCheck, diskCheck, configCheck, secretsCheck, portsCheck, clusterCheck, kubeContextCheck]

export function evaluate(facts: MachineFacts): CheckResult[] {
  return CHECKS.map((check) => check(facts))
}
