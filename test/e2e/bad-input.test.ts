/**
 * Bad input that used to get through: each is one clear paragraph naming the path (file:line:col
 * for YAML), the exit code of its class, no stack trace, no hang, and nothing of the user's
 * changed.
 */
import {execFileSync} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {helmDeploys, output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'

let env: TestEnvironment
const original: Record<string, string> = {}
beforeAll(async () => {
  // No cluster is needed: every one of these is refused before devctl touches one.
  env = await startEnvironment()
  for (const file of ['devctl.yaml', 'values.dev.yaml']) original[file] = await readFile(join(env.dir, file), 'utf8')
})
afterEach(async () => {
  for (const [file, text] of Object.entries(original)) await writeFile(join(env.dir, file), text)
})
afterAll(() => env?.stop())

async function edit(file: string, change: (text: string) => string): Promise<void> {
  const path = join(env.dir, file)
  const before = await readFile(path, 'utf8')
  const after = change(before)
  expect(after).not.toBe(before)
  await writeFile(path, after)
}

function expectOneParagraph(result: {exitCode: number; stdout: string; stderr: string}, exitCode: number, message: RegExp): void {
  expect(result.exitCode, output(result)).toBe(exitCode)
  expect(result.stderr).toMatch(message)
  expect(result.stderr).not.toMatch(/\n\s+at /)
  expect(result.stderr).not.toContain('undefined')
}

describe('files that are not regular files', () => {
  it('a FIFO as --config: refused with its path, exit 3, no hang', async () => {
    const fifo = join(env.dir, 'config.fifo')
    execFileSync('mkfifo', [fifo])
    const result = await env.devctl(['status', '--config', fifo])
    expectOneParagraph(result, 3, /^Error: The devctl\.yaml \S*config\.fifo is a named pipe \(FIFO\), not a regular file; devctl reads YAML only from regular files\.$/m)
  })

  it('a FIFO as a values file: refused with its path, exit 3, no hang', async () => {
    execFileSync('mkfifo', [join(env.dir, 'values.fifo.yaml')])
    await edit('devctl.yaml', (text) => text.replace('- values.dev.yaml', '- values.fifo.yaml'))
    const result = await env.devctl(['up'])
    expectOneParagraph(result, 3, /^Error: The values file values\.fifo\.yaml is a named pipe \(FIFO\), not a regular file/m)
  })

  it.each([
    ['/dev/zero', 'a character device'],
    ['.', 'a directory'],
  ])('--config %s: refused as %s, exit 3', async (path, kind) => {
    const result = await env.devctl(['status', '--config', path])
    expectOneParagraph(result, 3, new RegExp(`^Error: The devctl\\.yaml \\S+ is ${kind}, not a regular file`, 'm'))
  })

  it('a values file over 1 MiB: refused with its size before helm sees it, exit 3', async () => {
    const big = `items:\n${'  - "0123456789012345678901234567890123456789012345678901234567890123456789"\n'.repeat(30_000)}`
    await writeFile(join(env.dir, 'values.big.yaml'), big)
    await edit('devctl.yaml', (text) => text.replace('- values.dev.yaml', '- values.big.yaml'))
    const result = await env.devctl(['up'])
    expectOneParagraph(result, 3, /^Error: The values file values\.big\.yaml is 2\.\d MiB; devctl reads YAML files of at most 1\.0 MiB/m)
    expect(helmDeploys(env.sim)).toEqual([])
  })
})

describe('durations a timer cannot wait', () => {
  it('--timeout 600h: a usage error, exit 2', async () => {
    const result = await env.devctl(['up', '--timeout', '600h'])
    expectOneParagraph(result, 2, /^Error: --timeout "600h" is longer than devctl can wait: at most 596h \(about 24 days\)\.$/m)
  })

  it('status --interval 2147484: a usage error, exit 2', async () => {
    const result = await env.devctl(['status', '--watch', '--interval', '2147484'])
    expectOneParagraph(result, 2, /^Error: --interval: Expected an integer less than or equal to 2147483 but received: 2147484$/m)
  })

  it('a devctl.yaml timeout of 600h or 0s: a config error at file:line:col, exit 3', async () => {
    await edit('devctl.yaml', (text) => `${text}  timeouts:\n    deploy: 600h\n    rollout: 0s\n`)
    const result = await env.devctl(['status'])
    expectOneParagraph(result, 3, /^Error: devctl\.yaml:\d+:\d+: "app\.timeouts\.deploy" must be longer than 0 and at most 596h \(about 24 days\), but found the string "600h"\./m)
    expect(result.stderr).toMatch(/devctl\.yaml:\d+:\d+: "app\.timeouts\.rollout" must be longer than 0 and at most 596h/)
  })
})

describe('values files', () => {
  it('an undefined alias is named as one, at file:line:col, with the anchors that exist', async () => {
    await edit('values.dev.yaml', (text) => text.replace('tag: *imageTag', 'tag: *imageTagg'))
    const result = await env.devctl(['up'])
    expectOneParagraph(
      result,
      3,
      /^Error: values\.dev\.yaml:\d+:8: the values file uses the alias \*imageTagg, but no anchor &imageTagg is defined before it\. Anchors in this file: &imageTag, &logLevel, &dbHost/m,
    )
    expect(result.stderr).toContain('→ Did you mean *imageTag?')
    expect(result.stderr).not.toContain('alias bomb')
  })

  it.each([
    ['a list', '- a\n- b\n', 'a list'],
    ['a scalar', 'just text\n', 'the string "just text"'],
  ])("a top level that is %s: file:line:col, exit 3 (not helm's JSON error)", async (_what, text, found) => {
    await writeFile(join(env.dir, 'values.dev.yaml'), text)
    const result = await env.devctl(['up'])
    expectOneParagraph(result, 3, new RegExp(`^Error: values\\.dev\\.yaml:1:1: a values file must be a mapping \\(key: value\\) at the top level, but found ${found}\\.`, 'm'))
    expect(helmDeploys(env.sim)).toEqual([])
  })
})

describe('upgrade flags', () => {
  it('--image-tag "bad tag!": a usage error, exit 2, and the values file is unchanged', async () => {
    const result = await env.devctl(['upgrade', '--image-tag', 'bad tag!', '--yes'])
    expectOneParagraph(result, 2, /^Error: --image-tag "bad tag!" is not an image tag/m)
    expect(await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')).toBe(original['values.dev.yaml'])
  })

  it('--chart-version not-a-version: a usage error, exit 2', async () => {
    const result = await env.devctl(['upgrade', '--chart-version', 'not-a-version', '--yes'])
    expectOneParagraph(result, 2, /^Error: --chart-version "not-a-version" is not a chart version or semver range\.$/m)
  })

  it('--chart-version for a chart directory: said, not silently ignored, exit 2', async () => {
    const result = await env.devctl(['upgrade', '--chart-version', '1.2.3', '--yes'])
    expectOneParagraph(result, 2, /^Error: --chart-version chooses among the versions of a repository or OCI chart, and app\.chart in devctl\.yaml is the directory \.\/chart/m)
  })
})

describe('a command devctl does not have', () => {
  it('outside a terminal: a usage error with the command it probably meant, exit 2', async () => {
    const typo = await env.devctl(['stat'])
    expectOneParagraph(typo, 2, /^Error: `stat` is not a devctl command\. Did you mean `devctl status`\?\n→ Run `devctl help` for the list of commands\.$/m)
    const inTopic = await env.devctl(['db', 'shel', '-c', 'select 1'])
    expectOneParagraph(inTopic, 2, /Did you mean `devctl db shell`\?/)
    // Nothing near enough is not a guess.
    const unrelated = await env.devctl(['kubernetes'])
    expectOneParagraph(unrelated, 2, /^Error: `kubernetes` is not a devctl command\.\n/m)
    expect(unrelated.stderr).not.toContain('Did you mean')
  })
})
