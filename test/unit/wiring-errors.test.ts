/**
 * A chart reading a Secret or key devctl does not provide: found in the rendered chart or from a
 * pod's CreateContainerConfigError, and said as a wiring error (exit 3) with what the chart
 * expects, what devctl provides and the devctl.yaml setting that fixes it.
 */
import {describe, expect, it} from 'vitest'

import {missingProvidedKeys, missingSecret, secretReferences, valuePathsNaming, wiringError} from '../../src/diagnose/wiring.js'
import type {KubernetesObject} from '../../src/kube/types.js'
import {maskSecretObjects} from '../../src/secrets/redact.js'
import {credentialSecretKeys} from '../../src/services/manifests.js'
import {configSchema} from '../../src/config/schema.js'

const job: KubernetesObject = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: {name: 'demo-migrate'},
  spec: {
    template: {
      spec: {
        containers: [
          {
            name: 'migrate',
            env: [
              {name: 'DATABASE_URL', valueFrom: {secretKeyRef: {name: 'devctl-postgres', key: 'connection'}}},
              {name: 'OPTIONAL', valueFrom: {secretKeyRef: {name: 'maybe', key: 'x', optional: true}}},
            ],
            envFrom: [{secretRef: {name: 'devctl-postgres'}}],
          },
        ],
        volumes: [{name: 'certs', secret: {secretName: 'tls', items: [{key: 'ca.crt', path: 'ca.crt'}]}}],
      },
    },
  },
} as KubernetesObject

describe('Secrets a chart reads', () => {
  it('finds env keys, envFrom and volume items, leaving out optional ones', () => {
    expect(secretReferences([job])).toEqual([
      {secret: 'devctl-postgres', key: 'connection', where: 'Job demo-migrate, container migrate, env DATABASE_URL'},
      {secret: 'devctl-postgres', where: 'Job demo-migrate, container migrate, envFrom'},
      {secret: 'tls', key: 'ca.crt', where: 'Job demo-migrate, volume certs'},
    ])
  })

  it("knows the keys of devctl's Secrets from the same table that fills them", () => {
    const config = configSchema.parse({
      apiVersion: 'devctl.dev/v1',
      project: 'demo',
      services: {redis: {auth: 'none'}},
      app: {chart: {path: './chart'}, wiring: {secrets: {'demo-db': {connection: '{{postgres.url}}'}}}},
    })
    const keys = credentialSecretKeys(config)
    expect(keys.get('devctl-postgres')).toContain('PGPASSWORD')
    expect(keys.get('devctl-redis')).not.toContain('REDISCLI_AUTH')
    expect(keys.get('demo-db')).toEqual(['connection'])
  })

  it("flags only keys missing from devctl's own Secrets (another Secret may come from elsewhere)", () => {
    const provided = new Map([['devctl-postgres', ['PGPASSWORD', 'DATABASE_URL']]])
    expect(missingProvidedKeys(secretReferences([job]), provided)).toEqual([{secret: 'devctl-postgres', key: 'connection', where: 'Job demo-migrate, container migrate, env DATABASE_URL'}])
    expect(missingProvidedKeys(secretReferences([job]), new Map([['devctl-postgres', ['connection']]]))).toEqual([])
  })

  it('reads what a CreateContainerConfigError says is missing', () => {
    expect(missingSecret("couldn't find key connection in Secret demo/devctl-postgres")).toEqual({secret: 'devctl-postgres', key: 'connection'})
    expect(missingSecret('secret "shop-db" not found')).toEqual({secret: 'shop-db'})
    expect(missingSecret('configmap "x" not found')).toBeUndefined()
  })

  it('finds where the values name a Secret, not a host of the same name nor the shared: anchors', () => {
    const values = {
      shared: {database: {host: 'devctl-postgres', secret: 'devctl-postgres'}},
      database: {host: 'devctl-postgres', existingSecret: 'devctl-postgres'},
      envFromSecrets: [{secretName: 'devctl-postgres'}],
    }
    expect(valuePathsNaming(values, 'devctl-postgres')).toEqual(['database.existingSecret', 'envFromSecrets[0].secretName'])
  })
})

describe('the wiring error', () => {
  const provided = new Map([['devctl-postgres', ['PGHOST', 'PGPASSWORD', 'DATABASE_URL']]])

  it("for keys devctl's own Secret lacks: a Secret of the chart's shape under another name, and the value to point at it", () => {
    const error = wiringError(
      [
        {secret: 'devctl-postgres', key: 'db-password', where: 'Deployment demo-app, container app, env DB_PASSWORD'},
        {secret: 'devctl-postgres', key: 'connection', where: 'Job demo-migrate, container migrate, env DATABASE_URL'},
      ],
      {provided, project: 'demo', valuePaths: ['database.existingSecret']},
    )
    expect(error.exitCode).toBe(3)
    expect(error.message).toBe(
      'The chart reads keys "db-password", "connection" of Secret devctl-postgres (Deployment demo-app, container app, env DB_PASSWORD; Job demo-migrate, container migrate, env DATABASE_URL), but devctl\'s devctl-postgres has none of them.',
    )
    expect(error.details).toEqual(['devctl provides Secret devctl-postgres: PGHOST, PGPASSWORD, DATABASE_URL'])
    expect(error.hint).toBe(
      'Give the chart the Secret it expects: in devctl.yaml, `app.wiring.secrets: {demo-db: {db-password: "{{postgres.password}}", connection: "{{postgres.url}}"}}`, and set database.existingSecret to demo-db; devctl creates it before helm runs. Or make the chart read keys devctl has (above).',
    )
  })

  it('for a Secret nothing creates: declare it, by its own name', () => {
    const error = wiringError([{secret: 'cache-auth', key: 'redis-password', where: 'pod demo-worker-1, container worker'}], {provided, project: 'demo', valuePaths: []})
    expect(error.message).toBe(
      'The chart reads key "redis-password" of Secret cache-auth (pod demo-worker-1, container worker), but nothing creates that Secret (devctl does not, nor does the chart).',
    )
    expect(error.hint).toMatch(
      /^Give the chart the Secret it expects: in devctl\.yaml, `app\.wiring\.secrets: \{cache-auth: \{redis-password: "\{\{redis\.password\}\}"\}\}`; devctl creates it before helm runs\./,
    )
  })
})

describe('masking a rendered chart', () => {
  it("masks every value of the chart's own Secrets, and nothing else", () => {
    const objects = [
      {apiVersion: 'v1', kind: 'Secret', metadata: {name: 's'}, data: {password: 'c2VjcmV0'}, stringData: {token: 'abc'}},
      {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'c'}, data: {mode: 'dev'}},
    ]
    expect(maskSecretObjects(objects)).toEqual([
      {apiVersion: 'v1', kind: 'Secret', metadata: {name: 's'}, data: {password: '********'}, stringData: {token: '********'}},
      {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'c'}, data: {mode: 'dev'}},
    ])
  })
})
