/** `devctl init` as a user runs it: the built CLI in an empty directory, then the real helm. */
import {spawnSync} from 'node:child_process'
import {readFile, readdir, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parseDocument} from 'yaml'
import {beforeAll, describe, expect, it} from 'vitest'

import {resultRecord, runCli, tempDir, TOOLS} from '../helpers/cli.js'

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {}
  for (const entry of await readdir(dir, {recursive: true, withFileTypes: true})) {
    if (entry.isFile()) files[join(entry.parentPath, entry.name).slice(dir.length + 1)] = await readFile(join(entry.parentPath, entry.name), 'utf8')
  }
  return files
}

describe('devctl init (built CLI)', () => {
  let dir: string

  beforeAll(async () => {
    dir = await tempDir()
    const result = await runCli(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input'], {cwd: dir})
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
  })

  it('writes devctl.yaml and a values file with anchors and aliases', async () => {
    const values = await readFile(join(dir, 'values.dev.yaml'), 'utf8')
    expect(values).toMatch(/&dbHost devctl-postgres/)
    expect(values).toMatch(/\*dbHost/)
    const config: unknown = parseDocument(await readFile(join(dir, 'devctl.yaml'), 'utf8')).toJS()
    expect(config).toMatchObject({apiVersion: 'devctl.dev/v1', project: 'demo', app: {chart: {path: './chart'}, values: ['values.dev.yaml']}})
  })

  it.each([
    ['helm 3', TOOLS.helm3],
    ['helm 4', TOOLS.helm4],
  ])('renders the preset chart with the written values on %s', (_name, helm) => {
    const result = spawnSync(helm, ['template', 'demo', join(dir, 'chart'), '-f', join(dir, 'values.dev.yaml'), '--namespace', 'demo'], {encoding: 'utf8'})
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    const kinds = result.stdout.match(/^kind: \w+$/gm) ?? []
    expect(kinds).toEqual(expect.arrayContaining(['kind: Deployment', 'kind: Job', 'kind: Ingress', 'kind: Service']))
    // The aliases reached the chart: the API's env has the database host from the shared anchor.
    expect(result.stdout).toMatch(/name: DATABASE_HOST\s+value: "devctl-postgres"/)
  })

  it('refuses to run again without --force, exits 10 and changes nothing', async () => {
    const before = await snapshot(dir)
    const again = await runCli(['init', '--preset', 'web-worker', '--name', 'other', '--no-input'], {cwd: dir})
    expect(again.exitCode).toBe(10)
    expect(again.stderr).toMatch(/^Error: devctl\.yaml and values\.dev\.yaml already exist in .*; devctl init changed nothing\.\n→ Use --update/)
    expect(await snapshot(dir)).toEqual(before)
  })

  it('fails with a usage error naming the flag when an answer is missing and it cannot prompt', async () => {
    const empty = await tempDir()
    const result = await runCli(['init', '--preset', 'web-worker'], {cwd: empty})
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/^Error: --name is required when devctl cannot prompt/)
    expect(await readdir(empty)).toEqual([])
  })

  it('turns a flag oclif cannot parse into a usage error, exit 2, with or without --json', async () => {
    const empty = await tempDir()
    for (const args of [
      ['up', '--bogus'],
      ['init', '--force', '--update'],
      ['logs', '--tail', '-1'],
    ]) {
      const result = await runCli(args, {cwd: empty})
      expect(result.exitCode, result.stderr).toBe(2)
      expect(result.stderr).toMatch(/^Error: /)
      expect(result.stderr).toContain('→ Run the command with --help to see its flags and examples.')
      expect(result.stderr).not.toMatch(/TypeError|\n\s+at /)
    }
    const timeout = await runCli(['up', '--timeout', '30'], {cwd: empty})
    expect(timeout.exitCode).toBe(2)
    expect(timeout.stderr).toMatch(/^Error: --timeout "30" is not a duration\.\n→ Give a duration such as 90s, 5m or 1h30m/)
    const json = await runCli(['up', '--bogus', '--json'], {cwd: empty})
    expect(json.exitCode).toBe(2)
    expect(resultRecord(json.stdout)).toMatchObject({type: 'result', status: 'error', error: {kind: 'usage', exitCode: 2}})
  })

  it('reports a config with a wrong type at file:line:col, exit 3, no stack trace', async () => {
    const broken = await tempDir()
    await writeFile(join(broken, 'devctl.yaml'), 'apiVersion: devctl.dev/v1\nproject: demo\ncluster:\n  provider: k3d\n  apiPort: lots\napp:\n  chart: {path: ./chart}\n')
    const result = await runCli(['up', '--dry-run'], {cwd: broken})
    expect(result.exitCode).toBe(3)
    expect(result.stderr).toContain('devctl.yaml:5:12: "cluster.apiPort" must be a number, but found the string "lots".')
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('upgrade --image-tag with a values file gone: a config error naming it, exit 3', async () => {
    const project = await tempDir()
    expect((await runCli(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input'], {cwd: project})).exitCode).toBe(0)
    await rm(join(project, 'values.dev.yaml'))
    const result = await runCli(['upgrade', '--image-tag', '2.0', '--yes'], {cwd: project})
    expect(result.exitCode).toBe(3)
    // The first failing prerequisite decides the error (and its exit code); the others are listed under it.
    expect(result.stderr).toMatch(/^Error: The values file values\.dev\.yaml does not exist\.\n/)
    expect(result.stderr).toMatch(/\n→ Check the path, or run `devctl init` to create it\.\n$/)
  })

  it('with --json, prints the written files as one JSON result', async () => {
    const fresh = await tempDir()
    const result = await runCli(['init', '--preset', 'bring-your-own', '--name', 'blog', '--chart', './charts/blog', '--json'], {cwd: fresh})
    expect(result.exitCode).toBe(0)
    const parsed = resultRecord<{project: string; files: Array<{path: string; action: string}>}>(result.stdout).result
    expect(parsed.project).toBe('blog')
    expect(parsed.files.map((f) => f.action)).toContain('created')
  })
})
