/** What a successful upgrade keeps in devctl.yaml: edited in place, comments and layout kept. */
import {parseDocument} from 'yaml'
import {describe, expect, it} from 'vitest'

import {applyUpgradeOverrides} from '../../src/scaffold/config-document.js'

const CONFIG = `# devctl.yaml
apiVersion: devctl.dev/v1
project: shop # the project
app:
  chart: {path: ./chart}
  values:
    - values.dev.yaml # shared settings
  set: {replicaCount: 1}
`

describe('upgrade overrides in devctl.yaml', () => {
  it('sets --set pairs under app.set, appends --values files, sets --chart-version, keeping comments', () => {
    const doc = parseDocument(CONFIG)
    const changes = applyUpgradeOverrides(doc, {set: {replicaCount: 2, 'podAnnotations.prometheus\\.io/path': '/metrics'}, valuesFiles: ['values.perf.yaml'], chartVersion: '1.2.3'})
    expect(changes).toEqual(['app.set.replicaCount=2', 'app.set.podAnnotations.prometheus\\.io/path=/metrics', 'app.values += values.perf.yaml', 'app.chart.version=1.2.3'])
    const text = doc.toString()
    expect(text).toContain('project: shop # the project')
    expect(text).toContain('- values.dev.yaml # shared settings\n    - values.perf.yaml')
    expect(doc.toJS()).toHaveProperty('app', {
      chart: {path: './chart', version: '1.2.3'},
      values: ['values.dev.yaml', 'values.perf.yaml'],
      set: {replicaCount: 2, 'podAnnotations.prometheus\\.io/path': '/metrics'},
    })
  })

  it('changes nothing when devctl.yaml already says it (and then the file is not written)', () => {
    const doc = parseDocument(CONFIG)
    expect(applyUpgradeOverrides(doc, {set: {replicaCount: 1}, valuesFiles: ['values.dev.yaml']})).toEqual([])
    expect(doc.toJS()).toEqual(parseDocument(CONFIG).toJS())
  })
})
