/**
 * helm's --set syntax as devctl reads it for the upgrade diff and writes it for helm. The chart
 * test below holds devctl to what the real helm makes of the same flags.
 */
import {execFile} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {describe, expect, it} from 'vitest'

import {applySets, diffValues} from '../../src/chart/values-diff.js'
import {parseSetFlags, parseSetPath, setArgument} from '../../src/chart/set-syntax.js'
import {UsageError} from '../../src/errors.js'
import {tempDir, TOOLS} from '../helpers/cli.js'

describe('--set flags', () => {
  it("reads several pairs per flag, escapes, and helm's typing", () => {
    expect(parseSetFlags(['replicaCount=2,image.tag=1.2.3', 'debug=true', 'zip=007', 'note=a\\,b', 'url=http://x?a=b'])).toEqual({
      replicaCount: 2,
      'image.tag': '1.2.3',
      debug: true,
      zip: '007',
      note: 'a,b',
      url: 'http://x?a=b',
    })
    expect(parseSetFlags(['a=1', 'a=2'])).toEqual({a: 2})
  })

  it('rejects a pair without a value, naming the flag and showing the syntax', () => {
    expect(() => parseSetFlags(['replicaCount'])).toThrow(UsageError)
    expect(() => parseSetFlags(['a=1,b'])).toThrow(/--set: "a=1,b" is not KEY=VALUE\./)
  })

  it('splits paths into keys and list indices', () => {
    expect(parseSetPath('ingress.hosts[0].paths[1].path')).toEqual(['ingress', 'hosts', 0, 'paths', 1, 'path'])
    expect(parseSetPath('podAnnotations.prometheus\\.io/scrape')).toEqual(['podAnnotations', 'prometheus.io/scrape'])
    expect(parseSetPath('matrix[1][2]')).toEqual(['matrix', 1, 2])
  })

  it('applies to values as helm does: lists replaced whole, padded with nulls', () => {
    const files = {hosts: [{host: 'a'}, {host: 'b'}], image: {repository: 'app', tag: '1.0'}}
    const after = applySets(files, {'hosts[1].host': 'c', 'image.tag': '2.0', 'hosts[1].port': 80})
    expect(after).toEqual({hosts: [null, {host: 'c', port: 80}], image: {repository: 'app', tag: '2.0'}})
    expect(diffValues(files, after).map((c) => c.path)).toEqual(['hosts[0]', 'hosts[1].host', 'hosts[1].port', 'image.tag'])
  })

  it('gives the real helm (3 and 4) the same values devctl expects', async () => {
    const chart = await tempDir('devctl-set-')
    await mkdir(join(chart, 'templates'))
    await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: set\nversion: 0.1.0\n')
    await writeFile(join(chart, 'values.yaml'), 'hosts:\n  - {host: a}\n  - {host: b}\nimage: {repository: app, tag: "1.0"}\n')
    await writeFile(join(chart, 'templates', 'values.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: values}\ndata:\n  json: {{ toJson .Values | quote }}\n')
    const set = parseSetFlags(['hosts[1].host=c,image.tag=2.0', 'note=a\\,b\\\\c', 'replicas=3', 'podAnnotations.prometheus\\.io/scrape=true'])
    const args = Object.entries(set).flatMap(([key, value]) => [typeof value === 'string' ? '--set-string' : '--set', setArgument(key, value)])
    const expected = applySets({hosts: [{host: 'a'}, {host: 'b'}], image: {repository: 'app', tag: '1.0'}}, set)
    expect(expected).toMatchObject({note: 'a,b\\c', replicas: 3, podAnnotations: {'prometheus.io/scrape': true}})
    for (const helm of [TOOLS.helm3, TOOLS.helm4]) {
      const {stdout} = await promisify(execFile)(helm, ['template', chart, ...args])
      const rendered = JSON.parse(JSON.parse(/json: (".*")$/m.exec(stdout)![1]!) as string) as unknown
      expect(rendered).toEqual(expected)
    }
  })
})
