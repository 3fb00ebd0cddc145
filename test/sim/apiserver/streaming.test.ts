/**
 * exec and port-forward over WebSocket, proven with the clients that use them: the real kubectl
 * 1.32 and 1.34 (exec over v5.channel.k8s.io, their first choice) and @kubernetes/client-node's
 * Exec and PortForward (what devctl uses). Pods backed by REAL PostgreSQL and Redis servers are
 * tested where those are installed (skipped, saying so, where they are not).
 */
import {createServer, type AddressInfo, type Socket} from 'node:net'
import {PassThrough, Writable} from 'node:stream'

import {CoreV1Api, Exec, PortForward, type V1Status} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {realServersAvailable} from './backends.js'
import {eventually, startTestCluster, type TestCluster} from './test-support.js'

const servers = realServersAvailable()
let cluster: TestCluster

function collector(): Writable & {text: () => string} {
  const chunks: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk)
      done()
    },
  }) as Writable & {text: () => string}
  stream.text = () => Buffer.concat(chunks).toString('utf8')
  return stream
}

async function runningPod(name: string, spec: object, labels: Record<string, string> = {}): Promise<void> {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
  await core.createNamespacedPod({namespace: 'default', body: {metadata: {name, labels: {app: name, ...labels}}, spec: spec as never}})
  const ready = () =>
    (cluster.server.get('v1', 'Pod', 'default', name)?.status as {conditions?: Array<{type: string; status: string}>} | undefined)?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
  await eventually(ready, {what: `pod ${name} ready`, timeoutMs: 30_000})
}

/** client-node's Exec, as devctl calls it: the exit status comes on channel 3. */
async function clientExec(pod: string, command: string[], input?: string): Promise<{status: V1Status; stdout: string; stderr: string}> {
  const stdout = collector()
  const stderr = collector()
  const stdin = input === undefined ? null : new PassThrough()
  const status = await new Promise<V1Status>((resolve, reject) => {
    new Exec(cluster.kubeConfig).exec('default', pod, 'main', command, stdout, stderr, stdin, false, resolve).then(() => stdin?.end(input), reject)
  })
  return {status, stdout: stdout.text(), stderr: stderr.text()}
}

beforeAll(async () => {
  cluster = await startTestCluster({
    scenario: {
      rules: [
        {match: {labels: {backend: 'postgres'}}, backend: 'postgres'},
        {match: {labels: {backend: 'redis'}}, backend: 'redis'},
      ],
    },
  })
  await cluster.kubectl(['create', 'secret', 'generic', 'db', '--from-literal=POSTGRES_USER=app', '--from-literal=POSTGRES_PASSWORD=s3cret-password', '--from-literal=POSTGRES_DB=shop'])
  await runningPod('shell', {containers: [{name: 'main', image: 'alpine:3.20', env: [{name: 'GREETING', value: 'hello from the pod'}], ports: [{containerPort: 8080}]}]})
}, 60_000)

afterAll(async () => {
  await cluster?.close()
})

describe.each(['v32', 'v34'] as const)('kubectl %s exec over WebSocket (v5.channel.k8s.io)', (version) => {
  it("runs a command with the container's environment: stdout, stderr and the exit code come back apart", async () => {
    const result = await cluster.kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo "$GREETING"; echo oops >&2; exit 3'], {version})
    expect(result.stdout).toBe('hello from the pod\n')
    expect(result.stderr).toContain('oops\n')
    expect(result.stderr).toContain('command terminated with exit code 3')
    expect(result.code).toBe(3)
  })

  it('passes stdin through (-i) and ends it, so cat ends', async () => {
    const result = await cluster.kubectl(['exec', '-i', 'shell', '--', 'sh', '-c', 'cat; echo done'], {version, input: 'line one\nline two\n'})
    expect(result).toMatchObject({code: 0, stdout: 'line one\nline two\ndone\n'})
  })

  it('says what is wrong with a command that does not exist, a container that does not and a pod that does not', async () => {
    const missingCommand = await cluster.kubectl(['exec', 'shell', '--', 'no-such-program'], {version})
    expect(missingCommand.code).not.toBe(0)
    expect(missingCommand.stderr).toContain('executable file not found in $PATH')
    const missingContainer = await cluster.kubectl(['exec', 'shell', '-c', 'nope', '--', 'true'], {version})
    expect(missingContainer.stderr).toContain('Error from server (BadRequest): container nope is not valid for pod shell')
    const missingPod = await cluster.kubectl(['exec', 'nope', '--', 'true'], {version})
    expect(missingPod.stderr).toContain('pods "nope" not found')
  })
})

