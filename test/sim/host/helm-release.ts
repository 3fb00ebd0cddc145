/**
 * Helm release records exactly as helm's Secret storage driver keeps them: Secrets
 * `sh.helm.release.v1.<name>.v<N>` of type helm.sh/release.v1, labelled owner=helm, name,
 * status, version (+ the release's own labels), holding base64(gzip(release JSON)).
 */
import {gunzipSync, gzipSync} from 'node:zlib'

import type {KubeObject} from '../apiserver/contract.js'
import {goRfc3339} from './gotime.js'
import type {HelmVersion} from './host.js'
import {KubeApiError, type KubeClient} from './kube-client.js'

export type ReleaseStatus = 'unknown' | 'deployed' | 'uninstalled' | 'superseded' | 'failed' | 'uninstalling' | 'pending-install' | 'pending-upgrade' | 'pending-rollback'

export interface Hook {
  name: string
  kind: string
  path: string
  manifest: string
  events: string[]
  last_run: {started_at?: string; completed_at?: string; phase: string}
  weight: number
  delete_policies: string[]
}

export interface ChartFile {
  name: string
  data: string
  modtime?: string
}

export interface ChartJson {
  metadata: Record<string, unknown> & {name: string; version: string; appVersion?: string}
  lock: unknown
  templates: ChartFile[]
  values: Record<string, unknown>
  schema: string | null
  files: ChartFile[]
}

export interface Release {
  name: string
  namespace: string
  version: number
  info: {first_deployed: string; last_deployed: string; deleted: string; description: string; status: ReleaseStatus; notes: string}
  chart: ChartJson
  config: Record<string, unknown>
  manifest: string
  hooks: Hook[]
  /** Stored as Secret labels only, never in the JSON (`json:"-"`). */
  labels: Record<string, string>
  /** Helm 4 records how resources were applied: "ssa" or "csa". */
  applyMethod?: string
}

export const systemLabels = ['name', 'owner', 'status', 'version', 'createdAt', 'modifiedAt']

export function helmNow(): string {
  return goRfc3339(new Date(), true)
}

/** The release JSON with Go's field order and each version's omitempty/omitzero rules. */
export function releaseJson(release: Release, helm: HelmVersion): Record<string, unknown> {
  const omitEmpty = (object: Record<string, unknown>, keys: string[]): Record<string, unknown> =>
    Object.fromEntries(Object.entries(object).filter(([key, value]) => !keys.includes(key) || !(value === '' || value === 0 || value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0))))
  const zeroTime = helm === 3 ? '' : undefined
  const info = omitEmpty(
    {
      first_deployed: release.info.first_deployed || zeroTime,
      last_deployed: release.info.last_deployed || zeroTime,
      deleted: release.info.deleted || zeroTime,
      description: release.info.description,
      status: release.info.status,
      notes: release.info.notes,
    },
    helm === 3 ? ['description', 'status', 'notes'] : ['first_deployed', 'last_deployed', 'deleted', 'description', 'status', 'notes'],
  )
  const hooks = release.hooks.map((hook) =>
    omitEmpty(
      {
        name: hook.name,
        kind: hook.kind,
        path: hook.path,
        manifest: hook.manifest,
        events: hook.events,
        last_run: helm === 3 ? {started_at: hook.last_run.started_at ?? '', completed_at: hook.last_run.completed_at ?? '', phase: hook.last_run.phase} : omitEmpty(hook.last_run, ['started_at', 'completed_at']),
        weight: hook.weight,
        delete_policies: hook.delete_policies,
      },
      ['name', 'kind', 'path', 'manifest', 'events', 'weight', 'delete_policies'],
    ),
  )
  return omitEmpty(
    {
      name: release.name,
      info,
      chart: release.chart,
      config: release.config,
      manifest: release.manifest,
      hooks,
      version: release.version,
      namespace: release.namespace,
      ...(helm === 4 ? {apply_method: release.applyMethod ?? 'ssa'} : {}),
    },
    ['name', 'config', 'manifest', 'hooks', 'version', 'namespace', 'apply_method'],
  )
}

export function encodeRelease(release: Release, helm: HelmVersion): string {
  return gzipSync(JSON.stringify(releaseJson(release, helm)), {level: 9}).toString('base64')
}

