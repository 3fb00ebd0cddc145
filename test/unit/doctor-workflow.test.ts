/** runDoctor's --fix flow: ask before each fix, apply only what the user agreed to, look again after. */
import {beforeEach, describe, expect, it, vi} from 'vitest'

import {resolveNames, validateConfig} from '../../src/config/load.js'
import {parseYamlText} from '../../src/config/yaml-file.js'
import type {DoctorControls} from '../../src/doctor/doctor.js'
import type {MachineFacts} from '../../src/doctor/inspect.js'
import type {AutoFix} from '../../src/doctor/types.js'
import {ClusterError} from '../../src/errors.js'

const inspectMachine = vi.fn<() => Promise<MachineFacts>>()
const applyFix = vi.fn<(fix: AutoFix, signal: AbortSignal) => Promise<void>>()
vi.mock('../../src/doctor/inspect.js', () => ({inspectMachine}))
vi.mock('../../src/doctor/fixes.js', () => ({applyFix}))

const {runDoctor} = await import('../../src/doctor/doctor.js')

const GiB = 1024 ** 3

const config = validateConfig(parseYamlText('/p/devctl.yaml', 'apiVersion: devctl.dev/v1\nproject: demo\napp:\n  chart: {path: ./chart}\n'))

/** A machine with everything installed and no secrets yet; `cluster` is the project's k3d cluster (undefined: none). */
function facts(cluster: {running: boolean} | undefined, dockerMemory = 16 * GiB): MachineFacts {
  return {
    platform: 'other',
    node: {version: '20.19.0', required: '>=20.12.0'},
    config: {state: 'valid', loaded: {path: '/p/devctl.yaml', dir: '/p', config, resolved: resolveNames(config, 'dev')}, fileErrors: []},
    docker: {state: 'ok', value: {serverVersion: '28.5.2', memoryBytes: dockerMemory, cpus: 4}},
    k3d: {state: 'ok', value: '5.8.3'},
    helm: {state: 'ok', value: {version: '3.17.2', major: 3}},
    kubectl: {state: 'ok', value: '1.31.0'},
    disk: [{what: 'project', path: '/p', freeBytes: 50 * GiB}],
    secrets: {state: 'ok', value: false},
    cluster: {state: 'ok', value: cluster && {name: 'demo', running: cluster.running, servers: 1, agents: 0, labels: {}}},
    ports: cluster?.running ? undefined : [],
    kube: cluster?.running ? {state: 'ok', value: {context: 'k3d-demo'}} : undefined,
  }
}

const controls = (answers: boolean[]) => {
  const questions: string[] = []
  return {
    questions,
    emit: vi.fn<DoctorControls['emit']>(),
    confirm: async (question: string) => {
      questions.push(question)
      return answers.shift() ?? false
    },
    signal: new AbortController().signal,
  }
}

const options = {cwd: '/p', platform: 'other' as const, node: {version: '20.19.0', required: '>=20.12.0'}, loadKube: () => Promise.reject(new Error('not in unit tests')), fix: true}

describe('runDoctor --fix', () => {
  beforeEach(() => {
    inspectMachine.mockReset()
    applyFix.mockReset()
  })

  it('asks before each fix, applies the agreed ones, and reports the state after them', async () => {
    inspectMachine.mockResolvedValueOnce(facts({running: false})).mockResolvedValueOnce(facts({running: true}))
    const c = controls([false, true])
    const result = await runDoctor(options, c)
    expect(c.questions).toEqual(['Generate passwords into .devctl/secrets.yaml?', 'Start the stopped k3d cluster demo?'])
    expect(applyFix).toHaveBeenCalledTimes(1)
    expect(applyFix.mock.calls[0]?.[0]).toMatchObject({kind: 'start-cluster', cluster: 'demo'})
    expect(result.fixes).toEqual([
      {check: 'secrets', description: 'generate passwords into .devctl/secrets.yaml', applied: false},
      {check: 'cluster', description: 'start the stopped k3d cluster demo', applied: true},
    ])
    expect(inspectMachine).toHaveBeenCalledTimes(2)
    expect(result.checks.find((check) => check.id === 'cluster')?.status).toBe('pass')
    expect(c.emit.mock.calls.map(([event]) => (event.type === 'checked' ? `checked:${event.final}` : 'fixed'))).toEqual(['checked:false', 'fixed', 'fixed', 'checked:true'])
  })

  it('does not look again when nothing was applied, and reports a fix that failed', async () => {
    inspectMachine.mockResolvedValue(facts({running: false}))
    applyFix.mockRejectedValue(new ClusterError('k3d could not start cluster demo: host port 8080 is already in use.'))
    const result = await runDoctor(options, controls([false, true]))
    expect(inspectMachine).toHaveBeenCalledTimes(1)
    expect(result.fixes[1]).toEqual({check: 'cluster', description: 'start the stopped k3d cluster demo', applied: false, error: 'k3d could not start cluster demo: host port 8080 is already in use.'})
    expect(result.status).toBe('ok')
  })

  it('without --fix asks nothing, and fails when a check fails', async () => {
    inspectMachine.mockResolvedValue(facts(undefined, 1 * GiB))
    const c = controls([true])
    const result = await runDoctor({...options, fix: false}, c)
    expect(c.questions).toEqual([])
    expect(applyFix).not.toHaveBeenCalled()
    expect(result).toMatchObject({status: 'failed', configPath: '/p/devctl.yaml', fixes: []})
    expect(result.summary.fail).toBe(1)
  })
})
