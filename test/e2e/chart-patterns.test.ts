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
import {helmDeploys, output, type TestEnvironment} from '../helpers/environment.js'
import {resultRecord} from '../helpers/cli.js'

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

/** Edit devctl.yaml as a person would, in its text. */
async function editConfig(env: TestEnvironment, edit: (text: string) => string): Promise<void> {
  const path = join(env.dir, 'devctl.yaml')
  await writeFile(path, edit(await readFile(path, 'utf8')))
}

async function statusJson(env: TestEnvironment): Promise<{migration?: Record<string, unknown>; conditions: Array<{type: string; status: string; reason: string; message: string}>}> {
  const result = await env.devctl(['status', '--json'])
  expect(result.exitCode, output(result)).toBe(0)
  return resultRecord<Awaited<ReturnType<typeof statusJson>>>(result.stdout).result
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
    expect(fixed.stdout).toMatch(/✔ Rollout: 1 workload ready/)
    // While the new pod pulls, the old one is said to be kept until then, not "terminating" (it is not, yet).
    expect(fixed.stdout).toMatch(/Deployment demo-app: 0\/1 of the new revision ready; 1 old replica kept until then/)
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

  it('marks a migration pod done only when it completed, never while it runs', async () => {
    // Long enough (0.3 s) for its completion to be seen before helm deletes the succeeded hook.
    env = await fixture('hook-failed', helmVersion, {rules: [{match: {workload: 'demo-migrate'}, runFor: '30s'}]})
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/pod ✔ demo-migrate-\w+ {2}Completed/)
    expect(result.stdout).not.toMatch(/pod ✔ demo-migrate-\w+ {2}Running/)
  })
})

