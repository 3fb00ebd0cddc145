/**
 * Secrets stay out of sight: a generated password a pod prints (as is, URL-encoded, in base64 on
 * its own or inside `user:password` and a DATABASE_URL) is masked by every command; values given
 * under secret-looking keys (`--set env.API_TOKEN=...`) are masked in the plan and --debug echoes;
 * a .devctl others could read or change is refused, and doctor reports it and fixes it with consent.
 */
import {chmod, mkdir, rename, stat, symlink} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'

/** Every way the password could be recovered from the text: as is, URL-encoded, or inside base64. */
function expectNotRecoverable(text: string, password: string): void {
  expect(text).not.toContain(password)
  expect(text).not.toContain(encodeURIComponent(password))
  for (const token of text.match(/[A-Za-z0-9+/_-]{12,}={0,2}/g) ?? []) {
    for (const shift of ['', 'A', 'AA', 'AAA']) {
      const decoded = Buffer.from(shift + token, 'base64').toString('latin1')
      expect(decoded, `"${token}" decodes to text holding the password`).not.toContain(password)
    }
  }
}

describe('a password a pod prints', () => {
  let env: TestEnvironment
  let password: string
  let up: Awaited<ReturnType<TestEnvironment['devctl']>>
  beforeAll(async () => {
    env = await startEnvironment()
    ;[password] = (await env.secrets()) as [string]
    const url = `postgres://demo:${password}@devctl-postgres:5432/demo`
    const b64 = (text: string) => Buffer.from(text).toString('base64')
    const leaks = [`password=${password}`, `auth=${b64(`demo:${password}`)}`, `url=${b64(url)}`, `x${b64(`x${url}`)}`, `q=${encodeURIComponent(password)}`, `b=${b64(password)}`]
    await env.sim.setScenario({
      rules: [
        {match: {labels: {'app.kubernetes.io/component': 'worker'}}, logs: {lines: leaks}},
        {match: {labels: {'app.kubernetes.io/component': 'api'}}, behavior: 'imagePullError', imagePullMessage: `denied: ${leaks.join(' ')}`},
      ],
    })
    up = await env.devctl(['up'])
  })
  afterAll(() => env?.stop())

  it('is masked by up and its explanation', () => {
    expect(up.exitCode, up.stderr).toBe(8)
    expect(up.stderr).toContain('denied: password=********')
    expectNotRecoverable(output(up), password)
  })

  it('is masked by status and status --json (it was printed before)', async () => {
    const status = await env.devctl(['status'])
    expect(status.exitCode, status.stderr).toBe(0)
    expect(status.stdout).toContain('denied: password=********')
    expectNotRecoverable(output(status), password)
    const json = await env.devctl(['status', '--json'])
    expect(json.stdout).toContain('denied: password=********')
    expectNotRecoverable(output(json), password)
  })

  it('is masked by logs, with --events and --json', async () => {
    const logs = await env.devctl(['logs', '--no-follow', '--events'])
    expect(logs.exitCode, logs.stderr).toBe(0)
    expect(logs.stdout).toContain('password=********')
    expectNotRecoverable(output(logs), password)
    const json = await env.devctl(['logs', '--no-follow', '--events', '--json'])
    expectNotRecoverable(output(json), password)
  })
})

describe('values under secret-looking keys', () => {
  let env: TestEnvironment | undefined
  afterAll(() => env?.stop())

  it('upgrade --set env.API_TOKEN=... is masked in the plan, the JSON result and --debug echoes, short values too', async () => {
    env = await startEnvironment()
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const token = 'tok-8f3a9c1e55d2'
    const upgrade = await env.devctl(['upgrade', '--set', `env.API_TOKEN=${token}`, '--set', 'env.SIGNING_KEY=abc', '--set', 'replicaCount=1', '--yes', '--debug'])
    expect(upgrade.exitCode, upgrade.stderr).toBe(0)
    expect(upgrade.stdout).toContain('  env.API_TOKEN: (unset) → ********\n')
    expect(upgrade.stdout).toContain('  env.SIGNING_KEY: (unset) → ********\n')
    expect(upgrade.stderr).toMatch(/^\$ helm upgrade --install .* --set-string env\.API_TOKEN=\*{8} --set-string env\.SIGNING_KEY=\*{8} --set replicaCount=1 /m)
    expect(output(upgrade)).not.toContain(token)
    expect(output(upgrade)).not.toMatch(/SIGNING_KEY=abc|SIGNING_KEY: abc/)
    // helm got the real value.
    expect(env.sim.commands('helm').some((c) => c.argv.includes(`env.API_TOKEN=${token}`))).toBe(true)

    const json = await env.devctl(['upgrade', '--set', `env.API_TOKEN=${token}x`, '--yes', '--json'])
    expect(json.exitCode, json.stderr).toBe(0)
    expect(json.stdout).not.toContain(token)
  })
})

