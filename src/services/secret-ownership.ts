/**
 * devctl rewrites only what it created: before it applies its Secrets (its own and the ones a
 * chart expects, app.wiring.secrets), a Secret of the same name that devctl did not create —
 * one the chart makes itself, or a person's — stops it instead of being overwritten.
 */
import {ConfigError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import type {KubernetesObject} from '../kube/types.js'
import {managedByDevctl} from './naming.js'

export async function assertSecretsOwned(kube: KubeClient, secrets: KubernetesObject[]): Promise<void> {
  const found = await Promise.all(secrets.map((s) => kube.get('Secret', s.metadata!.namespace, s.metadata!.name!)))
  for (const existing of found) {
    if (!existing || managedByDevctl(existing)) continue
    const manager = existing.metadata?.labels?.['app.kubernetes.io/managed-by']
    const {name, namespace} = existing.metadata!
    const owner =
      manager === 'Helm' ? `helm created it (release ${existing.metadata?.annotations?.['meta.helm.sh/release-name'] ?? 'unknown'}), so the chart makes this Secret itself` : 'devctl did not create it'
    throw new ConfigError(`Secret ${name} already exists in namespace ${namespace} and ${owner}; devctl does not overwrite a Secret it does not own.`, {
      hint: `If the chart creates it, remove ${name} from app.wiring.secrets in devctl.yaml. If it is a leftover, delete it (kubectl delete secret ${name} -n ${namespace}) and run devctl again.`,
    })
  }
}
