/**
 * The release as helm stored it: Secrets `sh.helm.release.v1.<release>.v<N>` labelled
 * owner=helm, name, status, version (+ labels devctl passes with --labels), holding the release
 * itself (JSON, gzipped and base64-encoded by helm's Secret storage driver — the same in helm 3
 * and 4). Reading them through the API answers "is it deployed, with which fingerprint, which
 * chart, what happened to each revision" without starting helm.
 */
import {gunzipSync} from 'node:zlib'

import * as z from 'zod'

import type {KubeClient} from '../kube/client.js'
import type {V1Secret} from '../kube/types.js'
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

function releaseSecrets(kube: KubeClient, namespace: string, release: string): Promise<V1Secret[]> {
  return kube.list('Secret', namespace, {labelSelector: `owner=helm,name=${release}`})
}

function recordOf(secret: V1Secret): ReleaseRecord {
  return {revision: Number(secret.metadata?.labels?.version ?? 0), status: secret.metadata?.labels?.status ?? 'unknown', fingerprint: secret.metadata?.labels?.[FINGERPRINT_LABEL]}
}

export async function releaseRecords(kube: KubeClient, namespace: string, release: string): Promise<ReleaseRecord[]> {
  return (await releaseSecrets(kube, namespace, release))
    .map(recordOf)
    .filter((r) => r.revision > 0)
    .sort((a, b) => a.revision - b.revision)
}

/** One revision as `helm history` shows it (and its fingerprint). */
export interface RevisionInfo extends ReleaseRecord {
  /** "web-worker-0.1.0" */
  chart: string
  appVersion?: string
  /** When it was deployed (RFC 3339). */
  updated?: string
  description?: string
}

export type ReleaseHistory = RevisionInfo[]

const storedRelease = z.looseObject({
  info: z.looseObject({last_deployed: z.string().optional(), description: z.string().optional()}).optional(),
  chart: z.looseObject({metadata: z.looseObject({name: z.string(), version: z.string(), appVersion: z.string().optional()})}).optional(),
})

/** helm's Secret payload: base64 of gzipped JSON (the API's own base64 around it is undone by `data`'s decoding). */
function decodeRelease(secret: V1Secret): z.output<typeof storedRelease> | undefined {
  const stored = secret.data?.release
  if (!stored) return undefined
  try {
    const helmBytes = Buffer.from(Buffer.from(stored, 'base64').toString('utf8'), 'base64')
    const json = helmBytes[0] === 0x1f && helmBytes[1] === 0x8b ? gunzipSync(helmBytes).toString('utf8') : helmBytes.toString('utf8')
    const parsed = storedRelease.safeParse(JSON.parse(json))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** The release's revisions, oldest first, as `helm history` lists them; a payload devctl cannot read keeps its labels' facts. */
export async function releaseHistory(kube: KubeClient, namespace: string, release: string): Promise<ReleaseHistory> {
  return (await releaseSecrets(kube, namespace, release))
    .map((secret): RevisionInfo => {
      const record = recordOf(secret)
      const stored = decodeRelease(secret)
      const metadata = stored?.chart?.metadata
      return {
        ...record,
        chart: metadata ? `${metadata.name}-${metadata.version}` : '',
        appVersion: metadata?.appVersion,
        updated: stored?.info?.last_deployed,
        description: stored?.info?.description,
      }
    })
    .filter((r) => r.revision > 0)
    .sort((a, b) => a.revision - b.revision)
}

export async function latestRelease(kube: KubeClient, namespace: string, release: string): Promise<ReleaseRecord | undefined> {
  return (await releaseRecords(kube, namespace, release)).at(-1)
}
