import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors.js'
import {REPO_ROOT} from '../helpers/cli.js'

describe('README', () => {
  it('documents exactly the exit codes devctl uses', async () => {
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8')
    const table = readme.slice(readme.indexOf('## Exit codes'))
    const documented = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]))
    expect(documented.sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b))
  })

  it('gives the test command that .ci/run runs', async () => {
    const [readme, ci] = await Promise.all([readFile(join(REPO_ROOT, 'README.md'), 'utf8'), readFile(join(REPO_ROOT, '.ci', 'run'), 'utf8')])
    expect(readme).toContain('```sh\nnpm test\n```')
    expect(ci).toMatch(/^npm test$/m)
  })
})