const emptyHook: Hook = {name: '', kind: '', path: '', manifest: '', events: [], last_run: {phase: ''}, weight: 0, delete_policies: []}

// helm 3 writes zero hook times as ""; in memory they are simply absent.
function zeroTimesDropped(run: Hook['last_run']): Hook['last_run'] {
  return Object.fromEntries(Object.entries(run).filter(([key, value]) => key === 'phase' || value !== '')) as Hook['last_run']
}

export function decodeRelease(encoded: string, labels: Record<string, string>): Release {
  const raw = Buffer.from(encoded, 'base64')
  // helm accepts records written without compression too (gzip magic decides).
  const json = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString('utf8') : raw.toString('utf8')
  const parsed = JSON.parse(json) as Partial<Release> & {info?: Partial<Release['info']>; hooks?: Partial<Hook>[]; apply_method?: string}
  return {
    name: parsed.name ?? '',
    namespace: parsed.namespace ?? '',
    version: parsed.version ?? 0,
    info: {first_deployed: '', last_deployed: '', deleted: '', description: '', status: 'unknown', notes: '', ...parsed.info},
    chart: parsed.chart as ChartJson,
    config: parsed.config ?? {},
    manifest: parsed.manifest ?? '',
    hooks: (parsed.hooks ?? []).map((h) => ({...emptyHook, ...h, last_run: zeroTimesDropped({...emptyHook.last_run, ...h.last_run})})),
    labels: Object.fromEntries(Object.entries(labels).filter(([key]) => !systemLabels.includes(key))),
    applyMethod: parsed.apply_method,
  }
}

export function releaseSecretName(name: string, version: number): string {
  return `sh.helm.release.v1.${name}.v${version}`
}

/** helm's storage backed by the Secret driver, talking REST to the cluster. */
export class ReleaseStorage {
  constructor(
    private readonly kube: KubeClient,
    readonly namespace: string,
    private readonly helm: HelmVersion,
  ) {}

  private secret(release: Release, timestampLabel: 'createdAt' | 'modifiedAt'): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: releaseSecretName(release.name, release.version),
        namespace: release.namespace,
        labels: {
          ...release.labels,
          [timestampLabel]: String(Math.floor(Date.now() / 1000)),
          name: release.name,
          owner: 'helm',
          status: release.info.status,
          version: String(release.version),
        },
      },
      type: 'helm.sh/release.v1',
      data: {release: Buffer.from(encodeRelease(release, this.helm)).toString('base64')},
    }
  }

  private static fromSecret(secret: KubeObject): Release {
    const data = (secret.data as {release?: string} | undefined)?.release ?? ''
    return decodeRelease(Buffer.from(data, 'base64').toString('utf8'), secret.metadata.labels ?? {})
  }

  /** Every revision of a release, oldest first. */
  async history(name: string): Promise<Release[]> {
    let items: KubeObject[]
    try {
      items = (await this.kube.list('v1', 'Secret', this.namespace, {labelSelector: `name=${name},owner=helm`})).items
    } catch (error) {
      if (error instanceof KubeApiError) throw new Error(`query: failed to query with labels: ${error.message}`)
      throw error
    }
    return items.map((s) => ReleaseStorage.fromSecret(s)).sort((a, b) => a.version - b.version)
  }

  /** All releases in the namespace (every namespace when undefined), every revision. */
  async all(allNamespaces: boolean): Promise<Release[]> {
    const {items} = await this.kube.list('v1', 'Secret', allNamespaces ? undefined : this.namespace, {labelSelector: 'owner=helm'})
    return items.map((s) => ReleaseStorage.fromSecret(s))
  }

  async create(release: Release): Promise<void> {
    try {
      await this.kube.create(this.secret(release, 'createdAt'))
    } catch (error) {
      if (error instanceof KubeApiError) throw new Error(`create: failed to create: ${error.message}`)
      throw error
    }
  }

  async update(release: Release): Promise<void> {
    try {
      await this.kube.replace(this.secret(release, 'modifiedAt'))
    } catch (error) {
      if (error instanceof KubeApiError) throw new Error(`update: failed to update: ${error.message}`)
      throw error
    }
  }

  async delete(release: Release): Promise<void> {
    await this.kube.delete({apiVersion: 'v1', kind: 'Secret', namespace: release.namespace, name: releaseSecretName(release.name, release.version)})
  }
}
