/**
 * The release as helm stored it: Secrets `sh.helm.release.v1.<release>.v<N>` labelled
 * owner=helm, name, status, version (+ labels devctl passes with --labels). Reading the labels
 * through the API answers "is it deployed, and with which fingerprint?" without running helm.
 */
import type {KubeClient} from '../kube/client.js'
import {FINGERPRINT_LABEL} from './fingerprint.js'

/** The annotation helm puts on every object of a release. */
export const RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name'

/** Was this object created by helm for `release`? */
export function belongsToRelease(object: {metadata?: {annotations?: Record<string, string>}}, release: string): boolean {
  return object.metadata?.annotations?.[RELEASE_NAME_ANNOTATION] === release
}

export interface ReleaseRecord {
  revision: number
  status: string
  fingerprint?: string
}

export async function releaseRecords(kube: KubeClient, namespace: string, release: string): Promise<ReleaseRecord[]> {
  const secrets = await kube.list('Secret', namespace, {labelSelector: `owner=helm,name=${release}`})
  return secrets
    .map((s) => ({
      revision: Number(s.metadata?.labels?.version ?? 0),
      status: s.metadata?.labels?.status ?? 'unknown',
      fingerprint: s.metadata?.labels?.[FINGERPRINT_LABEL],
    }))
    .filter((r) => r.revision > 0)
    .sort((a, b) => a.revision - b.revision)
}

export async function latestRelease(kube: KubeClient, namespace: string, release: string): Promise<ReleaseRecord | undefined> {
  return (await releaseRecords(kube, namespace, release)).at(-1)
}
