/**
 * Reading a pod the way an experienced person would: what state is it in, is that normal
 * progress or a problem, and what should be done about it. Pure functions over API objects.
 */
import type {V1ContainerStatus, V1Pod} from '../kube/types.js'

export interface PodSummary {
  name: string
  /** Pending / Running / Succeeded / Failed, or the kubectl-style status when more telling. */
  status: string
  ready: number
  total: number
  restarts: number
  /** The reason behind the status, when there is one (CrashLoopBackOff, Unschedulable, ...). */
  reason?: string
  message?: string
  /** The container the reason is about. */
  container?: string
  node?: string
  createdAt?: string
  /** A pod that runs to an end (a Job's, restartPolicy Never/OnFailure): running is not done. */
  completes?: boolean
}

/** Reasons that will not fix themselves: waiting longer only wastes the user's time. */
const FATAL_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'CrashLoopBackOff',
  'Unschedulable',
  'OOMKilled',
  'Evicted',
])

export interface Hint {
  /** What it means, in one line. */
  meaning: string
  /** What to do, in one line. */
  action: string
}

const PULL_ACTION = 'check the image name and tag in your values; for a local image run `k3d image import IMAGE -c CLUSTER` or push it to the cluster registry'

/**
 * One row per reason devctl explains; each row has a test. What to do is what to fix: running
 * the command again is the failure report's last line, once. IMAGE and CLUSTER are filled in
 * where devctl knows them (`hintFor`).
 */
export const HINTS: Record<string, Hint> = {
  ErrImagePull: {
    meaning: 'the node could not pull the image',
    action: PULL_ACTION,
  },
  ImagePullBackOff: {
    meaning: 'pulling the image failed and Kubernetes is backing off before retrying',
    action: PULL_ACTION,
  },
  InvalidImageName: {meaning: 'the image reference is not valid', action: 'fix the image repository/tag in your values'},
  CreateContainerConfigError: {
    meaning: 'the container refers to a Secret, ConfigMap or key that does not exist',
    action:
      'give the chart that Secret and key: declare them under app.wiring.secrets in devctl.yaml (devctl creates them, like its own devctl-postgres and devctl-redis with their fixed keys), or fix the name in your values',
  },
  CreateContainerError: {meaning: 'the container runtime could not create the container', action: 'read the message: usually a bad command, volume or security setting'},
  RunContainerError: {meaning: 'the container could not be started', action: 'check the command/entrypoint and the security context in your chart'},
  CrashLoopBackOff: {
    meaning: 'the container keeps exiting and Kubernetes is backing off before restarting it',
    action: 'read its last log lines below; fix the crash (often a missing setting or an unreachable dependency)',
  },
  OOMKilled: {meaning: 'the container used more memory than its limit and was killed', action: 'raise resources.limits.memory for it in your values, or find the leak'},
  Error: {meaning: 'the container exited with a non-zero code', action: 'read its last log lines below'},
  Unschedulable: {
    meaning: 'no node can run the pod (usually: it requests more CPU or memory than a node has)',
    action: 'lower resources.requests in your values, or give Docker more memory/CPUs and add agents in devctl.yaml (cluster.agents)',
  },
  NotReady: {
    meaning: 'the container runs but its readiness probe does not pass',
    action: "check the probe path/port in your chart and the app's logs; `devctl logs COMPONENT` shows them live",
  },
  BackoffLimitExceeded: {meaning: "the Job's pods failed more times than its backoffLimit allows", action: "read the failed pod's log lines below and fix the cause"},
  DeadlineExceeded: {meaning: 'the Job ran longer than its activeDeadlineSeconds', action: 'make the job faster or raise activeDeadlineSeconds'},
  Evicted: {meaning: 'the node ran short of a resource (often disk) and evicted the pod', action: 'free disk space for Docker (`docker system prune`)'},
  PodInitializing: {meaning: 'init containers are still running', action: 'wait; `devctl logs` shows what they do'},
}

/** What devctl knows of the placeholders in a hint. */
export interface HintFacts {
  /** The image of the container the reason is about (IMAGE). */
  image?: string
  /** The k3d cluster the pod runs in (CLUSTER). */
  k3dCluster?: string
}

/** The hint for a reason, with the placeholders devctl knows filled in. */
export function hintFor(reason: string | undefined, facts: HintFacts = {}): Hint | undefined {
  const hint = reason ? HINTS[reason] : undefined
  if (!hint) return undefined
  const action = hint.action.replace(/\b(IMAGE|CLUSTER)\b/g, (placeholder) => (placeholder === 'IMAGE' ? facts.image : facts.k3dCluster) ?? placeholder)
  return {...hint, action}
}

