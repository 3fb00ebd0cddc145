import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {startEnvironment} from '../test/helpers/environment.js'
import {CLI} from '../test/helpers/cli.js'
const run = promisify(execFile)
const env = await startEnvironment({helmVersion: 3})
const childEnv = {...process.env, ...env.sim.env, NO_COLOR: '1'}
await run(process.execPath, [CLI, 'up', '--quiet'], {env: childEnv, cwd: env.dir})
const t2 = Date.now()
const {stderr} = await run(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/cpuprof', CLI, 'status', '--debug'], {env: childEnv, cwd: env.dir})
console.log(`status ${Date.now() - t2} ms`, stderr)
await env.stop()
