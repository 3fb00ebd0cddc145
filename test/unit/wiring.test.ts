/**
 * Wiring devctl's Postgres and Redis into a chart in its own shape (issue 10): value paths,
 * templates over devctl's facts, the Secrets and composed values devctl.yaml declares, Redis
 * without a password and Postgres with trust auth, and passwords generated only when used.
 */
import {cp, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseDocument} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import {resolveNames, validateConfig} from '../../src/config/load.js'
import type {DevctlConfig, DevctlConfigInput} from '../../src/config/schema.js'
import {renderTemplate, templateProblem} from '../../src/config/template.js'
import {formatValuePath, parseValuePath, valuePathProblem} from '../../src/config/value-path.js'
import {parseYamlText} from '../../src/config/yaml-file.js'
import {ConfigError} from '../../src/errors.js'
import {clearSecrets, redact} from '../../src/secrets/redact.js'
import {ensureSecrets, neededPasswords, readSecrets} from '../../src/secrets/store.js'
import {credentialSecrets, serviceManifests} from '../../src/services/manifests.js'
import {syncComposedValues} from '../../src/scaffold/composed-values.js'
import {scaffoldContext} from '../../src/scaffold/context.js'
import {loadPreset} from '../../src/scaffold/preset.js'
import {applyPlan, planValues} from '../../src/scaffold/values-document.js'
import {setAtValuePath} from '../../src/scaffold/document-paths.js'
import {readExistingAnswers, runInit} from '../../src/scaffold/init.js'
import {gatherAnswers, type InitFlags} from '../../src/scaffold/questions.js'
import {noInputPrompter, type Prompter} from '../../src/ui/prompter.js'
import {REPO_ROOT, tempDir} from '../helpers/cli.js'
import {scriptedPrompter} from '../helpers/prompter.js'

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'charts')

function config(input: Omit<Partial<DevctlConfigInput>, 'app'> & {app?: Partial<DevctlConfigInput['app']>} = {}): DevctlConfig {
  const {app, ...rest} = input
  const text = JSON.stringify({apiVersion: 'devctl.dev/v1', project: 'shop', ...rest, app: {chart: {path: './chart'}, values: ['values.dev.yaml'], ...app}})
  return validateConfig(parseYamlText('/project/devctl.yaml', text))
}

