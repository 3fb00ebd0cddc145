/**
 * A release left `pending-install`/`-upgrade`/`-rollback` by a helm that was killed mid-way
 * makes every later helm command fail with "another operation is in progress". The standard
 * remedy is to drop the stuck revision's record (its Secret), so the last good revision is
 * current again (or, for a first install, the release is gone and installs afresh).
 */
import type {KubeClient} from '../kube/client.js'
import {PENDING_STATUSES} from '../tools/helm.js'
import type {ReleaseRecord} from './release-record.js'

export function isPending(record: ReleaseRecord | undefined): record is ReleaseRecord {
  return record !== undefined && (PENDING_STATUSES as readonly string[]).includes(record.status)
}

export function releaseSecretName(release: string, revision: number): string {
  return `sh.helm.release.v1.${release}.v${revision}`
}

export async function dropPendingRevision(kube: KubeClient, namespace: string, release: string, record: ReleaseRecord): Promise<void> {
  await kube.delete('Secret', namespace, releaseSecretName(release, record.revision))
}
