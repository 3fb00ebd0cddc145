/**
 * The fixture charts' migration and rollout patterns end to end (issue 10, items 5 to 12): the
 * built CLI against the simulator with the `fixture-charts` scenario, where a container whose
 * command ends in `exit 1` fails and an image tagged does-not-exist cannot be pulled; with
 * helm 3 and helm 4.
 */
import {appendFile, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'
import {startChartEnvironment} from '../helpers/chart-environment.js'
import {output, type TestEnvironment} from '../helpers/environment.js'

let env: TestEnvironment | undefined
afterEach(async () => {
  await env?.stop()
  env = undefined
})

/** The fixture-charts scenario, with more rules (applied after its own). */
async function scenario(rules: object[] = []): Promise<object> {
  const base = parse(await readFile(join(REPO_ROOT, 'test', 'sim', 'scenarios', 'fixture-charts.yaml'), 'utf8')) as {rules: object[]}
  return {...base, rules: [...base.rules, ...rules]}
}

/** A fixture chart wired to devctl's Postgres Secret (its migrations read libpq's variables), no Redis. */
async function fixture(chart: string, helmVersion: 3 | 4, options: {init?: string[]; rules?: object[]} = {}): Promise<TestEnvironment> {
  return startChartEnvironment(chart, ['--no-redis', '--wire', 'dbSecret=database.secret', ...(options.init ?? [])], {helmVersion, scenario: await scenario(options.rules)})
}

const valuesFile = (env: TestEnvironment) => join(env.dir, 'values.dev.yaml')

/** The current pods of a workload as the cluster has them, by name. */
function podNames(env: TestEnvironment, prefix: string): string[] {
  return (env.sim.cluster('demo')?.list('v1', 'Pod', 'demo') ?? []).map((pod) => pod.metadata.name).filter((name) => name.startsWith(prefix))
}

/** The lines of the summary's pod list. */
function summaryPods(stdout: string): string[] {
  const [, list = ''] = /\nPods:\n((?: {2}.*\n)+)/.exec(stdout) ?? []
  return list.trimEnd().split('\n')
}

describe.each([3, 4] as const)('rollouts judged on the current revision, helm %i', (helmVersion) => {
  it('after a failed first install is fixed, up waits for the new pod instead of failing on the old one', async () => {
    // The fixed image takes a while to pull: meanwhile the old ReplicaSet's pod is still in ImagePullBackOff.
    env = await fixture('hook-failed', helmVersion, {rules: [{match: {image: 'busybox:1.37.0'}, pull: '30s'}]})
    const original = await readFile(valuesFile(env), 'utf8')
    await appendFile(valuesFile(env), 'image: busybox:does-not-exist\n')
    const broken = await env.devctl(['up'])
    expect(broken.exitCode, output(broken)).toBe(8)
    expect(broken.stderr).toMatch(/ImagePullBackOff|ErrImagePull/)

    await writeFile(valuesFile(env), original)
    const fixed = await env.devctl(['up'])
    expect(fixed.exitCode, output(fixed)).toBe(0)
    expect(fixed.stdout).toMatch(/✔ Rollout: 1 workload\(s\) ready/)
    expect(fixed.stdout).not.toMatch(/old replica\(s\) still terminating/)
    // The summary lists the pod of the current revision only, marked ready: not the old one.
    const pods = summaryPods(fixed.stdout)
    expect(pods).toHaveLength(1)
    expect(pods[0]).toMatch(/^ {2}✔ demo-app-\w+-\w+ {2}Running {2}1\/1 ready$/)
    expect(podNames(env, 'demo-app-')).toContain(pods[0]!.split(/\s+/)[2])
  })

  it('judges a rollback on the pods of the revision it brings back', async () => {
    env = await fixture('hook-failed', helmVersion)
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const result = await env.devctl(['upgrade', '--set', 'image=busybox:does-not-exist', '--yes'])
    expect(result.exitCode, output(result)).toBe(8)
    expect(result.stdout).toMatch(/✔ Rolled back demo to revision 1/)
    expect(result.stderr).toMatch(/rolled back to revision 1 and verified: every workload is ready again/)
    expect(result.stderr).not.toMatch(/failed too/)
  })

  it("marks a migration pod done only when it completed, never while it runs", async () => {
    env = await fixture('hook-failed', helmVersion)
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/pod ✔ demo-migrate-\w+ {2}Completed/)
    expect(result.stdout).not.toMatch(/pod ✔ demo-migrate-\w+ {2}Running/)
  })
})