describe('.devctl that others could read or change', () => {
  let env: TestEnvironment
  beforeAll(async () => {
    env = await startEnvironment()
  })
  afterEach(async () => {
    await chmod(join(env.dir, '.devctl'), 0o700)
    await chmod(join(env.dir, '.devctl', 'secrets.yaml'), 0o600)
  })
  afterAll(() => env?.stop())

  const doctorLine = (text: string) => text.split('\n').find((line) => /^. Secrets /.test(line)) ?? `no Secrets line in:\n${text}`

  it('a secrets.yaml readable by others: refused by every command, exit 3; doctor fails it, --fix --yes makes it private', async () => {
    await chmod(join(env.dir, '.devctl', 'secrets.yaml'), 0o644)
    for (const command of [['up'], ['status'], ['logs', '--no-follow']]) {
      const result = await env.devctl(command)
      expect(result.exitCode, `${command.join(' ')}: ${output(result)}`).toBe(3)
      expect(result.stderr).toMatch(
        /^Error: devctl's state in \S+ is not private: \.devctl\/secrets\.yaml is readable by its group and everyone \(mode 0644\), and it holds the Postgres and Redis passwords\.$/m,
      )
      expect(result.stderr).toContain('→ Run `devctl doctor --fix` (it asks first), or `chmod 600 .devctl/secrets.yaml` in the project directory.')
    }
    const doctor = await env.devctl(['doctor'])
    expect(doctorLine(doctor.stdout)).toMatch(/^✖ Secrets +devctl's state in \S+ is not private: \.devctl\/secrets\.yaml is readable/)
    expect(doctor.stdout).not.toMatch(/^✔ Secrets/m)

    const fixed = await env.devctl(['doctor', '--fix', '--yes'])
    expect(fixed.stdout).toContain("✔ done: make devctl's state private (chmod 600 .devctl/secrets.yaml)")
    expect(fixed.stdout.slice(fixed.stdout.indexOf('After the fixes:'))).toMatch(/^✔ Secrets +\.devctl\/secrets\.yaml holds the generated Postgres and Redis passwords$/m)
    expect((await stat(join(env.dir, '.devctl', 'secrets.yaml'))).mode & 0o777).toBe(0o600)
  })

  it('a .devctl writable by its group: refused, exit 3; doctor --fix --yes makes it 0700', async () => {
    await chmod(join(env.dir, '.devctl'), 0o770)
    const status = await env.devctl(['status'])
    expect(status.exitCode).toBe(3)
    expect(status.stderr).toMatch(/\.devctl is writable by its group \(mode 0770\), so others could replace what devctl keeps there\./)
    const fixed = await env.devctl(['doctor', '--fix', '--yes'])
    expect(fixed.stdout).toContain("✔ done: make devctl's state private (chmod 700 .devctl)")
    expect((await stat(join(env.dir, '.devctl'))).mode & 0o777).toBe(0o700)
  })

  it('a .devctl that is a symbolic link: refused, exit 3, with what to do; doctor reports it', async () => {
    const elsewhere = join(env.dir, 'elsewhere')
    await rename(join(env.dir, '.devctl'), elsewhere)
    await symlink(elsewhere, join(env.dir, '.devctl'))
    try {
      const up = await env.devctl(['up'])
      expect(up.exitCode).toBe(3)
      expect(up.stderr).toContain(`.devctl is a symbolic link (to ${elsewhere}); devctl keeps passwords and the cluster's kubeconfig there and does not follow a link to keep them elsewhere.`)
      expect(up.stderr).toMatch(/→ Replace \.devctl with a directory of its own/)
      const doctor = await env.devctl(['doctor'])
      expect(doctorLine(doctor.stdout)).toMatch(/^✖ Secrets +devctl's state in \S+ is not private: \.devctl is a symbolic link/)
    } finally {
      await mkdir(join(env.dir, 'unused'), {recursive: true})
      await rename(join(env.dir, '.devctl'), join(env.dir, 'unused', 'link'))
      await rename(elsewhere, join(env.dir, '.devctl'))
    }
  })
})
