/**
 * `devctl up` with `build:` — end to end against the simulator (its docker builds, k3d imports,
 * registry) and the real helm: only what changed is rebuilt, imported and deployed, a pod then
 * runs exactly that image, an unchanged tree is a no-op, and failures are explained.
 */
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {parse} from 'yaml'
import {afterEach, describe, expect, it} from 'vitest'

import type {DevctlConfigInput} from '../../src/config/schema.js'
import type {UpResult} from '../../src/workflows/up.js'
import {resultRecord} from '../helpers/cli.js'
import {editConfig, freePort, helmDeploys, k3dCluster, output, startEnvironment, type TestEnvironment} from '../helpers/environment.js'
import type {KubeObject} from '../sim/apiserver/contract.js'

let env: TestEnvironment | undefined
afterEach(async () => {
  await env?.stop()
  env = undefined
})

/** A project with an API built from its own Dockerfile, wired to the chart's image.repository and &imageTag. */
async function withApiImage(env: TestEnvironment, extra: (config: DevctlConfigInput) => void = () => {}): Promise<void> {
  await mkdir(join(env.dir, 'api', 'src'), {recursive: true})
  await writeFile(join(env.dir, 'api', 'Dockerfile'), 'FROM scratch\nCOPY src /app\nCMD ["/app/server"]\n')
  await writeFile(join(env.dir, 'api', 'src', 'server.txt'), 'version 1\n')
  await writeFile(join(env.dir, 'api', '.dockerignore'), 'notes/\n')
  await mkdir(join(env.dir, 'api', 'notes'))
  await writeFile(join(env.dir, 'api', 'notes', 'todo.md'), 'not part of the image\n')
  await editConfig(env.dir, (config) => {
    config.build = [{name: 'demo-api', context: './api', tag: '&imageTag', repository: 'image.repository'}]
    extra(config)
  })
}

const docker = (env: TestEnvironment, command: string) => env.sim.commands('docker').filter((c) => c.argv[0] === command)
const imports = (env: TestEnvironment) => env.sim.commands('k3d').filter((c) => c.argv[0] === 'image' && c.argv[1] === 'import')
const upgrades = (env: TestEnvironment) => helmDeploys(env.sim)

function apiPods(env: TestEnvironment): KubeObject[] {
  return (env.sim.cluster('demo')?.list('v1', 'Pod', 'demo') ?? []).filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'api' && !p.metadata.deletionTimestamp)
}

function runningImage(pod: KubeObject): {image: string; imageID: string} {
  const status = (pod.status as {containerStatuses?: Array<{image: string; imageID: string; ready: boolean}>}).containerStatuses?.[0]
  return {image: status?.image ?? '', imageID: status?.imageID ?? ''}
}

/** up's result, from the record its --json output ends with. */
function resultOf(stdout: string): UpResult {
  return resultRecord<UpResult>(stdout).result
}

