import {describe, expect, it} from 'vitest'

import {z} from 'zod'

import {ChartError, PrerequisiteError} from '../../src/errors.js'
import {cleanHelmError, helmDuration} from '../../src/tools/helm.js'
import {parseToolJson} from '../../src/tools/json-output.js'
import {cleanK3dLine} from '../../src/tools/k3d.js'
import {formatCommand} from '../../src/tools/command-line.js'
import {clearSecrets, redact, registerSecret} from '../../src/secrets/redact.js'

describe("reading the tools' output", () => {
  it("keeps the words of k3d's logrus lines, coloured or structured", () => {
    expect(cleanK3dLine('\u001B[36mINFO\u001B[0m[0003] Prep: Network')).toBe('Prep: Network')
    expect(cleanK3dLine('time="2026-11-24T08:00:00Z" level=info msg="Cluster \\"demo\\" created successfully!"')).toBe('Cluster "demo" created successfully!')
    expect(cleanK3dLine('ERRO[0001] Failed Cluster Start: port is already allocated')).toBe('Failed Cluster Start: port is already allocated')
  })

  it("reads every tool's JSON through one parser: typed, or the tool's failure with what it printed", () => {
    const schema = z.object({ServerVersion: z.string()})
    expect(parseToolJson(schema, 'WARNING: a notice\n{"ServerVersion":"28.2.2"}', 'docker info', PrerequisiteError, {firstChar: '{'})).toEqual({ServerVersion: '28.2.2'})
    const notJson = () => parseToolJson(schema, 'Error: boom', 'helm history -o json', ChartError)
    expect(notJson).toThrow(ChartError)
    expect(notJson).toThrow('`helm history -o json` did not print the JSON devctl asked for.')
    expect(() => parseToolJson(schema, '{"Version": 1}', 'docker info', PrerequisiteError)).toThrow('`docker info` printed JSON of an unexpected shape; is this a supported version?')
  })

  it('gives helm its time limits as Go durations', () => {
    expect([helmDuration(300_000), helmDuration(90_500), helmDuration(3_600_000), helmDuration(20)]).toEqual(['5m', '1m31s', '1h', '1s'])
  })

  it("cleans helm's error noise down to its message", () => {
    const stderr =
      'WARNING: Kubernetes configuration file is group-readable. This is insecure.\nError: UPGRADE FAILED: pre-upgrade hooks failed: 1 error occurred:\n\t* job demo-migrate failed: BackoffLimitExceeded\n\n'
    expect(cleanHelmError(stderr)).toEqual(['UPGRADE FAILED: pre-upgrade hooks failed: 1 error occurred:', 'job demo-migrate failed: BackoffLimitExceeded'])
  })

  it('shows a command line quoted for a shell, --set values under secret-looking keys masked in either form', () => {
    expect(formatCommand('devctl', ['upgrade', '--set', 'env.API_TOKEN=abc,replicaCount=2', '--set=db.password=x', "--set=note=it's here", '--image-tag', '6.7.2'])).toBe(
      "devctl upgrade --set env.API_TOKEN=********,replicaCount=2 --set=db.password=******** '--set=note=it'\\''s here' --image-tag 6.7.2",
    )
  })

  it('masks secrets in command lines and output, in their raw, URL and base64 forms', () => {
    clearSecrets()
    registerSecret('s3cr3t-p@ss')
    expect(formatCommand('helm', ['upgrade', '--set', 'db.password=s3cr3t-p@ss'])).toBe('helm upgrade --set db.password=********')
    expect(redact(`postgres://u:${encodeURIComponent('s3cr3t-p@ss')}@h/db ${Buffer.from('s3cr3t-p@ss').toString('base64')}`)).toBe('postgres://u:********@h/db ********')
    clearSecrets()
    expect(redact('s3cr3t-p@ss')).toBe('s3cr3t-p@ss')
  })
})
