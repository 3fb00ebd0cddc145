/**
 * `npm run sim`: a simulator for a person. Starts one in real time, prints the environment to
 * paste into a shell, and runs until Ctrl-C:
 *
 *   npm run sim -- [--helm 3|4] [--scenario NAME|FILE] [--time-factor N]
 */
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {startSimulator} from './index.js'

const {values} = parseArgs({
  options: {
    helm: {type: 'string', default: '3'},
    scenario: {type: 'string'},
    'time-factor': {type: 'string', default: '1'},
    help: {type: 'boolean', short: 'h'},
  },
})

if (values.help) {
  process.stdout.write('Usage: npm run sim -- [--helm 3|4] [--scenario NAME|FILE] [--time-factor N]\n')
  process.exit(0)
}
const helmVersion = Number(values.helm)
const timeFactor = Number(values['time-factor'])
if (helmVersion !== 3 && helmVersion !== 4) throw new Error(`--helm must be 3 or 4, got ${values.helm}`)
if (!(timeFactor > 0)) throw new Error(`--time-factor must be a positive number, got ${values['time-factor']}`)

const kubectlDir = fileURLToPath(new URL('../../.tools/kubectl-v34', import.meta.url))
const sim = await startSimulator({helmVersion, scenario: values.scenario, timeFactor})
const quote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`
process.stdout.write(
  [
    `devctl simulator running (helm ${helmVersion}, time factor ${timeFactor}${values.scenario ? `, scenario ${values.scenario}` : ''}).`,
    'Paste this into another shell, then use k3d, helm, docker and kubectl as usual:',
    '',
    // The stand-ins and the helm wrapper, then the real kubectl from .tools/ (npm run tools) for people without one.
    `export PATH=${quote(sim.env.PATH?.split(':')[0] ?? '')}:${quote(kubectlDir)}:"$PATH"`,
    ...['DEVCTL_SIM_DAEMON', 'DEVCTL_SIM_HELM', 'KUBECONFIG', 'HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME'].map((name) => `export ${name}=${quote(sim.env[name] ?? '')}`),
    '',
    `State: curl ${sim.daemonUrl}/sim/v1/state    Commands: curl ${sim.daemonUrl}/sim/v1/commands`,
    'Press Ctrl-C to stop (every cluster and temp file goes with it).',
    '',
  ].join('\n'),
)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    process.stdout.write('\nStopping the simulator...\n')
    sim.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`)
        process.exit(1)
      },
    )
  })
}