describe('client-node over WebSocket', () => {
  it('Exec negotiates v5.channel.k8s.io and gets the exit status on channel 3', async () => {
    const ok = await clientExec('shell', ['sh', '-c', 'read line; echo "got $line"'], 'it\n')
    expect(ok).toMatchObject({status: {status: 'Success'}, stdout: 'got it\n'})
    const failed = await clientExec('shell', ['sh', '-c', 'echo bad >&2; exit 7'])
    expect(failed.stderr).toBe('bad\n')
    expect(failed.status).toMatchObject({status: 'Failure', reason: 'NonZeroExitCode', details: {causes: [{reason: 'ExitCode', message: '7'}]}})
  })

  it('PortForward reaches a declared container port (the pod network answers HTTP with the pod name) and refuses one nobody listens on', async () => {
    const forward = new PortForward(cluster.kubeConfig)
    const answer = collector()
    const errors = collector()
    const request = new PassThrough()
    const ws = await forward.portForward('default', 'shell', [8080], answer, errors, request)
    request.write('GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    const body = await eventually(() => /\r\n\r\n(.+)$/s.exec(answer.text())?.[1], {what: 'the HTTP answer'})
    expect(JSON.parse(body)).toMatchObject({hostname: 'shell', port: 8080, path: '/ping'})
    ;(ws as {close(): void}).close()

    const refused = collector()
    await forward.portForward('default', 'shell', [9999], collector(), refused, new PassThrough())
    await eventually(() => refused.text().includes('connect: connection refused'), {what: 'the error channel'})
    expect(refused.text()).toContain('error forwarding port 9999 to pod')
  })
})

describe.skipIf(!servers.available)(`pods backed by real servers${servers.available ? '' : ` (skipped: needs ${servers.missing.join(' and ')})`}`, () => {
  beforeAll(async () => {
    // Ready once the server accepts connections, as its readiness probe would say.
    const probe = {exec: {command: ['true']}}
    await runningPod(
      'pg',
      {containers: [{name: 'main', image: 'postgres:16.6-alpine', ports: [{containerPort: 5432}], envFrom: [{secretRef: {name: 'db'}}], readinessProbe: probe}]},
      {backend: 'postgres'},
    )
    await runningPod(
      'cache',
      {
        containers: [
          {
            name: 'main',
            image: 'redis:7.4.2-alpine',
            args: ['--requirepass', '$(REDIS_PASSWORD)'],
            env: [
              {name: 'REDIS_PASSWORD', value: 'redis-password-1'},
              {name: 'REDISCLI_AUTH', value: 'redis-password-1'},
            ],
            ports: [{containerPort: 6379}],
            readinessProbe: probe,
          },
        ],
      },
      {backend: 'redis'},
    )
  }, 90_000)

  it('psql in the Postgres pod reaches its own server, initialised from POSTGRES_USER/PASSWORD/DB', async () => {
    const result = await cluster.kubectl(['exec', 'pg', '--', 'sh', '-c', 'psql -X -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "select current_user, current_database()"'])
    expect(result).toMatchObject({code: 0, stdout: 'app|shop\n'})
  })

  it('redis-cli in the Redis pod reaches its own server with the password the container was started with', async () => {
    const result = await clientExec('cache', ['sh', '-c', 'redis-cli set greeting hi >/dev/null && redis-cli get greeting'])
    expect(result).toMatchObject({status: {status: 'Success'}, stdout: 'hi\n'})
  })

  it('port-forward to the Postgres pod is a real Postgres connection (password auth over TCP)', async () => {
    const forward = new PortForward(cluster.kubeConfig)
    const listener = createServer((socket: Socket) => {
      void forward.portForward('default', 'pg', [5432], socket, null, socket)
    })
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    const port = (listener.address() as AddressInfo).port
    const {execFile} = await import('node:child_process')
    const psql = await new Promise<{stdout: string; stderr: string}>((resolve) => {
      execFile(
        'psql',
        ['-X', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', 'shop', '-c', 'select 40 + 2'],
        {env: {...process.env, PGPASSWORD: 's3cret-password'}},
        (_error, stdout, stderr) => resolve({stdout, stderr}),
      )
    })
    listener.close()
    expect(psql).toMatchObject({stdout: '42\n'})
  })
})
