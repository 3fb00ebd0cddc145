/**
 * One devctl at a time in a namespace of a shared cluster, across machines: a Kubernetes Lease
 * (coordination.k8s.io/v1) named devctl-lock, held while a command changes the environment,
 * renewed while it runs and deleted when it ends. One that is not renewed within its duration
 * (its devctl died) is taken over. Writes use the Lease's resourceVersion, so two devctls never
 * both win.
 */
import {hostname} from 'node:os'

import {EnvironmentBusyError} from '../errors.js'
import {ApiRefusedError} from '../kube/api-failure.js'
import type {KubeClient} from '../kube/client.js'
import type {V1Lease} from '../kube/types.js'
import {osUserName} from '../system/user.js'

export const LEASE_NAME = 'devctl-lock'
const DURATION_SECONDS = 60
const RENEW_MS = 15_000

export interface HeldLease {
  release(): Promise<void>
}

/** "ann@laptop pid 4242: devctl up". */
function holderIdentity(command: string): string {
  return `${osUserName() ?? '?'}@${hostname()} pid ${process.pid}: devctl ${command}`
}

/** Lease times are MicroTime: the API server reads RFC 3339 with exactly six fractional digits; a Date prints three. */
class MicroTime extends Date {
  override toISOString(): string {
    return `${super.toISOString().slice(0, -1)}000Z`
  }
}

function microTime(): Date {
  return new MicroTime()
}

export function leaseExpired(lease: V1Lease, now = Date.now()): boolean {
  const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime
  if (!lease.spec?.holderIdentity || !renewed) return true
  return now - new Date(renewed).getTime() > (lease.spec.leaseDurationSeconds ?? DURATION_SECONDS) * 1000
}

export async function holdLease(kube: KubeClient, namespace: string, command: string): Promise<HeldLease> {
  const identity = holderIdentity(command)
  const spec = () => ({holderIdentity: identity, leaseDurationSeconds: DURATION_SECONDS, acquireTime: microTime(), renewTime: microTime()})
  let held = await kube.create('Lease', {metadata: {name: LEASE_NAME, namespace}, spec: spec()})
  if (!held) {
    const current = await kube.get('Lease', namespace, LEASE_NAME)
    if (current && !leaseExpired(current)) {
      const since = current.spec?.acquireTime ? `, since ${Math.max(0, Math.round((Date.now() - new Date(current.spec.acquireTime).getTime()) / 1000))} s` : ''
      throw new EnvironmentBusyError(`Another devctl is changing namespace ${namespace}: ${current.spec?.holderIdentity ?? 'unknown'}${since}.`, {
        hint: `Wait for it to finish and run this again. (A devctl that died stops renewing Lease ${LEASE_NAME}; it is taken over ${DURATION_SECONDS} s later.)`,
      })
    }
    // Expired (or deleted meanwhile): take it over at the version we read; losing that race means someone else holds it now.
    held = current
      ? await kube.replace('Lease', {...current, spec: {...spec(), leaseTransitions: (current.spec?.leaseTransitions ?? 0) + 1}})
      : await kube.create('Lease', {metadata: {name: LEASE_NAME, namespace}, spec: spec()})
    if (!held) throw new EnvironmentBusyError(`Another devctl took namespace ${namespace} over just now.`, {hint: 'Wait for it to finish and run this again.'})
  }
  let current: V1Lease = held
  const renewal = setInterval(() => {
    void kube
      .replace('Lease', {...current, spec: {...current.spec, renewTime: microTime()}})
      .then((renewed) => {
        if (renewed) current = renewed
      })
      .catch(() => {})
  }, RENEW_MS)
  renewal.unref()
  return {
    async release() {
      clearInterval(renewal)
      const latest = await kube.get('Lease', namespace, LEASE_NAME).catch(() => undefined)
      if (latest?.spec?.holderIdentity === identity) await kube.delete('Lease', namespace, LEASE_NAME).catch(() => {})
    },
  }
}

/**
 * The Lease where several people or machines may share the cluster (provider "existing"); a k3d
 * cluster of one's own needs only the file lock. An account that may not use Leases (or a
 * namespace not created yet) goes without, and is told what that means.
 */
export async function holdLeaseIfShared(shared: boolean, kube: KubeClient, namespace: string, command: string, warn: (message: string) => void): Promise<HeldLease | undefined> {
  if (!shared) return undefined
  try {
    return await holdLease(kube, namespace, command)
  } catch (error) {
    if (!(error instanceof ApiRefusedError) || (error.status !== 403 && error.status !== 404)) throw error
    warn(
      `devctl could not hold Lease ${LEASE_NAME} in namespace ${namespace} (${error.status === 403 ? 'this account may not use Leases' : 'the namespace does not exist yet'}): another devctl changing it from another machine would not be noticed.`,
    )
    return undefined
  }
}
