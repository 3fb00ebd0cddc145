/**
 * `npm run demo`: devctl's main job on a machine without Docker or k3d. Starts the cluster
 * simulator (test/sim), makes a scratch project with `devctl init`, brings it up with
 * `devctl up` in this terminal (the live view), shows `devctl status`, then removes everything
 * it made — on success, on failure and on Ctrl-C alike.
 *
 *   npm run demo -- [--scenario NAME|FILE] [--time-factor N] [--helm 3|4] [--keep]
 *
 * --scenario image-pull-error (or crash-loop, migration-fails, ...; see test/sim/scenarios)
 * shows how a failure is explained; --keep leaves the simulator running afterwards with the
 * commands to use it by hand.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {freePort} from '../test/helpers/environment.js'
import {startSimulator} from '../test/sim/index.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'run.js')

const {values} = parseArgs({
  options: {
    scenario: {type: 'string'},
    // 1 is real time; a first `up` then takes about 20 s, as it would on a laptop.
    'time-factor': {type: 'string', default: '0.5'},
    helm: {type: 'string', default: '3'},
    keep: {type: 'boolean', default: false},
    help: {type: 'boolean', short: 'h'},
  },
})
if (values.help) {
  process.stdout.write('Usage: npm run demo -- [--scenario NAME|FILE] [--time-factor N] [--helm 3|4] [--keep]\n')
  process.exit(0)
}
const timeFactor = Number(values['time-factor'])
const helmVersion = Number(values.helm)
if (!(timeFactor > 0)) throw new Error(`--time-factor must be a positive number, got ${values['time-factor']}`)
if (helmVersion !== 3 && helmVersion !== 4) throw new Error(`--helm must be 3 or 4, got ${values.helm}`)

const styled = process.stdout.isTTY && !process.env.NO_COLOR
const say = (text: string) => process.stdout.write(`\n${styled ? `\u001B[1m${text}\u001B[22m` : text}\n`)

const sim = await startSimulator({helmVersion, scenario: values.scenario, timeFactor})
const project = await mkdtemp(join(tmpdir(), 'devctl-demo-'))
const env: NodeJS.ProcessEnv = {...process.env, ...sim.env, PATH: `${sim.env.PATH}:${join(root, '.tools', 'kubectl-v34')}`}

/** Run devctl in this terminal, as a person would type it; its Ctrl-C is its own. */
function devctl(args: string[]): Promise<number> {
  process.stdout.write(`\n${styled ? `\u001B[2m$ devctl ${args.join(' ')}\u001B[22m` : `$ devctl ${args.join(' ')}`}\n`)
  return new Promise((resolveExit, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {cwd: project, env, stdio: 'inherit'})
    child.on('error', reject)
    child.on('close', (code, signal) => resolveExit(code ?? (signal ? 130 : 1)))
  })
}

let interrupted = false
// Ctrl-C reaches devctl directly (same terminal); the demo only stops after it and cleans up.
process.on('SIGINT', () => (interrupted = true))

let exitCode = 0
try {
  say(`devctl demo: a simulated k3d cluster (helm ${helmVersion}, time factor ${timeFactor}${values.scenario ? `, scenario ${values.scenario}` : ''}), project in ${project}`)
  exitCode = await devctl(['init', '--preset', 'web-worker', '--name', 'demo', '--no-input', '--port', `${await freePort()}:80`])
  if (exitCode === 0 && !interrupted) exitCode = await devctl(['up'])
  if (!interrupted) await devctl(['status'])
  if (values.keep && !interrupted) {
    const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`
    say('The simulator keeps running. In another shell:')
    process.stdout.write(
      [
        `cd ${quote(project)}`,
        ...['PATH', 'DEVCTL_SIM_DAEMON', 'KUBECONFIG', 'HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME'].map((name) => `export ${name}=${quote(env[name] ?? '')}`),
        `alias devctl=${quote(`node ${cli}`)}`,
        'devctl logs      # or devctl status --watch, devctl upgrade --set replicaCount=2, ...',
        '',
        'Press Ctrl-C here to stop it and remove everything.',
        '',
      ].join('\n'),
    )
    await new Promise<void>((resolveStop) => process.once('SIGINT', () => resolveStop()))
  }
} finally {
  say('Cleaning up: the simulated cluster and the scratch project.')
  await sim.stop()
  await rm(project, {recursive: true, force: true})
}
process.exit(interrupted ? 130 : exitCode)
