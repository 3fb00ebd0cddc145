/**
 * What a person sees of `devctl dev` in a terminal: the first `up` as its task list, then the
 * watching line at the bottom, a cycle running live (its step and build lines) after a save,
 * the cycle's line with its durations and the new pod's logs above, and Ctrl-C leaving quietly.
 */
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import {devctlInTerminal, endTerminalTest, KEYS, type PtyRun, type Screen} from '../helpers/pty.js'

/** The screen's text with the rows devctl wrapped (continued, indented) joined back into their lines. */
function joined(screen: Screen): string {
  return screen.text.replace(/\n +/g, ' ')
}

let env: TestEnvironment | undefined
let run: PtyRun | undefined
afterEach(() => endTerminalTest(run, env).finally(() => (run = env = undefined)))

describe.each([100, 60])('dev at %i columns', (cols) => {
  it('shows the first up, then a live line per cycle and the history above it', async () => {
    env = await startEnvironment()
    await mkdir(join(env.dir, 'src'))
    await writeFile(join(env.dir, 'Dockerfile'), 'FROM alpine:3.20\nCOPY src /app\nRUN echo compiling\n')
    await writeFile(join(env.dir, 'src', 'server.txt'), 'version 1\n')
    await writeFile(join(env.dir, '.dockerignore'), '.devctl/\n')
    const config = join(env.dir, 'devctl.yaml')
    await writeFile(config, `${await readFile(config, 'utf8')}\nbuild:\n  - {name: demo-api, tag: "&imageTag", repository: image.repository}\n`)

    run = devctlInTerminal(env, ['dev', '--debounce', '100'], {cols})
    const watching = await run.waitFor('the watching line', (s) => s.window.some((row) => row.startsWith('● watching')))
    expect(watching.has(/^✔ Build demo-api/)).toBe(true)
    expect(watching.has(/^✔ Images: demo-api imported into cluster demo/)).toBe(true)
    expect(joined(watching)).toMatch(/^✔ cycle 0: demo is up: demo-api built in \S+, imported in \S+, deployed in \S+, rolled out in \S+ \(\S+\)/m)
    expect(watching.overflowing, watching.text).toEqual([])

    // The build of the next cycle held at its start, to see the cycle live.
    await env.sim.injectFault({type: 'hang-command', tool: 'docker', argv: ['build']})
    await writeFile(join(env.dir, 'src', 'server.txt'), 'version 2\n')
    const building = (s: Screen) => s.window.some((row) => /^ {2}▸ Image demo-api: building$/.test(row))
    const live = await run.waitFor('cycle 1 running live, its build held', building)
    expect(
      live.window.some((row) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] cycle 1: src\/server\.txt changed$/.test(row)),
      live.text,
    ).toBe(true)
    expect(live.overflowing, live.text).toEqual([])
    await env.sim.injectFault({type: 'resume-commands'})
    await run.waitFor('the line of cycle 1', (s) => /^✔ cycle 1: demo-api rebuilt in \S+, imported in \S+, deployed in \S+, rolled out in \S+ \(\S+\)/m.test(joined(s)))
    // The live line is back to watching, at the bottom, under the history.
    await run.waitFor('the watching line at the bottom', (s) => s.window.slice(-3).some((row) => row.startsWith('● watching')))
    await run.waitFor("the new pod's log lines above the live line", (s) => s.rows.some((row) => /^api-\w+ │ /.test(row)))

    run.press(KEYS.ctrlC)
    const {exitCode, screen} = await run.exited()
    expect(exitCode, screen.text).toBe(130)
    expect(screen.has('Stopped watching. The environment is still up')).toBe(true)
    expect(screen.has(/^Error/)).toBe(false)
  })
})