describe("devctl up builds the project's images", () => {
  it('builds, imports and deploys only what changed; a pod runs exactly the built image; an unchanged tree is a no-op', async () => {
    env = await startEnvironment()
    await withApiImage(env)
    const valuesBefore = await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')

    const first = await env.devctl(['up', '--json'])
    expect(first.exitCode, first.stderr).toBe(0)
    const result = resultOf(first.stdout)
    const [image] = result.images as Array<{name: string; ref: string; id: string; built: boolean; via: string; moved: boolean}>
    expect(image).toMatchObject({name: 'demo-api', built: true, via: 'import', moved: true})
    expect(image!.ref).toMatch(/^demo-api:dev-[a-f0-9]{16}$/)
    // The image devctl built is the one docker has, the one every node has, and the one the API pod runs.
    expect(env.sim.images.get(image!.ref)?.id).toBe(image!.id)
    expect(docker(env, 'build')).toHaveLength(1)
    expect(imports(env).map((c) => c.argv.slice(2))).toEqual([[image!.ref, '--cluster', 'demo']])
    const node = env.sim.cluster('demo')!.get('v1', 'Node', undefined, 'k3d-demo-server-0') as unknown as {status: {images: Array<{names: string[]}>}}
    expect(node.status.images.flatMap((i) => i.names)).toContain(`docker.io/library/${image!.ref}`)
    await expect.poll(() => apiPods(env!).map((pod) => runningImage(pod)), {timeout: 20_000}).toEqual([{image: `docker.io/library/${image!.ref}`, imageID: image!.id}])
    // The tag reached the chart through devctl's own overlay; the user's values file is untouched.
    const upgrade = upgrades(env)[0]!
    expect(upgrade.argv).toContain(join(env.dir, '.devctl', 'build-values.yaml'))
    expect(await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')).toBe(valuesBefore)
    const overlay = parse(await readFile(join(env.dir, '.devctl', 'build-values.yaml'), 'utf8')) as {shared: {image: {tag: string}}; image: {tag: string; repository: string}}
    expect(overlay.image).toEqual({tag: image!.ref.split(':')[1], repository: 'demo-api'})
    expect(overlay.shared.image.tag).toBe(image!.ref.split(':')[1])
    // Build progress is in the event stream, one line per Dockerfile step.
    const events = first.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as {type: string; step?: string; source?: string; line?: string})
    expect(events.filter((e) => e.type === 'step:log' && e.step === 'build:demo-api').map((e) => e.line)).toEqual([expect.stringMatching(/^\[1\/1\] COPY src \/app {2}\d\.\ds$/)])

    // Nothing changed (and a file .dockerignore leaves out changed): no build, no import, no helm.
    await writeFile(join(env.dir, 'api', 'notes', 'todo.md'), 'still not part of the image\n')
    const again = await env.devctl(['up'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain(`✔ Image demo-api unchanged (${image!.ref.split(':')[1]}), not rebuilt`)
    expect(again.stdout).toContain('✔ Images: already in cluster demo')
    expect(again.stdout).toContain('release demo unchanged: helm was not called')
    expect(docker(env, 'build')).toHaveLength(1)
    expect(imports(env)).toHaveLength(1)
    expect(upgrades(env)).toHaveLength(1)

    // The code changed: a new image, imported and deployed; the API pod is replaced by one running it.
    await writeFile(join(env.dir, 'api', 'src', 'server.txt'), 'version 2\n')
    const changed = await env.devctl(['up', '--json'])
    expect(changed.exitCode, changed.stderr).toBe(0)
    const [second] = resultOf(changed.stdout).images as Array<{ref: string; id: string; built: boolean}>
    expect(second!.ref).not.toBe(image!.ref)
    expect(second!.id).not.toBe(image!.id)
    expect(docker(env, 'build')).toHaveLength(2)
    expect(imports(env).map((c) => c.argv[2])).toEqual([image!.ref, second!.ref])
    expect(upgrades(env)).toHaveLength(2)
    await expect.poll(() => apiPods(env!).map((pod) => runningImage(pod).imageID), {timeout: 20_000}).toEqual([second!.id])
    expect(await readFile(join(env.dir, 'values.dev.yaml'), 'utf8')).toBe(valuesBefore)
  })

  it('explains a broken Dockerfile (exit 13: the line, the cause, what to do) and deploys nothing', async () => {
    env = await startEnvironment()
    await withApiImage(env)
    await writeFile(join(env.dir, 'api', 'Dockerfile'), 'FROM scratch\nCOPY src /app\nCOPY notes/todo.md /todo.md\n')
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(13)
    expect(result.stdout).toMatch(/│ demo-api: \[2\/2\] COPY notes\/todo\.md \/todo\.md {2}failed/)
    expect(result.stderr).toMatch(
      /^Error: The image demo-api did not build: failed to build: failed to solve: failed to compute cache key: failed to calculate checksum of ref \S+: "\/notes\/todo\.md": not found$/m,
    )
    expect(result.stderr).toContain('  api/Dockerfile:3: COPY notes/todo.md /todo.md')
    expect(result.stderr).toContain('→ notes/todo.md is in the build context, but .dockerignore leaves it out: remove the rule that matches it there (or add !notes/todo.md after it).')
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(env.sim.commands('k3d').filter((c) => c.argv[1] === 'create')).toHaveLength(0)
    expect(upgrades(env)).toHaveLength(0)
  })

  it('refuses a build context that would send .devctl/ (the passwords) to docker', async () => {
    env = await startEnvironment()
    await writeFile(join(env.dir, 'Dockerfile'), 'FROM scratch\nCOPY . /app\n')
    await editConfig(env.dir, (config) => (config.build = [{name: 'demo-api', tag: 'image.tag'}]))
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(13)
    expect(result.stderr).toContain("Error: The build context . of demo-api contains .devctl/ (devctl's generated passwords and the cluster's credentials), and .dockerignore does not leave it out")
    expect(result.stderr).toContain('→ Add a line `.devctl/` to .dockerignore')
    expect(docker(env, 'build')).toHaveLength(0)
  })

  it('warns when the chart would pull the imported image with pullPolicy Always, and when no workload runs it', async () => {
    env = await startEnvironment()
    await withApiImage(env, (config) => (config.app.set = {'image.pullPolicy': 'Always'}))
    const always = await env.devctl(['up', '--timeout', '20s'])
    expect(output(always)).toContain('! Deployment demo-web-worker pulls demo-api:dev-')
    expect(output(always)).toContain('with imagePullPolicy: Always, but the image was imported into the cluster, not pushed to a registry: the pull will fail (ErrImagePull).')
    // ...and it does: the rollout fails on the pull, exit 8.
    expect(always.exitCode).toBe(8)
    expect(always.stderr).toMatch(/ErrImagePull|ImagePullBackOff/)

    await editConfig(env.dir, (config) => {
      config.app.set = {}
      config.build![0]!.repository = 'worker.image.repository'
    })
    const unused = await env.devctl(['up', '--timeout', '20s'])
    expect(output(unused)).toMatch(
      /! No workload in the chart runs demo-api:dev-[a-f0-9]{16}, the image devctl built: check where devctl.yaml's build\[0\] puts it \(tag: &imageTag, repository: worker\.image\.repository\)\./,
    )
  })

  it("pushes to the cluster's own registry when cluster.registry is enabled, and the pod pulls it from there", async () => {
    env = await startEnvironment()
    const registryPort = await freePort()
    await withApiImage(env, (config) => (k3dCluster(config).registry = {port: registryPort}))
    const result = await env.devctl(['up', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    const [image] = resultOf(result.stdout).images as Array<{ref: string; id: string; via: string}>
    expect(image!.via).toBe('registry')
    const tag = image!.ref.split(':')[1]
    expect(imports(env)).toHaveLength(0)
    expect(docker(env, 'push').map((c) => c.argv[1])).toEqual([`127.0.0.1:${registryPort}/demo-api:${tag}`])
    const head = await fetch(`http://127.0.0.1:${registryPort}/v2/demo-api/manifests/${tag}`, {method: 'HEAD'})
    expect(head.status).toBe(200)
    await expect
      .poll(() => apiPods(env!).map((pod) => runningImage(pod)), {timeout: 20_000})
      .toEqual([{image: `demo-registry:5000/demo-api:${tag}`, imageID: `demo-registry:5000/demo-api@${head.headers.get('docker-content-digest')}`}])

    // Again: the registry has it, nothing is pushed.
    expect((await env.devctl(['up'])).exitCode).toBe(0)
    expect(docker(env, 'push')).toHaveLength(1)
  })

  it('checks that the image landed: k3d saying it imported is not enough (k3d #1484), exit 13', async () => {
    env = await startEnvironment()
    await withApiImage(env)
    expect((await env.devctl(['up', '--quiet'])).exitCode).toBe(0)
    await env.sim.injectFault({type: 'image-import-fails', cluster: 'demo'})
    await writeFile(join(env.dir, 'api', 'src', 'server.txt'), 'version 2\n')
    const result = await env.devctl(['up'])
    expect(result.exitCode).toBe(13)
    expect(result.stderr).toMatch(/^Error: k3d said it imported demo-api:dev-[a-f0-9]{16} into cluster demo, but node k3d-demo-server-0 does not have it\.$/m)
    expect(result.stderr).toContain("  k3d: failed to import images in node 'k3d-demo-server-0'")
    expect(result.stderr).toContain("→ k3d logs a node's failed import and still succeeds (k3d #1484).")
    expect(upgrades(env)).toHaveLength(1)
  })

  it('pushes to the registry devctl.yaml names for an existing cluster', async () => {
    env = await startEnvironment()
    await env.sim.createCluster('team')
    env.sim.addRegistry(['registry.team.test', 'registry.team.test:443'])
    await withApiImage(env, (config) => (config.cluster = {provider: 'existing', context: 'k3d-team', registry: {host: 'registry.team.test/ann'}}))
    const result = await env.devctl(['up'], {env: {USER: 'ann'}})
    expect(result.exitCode, result.stderr).toBe(0)
    const pushed = docker(env, 'push').map((c) => c.argv[1])
    expect(pushed).toEqual([expect.stringMatching(/^registry\.team\.test\/ann\/demo-api:dev-[a-f0-9]{16}$/)])
    const pods = (env.sim.cluster('team')?.list('v1', 'Pod', 'demo-ann') ?? []).filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'api')
    expect(pods.map((pod) => runningImage(pod).image)).toContain(pushed[0])
  })
})