describe.each([3, 4] as const)('every migration pattern, helm %i', (helmVersion) => {
  it('a hook Job that deletes itself when it fails: exit 7, its lines in the report, its log kept for `logs --migration`', async () => {
    // A migration takes a moment (here 0.3 s): long enough to be followed before helm deletes its failed Job.
    env = await fixture('hook-failed', helmVersion, {rules: [{match: {command: '*exit 1'}, runFor: '30s'}]})
    await appendFile(valuesFile(env), 'migration:\n  fail: true\n')
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(7)
    expect(result.stderr).toMatch(/^Error: The migration Job demo-migrate (failed|did not complete)/)
    expect(result.stderr).toMatch(/^ {2}1 of 1 attempt failed$/m)
    expect(result.stderr).toMatch(/^ {2}last \d+ log lines? of demo-migrate-\w+\/migrate:\n(?: {4}\| .*\n)* {4}\| Migration failed; rolled back 003_create_orders\.\n/m)
    expect(result.stderr).toMatch(/^ {2}the whole log: \.devctl\/migrations\/\w+-r1\.log \(`devctl logs --migration` prints it\)$/m)
    expect(result.stderr).not.toMatch(/log lines below/)
    // helm deleted the failed hook Job (hook-delete-policy hook-failed), and its pod with it.
    expect(env.sim.cluster('demo')?.get('batch/v1', 'Job', 'demo', 'demo-migrate')).toBeUndefined()

    const kept = await env.devctl(['logs', '--migration'])
    expect(kept.exitCode, output(kept)).toBe(0)
    expect(kept.stdout).toMatch(/^# hook Job demo-migrate \(pre-install,pre-upgrade\), revision 1, started \S+\n/)
    expect(kept.stdout).toMatch(/^demo-migrate-\w+\/migrate: ERROR: {2}relation "orders_legacy" does not exist$/m)
    expect(kept.stdout).toMatch(/^# failed: The migration Job demo-migrate/m)
    const status = await statusJson(env)
    expect(status.migration).toMatchObject({kind: 'hook-job', name: 'demo-migrate', result: 'failed', log: expect.stringMatching(/\.devctl\/migrations\/\w+-r1\.log$/)})
  })

  it('a pre-upgrade-only hook: the first up says no migration ran and status agrees; the next deploy runs it', async () => {
    env = await fixture('upgrade-only-hook', helmVersion)
    const first = await env.devctl(['up'])
    expect(first.exitCode, output(first)).toBe(0)
    expect(first.stdout).toMatch(/✔ Chart demo: first install; no migration on first install: hook Job demo-migrate runs on pre-upgrade only/)
    expect(first.stdout).toMatch(/↓ Migration — skipped: no migration on first install: hook Job demo-migrate runs on pre-upgrade only/)
    expect(first.stdout).not.toMatch(/Migration \(.*\) complete/)
    const installed = await statusJson(env)
    expect(installed.migration).toMatchObject({result: 'not-run', revision: 1})
    expect(installed.conditions.find((c) => c.type === 'MigrationSucceeded')).toMatchObject({status: 'Unknown', reason: 'NotRun'})

    await appendFile(valuesFile(env), 'extra: changed\n')
    const second = await env.devctl(['up'])
    expect(second.exitCode, output(second)).toBe(0)
    expect(second.stdout).toMatch(/│ demo-migrate-\w+\/migrate: Migrations complete/)
    expect(second.stdout).toMatch(/✔ Migration \(hook Job demo-migrate \(pre-upgrade\)\) complete/)
    const upgraded = await statusJson(env)
    expect(upgraded.migration).toMatchObject({result: 'succeeded', revision: 2})
    expect(upgraded.conditions.find((c) => c.type === 'MigrationSucceeded')).toMatchObject({status: 'True'})
  })

  it("follows every workload's migrate init container: the worker's fails, exit 7 at its first failed run, with its lines", async () => {
    env = await fixture('init-containers', helmVersion)
    await appendFile(valuesFile(env), 'worker:\n  migrationFails: true\n')
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(7)
    expect(result.stderr).toMatch(/^Error: The migration init container migrate of Deployment demo-worker failed \(exit code 1\) in pod demo-worker-\w+-\w+\.$/m)
    expect(result.stderr).toMatch(/^ {2}last \d+ log lines? of demo-worker-\w+-\w+\/migrate:\n(?: {4}\| .*\n)* {4}\| Migration failed; rolled back/m)
    // Both were followed: the api's migrate init container too.
    expect(result.stdout).toMatch(/│ demo-api-\w+-\w+\/migrate: Migrations complete/)
    // It stopped at the first failed run, without waiting out the kubelet's back-off for another.
    const kept = await env.devctl(['logs', '--migration'])
    expect(kept.stdout.match(/^demo-worker-\S+: Connecting to database\.\.\.$/gm)).toHaveLength(1)
  })

  it('one hook Job for the first install, another for upgrades (Mastodon): each deploy follows the one that runs', async () => {
    env = await fixture('install-and-upgrade-hooks', helmVersion)
    const first = await env.devctl(['up'])
    expect(first.exitCode, output(first)).toBe(0)
    expect(first.stdout).toMatch(/✔ Chart demo: first install; migration: hook Job demo-db-prepare \(pre-install\)/)
    expect(first.stdout).toMatch(/│ demo-db-prepare-\w+\/db-migrate: Migrations complete/)
    expect(first.stdout).toMatch(/✔ Migration \(hook Job demo-db-prepare \(pre-install\)\) complete/)
    expect((await statusJson(env)).migration).toMatchObject({kind: 'hook-job', name: 'demo-db-prepare', result: 'succeeded', revision: 1})

    const upgrade = await env.devctl(['upgrade', '--set', 'extra=changed', '--yes'])
    expect(upgrade.exitCode, output(upgrade)).toBe(0)
    expect(upgrade.stdout).toMatch(/^ {2}migration: hook Job demo-db-pre-migrate \(pre-upgrade\)$/m)
    expect(upgrade.stdout).toMatch(/✔ Migration \(hook Job demo-db-pre-migrate \(pre-upgrade\)\) complete/)
    expect((await statusJson(env)).migration).toMatchObject({name: 'demo-db-pre-migrate', result: 'succeeded', revision: 2})
  })

  it('a Job that migrates in its init containers (Temporal): their lines stream and are kept; one that keeps failing is named with its lines, exit 7', async () => {
    env = await fixture('job-init-containers', helmVersion)
    const first = await env.devctl(['up'])
    expect(first.exitCode, output(first)).toBe(0)
    expect(first.stdout).toMatch(/│ demo-schema-\w+\/manage-schema: Migrations complete/)
    expect(first.stdout).toMatch(/│ demo-schema-\w+\/create-database: /)

    // restartPolicy OnFailure: the failed init container is rerun in the same pod until devctl calls it a loop.
    const failed = await env.devctl(['upgrade', '--set', 'schema.fail=true', '--yes'])
    expect(failed.exitCode, output(failed)).toBe(7)
    expect(failed.stderr).toMatch(/^Error: The migration Job demo-schema failed: its init container manage-schema keeps failing \(exit code 1; \d+ restarts in pod demo-schema-\w+\)\.$/m)
    expect(failed.stderr).toMatch(/^ {2}last \d+ log lines? of demo-schema-\w+\/manage-schema:\n(?: {4}\| .*\n)* {4}\| Migration failed; rolled back/m)
    expect(failed.stderr).not.toMatch(/no log line|cannot run/)
    const kept = await env.devctl(['logs', '--migration'])
    expect(kept.exitCode, output(kept)).toBe(0)
    expect(kept.stdout).toMatch(/^demo-schema-\w+\/manage-schema: Migration failed; rolled back/m)
  })

  it('a post-install/post-upgrade hook Job that migrates (Chatwoot): followed with its init container, and its failure is a migration failure, exit 7', async () => {
    env = await fixture('post-install-migration', helmVersion)
    const first = await env.devctl(['up'])
    expect(first.exitCode, output(first)).toBe(0)
    expect(first.stdout).toMatch(/✔ Chart demo: first install; migration: hook Job demo-migrate \(post-install,post-upgrade\)/)
    expect(first.stdout).toMatch(/│ demo-migrate-\w+\/init-postgres: /)
    expect(first.stdout).toMatch(/│ demo-migrate-\w+\/db-migrate-job: Migrations complete/)
    expect((await statusJson(env)).migration).toMatchObject({kind: 'hook-job', name: 'demo-migrate', result: 'succeeded'})

    const failed = await env.devctl(['upgrade', '--set', 'migration.fail=true', '--yes'])
    expect(failed.exitCode, output(failed)).toBe(7)
    expect(failed.stderr).toMatch(/^Error: The migration Job demo-migrate (failed|did not complete)/)
    expect(failed.stderr).toMatch(/^ {2}last \d+ log lines? of demo-migrate-\w+\/db-migrate-job:\n(?: {4}\| .*\n)* {4}\| Migration failed; rolled back/m)
  })

  it("a plain Job named by the revision (Plane): each upgrade and up follows that revision's Job, never the last one's", async () => {
    env = await fixture('plain-job', helmVersion)
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const upgrade = await env.devctl(['upgrade', '--set', 'extra=changed', '--yes'])
    expect(upgrade.exitCode, output(upgrade)).toBe(0)
    expect(upgrade.stdout).toMatch(/^ {2}migration: Job demo-migrate-2$/m)
    expect(upgrade.stdout).toMatch(/│ demo-migrate-2-\w+\/migrate: Migrations complete/)
    expect(upgrade.stdout).toMatch(/✔ Migration \(Job demo-migrate-2\) complete/)
    expect((await statusJson(env)).migration).toMatchObject({kind: 'job', name: 'demo-migrate-2', result: 'succeeded', revision: 2})

    await appendFile(valuesFile(env), 'more: changed\n')
    const up = await env.devctl(['up'])
    expect(up.exitCode, output(up)).toBe(0)
    expect(up.stdout).toMatch(/✔ Chart demo: chart, values or settings changed; migration: Job demo-migrate-3/)
    expect(up.stdout).toMatch(/✔ Migration \(Job demo-migrate-3\) complete/)
    // The migration that ran is the one for revision 3, followed from its first line.
    expect(up.stdout).toMatch(/│ demo-migrate-3-\w+\/migrate: Connecting to database\.\.\./)
  })

  it('migration: {initContainer: WORKLOAD/NAME} follows that workload only', async () => {
    env = await fixture('init-containers', helmVersion)
    await editConfig(env, (text) => text.replace(/^ {2}migration: .*$/m, '  migration: {initContainer: worker/migrate}'))
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/✔ Migration \(init container migrate of Deployment demo-worker\) complete/)
    expect(result.stdout).toMatch(/│ demo-worker-\w+-\w+\/migrate: /)
    expect(result.stdout).not.toMatch(/│ demo-api-/)
  })
})

describe.each([3, 4] as const)('a claim the chart renders with an empty storageClassName (Mastodon), helm %i', (helmVersion) => {
  it('an upgrade helm cannot patch the claim in: the claim named, the class to set, and that fix works', async () => {
    env = await startChartEnvironment('empty-storage-class', ['--no-postgres', '--no-redis'], {helmVersion, scenario: 'fixture-charts'})
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const failed = await env.devctl(['upgrade', '--set', 'extra=changed', '--yes'])
    expect(failed.exitCode, output(failed)).toBe(6)
    expect(failed.stderr).toMatch(
      /^ {2}PersistentVolumeClaim demo-data: the chart renders storageClassName empty, the cluster gave the claim its default class when it was created \(local-path on k3d\)/m,
    )
    // The rollback fails for the same reason: the fix stays the next step.
    expect(failed.stderr).toMatch(
      /^→ Set the chart's storage class value for PersistentVolumeClaim demo-data to the class it has \(local-path on k3d; `kubectl get pvc` shows it\) in your values file, then run `devctl upgrade --set extra=changed --yes` again\.$/m,
    )

    const fixed = await env.devctl(['upgrade', '--set', 'extra=changed', '--set', 'persistence.storageClassName=local-path', '--yes'])
    expect(fixed.exitCode, output(fixed)).toBe(0)
  })
})

/** Did devctl create (or start) a cluster? Nothing may be created before the chart is known to render. */
function clusterCreated(env: TestEnvironment): boolean {
  return env.sim.commands('k3d').some((c) => c.argv[0] === 'cluster' && c.argv[1] === 'create')
}

describe.each([3, 4] as const)('chart and values checked before anything is created, helm %i', (helmVersion) => {
  // helm 3 and helm 4 word a schema violation each in their own way.
  const rejection = helmVersion === 3 ? /- \(root\): Additional property shared is not allowed/ : /additional propert(y|ies) '?shared'? (is )?not allowed/

  it("a values file the chart's strict schema rejects: up and up --dry-run fail at once, exit 3, no cluster created", async () => {
    env = await startChartEnvironment('strict-schema', ['--no-redis', '--values-layout', 'shared'], {helmVersion, scenario: 'fixture-charts'})
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(3)
    expect(result.stderr).toMatch(/^Error: The values do not meet the chart's values\.schema\.json \(release demo\)\./)
    expect(result.stderr).toMatch(rejection)
    expect(result.stdout).toMatch(/✖ Chart demo: render and check/)
    expect(result.stdout).not.toMatch(/Cluster demo/)
    expect(clusterCreated(env)).toBe(false)

    const dryRun = await env.devctl(['up', '--dry-run'])
    expect(dryRun.exitCode, output(dryRun)).toBe(3)
    expect(dryRun.stderr).toMatch(rejection)
    expect(clusterCreated(env)).toBe(false)
  })

  it('a values.schema.json that refers to a schema helm cannot fetch (Zitadel offline): said so, not blamed on the values, exit 6; app.skipSchemaValidation renders without it', async () => {
    env = await startChartEnvironment('remote-schema-ref', ['--no-postgres', '--no-redis'], {helmVersion, scenario: 'fixture-charts'})
    const refused = await env.devctl(['up'])
    expect(refused.exitCode, output(refused)).toBe(6)
    expect(refused.stderr).toMatch(
      /^Error: The chart's values\.schema\.json refers to a schema on the internet that helm could not fetch \(https:\/\/schemas\.devctl\.invalid\/kubernetes\/v1\.30\.0\/_definitions\.json\): your values were not checked, and nothing says they are wrong\.$/m,
    )
    expect(refused.stderr).toMatch(/^→ Connect this machine to the internet, or render without the chart's schema: app\.skipSchemaValidation: true in devctl\.yaml \(helm 3\.16\.0 or newer\)\.$/m)
    expect(refused.stderr).not.toMatch(/Fix what it names in your values files/)
    expect(clusterCreated(env)).toBe(false)

    await editConfig(env, (text) => text.replace(/^ {2}migration: auto.*$/m, (line) => `${line}\n  skipSchemaValidation: true`))
    const before = env.sim.commands('helm').length
    const rendered = await env.devctl(['up'])
    expect(rendered.exitCode, output(rendered)).toBe(0)
    const renders = env.sim
      .commands('helm')
      .slice(before)
      .filter((c) => c.argv[0] === 'template' || c.argv[0] === 'upgrade')
    expect(renders.map((c) => c.argv[0])).toEqual(['template', 'upgrade'])
    expect(renders.every((c) => c.argv.includes('--skip-schema-validation'))).toBe(true)
  })

  it('a chart whose declared subchart is missing (a bundled database removed): which, and what to do, exit 6, nothing created', async () => {
    env = await startChartEnvironment('missing-subchart', ['--no-redis', '--wire-value', 'postgresql.enabled=false'], {helmVersion, scenario: 'fixture-charts'})
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(6)
    expect(result.stderr).toMatch(
      /^Error: The chart declares subcharts its charts\/ directory does not hold \(postgresql\): helm renders no chart with a dependency missing, even one its values switch off\.$/m,
    )
    expect(result.stderr).toMatch(/^→ For a database devctl runs for you, delete its entry under dependencies: in the chart's Chart\.yaml/m)
    expect(clusterCreated(env)).toBe(false)
  })

  it('up --dry-run prints the rendered chart (its Secrets masked) and the migration it found', async () => {
    env = await fixture('hook-failed', helmVersion)
    const result = await env.devctl(['up', '--dry-run'])
    expect(result.exitCode, output(result)).toBe(0)
    expect(result.stdout).toMatch(/^# migration: hook Job demo-migrate \(pre-install,pre-upgrade\)$/m)
    expect(result.stdout).toMatch(/^kind: Job\nmetadata:\n {2}name: demo-migrate$/m)
    expect(result.stdout).toMatch(/^kind: Deployment\nmetadata:\n {2}name: demo-app$/m)
    expect(clusterCreated(env)).toBe(false)
  })

  it('a no-op up renders nothing: the fingerprint says the chart passed its checks', async () => {
    env = await fixture('hook-failed', helmVersion)
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const renders = () => env!.sim.commands('helm').filter((c) => c.argv[0] === 'template').length
    expect(renders()).toBe(1)
    const again = await env.devctl(['up'])
    expect(again.exitCode, output(again)).toBe(0)
    expect(again.stdout).toMatch(/✔ Chart demo: unchanged since it last passed its checks/)
    expect(renders()).toBe(1)
  })

  it('a Secret key devctl does not provide is a wiring error before anything is created: what the chart expects, what devctl has, the setting that fixes it (exit 3)', async () => {
    // custom-secret wired without --wire-secret: init points it at devctl-postgres, which has no "connection" or "db-password" key.
    env = await startChartEnvironment('custom-secret', ['--wire-value', 'cache.address={{redis.host}}:{{redis.port}}'], {helmVersion, scenario: 'fixture-charts'})
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(3)
    expect(result.stderr).toMatch(
      /^Error: The chart reads keys "db-password", "connection" of Secret devctl-postgres \(.*Job demo-migrate, container migrate, env DATABASE_URL\), but devctl's devctl-postgres has none of them\.$/m,
    )
    expect(result.stderr).toMatch(/^ {2}devctl provides Secret devctl-postgres: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, DATABASE_URL, /m)
    expect(result.stderr).toMatch(
      /^→ Give the chart the Secret it expects: in devctl\.yaml, `app\.wiring\.secrets: \{demo-db: \{db-password: "\{\{postgres\.password\}\}", connection: "\{\{postgres\.url\}\}"\}\}`, and set database\.existingSecret to demo-db/m,
    )
    expect(result.stderr).not.toMatch(/migration/i)
    expect(clusterCreated(env)).toBe(false)
  })

  it('a Secret nothing creates, found when the pod cannot start, is the same wiring error (exit 3), naming every key the chart reads', async () => {
    env = await startChartEnvironment('custom-secret', ['--no-redis', '--wire', 'dbSecret=-'], {helmVersion, scenario: 'fixture-charts'})
    const result = await env.devctl(['up'])
    expect(result.exitCode, output(result)).toBe(3)
    expect(result.stderr).toMatch(/^Error: The chart reads keys "db-password", "connection" of Secret shop-db \(.*\), but nothing creates that Secret \(devctl does not, nor does the chart\)\.$/m)
    expect(result.stderr).toMatch(/`app\.wiring\.secrets: \{shop-db: \{db-password: "\{\{postgres\.password\}\}", connection: "\{\{postgres\.url\}\}"\}\}`/)
  })
})

describe.each([3, 4] as const)('up after upgrade --set, helm %i', (helmVersion) => {
  function image(env: TestEnvironment): string | undefined {
    const deployment = env.sim.cluster('demo')?.get('apps/v1', 'Deployment', 'demo', 'demo-app') as {spec: {template: {spec: {containers: Array<{image: string}>}}}} | undefined
    return deployment?.spec.template.spec.containers[0]?.image
  }
  const helmUpgrades = (env: TestEnvironment) => helmDeploys(env.sim).length

  it('keeps what a successful upgrade --set deployed in devctl.yaml (comments kept), so the next up deploys the same and changes nothing', async () => {
    env = await fixture('hook-failed', helmVersion)
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const upgrade = await env.devctl(['upgrade', '--set', 'image=busybox:1.36.1', '--yes'])
    expect(upgrade.exitCode, output(upgrade)).toBe(0)
    expect(upgrade.stdout).toContain('  kept in devctl.yaml once it succeeds, so `devctl up` deploys the same: app.set.image=busybox:1.36.1\n')
    expect(upgrade.stdout).toMatch(/✔ Kept in devctl\.yaml \(the next `devctl up` deploys them too\): app\.set\.image=busybox:1\.36\.1/)
    const config = await readFile(join(env.dir, 'devctl.yaml'), 'utf8')
    expect(config).toMatch(/^ {2}set:\n {4}image: busybox:1\.36\.1$/m)
    expect(config).toContain('project: demo # default name of the cluster, release and namespace')
    expect(image(env)).toBe('busybox:1.36.1')

    const up = await env.devctl(['up'])
    expect(up.exitCode, output(up)).toBe(0)
    expect(up.stdout).toMatch(/✔ Chart demo: unchanged since revision 2/)
    expect(helmUpgrades(env)).toBe(2)
    expect(image(env)).toBe('busybox:1.36.1')
  })

  it('keeps nothing from an upgrade that failed and was rolled back, nor a --set that may be a secret', async () => {
    env = await fixture('hook-failed', helmVersion)
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    const before = await readFile(join(env.dir, 'devctl.yaml'), 'utf8')
    const failed = await env.devctl(['upgrade', '--set', 'image=busybox:does-not-exist', '--yes'])
    expect(failed.exitCode, output(failed)).toBe(8)
    expect(await readFile(join(env.dir, 'devctl.yaml'), 'utf8')).toBe(before)

    const secret = await env.devctl(['upgrade', '--set', 'app.password=not-for-git', '--yes'])
    expect(secret.exitCode, output(secret)).toBe(0)
    expect(secret.stdout).toMatch(/not kept in devctl\.yaml, as it may be a secret: --set app\.password; the next `devctl up` deploys without it/)
    expect(await readFile(join(env.dir, 'devctl.yaml'), 'utf8')).toBe(before)
  })
})
