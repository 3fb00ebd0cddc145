/**
 * devctl's exec and port-forward (client-node's Exec and PortForward under devctl's socket)
 * against the simulator: exit codes, input, output larger than memory should hold delivered
 * through a slow reader, a refusal explained with the Role rule that would allow it, a socket
 * closed without an exit status, and a port-forward whose pod goes away.
 */
import {createHash} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {createServer, connect, type AddressInfo, type Socket} from 'node:net'
import {join} from 'node:path'
import {PassThrough, Writable} from 'node:stream'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ClusterError, InterruptedError} from '../../src/errors.js'
import {ApiRefusedError} from '../../src/kube/api-failure.js'
import {KubeClient} from '../../src/kube/client.js'
import {tempDir} from '../helpers/cli.js'
import {serializeKubeconfig} from '../sim/host/kubeconfig.js'
import {eventually, startTestCluster, type TestCluster} from '../sim/apiserver/test-support.js'
import {createNamespaceUser, devctlNamespaceRules} from '../sim/namespace-user.js'

let cluster: TestCluster
let kube: KubeClient
let noExec: KubeClient
const never = new AbortController().signal

/** A writer that takes its time: what it is sent must wait in the socket, not in memory. */
function slowSink(): Writable & {bytes: number; hash: () => string} {
  const hash = createHash('sha256')
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      sink.bytes += chunk.length
      setTimeout(done, 1)
    },
  }) as Writable & {bytes: number; hash: () => string}
  sink.bytes = 0
  sink.hash = () => hash.digest('hex')
  return sink
}

function text(): Writable & {value: string} {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      sink.value += chunk.toString('utf8')
      done()
    },
  }) as Writable & {value: string}
  sink.value = ''
  return sink
}

async function readyPod(name: string, namespace = 'default'): Promise<void> {
  await cluster.kubectl(['run', name, '-n', namespace, '--image=alpine:3.20', '--port=8080', '--', 'sleep', 'infinity'])
  await eventually(() => (cluster.server.get('v1', 'Pod', namespace, name)?.status as {phase?: string} | undefined)?.phase === 'Running', {what: `pod ${name} running`})
}

beforeAll(async () => {
  cluster = await startTestCluster()
  kube = KubeClient.connect({kubeconfig: cluster.kubeconfigPath, context: 'sim'})
  const reader = await createNamespaceUser(cluster.server, undefined, {user: 'viewer', namespace: 'team', rules: devctlNamespaceRules.filter((rule) => !rule.resources?.includes('pods/exec'))})
  const kubeconfig = join(await tempDir(), 'config')
  await writeFile(kubeconfig, serializeKubeconfig({...reader.kubeconfig, 'current-context': reader.context}))
  noExec = KubeClient.connect({kubeconfig, context: reader.context})
  await readyPod('box')
  await readyPod('box', 'team')
}, 60_000)

afterAll(async () => {
  await cluster?.close()
})

describe('exec', () => {
  it('resolves with the exit code once the output is in, stdout and stderr apart, stdin ended', async () => {
    const stdout = text()
    const stderr = text()
    const stdin = new PassThrough()
    stdin.end('from devctl\n')
    const code = await kube.exec('default', 'box', 'box', ['sh', '-c', 'read line; echo "got: $line"; echo warning >&2; exit 4'], {stdin, stdout, stderr}, never)
    expect({code, stdout: stdout.value, stderr: stderr.value}).toEqual({code: 4, stdout: 'got: from devctl\n', stderr: 'warning\n'})
  })

  it('delivers 24 MiB intact to a slow reader (the socket waits; nothing is dropped)', async () => {
    const sink = slowSink()
    const code = await kube.exec('default', 'box', 'box', ['sh', '-c', 'head -c 25165824 /dev/zero | tr "\\0" x'], {stdout: sink}, never)
    expect(code).toBe(0)
    // Handed over in full; the slow writer is still working through its buffer.
    await new Promise((resolve) => sink.end(resolve))
    expect(sink.bytes).toBe(24 * 1024 * 1024)
    expect(sink.hash()).toBe(
      createHash('sha256')
        .update(Buffer.alloc(24 * 1024 * 1024, 'x'))
        .digest('hex'),
    )
  }, 60_000)

  it('sends input larger than the socket holds, paced, intact', async () => {
    const input = Buffer.alloc(12 * 1024 * 1024, 'y')
    const stdin = new PassThrough()
    const stdout = text()
    const running = kube.exec('default', 'box', 'box', ['sh', '-c', 'sha256sum | cut -d" " -f1'], {stdin, stdout}, never)
    stdin.end(input)
    expect(await running).toBe(0)
    expect(stdout.value.trim()).toBe(createHash('sha256').update(input).digest('hex'))
  }, 60_000)

  it('says what is missing: a program that is not there, a refusal with the rule that would allow it', async () => {
    const missing = await kube.exec('default', 'box', 'box', ['no-such-program'], {stdout: text()}, never).catch((error: unknown) => error)
    expect(missing).toBeInstanceOf(ClusterError)
    expect((missing as Error).message).toContain('executable file not found in $PATH')
    const refused = await noExec.exec('team', 'box', 'box', ['true'], {stdout: text()}, never).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ApiRefusedError)
    expect((refused as ApiRefusedError).message).toMatch(/user "viewer" may not (get|create) pods\/exec in namespace "team"/)
  })

  it('fails, rather than hangs, when the pod goes away under a running command; Ctrl-C stops one', async () => {
    await readyPod('doomed')
    const running = kube.exec('default', 'doomed', 'doomed', ['sleep', '600'], {stdout: text()}, never)
    await eventually(() => cluster.kubectl(['delete', 'pod', 'doomed', '--wait=false']).then((r) => r.code === 0))
    const error = await running.catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ClusterError)
    expect((error as Error).message).toContain('closed before `sleep` finished')

    const stop = new AbortController()
    const stopped = kube.exec('default', 'box', 'box', ['sleep', '600'], {stdout: text()}, stop.signal)
    setTimeout(() => stop.abort(), 200)
    await expect(stopped).rejects.toBeInstanceOf(InterruptedError)
  }, 60_000)
})

describe('port-forward', () => {
  async function forwardOnce(pod: string, port: number): Promise<{socket: Socket; done: Promise<void>}> {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    // Wrapped: a promise resolved with a promise would wait for the forward to end.
    const accepted = new Promise<{done: Promise<void>}>((resolve) => server.once('connection', (local) => resolve({done: kube.portForward('default', pod, port, local, never)})))
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
    const {done} = await accepted
    server.close()
    return {socket, done}
  }

  it('carries a connection both ways, and ends it when the pod goes away', async () => {
    await readyPod('web')
    const {socket, done} = await forwardOnce('web', 8080)
    let answer = ''
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')))
    socket.write('GET /hello HTTP/1.1\r\nHost: web\r\n\r\n')
    await eventually(() => answer.includes('"hostname":"web"'), {what: 'the answer through the forward'})
    const closed = new Promise((resolve) => socket.once('close', resolve))
    await cluster.kubectl(['delete', 'pod', 'web', '--wait=false'])
    await closed
    await done
  }, 60_000)

  it("rejects with the kubelet's message when nothing listens on the port in the pod", async () => {
    const {done} = await forwardOnce('box', 9999)
    await expect(done).rejects.toThrow(/Port 9999 of pod box: error forwarding port 9999 .*connection refused/)
  })
})