/** The image a container of the pod runs (init containers included). */
export function containerImage(pod: V1Pod, container: string | undefined): string | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === container)?.image
}

function containerProblem(status: V1ContainerStatus): {reason: string; message?: string} | undefined {
  const waiting = status.state?.waiting
  if (waiting?.reason && !['ContainerCreating', 'PodInitializing'].includes(waiting.reason)) {
    const lastTerminated = status.lastState?.terminated
    // A crash loop caused by the OOM killer is explained as OOMKilled.
    if (waiting.reason === 'CrashLoopBackOff' && lastTerminated?.reason === 'OOMKilled') return {reason: 'OOMKilled', message: waiting.message}
    return {reason: waiting.reason, message: waiting.message}
  }
  const terminated = status.state?.terminated
  if (terminated && terminated.exitCode !== 0) return {reason: terminated.reason ?? 'Error', message: terminated.message ?? `exit code ${terminated.exitCode}`}
  const lastExit = status.lastState?.terminated
  if (status.state?.running && !status.ready && (status.restartCount ?? 0) >= 2 && lastExit && lastExit.exitCode !== 0) {
    // Between two crashes a looping container is briefly "running": it is still a crash loop.
    const reason = lastExit.reason === 'OOMKilled' ? 'OOMKilled' : 'CrashLoopBackOff'
    return {reason, message: `restarted ${status.restartCount} times; last exit code ${lastExit.exitCode}${lastExit.reason ? ` (${lastExit.reason})` : ''}`}
  }
  if (status.state?.running && !status.ready && status.started) return {reason: 'NotReady'}
  return undefined
}

export function summarizePod(pod: V1Pod): PodSummary {
  const containers = pod.status?.containerStatuses ?? []
  const inits = pod.status?.initContainerStatuses ?? []
  const total = pod.spec?.containers.length ?? containers.length
  const ready = containers.filter((c) => c.ready).length
  const restarts = [...containers, ...inits].reduce((sum, c) => sum + (c.restartCount ?? 0), 0)
  const summary: PodSummary = {
    name: pod.metadata?.name ?? '?',
    status: pod.metadata?.deletionTimestamp ? 'Terminating' : (pod.status?.phase ?? 'Pending'),
    ready,
    total,
    restarts,
    node: pod.spec?.nodeName,
    createdAt: pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).toISOString() : undefined,
    ...(pod.spec?.restartPolicy === 'Never' || pod.spec?.restartPolicy === 'OnFailure' ? {completes: true} : {}),
  }

  if (pod.status?.reason === 'Evicted') return {...summary, status: 'Failed', reason: 'Evicted', message: pod.status.message}
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')
  if (unschedulable) return {...summary, status: 'Pending', reason: 'Unschedulable', message: unschedulable.message}

  // Init containers first: a pod stuck in init says "Init:..." like kubectl does.
  for (const [index, status] of inits.entries()) {
    if (status.state?.terminated?.exitCode === 0) continue
    const problem = containerProblem(status)
    const step = `Init:${index}/${inits.length}`
    if (problem && problem.reason !== 'NotReady') return {...summary, status: `Init:${problem.reason}`, reason: problem.reason, message: problem.message, container: status.name}
    if (status.state?.running || status.state?.waiting) return {...summary, status: step}
  }
  for (const status of containers) {
    const problem = containerProblem(status)
    if (problem) return {...summary, status: problem.reason === 'NotReady' ? 'Running' : problem.reason, reason: problem.reason, message: problem.message, container: status.name}
  }
  const creating = containers.find((c) => c.state?.waiting?.reason)
  if (creating?.state?.waiting?.reason) return {...summary, status: creating.state.waiting.reason}
  if (pod.status?.phase === 'Succeeded') return {...summary, status: 'Completed'}
  return summary
}

/** Is this pod's problem one that waiting will not fix? */
export function isFatal(summary: PodSummary): boolean {
  if (!summary.reason || !FATAL_REASONS.has(summary.reason)) return false
  // One crash can be a dependency still warming up; a loop is a loop.
  if (summary.reason === 'CrashLoopBackOff') return summary.restarts >= 2
  return true
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
}

/** The last time a container of this pod terminated abnormally, for `previous` logs. */
export function crashedContainer(pod: V1Pod): string | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
  return statuses.find((s) => s.lastState?.terminated && (s.restartCount ?? 0) > 0)?.name
}
