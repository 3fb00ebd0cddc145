/**
 * A PersistentVolumeClaim helm cannot patch. A chart that renders `storageClassName:` empty gets
 * the cluster's default class filled in when the claim is created (k3s: local-path); on the next
 * upgrade helm's patch takes it away again, which Kubernetes forbids for an existing claim
 * ("spec is immutable after creation"). helm's message names the claim, not the cause.
 */
import type {KubernetesObject} from '../kube/types.js'

const IMMUTABLE_CLAIM = /PersistentVolumeClaim "([^"]+)" is invalid: spec: Forbidden: spec is immutable/g

type Claim = KubernetesObject & {spec?: {storageClassName?: string | null}}

/** The claims helm could not patch that the chart renders with an empty storageClassName: the cause, and the fix. */
export function emptyStorageClassClaims(helmDetails: readonly string[], objects: readonly KubernetesObject[], again: string): {detail: string; hint: string} | undefined {
  const refused = new Set([...helmDetails.join('\n').matchAll(IMMUTABLE_CLAIM)].map((match) => match[1]))
  const empty = (objects as Claim[])
    .filter((object) => object.kind === 'PersistentVolumeClaim' && refused.has(object.metadata?.name ?? ''))
    .filter(({spec}) => spec !== undefined && 'storageClassName' in spec && !spec.storageClassName)
    .map((claim) => claim.metadata?.name ?? '?')
  if (empty.length === 0) return undefined
  const claims = `PersistentVolumeClaim${empty.length === 1 ? '' : 's'} ${empty.join(', ')}`
  return {
    detail: `${claims}: the chart renders storageClassName empty, the cluster gave ${empty.length === 1 ? 'the claim' : 'each claim'} its default class when it was created (local-path on k3d), and helm's upgrade takes that class away again, which Kubernetes forbids for an existing claim.`,
    hint: `Set the chart's storage class value for ${claims} to the class ${empty.length === 1 ? 'it has' : 'they have'} (local-path on k3d; \`kubectl get pvc\` shows it) in your values file, then ${again}.`,
  }
}
