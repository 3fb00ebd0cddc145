import {readdirSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {loadScenario, parseScenario, planContainer, ScenarioError, scenariosDirectory} from './scenario.js'
import type {Pod} from './types.js'

function pod(name: string, labels: Record<string, string> = {}, restartPolicy: Pod['spec']['restartPolicy'] = 'Always'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name, namespace: 'app', labels},
    spec: {restartPolicy, containers: [{name: 'main', image: 'ghcr.io/acme/api:1.2', command: ['/bin/sh', '/migrations/migrate.sh']}]},
  }
}

describe('scenario files', () => {
  it('all load and validate', () => {
    const files = readdirSync(scenariosDirectory).filter((file) => file.endsWith('.yaml'))
    expect(files.length).toBeGreaterThanOrEqual(9)
    for (const file of files) expect(loadScenario(file).name).toBe(file.replace(/\.yaml$/, ''))
  })

  it('name what is wrong with a bad scenario, and where', () => {
    expect(() => parseScenario({rules: [{match: {pod: 'web-*'}, behavior: 'explode'}]}, 'bad.yaml')).toThrow(ScenarioError)
    expect(() => parseScenario({rules: [{match: {pod: 'web-*'}, behavior: 'explode'}]}, 'bad.yaml')).toThrow(/invalid bad\.yaml:[\s\S]*rules\[0\]\.behavior/)
    expect(() => parseScenario({defaults: {pull: 'fast'}}, 'slow.yaml')).toThrow(/a duration like 500ms, 2s, 1\.5m or 1h[\s\S]*defaults\.pull/)
    expect(() => parseScenario({rules: [{match: {podd: 'x'}}]})).toThrow(/Unrecognized key: "podd"/)
    expect(() => parseScenario({rules: [{match: {labelSelector: 'a in (b'}}]})).toThrow(/rules\[0\]\.match\.labelSelector/)
    expect(() => loadScenario('no-such-scenario')).toThrow(/no scenario "no-such-scenario"/)
  })
})

describe('planning a container', () => {
  const context = (target: Pod) => ({pod: target, container: target.spec.containers[0] ?? {name: '', image: ''}, init: false})

  it('runs by default, completes in a Job, and applies every matching rule in order', () => {
    expect(planContainer(parseScenario({}), context(pod('web-1'))).behavior).toBe('run')
    expect(planContainer(parseScenario({}), context(pod('migrate-x', {}, 'Never'))).behavior).toBe('complete')
    const scenario = parseScenario({
      defaults: {pull: '3s'},
      rules: [
        {match: {labels: {tier: 'api'}}, behavior: 'crashLoop', exitCode: 2, pull: '10s'},
        {match: {pod: 'web-*', image: 'ghcr.io/acme/*'}, exitCode: 7},
        {match: {namespace: '!app'}, behavior: 'oom'},
        {match: {command: '*migrate.sh'}, runFor: '1.5m'},
      ],
    })
    const plan = planContainer(scenario, context(pod('web-1', {tier: 'api'})))
    expect(plan).toMatchObject({behavior: 'crashLoop', exitCode: 7, pull: 10_000, runFor: 90_000, create: 300})
    expect(planContainer(scenario, context(pod('db-0'))).pull).toBe(3000)
  })
})
