/** Masking: the encodings a secret travels in, and values given under secret-looking keys. */
import {afterEach, describe, expect, it} from 'vitest'

import {maskSecretSetValues} from '../../src/chart/set-syntax.js'
import {diffValues} from '../../src/chart/values-diff.js'
import {clearSecrets, isSecretKey, redact, registerSecret} from '../../src/secrets/redact.js'
import {formatCommand} from '../../src/tools/command-line.js'

const PASSWORD = 'bmV2ZXItZ3Vlc3MtdGhpcy1wYXNzd29yZA'
const b64 = (text: string) => Buffer.from(text).toString('base64')

afterEach(() => clearSecrets())

describe('redact', () => {
  it.each([
    ['as is', PASSWORD],
    ['base64', b64(PASSWORD)],
    ['base64url', Buffer.from(PASSWORD).toString('base64url')],
    ['base64 of user:password (basic auth, docker config)', b64(`demo:${PASSWORD}`)],
    ['base64 of a connection URL at each byte offset', [b64(`postgres://demo:${PASSWORD}@db/demo`), b64(`xpostgres://demo:${PASSWORD}@db`), b64(`xypostgres://demo:${PASSWORD}@db`)].join(' ')],
  ])('masks the password %s so it cannot be decoded back', (_form, text) => {
    registerSecret(PASSWORD)
    const shown = redact(text)
    expect(shown).toContain('********')
    for (const token of shown.split(/[^A-Za-z0-9+/=_-]+/)) {
      for (const shift of ['', 'A', 'AA', 'AAA']) expect(Buffer.from(shift + token, 'base64').toString('latin1')).not.toContain(PASSWORD)
    }
  })

  it('masks the URL-encoded forms of a password with special characters', () => {
    const password = 'p@ss w/rd:€x'
    registerSecret(password)
    const uri = encodeURIComponent(password)
    expect(redact(`${uri} ${uri.replaceAll(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())} ${uri.replaceAll('%20', '+')}`)).toBe('******** ******** ********')
  })

  it('leaves text without a secret alone, and never masks short values', () => {
    registerSecret(PASSWORD)
    registerSecret('abc')
    expect(redact('GET /healthz 200 abc')).toBe('GET /healthz 200 abc')
  })
})

describe('secret-looking keys', () => {
  it.each([
    ['PGPASSWORD', true],
    ['API_TOKEN', true],
    ['apiKey', true],
    ['clientSecret', true],
    ['passwd', true],
    ['secretName', false],
    ['imagePullSecrets', false],
    ['passwordEnv', false],
    ['keyPrefix', false],
    ['replicaCount', false],
  ])('%s: %s', (key, secret) => {
    expect(isSecretKey(key)).toBe(secret)
  })

  it('masks their values in --set arguments, whatever their length, and in the command helm is shown with', () => {
    expect(maskSecretSetValues('env.API_TOKEN=abc,replicaCount=2,db.password=x\\,y')).toBe('env.API_TOKEN=********,replicaCount=2,db.password=********')
    expect(formatCommand('helm', ['upgrade', 'demo', '--set', 'env.SIGNING_KEY=abc', '--set-string', 'a.apiKey=k', '--set', 'tag=1'])).toBe(
      'helm upgrade demo --set env.SIGNING_KEY=******** --set-string a.apiKey=******** --set tag=1',
    )
  })

  it("masks their values in the upgrade plan's diff, and still sees them change", () => {
    expect(diffValues({env: {API_TOKEN: 'old'}}, {env: {API_TOKEN: 'new', LOG: 'debug'}})).toEqual([
      {path: 'env.API_TOKEN', before: '********', after: '********'},
      {path: 'env.LOG', before: undefined, after: 'debug'},
    ])
    expect(diffValues({env: {API_TOKEN: 'same'}}, {env: {API_TOKEN: 'same'}})).toEqual([])
  })
})
