import {describe, expect, it} from 'vitest'

import {decodeRelease, encodeRelease, type Release, releaseJson} from './helm-release.js'

const release: Release = {
  name: 'web',
  namespace: 'default',
  version: 2,
  info: {first_deployed: '2025-01-02T03:04:05.6Z', last_deployed: '2025-01-02T03:05:00Z', deleted: '', description: 'Upgrade complete', status: 'deployed', notes: ''},
  chart: {metadata: {name: 'web', version: '1.0.0'}, lock: null, templates: [], values: {}, schema: null, files: []},
  config: {},
  manifest: '---\n# Source: web/templates/a.yaml\nkind: ConfigMap\n',
  hooks: [{name: 'web-migrate', kind: 'Job', path: 'web/templates/job.yaml', manifest: 'kind: Job', events: ['pre-upgrade'], last_run: {phase: ''}, weight: 0, delete_policies: ['before-hook-creation']}],
  labels: {team: 'web'},
}

describe('release records', () => {
  it('round-trips through helm\'s encoding, labels kept apart', () => {
    const decoded = decodeRelease(encodeRelease(release, 3), {name: 'web', owner: 'helm', status: 'deployed', version: '2', modifiedAt: '1', team: 'web'})
    expect(decoded).toEqual({...release, applyMethod: undefined})
  })

  it('follows helm 3\'s JSON (zero times as "", empty config omitted, no labels)', () => {
    const json = releaseJson(release, 3)
    expect(Object.keys(json)).toEqual(['name', 'info', 'chart', 'manifest', 'hooks', 'version', 'namespace'])
    expect(json.info).toEqual({first_deployed: '2025-01-02T03:04:05.6Z', last_deployed: '2025-01-02T03:05:00Z', deleted: '', description: 'Upgrade complete', status: 'deployed'})
    expect((json.hooks as Array<Record<string, unknown>>)[0]).toEqual({name: 'web-migrate', kind: 'Job', path: 'web/templates/job.yaml', manifest: 'kind: Job', events: ['pre-upgrade'], last_run: {started_at: '', completed_at: '', phase: ''}, delete_policies: ['before-hook-creation']})
  })

  it('follows helm 4\'s JSON (zero times omitted, apply_method recorded)', () => {
    const json = releaseJson(release, 4)
    expect(json.info).not.toHaveProperty('deleted')
    expect((json.hooks as Array<{last_run: unknown}>)[0]?.last_run).toEqual({phase: ''})
    expect(json.apply_method).toBe('ssa')
  })
})
