/**
 * The last migration's outcome, kept in the namespace (ConfigMap devctl-state) so `status`
 * can say when it ran and how it went — a hook Job deleted on success leaves no trace itself.
 */
import * as z from 'zod'

import type {KubeClient} from '../kube/client.js'
import type {V1ConfigMap} from '../kube/types.js'
import {MANAGED_BY_LABEL} from '../services/naming.js'

export const STATE_CONFIGMAP = 'devctl-state'

const recordSchema = z.object({
  kind: z.string(),
  name: z.string(),
  /** not-run: the deploy had nothing to migrate (no migration, or a hook that does not run in this phase). */
  result: z.enum(['succeeded', 'failed', 'not-run']),
  startedAt: z.string(),
  durationMs: z.number(),
  revision: z.number().optional(),
  message: z.string().optional(),
  /** Where devctl kept the run's log on this machine (`devctl logs --migration`). */
  log: z.string().optional(),
})

export type MigrationRecord = z.output<typeof recordSchema>

export async function writeMigrationRecord(kube: KubeClient, namespace: string, record: MigrationRecord): Promise<void> {
  await kube.apply<V1ConfigMap>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {name: STATE_CONFIGMAP, namespace, labels: {...MANAGED_BY_LABEL}},
    data: {lastMigration: JSON.stringify(record)},
  })
}

export async function readMigrationRecord(kube: KubeClient, namespace: string): Promise<MigrationRecord | undefined> {
  const map = await kube.get('ConfigMap', namespace, STATE_CONFIGMAP)
  const raw = map?.data?.lastMigration
  if (!raw) return undefined
  try {
    return recordSchema.parse(JSON.parse(raw))
  } catch {
    return undefined
  }
}
