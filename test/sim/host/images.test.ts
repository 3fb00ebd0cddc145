/**
 * The stand-ins' images: `docker build` (BuildKit's output, caching, .dockerignore, its errors),
 * the content-addressed store, `k3d image import` into the nodes' containerd (and its silent
 * failure), a k3d cluster's registry with `docker push`, and the kubelet running what the nodes
 * have — or failing to pull what only this machine has.
 */
import {mkdir, mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type Simulator, startSimulator} from '../index.js'
import {kubectl, plain, run} from './testing.js'

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sim-build-'))
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), {recursive: true})
    await writeFile(join(dir, path), text)
  }
  return dir
}

interface PodStatus {
  containerStatuses?: Array<{imageID: string; ready: boolean; state: {waiting?: {reason: string; message?: string}}}>
}

describe('docker build, images, k3d image import and registries in the simulator', () => {
  let sim: Simulator
  let dir: string
  beforeAll(async () => {
    sim = await startSimulator({helmVersion: 3})
    dir = await project({
      Dockerfile: 'FROM scratch\nARG VERSION=1\nENV VERSION=$VERSION\nWORKDIR /app\nCOPY app.txt .\nCMD ["/app/run"]\n',
      'app.txt': 'v1\n',
      'notes.md': 'not in the image\n',
      '.dockerignore': '*.md\n',
    })
  })
  afterAll(async () => sim.stop())

  it("builds with BuildKit's plain progress, tags the image, writes --iidfile, and caches unchanged steps", async () => {
    const first = await run(sim, 'docker', ['build', '--progress=plain', '-t', 'api:dev-1', '--iidfile', join(dir, 'iid'), dir])
    expect(first.exitCode, first.stderr).toBe(0)
    expect(first.stdout).toBe('')
    expect(first.stderr).toMatch(
      /^#0 building with "default" instance using docker driver\n\n#1 \[internal\] load build definition from Dockerfile\n#1 transferring dockerfile: \d+B done\n#1 DONE 0\.0s\n/,
    )
    expect(first.stderr).toContain('#3 [1/2] WORKDIR /app\n#3 DONE')
    expect(first.stderr).toMatch(/#5 \[2\/2\] COPY app\.txt \.\n#5 DONE \d\.\ds\n/)
    expect(first.stderr).toMatch(/#6 writing image sha256:[a-f0-9]{64} done\n#6 naming to docker\.io\/library\/api:dev-1 done\n/)
    const id = await readFile(join(dir, 'iid'), 'utf8')
    expect((await run(sim, 'docker', ['image', 'inspect', '--format', '{{.Id}}', 'api:dev-1'])).stdout).toBe(`${id}\n`)

    // The same inputs: every step cached, the same image.
    const again = await run(sim, 'docker', ['build', '--progress=plain', '-t', 'api:dev-2', dir])
    expect(again.stderr).toContain('[2/2] COPY app.txt .\n#5 CACHED')
    expect((await run(sim, 'docker', ['image', 'inspect', '--format', '{{.Id}}', 'api:dev-2'])).stdout).toBe(`${id}\n`)

    // A file .dockerignore leaves out changes nothing; one in the context changes the image.
    await writeFile(join(dir, 'notes.md'), 'edited\n')
    await run(sim, 'docker', ['build', '-t', 'api:dev-3', dir])
    expect((await run(sim, 'docker', ['image', 'inspect', '--format', '{{.Id}}', 'api:dev-3'])).stdout).toBe(`${id}\n`)
    await writeFile(join(dir, 'app.txt'), 'v2\n')
    await run(sim, 'docker', ['build', '-t', 'api:dev-4', dir])
    expect((await run(sim, 'docker', ['image', 'inspect', '--format', '{{.Id}}', 'api:dev-4'])).stdout).not.toBe(`${id}\n`)
    const args = await run(sim, 'docker', ['build', '-t', 'api:dev-5', '--build-arg', 'VERSION=2', dir])
    expect(args.exitCode).toBe(0)
    const inspected = JSON.parse((await run(sim, 'docker', ['image', 'inspect', 'api:dev-5'])).stdout) as Array<{Config: {Env: string[]; WorkingDir: string; Cmd: string[]}; RepoTags: string[]}>
    expect(inspected[0]).toMatchObject({RepoTags: ['api:dev-5'], Config: {WorkingDir: '/app', Cmd: ['/app/run']}})
    expect(inspected[0]!.Config.Env).toContain('VERSION=2')

    const missing = await run(sim, 'docker', ['image', 'inspect', '--format', '{{.Id}}', 'api:nope'])
    expect(missing).toMatchObject({exitCode: 1, stderr: 'Error response from daemon: No such image: api:nope\n'})
  })

  it('fails like BuildKit: a COPY source not in the context, a line that does not parse, a failing RUN, a base image offline', async () => {
    const broken = await project({Dockerfile: 'FROM scratch\nCOPY app.txt /\nCOPY missing.txt /m\n', 'app.txt': 'a', '.dockerignore': 'missing.txt\n', 'missing.txt': 'left out'})
    const copy = await run(sim, 'docker', ['build', '--progress=plain', '-t', 'broken:1', broken])
    expect(copy.exitCode).toBe(1)
    expect(copy.stderr).toMatch(/#\d+ \[2\/2\] COPY missing\.txt \/m\n#\d+ ERROR: failed to calculate checksum of ref \w+::\w+: "\/missing\.txt": not found\n/)
    expect(copy.stderr).toContain(
      '------\n > [2/2] COPY missing.txt /m:\n------\nDockerfile:3\n--------------------\n   1 |     FROM scratch\n   2 |     COPY app.txt /\n   3 | >>> COPY missing.txt /m\n   4 |\n--------------------\n',
    )
    expect(copy.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^ERROR: failed to build: failed to solve: failed to compute cache key: failed to calculate checksum of ref \w+::\w+: "\/missing\.txt": not found$/,
    )

    await writeFile(join(broken, 'Dockerfile'), 'FROM scratch\nCOPPY app.txt /\n')
    const parse = await run(sim, 'docker', ['build', broken])
    expect(parse.exitCode).toBe(1)
    expect(parse.stderr).toContain('Dockerfile:2\n--------------------\n   1 |     FROM scratch\n   2 | >>> COPPY app.txt /\n')
    expect(parse.stderr.trimEnd().split('\n').at(-1)).toBe('ERROR: failed to build: failed to solve: dockerfile parse error on line 2: unknown instruction: COPPY')

    await writeFile(join(broken, 'Dockerfile'), 'FROM alpine:3.20\nRUN echo testing\nRUN exit 3\n')
    const failing = await run(sim, 'docker', ['build', broken])
    expect(failing.stderr).toMatch(/#\d+ \[2\/3\] RUN echo testing\n#\d+ \d\.\d{3} testing\n#\d+ DONE/)
    expect(failing.stderr.trimEnd().split('\n').at(-1)).toBe('ERROR: failed to build: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3')

    await sim.injectFault({type: 'offline'})
    try {
      await writeFile(join(broken, 'Dockerfile'), 'FROM node:22-alpine\nCOPY app.txt /\n')
      const offline = await run(sim, 'docker', ['build', broken])
      expect(offline.exitCode).toBe(1)
      expect(offline.stderr).toContain(
        '#2 [internal] load metadata for docker.io/library/node:22-alpine\n#2 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/library/node/manifests/22-alpine": dial tcp: lookup registry-1.docker.io: no such host',
      )
      // A base image resolved before is cached: offline builds with it still work.
      await writeFile(join(broken, 'Dockerfile'), 'FROM alpine:3.20\nCOPY app.txt /\n')
      expect((await run(sim, 'docker', ['build', broken])).exitCode).toBe(0)
    } finally {
      await sim.injectFault({type: 'online'})
    }
  })

  it("imports images into every node's containerd, listed by ctr and in the Node status, and a pod runs it without pulling", async () => {
    expect((await run(sim, 'k3d', ['cluster', 'create', 'img', '--agents', '1'])).exitCode).toBe(0)
    const id = (await run(sim, 'docker', ['image', 'inspect', '--format', '{{.Id}}', 'api:dev-1'])).stdout.trim()
    const imported = await run(sim, 'k3d', ['image', 'import', 'api:dev-1', '--cluster', 'img'])
    expect(imported.exitCode).toBe(0)
    expect(plain(imported.stdout)).toContain("Importing images from tarball '/k3d/images/k3d-img-images-")
    for (const node of ['k3d-img-server-0', 'k3d-img-agent-0']) {
      const listed = await run(sim, 'docker', ['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])
      expect(listed.stdout.split('\n')).toContain('docker.io/library/api:dev-1')
      const object = sim.cluster('img')!.get('v1', 'Node', undefined, node) as unknown as {status: {images: Array<{names: string[]}>}}
      expect(object.status.images.flatMap((i) => i.names)).toContain('docker.io/library/api:dev-1')
    }
    expect((await run(sim, 'docker', ['exec', 'k3d-img-serverlb', 'ctr', 'images', 'ls'])).exitCode).toBe(127)

    expect((await run(sim, kubectl, ['--context', 'k3d-img', 'run', 'local', '--image', 'api:dev-1', '--image-pull-policy', 'IfNotPresent'])).exitCode).toBe(0)
    expect((await run(sim, kubectl, ['--context', 'k3d-img', 'wait', '--for=condition=Ready', 'pod/local', '--timeout=30s'])).exitCode).toBe(0)
    const running = sim.cluster('img')!.get('v1', 'Pod', 'default', 'local') as unknown as {status: PodStatus}
    expect(running.status.containerStatuses?.[0]?.imageID).toBe(id)

    // What this machine built but never imported or pushed is in no registry.
    expect((await run(sim, kubectl, ['--context', 'k3d-img', 'run', 'unimported', '--image', 'api:dev-4'])).exitCode).toBe(0)
    await expect
      .poll(() => (sim.cluster('img')!.get('v1', 'Pod', 'default', 'unimported') as unknown as {status: PodStatus}).status.containerStatuses?.[0]?.state.waiting?.reason, {timeout: 20_000})
      .toMatch(/ErrImagePull|ImagePullBackOff/)
    const failed = sim.cluster('img')!.get('v1', 'Pod', 'default', 'unimported') as unknown as {status: PodStatus}
    expect(failed.status.containerStatuses?.[0]?.state.waiting?.message).toContain('pull access denied, repository does not exist or may require authorization')
  })

  it('says it imported when the nodes failed to (k3d #1484), and fails when docker has no such image', async () => {
    await sim.injectFault({type: 'image-import-fails', cluster: 'img'})
    const silent = await run(sim, 'k3d', ['image', 'import', 'api:dev-3', '--cluster', 'img', '--mode', 'direct'])
    expect(silent.exitCode).toBe(0)
    expect(plain(silent.stderr)).toContain("ERRO[0000] failed to import images in node 'k3d-img-server-0'")
    expect(plain(silent.stdout)).toContain('Successfully imported 1 image(s) into 1 cluster(s)')
    const listed = await run(sim, 'docker', ['exec', 'k3d-img-server-0', 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])
    expect(listed.stdout.split('\n')).not.toContain('docker.io/library/api:dev-3')

    const none = await run(sim, 'k3d', ['image', 'import', 'nosuch:1', '--cluster', 'img'])
    expect(none.exitCode).toBe(1)
    expect(plain(none.stderr)).toContain("WARN[0000] Image 'nosuch:1' is not a file and couldn't be found in the container runtime")
    expect(plain(none.stderr)).toContain("ERRO[0000] Failed to import image(s) into cluster 'img': no valid images specified")
  })

  it("creates a cluster's registry (KEP-1755 ConfigMap, its HTTP API), takes a push, and the nodes pull from it", async () => {
    const config = join(dir, 'k3d.yaml')
    await writeFile(config, 'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata: {name: reg}\nregistries:\n  create: {name: reg-registry, host: 127.0.0.1, hostPort: "0"}\n')
    expect((await run(sim, 'k3d', ['cluster', 'create', '--config', config])).exitCode).toBe(0)
    const hosting = sim.cluster('reg')!.get('v1', 'ConfigMap', 'kube-public', 'local-registry-hosting') as unknown as {data: Record<string, string>}
    const host = /^host: (\S+)$/m.exec(hosting.data['localRegistryHosting.v1']!)![1]!
    expect(hosting.data['localRegistryHosting.v1']).toContain('hostFromContainerRuntime: reg-registry:5000\n')
    expect(host).toMatch(/^127\.0\.0\.1:\d+$/)

    const unpushed = await fetch(`http://${host}/v2/api/manifests/dev-1`, {method: 'HEAD'})
    expect(unpushed.status).toBe(404)
    expect((await run(sim, 'docker', ['tag', 'api:dev-1', `${host}/api:dev-1`])).exitCode).toBe(0)
    const pushed = await run(sim, 'docker', ['push', `${host}/api:dev-1`])
    expect(pushed.exitCode, pushed.stderr).toBe(0)
    expect(pushed.stdout).toMatch(new RegExp(`^The push refers to repository \\[${host.replace(/\./g, '\\.')}/api\\]\\n`))
    expect(pushed.stdout).toMatch(/dev-1: digest: sha256:[a-f0-9]{64} size: \d+\n$/)
    const head = await fetch(`http://${host}/v2/api/manifests/dev-1`, {method: 'HEAD'})
    expect(head.status).toBe(200)
    expect(head.headers.get('docker-content-digest')).toMatch(/^sha256:/)

    expect((await run(sim, kubectl, ['--context', 'k3d-reg', 'run', 'pulled', '--image', 'reg-registry:5000/api:dev-1'])).exitCode).toBe(0)
    expect((await run(sim, kubectl, ['--context', 'k3d-reg', 'wait', '--for=condition=Ready', 'pod/pulled', '--timeout=30s'])).exitCode).toBe(0)
    const pod = sim.cluster('reg')!.get('v1', 'Pod', 'default', 'pulled') as unknown as {status: PodStatus}
    expect(pod.status.containerStatuses?.[0]?.imageID).toBe(`reg-registry:5000/api@${head.headers.get('docker-content-digest')}`)

    const refused = await run(sim, 'docker', ['push', 'localhost:1/api:dev-1'])
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toBe('An image does not exist locally with the tag: localhost:1/api\n')
    await run(sim, 'docker', ['tag', 'api:dev-1', 'localhost:1/api:dev-1'])
    expect((await run(sim, 'docker', ['push', 'localhost:1/api:dev-1'])).stderr).toBe('Get "http://localhost:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused\n')
  })
})
