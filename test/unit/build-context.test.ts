/** The build context's digest: what Docker would send (honouring .dockerignore), the Dockerfile, target and args; cached by file stats. */
import {chmod, mkdir, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {digestContext, listContext, readIgnoreRules} from '../../src/build/context.js'
import {tempDir} from '../helpers/cli.js'

async function write(dir: string, path: string, text: string): Promise<void> {
  await mkdir(join(dir, path, '..'), {recursive: true})
  await writeFile(join(dir, path), text)
  // Older than the cache's racy window, as a file saved a while ago is.
  const past = new Date(Date.now() - 60_000)
  await utimes(join(dir, path), past, past)
}

async function context(files: Record<string, string>): Promise<string> {
  const dir = await tempDir()
  for (const [path, text] of Object.entries(files)) await write(dir, path, text)
  return dir
}

function digest(dir: string, extra: {target?: string; args?: Record<string, string>} = {}) {
  return digestContext({contextDir: dir, dockerfile: join(dir, 'Dockerfile'), args: extra.args ?? {}, target: extra.target, cacheFile: join(dir, '.devctl', 'build', 'cache.json')})
}

describe('build context digest', () => {
  it('changes with content, the Dockerfile, the target, the args and the executable bit, and with nothing else', async () => {
    const dir = await context({Dockerfile: 'FROM scratch\nCOPY . /\n', 'src/main.go': 'package main\n', '.dockerignore': '.devctl\n'})
    const first = await digest(dir)
    expect(first.files).toBe(3)
    expect((await digest(dir)).digest).toBe(first.digest)

    // Saved again with the same content: same digest.
    await write(dir, 'src/main.go', 'package main\n')
    expect((await digest(dir)).digest).toBe(first.digest)

    await write(dir, 'src/main.go', 'package main // edited\n')
    const edited = await digest(dir)
    expect(edited.digest).not.toBe(first.digest)
    await write(dir, 'src/main.go', 'package main\n')
    expect((await digest(dir)).digest).toBe(first.digest)

    expect((await digest(dir, {target: 'dev'})).digest).not.toBe(first.digest)
    expect((await digest(dir, {args: {GO_VERSION: '1.23'}})).digest).not.toBe(first.digest)
    await chmod(join(dir, 'src/main.go'), 0o755)
    expect((await digest(dir)).digest).not.toBe(first.digest)
    await chmod(join(dir, 'src/main.go'), 0o644)
    await write(dir, 'Dockerfile', 'FROM scratch\nCOPY src /src\n')
    expect((await digest(dir)).digest).not.toBe(first.digest)
  })

  it('leaves out what .dockerignore excludes (and its state directory), but keeps what a ! rule brings back', async () => {
    const dir = await context({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': '# build output\nnode_modules\n*.log\ndocs/**\n!docs/keep.md\n.devctl\n',
      'index.js': 'x',
      'debug.log': 'noise',
      'sub/debug.log': 'kept: *.log only matches at the root',
      'node_modules/dep/index.js': 'dep',
      'docs/a.md': 'a',
      'docs/keep.md': 'keep',
    })
    const rules = await readIgnoreRules(dir, join(dir, 'Dockerfile'))
    expect(rules.file).toBe('.dockerignore')
    expect(listContext(dir, rules).map((e) => e.path)).toEqual(['.dockerignore', 'Dockerfile', 'docs/keep.md', 'index.js', 'sub/debug.log'])

    const before = await digest(dir)
    await write(dir, 'debug.log', 'more noise')
    await write(dir, 'node_modules/dep/index.js', 'dep 2')
    await write(dir, 'docs/a.md', 'a 2')
    expect((await digest(dir)).digest).toBe(before.digest)
    await write(dir, 'docs/keep.md', 'keep 2')
    expect((await digest(dir)).digest).not.toBe(before.digest)
  })

  it('prefers <Dockerfile>.dockerignore next to the Dockerfile, as BuildKit does', async () => {
    const dir = await context({Dockerfile: 'FROM scratch\n', 'Dockerfile.dockerignore': 'secret.txt\n', '.dockerignore': 'other.txt\n', 'secret.txt': 's', 'other.txt': 'o'})
    const rules = await readIgnoreRules(dir, join(dir, 'Dockerfile'))
    expect(rules.file).toBe('Dockerfile.dockerignore')
    expect(listContext(dir, rules).map((e) => e.path)).toEqual(['.dockerignore', 'Dockerfile', 'Dockerfile.dockerignore', 'other.txt'])
  })

  it('reads no file again when nothing changed: only what changed is hashed', async () => {
    const files = Object.fromEntries(Array.from({length: 50}, (_, i) => [`src/f${i}.txt`, `file ${i}`]))
    const dir = await context({Dockerfile: 'FROM scratch\n', '.dockerignore': '.devctl\n', ...files})
    expect((await digest(dir)).hashed).toBe(52)
    expect((await digest(dir)).hashed).toBe(0)
    await write(dir, 'src/f7.txt', 'changed')
    expect((await digest(dir)).hashed).toBe(1)
    // A file saved just now is hashed again next time: it may change again within the same timestamp.
    await writeFile(join(dir, 'src/f8.txt'), 'changed just now')
    expect((await digest(dir)).hashed).toBe(1)
    expect((await digest(dir)).hashed).toBe(1)
  })
})