function configError(yaml: string): string {
  try {
    validateConfig(parseYamlText('/project/devctl.yaml', yaml))
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('expected a config error')
}

type SecretObject = {metadata: {name: string; labels: Record<string, string>}; stringData: Record<string, string>}
const PASSWORDS = {postgres: {password: 'pg-password-0123456789'}, redis: {password: 'redis-password-0123456789'}}

afterEach(() => clearSecrets())

describe('value paths', () => {
  it('reads helm --set paths plus list append and list items by key', () => {
    expect(parseValuePath('externalDatabase.host')).toEqual([
      {kind: 'key', key: 'externalDatabase'},
      {kind: 'key', key: 'host'},
    ])
    expect(parseValuePath('env[0].value')).toEqual([
      {kind: 'key', key: 'env'},
      {kind: 'index', index: 0},
      {kind: 'key', key: 'value'},
    ])
    expect(parseValuePath('podAnnotations.example\\.com/db')).toEqual([
      {kind: 'key', key: 'podAnnotations'},
      {kind: 'key', key: 'example.com/db'},
    ])
    expect(parseValuePath('envFromSecrets[].secretName')).toEqual([{kind: 'key', key: 'envFromSecrets'}, {kind: 'append'}, {kind: 'key', key: 'secretName'}])
    expect(parseValuePath('main.extraEnv[name=DB_HOST].value')).toEqual([
      {kind: 'key', key: 'main'},
      {kind: 'key', key: 'extraEnv'},
      {kind: 'match', key: 'name', value: 'DB_HOST'},
      {kind: 'key', key: 'value'},
    ])
    for (const path of ['a.b[0].c', 'a\\.b', 'env[name=X].valueFrom.secretKeyRef.key', 'matrix[1][2]']) expect(formatValuePath(parseValuePath(path))).toBe(path)
  })

  it('refuses what would write something a chart cannot use, saying what to write instead', () => {
    expect(valuePathProblem('env[].value')).toBe('"env[].value" would append an env entry with no name; say which entry: env[name=VARIABLE].value')
    expect(valuePathProblem('env[name=X]')).toMatch(/ends at a list item; name the key to set in it/)
    expect(valuePathProblem('a..b')).toMatch(/empty key/)
    expect(valuePathProblem('[0].a')).toMatch(/must start with a key/)
    expect(valuePathProblem('a[x].b')).toMatch(/inside brackets write an index/)
    expect(valuePathProblem('')).toBe('the path is empty')
  })

  it('writes into lists: an item by index, a new item, the item named X (created once)', () => {
    const doc = parseDocument('env:\n  - {name: A, value: "1"}\n')
    expect(setAtValuePath(doc, 'env[0].value', doc.createNode('2'), 'replace')).toBe(true)
    expect(setAtValuePath(doc, 'env[name=DB_HOST].value', doc.createNode('db'), 'if-absent')).toBe(true)
    expect(setAtValuePath(doc, 'env[name=DB_HOST].value', doc.createNode('other'), 'if-absent')).toBe(false)
    expect(setAtValuePath(doc, 'extra[0].value', doc.createNode('x'), 'if-absent')).toBe(true)
    expect(doc.toJS()).toEqual({
      env: [
        {name: 'A', value: '2'},
        {name: 'DB_HOST', value: 'db'},
      ],
      extra: [{value: 'x'}],
    })
    expect(() => setAtValuePath(doc, 'env[5].value', doc.createNode('x'), 'replace')).toThrow(/a list of 2 items, so it has no item \[5\]/)
    expect(() => setAtValuePath(doc, 'env.name', doc.createNode('x'), 'replace')).toThrow(/env is a list, not a mapping/)
  })
})

describe('templates', () => {
  const facts = new Map<string, string | number>([
    ['redis.host', 'devctl-redis'],
    ['redis.port', 6379],
    ['postgres.password', 'p@ss/w:rd'],
  ])
  const lookup = (fact: string) => facts.get(fact)

  it('fills placeholders; one alone keeps its type; urlencode escapes', () => {
    expect(renderTemplate('{{redis.host}}:{{redis.port}}', lookup)).toBe('devctl-redis:6379')
    expect(renderTemplate('{{ redis.port }}', lookup)).toBe(6379)
    expect(renderTemplate('tcp://{{redis.host}}:{{redis.port}}', lookup)).toBe('tcp://devctl-redis:6379')
    expect(renderTemplate('x:{{postgres.password | urlencode}}', lookup)).toBe('x:p%40ss%2Fw%3Ard')
    expect(renderTemplate('literal', lookup)).toBe('literal')
  })

  it('names an unknown placeholder or filter, and keeps passwords out of values files', () => {
    expect(templateProblem('{{postgres.hots}}', {secretsAllowed: true})).toMatch(/^refers to \{\{postgres\.hots\}\}, which is not a setting devctl knows \(use one of: postgres\.host, /)
    expect(templateProblem('{{postgres.host | upper}}', {secretsAllowed: true})).toMatch(/the only filter is urlencode/)
    expect(templateProblem('{{postgres.url}}', {secretsAllowed: false})).toMatch(/holds a password: a values file must never contain one\. Put it in a Secret the chart reads \(app\.wiring\.secrets\)/)
    expect(templateProblem('{{redis.host', {secretsAllowed: false})).toMatch(/not a placeholder/)
    expect(templateProblem('{{redis.url}}?x=1', {secretsAllowed: true})).toBeUndefined()
  })
})

describe('devctl.yaml app.wiring', () => {
  it('points at the exact key, with what is wrong and what to do', () => {
    const message = configError(
      [
        'apiVersion: devctl.dev/v1',
        'project: shop',
        'services: {redis: {enabled: false}}',
        'app:',
        '  chart: {path: ./chart}',
        '  wiring:',
        '    secrets:',
        '      Shop_DB: {password: "{{postgres.password}}"}',
        '      devctl-redis: {a: b}',
        '      shop-db: {password: "{{postgres.pasword}}", "a/b": x}',
        '    values:',
        '      "env[].value": "{{postgres.host}}"',
        '      db.url: "{{postgres.url}}"',
      ].join('\n'),
    )
    expect(message).toContain('devctl.yaml:8:7: the key "Shop_DB" under "app.wiring.secrets" must be a Secret name')
    expect(message).toContain('devctl.yaml:9:7: the key "devctl-redis" under "app.wiring.secrets" must not be the name of devctl\'s own Secrets')
    expect(message).toContain('devctl.yaml:10:27: "app.wiring.secrets.shop-db.password" refers to {{postgres.pasword}}, which is not a setting devctl knows')
    expect(message).toContain('devctl.yaml:10:51: the key "a/b" under "app.wiring.secrets.shop-db" must be a Secret key')
    expect(message).toContain('devctl.yaml:12:7: the key "env[].value" under "app.wiring.values" is not a value path: "env[].value" would append an env entry with no name')
  })

  it('refuses a placeholder of a disabled service, and composed values with no values file', () => {
    const message = configError(
      ['apiVersion: devctl.dev/v1', 'project: shop', 'services: {redis: {enabled: false}}', 'app:', '  chart: {path: ./chart}', '  wiring:', '    values: {cache: "{{redis.host}}"}'].join('\n'),
    )
    expect(message).toContain('devctl.yaml:7:21: "app.wiring.values.cache" refers to {{redis.host}}, but services.redis.enabled is false: enable redis or remove this entry.')
    expect(message).toContain('"app.wiring.values" needs a values file to write into')
  })
})

describe("the chart's Secrets", () => {
  it("are created next to devctl's own, in the shape the chart expects, URLs escaped", () => {
    process.env.SHOP_DB_PASSWORD = 'p@ss:w/rd?#'
    const cfg = config({
      services: {postgres: {external: {host: 'db.internal', port: 5433, database: 'shop', user: 'app', passwordEnv: 'SHOP_DB_PASSWORD'}}},
      app: {
        wiring: {
          secrets: {
            'shop-db': {'db-password': '{{postgres.password}}', connection: '{{postgres.url}}?sslmode=disable'},
            'shop-redis': {'redis-password': '{{redis.password}}', url: '{{redis.url}}', address: '{{redis.host}}:{{redis.port}}'},
          },
        },
      },
    })
    const objects = credentialSecrets(cfg, resolveNames(cfg), PASSWORDS) as unknown as SecretObject[]
    expect(objects.map((o) => o.metadata.name)).toEqual(['devctl-postgres', 'devctl-redis', 'shop-db', 'shop-redis'])
    const [own, , shopDb, shopRedis] = objects
    expect(shopDb!.stringData).toEqual({'db-password': 'p@ss:w/rd?#', connection: 'postgresql://app:p%40ss%3Aw%2Frd%3F%23@db.internal:5433/shop?sslmode=disable'})
    expect(own!.stringData.DATABASE_URL).toBe('postgresql://app:p%40ss%3Aw%2Frd%3F%23@db.internal:5433/shop')
    expect(shopRedis!.stringData).toEqual({'redis-password': PASSWORDS.redis.password, url: `redis://:${PASSWORDS.redis.password}@devctl-redis:6379/0`, address: 'devctl-redis:6379'})
    expect(shopDb!.metadata.labels).toMatchObject({'app.kubernetes.io/managed-by': 'devctl', 'app.kubernetes.io/part-of': 'shop'})
    // Every form of the passwords is masked wherever it is printed.
    expect(redact(JSON.stringify(objects))).not.toMatch(/p@ss|p%40ss|redis-password-0123456789/)
    delete process.env.SHOP_DB_PASSWORD
  })
})

describe('Redis without a password, Postgres with trust auth', () => {
  it('runs Redis without --requirepass, with an empty password key and a URL without auth', () => {
    const cfg = config({services: {redis: {auth: 'none'}}})
    const redis = serviceManifests(cfg, resolveNames(cfg)).redis!.find((o) => o.kind === 'StatefulSet') as unknown as {spec: {template: {spec: {containers: Array<{args: string[]; env: unknown[]}>}}}}
    expect(redis.spec.template.spec.containers[0]).toMatchObject({args: ['--appendonly', 'yes', '--enable-debug-command', 'local', '--repl-diskless-sync-delay', '0'], env: []})
    const secret = (credentialSecrets(cfg, resolveNames(cfg), {postgres: PASSWORDS.postgres}) as unknown as SecretObject[]).find((s) => s.metadata.name === 'devctl-redis')!
    // An empty REDISCLI_AUTH makes redis-cli send AUTH to a Redis that has no password: "AUTH failed".
    expect(secret.stringData).toEqual({REDIS_HOST: 'devctl-redis', REDIS_PORT: '6379', REDIS_URL: 'redis://devctl-redis:6379/0', REDIS_PASSWORD: ''})
  })

  it('points Postgres at a trust pg_hba.conf of its own, keeping the password it was initialised with', () => {
    const cfg = config({services: {postgres: {auth: 'trust'}}})
    const [configMap, , set] = serviceManifests(cfg, resolveNames(cfg)).postgres! as unknown as [
      {kind: string; metadata: {name: string}; data: Record<string, string>},
      unknown,
      {spec: {template: {spec: {containers: Array<{args: string[]; env: Array<{name: string}>; volumeMounts: unknown[]}>; volumes: unknown[]}}}},
    ]
    expect(configMap).toMatchObject({kind: 'ConfigMap', metadata: {name: 'devctl-postgres-config'}, data: {'pg_hba.conf': 'local all all trust\nhost all all all trust\n'}})
    const container = set.spec.template.spec.containers[0]!
    expect(container.args).toEqual(['-c', 'hba_file=/etc/devctl/pg_hba.conf'])
    expect(container.env.map((e) => e.name)).toContain('POSTGRES_PASSWORD')
    expect(container.volumeMounts).toContainEqual({name: 'config', mountPath: '/etc/devctl', readOnly: true})
    expect(set.spec.template.spec.volumes).toEqual([{name: 'config', configMap: {name: 'devctl-postgres-config'}}])
    // Password auth (the default) needs neither.
    expect(serviceManifests(config(), resolveNames(config())).postgres!.map((o) => o.kind)).toEqual(['Service', 'StatefulSet'])
  })
})

describe('generated passwords', () => {
  it('are generated only for services that use one', () => {
    expect(neededPasswords(config())).toEqual(['postgres', 'redis'])
    expect(neededPasswords(config({services: {postgres: {enabled: false}, redis: {enabled: false}}}))).toEqual([])
    expect(neededPasswords(config({services: {redis: {auth: 'none'}}}))).toEqual(['postgres'])
    expect(neededPasswords(config({services: {postgres: {auth: 'trust'}}}))).toEqual(['postgres', 'redis'])
    expect(neededPasswords(config({services: {redis: {external: {host: 'cache'}}}}))).toEqual(['postgres'])
  })

  it('with nothing needed writes no file; a service enabled later gets its password, existing ones kept', async () => {
    const dir = await tempDir()
    expect(await ensureSecrets(dir, [])).toEqual({secrets: {}, generated: []})
    expect(await readSecrets(dir)).toBeUndefined()
    const first = await ensureSecrets(dir, ['postgres'])
    expect(first.generated).toEqual(['postgres'])
    const second = await ensureSecrets(dir, ['postgres', 'redis'])
    expect(second.generated).toEqual(['redis'])
    expect(second.secrets.postgres).toEqual(first.secrets.postgres)
    expect(await readSecrets(dir)).toEqual(second.secrets)
  })
})

async function init(dir: string, flags: InitFlags, prompter: Prompter = noInputPrompter(), options: {update?: boolean} = {}) {
  const update = options.update ?? false
  const answers = await gatherAnswers({preset: 'bring-your-own', name: 'shop', ...flags}, prompter, {dir, existing: update ? await readExistingAnswers(dir) : undefined})
  return runInit(answers, {dir, force: false, update})
}

async function projectWith(chart: string): Promise<string> {
  const dir = await tempDir()
  await cp(join(FIXTURES, chart), join(dir, 'chart'), {recursive: true})
  return dir
}

/** devctl.yaml and values.dev.yaml as init wrote them: each a mapping at the top level. */
async function files(dir: string): Promise<{config: Record<string, unknown>; valuesText: string; values: Record<string, unknown>}> {
  const valuesText = await readFile(join(dir, 'values.dev.yaml'), 'utf8')
  const config = parseDocument(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toJS() as Record<string, unknown>
  return {config, valuesText, values: parseDocument(valuesText).toJS() as Record<string, unknown>}
}

describe('init --preset bring-your-own', () => {
  it('--wire: a repeated anchor wires every path; "-" wires none; indexed and escaped paths work', async () => {
    const dir = await tempDir()
    await init(dir, {chart: 'oci://registry.example.com/charts/shop', redis: false, wire: ['dbHost=env[0].value', 'dbHost=worker.env[name=DB_HOST].value,podAnnotations.db\\.host', 'dbPort=-']})
    const {values, valuesText} = await files(dir)
    expect(values.env).toEqual([{value: 'devctl-postgres'}])
    expect(values).toHaveProperty('worker.env', [{name: 'DB_HOST', value: 'devctl-postgres'}])
    expect(values.podAnnotations).toEqual({'db.host': 'devctl-postgres'})
    expect(valuesText.match(/\*dbHost/g)).toHaveLength(3)
    expect(valuesText).not.toMatch(/\*dbPort/)
  })

  it('--wire: refuses an env entry without a name, and "-" together with a path', async () => {
    const dir = await tempDir()
    await expect(init(dir, {chart: './chart', wire: ['dbHost=env[].value']})).rejects.toThrow(
      '--wire dbHost: "env[].value" would append an env entry with no name; say which entry: env[name=VARIABLE].value.',
    )
    await expect(init(dir, {chart: './chart', wire: ['dbHost=-', 'dbHost=a.b']})).rejects.toThrow('--wire dbHost is given both as "-" (not wired) and with a path.')
  })

  it('offers only paths the chart has: a chart without externalDatabase.* gets no such keys', async () => {
    const dir = await projectWith('no-redis-password')
    await init(dir, {chart: './chart'})
    const {values} = await files(dir)
    // The chart's values.yaml has redis.host and redis.port: those are wired, nothing else.
    expect(values.redis).toEqual({host: 'devctl-redis', port: 6379})
    expect(Object.keys(values).sort()).toEqual(['redis', 'shared'])
  })

  it("reads the chart's values.yaml as leniently as helm (a duplicate key, as in Mastodon's), only to suggest paths", async () => {
    const dir = await projectWith('no-redis-password')
    await writeFile(join(dir, 'chart', 'values.yaml'), 'redis:\n  host: localhost\n  port: 6379\n  host: again\n')
    await init(dir, {chart: './chart', postgres: false})
    expect((await files(dir)).values.redis).toEqual({host: 'devctl-redis', port: 6379})
    await writeFile(join(dir, 'chart', 'values.yaml'), 'redis: [unclosed\n')
    await expect(init(dir, {chart: './chart', postgres: false}, noInputPrompter(), {update: true})).resolves.toMatchObject({project: 'shop'})
  })

  it('asks for the Secrets the chart reads and the values to compose, in a loop a blank answer ends', async () => {
    const dir = await projectWith('custom-secret')
    const prompter = scriptedPrompter({
      '--chart': './chart',
      '--wire-secret NAME/KEY=TEMPLATE': ['shop-db', 'db-password', '{{postgres.password}}', 'connection', 'custom', '{{postgres.url}}?sslmode=disable', '', ''],
      '--wire-value PATH=TEMPLATE': ['cache.address={{redis.host}}:{{redis.port}}', ''],
    })
    await init(dir, {}, prompter)
    const {config: written, values} = await files(dir)
    expect(written).toHaveProperty('app.wiring', {
      secrets: {'shop-db': {'db-password': '{{postgres.password}}', connection: '{{postgres.url}}?sslmode=disable'}},
      values: {'cache.address': '{{redis.host}}:{{redis.port}}'},
    })
    expect(values).toHaveProperty('cache.address', 'devctl-redis:6379')
    // The chart already names shop-db at database.existingSecret: that is not re-pointed at devctl's Secret.
    expect(values.database).toBeUndefined()
  })

  it('--wire-secret and --wire-value: flags for --no-input, checked at the edge', async () => {
    const dir = await tempDir()
    await init(dir, {chart: './chart', 'wire-secret': ['shop-db/connection={{postgres.url}}'], 'wire-value': ['redis.enabled=false', 'broker={{redis.url}}']}).catch((e: Error) => {
      expect(e.message).toMatch(/^--wire-value: refers to \{\{redis\.url\}\}, which holds a password/)
    })
    await expect(init(dir, {chart: './chart', redis: false, 'wire-secret': ['shop/pw={{redis.password}}']})).rejects.toThrow(
      '--wire-secret shop/pw: refers to {{redis.password}}, but redis is not enabled.',
    )
    await expect(init(dir, {chart: './chart', 'wire-secret': ['nokey={{postgres.password}}']})).rejects.toThrow(/is not NAME\/KEY=TEMPLATE/)
    await init(dir, {chart: './chart', 'wire-secret': ['shop-db/connection={{postgres.url}}'], 'wire-value': ['redis.enabled=false', 'broker=redis://{{redis.host}}:{{redis.port}}/0']})
    const {config: written, values} = await files(dir)
    expect(written).toHaveProperty('app.wiring.values', {'redis.enabled': false, broker: 'redis://{{redis.host}}:{{redis.port}}/0'})
    expect(values).toHaveProperty('redis.enabled', false)
    expect(values.broker).toBe('redis://devctl-redis:6379/0')
  })

  it('--wire-value takes a path that holds an "=" itself: an env entry by name (Zitadel\'s DSN from a Secret)', async () => {
    const dir = await tempDir()
    const dsn = 'env[name=ZITADEL_DATABASE_POSTGRES_DSN].valueFrom.secretKeyRef'
    await init(dir, {chart: './chart', redis: false, wire: [`dbSecret=${dsn}.name`], 'wire-value': [`${dsn}.key=DATABASE_URL`, 'a\\=b.c=d=e']})
    const {config: written, values} = await files(dir)
    expect(written).toHaveProperty(['app', 'wiring', 'values'], {[`${dsn}.key`]: 'DATABASE_URL', 'a\\=b.c': 'd=e'})
    expect(values.env).toEqual([{name: 'ZITADEL_DATABASE_POSTGRES_DSN', valueFrom: {secretKeyRef: {name: 'devctl-postgres', key: 'DATABASE_URL'}}}])
    expect(values['a=b']).toEqual({c: 'd=e'})
  })

  it('defines each anchor at its first use for a chart whose values schema forbids unknown keys', async () => {
    const dir = await projectWith('strict-schema')
    const result = await init(dir, {chart: './chart', redis: false})
    const {valuesText, values} = await files(dir)
    expect(values).not.toHaveProperty('shared')
    expect(valuesText).toMatch(/^ {2}host: &dbHost devctl-postgres$/m)
    expect(valuesText).toMatch(/^ {2}existingSecretPasswordKey: &dbPasswordKey PGPASSWORD$/m)
    expect(values.externalDatabase).toEqual({host: 'devctl-postgres', port: 5432, database: 'shop', user: 'shop', existingSecret: 'devctl-postgres', existingSecretPasswordKey: 'PGPASSWORD'})
    expect(result.warnings).toEqual([])
  })

  it('moves an anchor to its first use in the file when a new, earlier use is wired (YAML needs the anchor first)', async () => {
    const preset = await loadPreset('bring-your-own')
    const context = scaffoldContext({project: 'shop', namespace: 'shop', postgres: true, redis: false})
    const doc = parseDocument('env: {LOG_LEVEL: debug} # ours\nexternalDatabase:\n  host: &dbHost devctl-postgres\n')
    const plan = planValues(
      preset,
      context,
      [
        {path: 'externalDatabase.host', anchor: 'dbHost'},
        {path: 'env.DB_HOST', anchor: 'dbHost'},
      ],
      {layout: 'inline'},
    )
    expect(applyPlan(doc, plan).changed).toEqual(['env.DB_HOST'])
    const text = doc.toString()
    expect(text).toContain('DB_HOST: &dbHost devctl-postgres')
    expect(text).toMatch(/^ {2}host: \*dbHost$/m)
    expect(text).toContain('# ours')
    expect(parseDocument(text).toJS()).toEqual({env: {LOG_LEVEL: 'debug', DB_HOST: 'devctl-postgres'}, externalDatabase: {host: 'devctl-postgres'}})
    // Settings no path uses are not written anywhere.
    expect(text).not.toMatch(/dbPort|dbName|dbUser/)
  })

  it('warns when what it writes is a top-level key the strict schema rejects', async () => {
    const dir = await projectWith('strict-schema')
    const result = await init(dir, {chart: './chart', redis: false, wire: ['dbHost=db.host']})
    expect(result.warnings).toEqual([
      'values.dev.yaml has a top-level "db", which the chart\'s values.schema.json does not allow: helm will refuse these values. Wire that setting to a path the chart has (--wire, or app.wiring.values in devctl.yaml).',
    ])
  })

  it('--no-postgres --no-redis generates no password at all', async () => {
    const dir = await tempDir()
    const result = await init(dir, {chart: './chart', postgres: false, redis: false})
    expect(result.files.map((f) => f.path.slice(dir.length + 1))).toEqual(['devctl.yaml', 'values.dev.yaml', '.gitignore'])
    expect(await readSecrets(dir)).toBeUndefined()
  })

  it('--redis-auth none: no Redis password generated, written to devctl.yaml', async () => {
    const dir = await tempDir()
    await init(dir, {chart: './chart', 'redis-auth': 'none', 'postgres-auth': 'trust'})
    expect((await files(dir)).config.services).toMatchObject({postgres: {auth: 'trust'}, redis: {auth: 'none'}})
    expect(Object.keys((await readSecrets(dir))!)).toEqual(['postgres'])
  })
})

describe('composed values at up', () => {
  it('rewrites only a value that no longer matches devctl.yaml, keeping comments, and says what it was', async () => {
    const dir = await projectWith('custom-secret')
    await init(dir, {chart: './chart', 'wire-value': ['cache.address={{redis.host}}:{{redis.port}}']})
    const valuesPath = join(dir, 'values.dev.yaml')
    await writeFile(valuesPath, `# ours\n${(await readFile(valuesPath, 'utf8')).replace('devctl-redis:6379', 'stale:1')}`)
    const configPath = join(dir, 'devctl.yaml')
    const loaded = (text: string) => {
      const cfg = validateConfig(parseYamlText(configPath, text))
      return {path: configPath, dir, config: cfg, resolved: resolveNames(cfg)}
    }
    const configText = await readFile(configPath, 'utf8')
    const changes = await syncComposedValues(loaded(configText))
    expect(changes).toEqual([{location: expect.stringMatching(/values\.dev\.yaml:\d+:\d+$/), path: 'cache.address', from: 'stale:1', to: 'devctl-redis:6379'}])
    const text = await readFile(valuesPath, 'utf8')
    expect(text).toMatch(/^# ours/)
    expect(text).toContain('address: devctl-redis:6379 # set by devctl from app.wiring.values in devctl.yaml')
    expect(await syncComposedValues(loaded(configText))).toEqual([])
    // An external Redis in devctl.yaml: the composed value follows.
    const external = configText.replace('  redis:\n    enabled: true', '  redis:\n    enabled: true\n    external: {host: cache.internal, port: 6380}')
    expect((await syncComposedValues(loaded(external))).map((c) => c.to)).toEqual(['cache.internal:6380'])
  })
})
