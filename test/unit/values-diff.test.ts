/**
 * The upgrade plan's values diff: what the chart receives before and after, as paths. The last
 * test holds devctl's coalescing of defaults and given values to what the real helm computes.
 */
import {execFile} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {stringify} from 'yaml'

import {describe, expect, it} from 'vitest'

import {chartValuesDiff, coalesceValues, formatValuePath, type DeployedValues} from '../../src/chart/values-diff.js'
import {tempDir, TOOLS} from '../helpers/cli.js'

const DEFAULTS = {
  shared: {},
  replicaCount: 1,
  image: {repository: 'app', tag: ''},
  resources: {requests: {cpu: '25m', memory: '32Mi'}, limits: {memory: '128Mi'}},
  env: [{name: 'LOG', value: 'info'}],
}
/** Given by values.dev.yaml: the tag defined once under shared: with an anchor, and aliased where the chart reads it. */
const GIVEN = {shared: {image: {tag: '6.7.1'}}, image: {tag: '6.7.1'}}
/** What the release's chart received for GIVEN (`helm get values --all`), with a subchart's defaults the parent chart does not list. */
const DEPLOYED: DeployedValues = {supplied: GIVEN, computed: {...coalesceValues(DEFAULTS, GIVEN), postgresql: {auth: {username: 'bn_user'}}}}

const diff = (supplied: Record<string, unknown>, defaults: Record<string, unknown> = DEFAULTS, deployed = DEPLOYED) => chartValuesDiff(deployed, {supplied, defaults})

describe('the upgrade diff', () => {
  it('shows a value set deep in a map as its path, from the chart default it replaces', () => {
    expect(diff({...GIVEN, resources: {requests: {memory: '64Gi'}}})).toEqual([{path: 'resources.requests.memory', before: '32Mi', after: '64Gi'}])
  })

  it('a value set to what the chart has by default is no change', () => {
    expect(diff({...GIVEN, replicaCount: 1})).toEqual([])
    expect(diff({...GIVEN, resources: {limits: {memory: '128Mi'}}})).toEqual([])
  })

  it('an anchored value shows once, where the chart reads it, not at its anchor under shared:', () => {
    expect(diff({shared: {image: {tag: '6.7.2'}}, image: {tag: '6.7.2'}})).toEqual([{path: 'image.tag', before: '6.7.1', after: '6.7.2'}])
  })

  it('a value no longer given goes back to the default; null removes the default', () => {
    const deployed: DeployedValues = {supplied: {...GIVEN, replicaCount: 3}, computed: coalesceValues(DEFAULTS, {...GIVEN, replicaCount: 3})}
    expect(diff(GIVEN, DEFAULTS, deployed)).toEqual([{path: 'replicaCount', before: 3, after: 1}])
    expect(diff({...GIVEN, resources: {limits: null}})).toEqual([{path: 'resources.limits.memory', before: '128Mi', after: undefined}])
  })

  it("reports nothing the chart has on its own, nobody gives it, and that does not change (a subchart's defaults)", () => {
    expect(diff(GIVEN)).toEqual([])
  })

  it('lists item by item, keys with dots escaped as --set writes them, secrets masked', () => {
    expect(
      diff({
        ...GIVEN,
        env: [
          {name: 'LOG', value: 'debug'},
          {name: 'API_TOKEN', value: 's3cret'},
        ],
      }),
    ).toEqual([
      {path: 'env[0].value', before: 'info', after: 'debug'},
      {path: 'env[1].name', before: undefined, after: 'API_TOKEN'},
      {path: 'env[1].value', before: undefined, after: 's3cret'},
    ])
    expect(diff({...GIVEN, podAnnotations: {'prometheus.io/path': '/metrics'}, api: {token: 'abc'}})).toEqual([
      {path: 'api.token', before: undefined, after: '********'},
      {path: 'podAnnotations.prometheus\\.io/path', before: undefined, after: '/metrics'},
    ])
    expect(formatValuePath(['a', 'b.c', 0, 'd'])).toBe('a.b\\.c[0].d')
  })

  it('coalesces defaults and given values as the real helm (3 and 4) does', async () => {
    const chart = await tempDir('devctl-coalesce-')
    await mkdir(join(chart, 'templates'))
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: coalesce\nversion: 0.1.0\n')
    await writeFile(join(chart, 'values.yaml'), stringify(DEFAULTS))
    await writeFile(join(chart, 'templates', 'values.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: values}\ndata:\n  json: {{ toJson .Values | quote }}\n')
    const given = {replicaCount: 2, resources: {requests: {memory: '64Gi'}, limits: null}, env: [{name: 'A', value: 'b'}], extra: {x: 1}}
    await writeFile(join(chart, 'given.yaml'), stringify(given))
    for (const helm of [TOOLS.helm3, TOOLS.helm4]) {
      const {stdout} = await promisify(execFile)(helm, ['template', chart, '-f', join(chart, 'given.yaml')])
      const rendered = JSON.parse(JSON.parse(/json: (".*")$/m.exec(stdout)![1]!) as string) as unknown
      expect(rendered).toEqual(coalesceValues(DEFAULTS, given))
    }
  })
})
