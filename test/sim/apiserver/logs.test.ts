import {spawn} from 'node:child_process'
import {PassThrough} from 'node:stream'

import {Log} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KubeObject} from './index.js'
import {eventually, kubectlPath, startTestCluster, type TestCluster} from './test-support.js'

let cluster: TestCluster

const scenario = {
  rules: [
    // 40 lines, one per simulated second (10ms here), then the container exits 0.
    {match: {namespace: 'follow'}, behavior: 'complete', runFor: '45s', logs: {replaceDefaults: true, generate: {lines: 40, rate: 1, text: 'step {i}'}, exitLines: ['done']}},
    {match: {namespace: 'bench'}, behavior: 'run', logs: {replaceDefaults: true, generate: {lines: 50000, rate: 0, text: 'bench line {i} lorem ipsum dolor sit amet'}}},
    {match: {namespace: 'resume'}, behavior: 'complete', runFor: '200s', logs: {replaceDefaults: true, generate: {lines: 150, rate: 1, text: 'event {i}'}}},
  ],
}

beforeAll(async () => {
  cluster = await startTestCluster({scenario})
})

afterAll(async () => {
  await cluster.close()
})

async function run(namespace: string, manifest: string): Promise<KubeObject> {
  await cluster.kubectl(['create', 'namespace', namespace])
  const result = await cluster.kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], {input: manifest})
  expect(result.stderr).toBe('')
  return eventually(
    () => {
      const pod = cluster.server.list('v1', 'Pod', namespace)[0]
      const running = (pod?.status as {containerStatuses?: Array<{state: {running?: object}}>} | undefined)?.containerStatuses?.[0]?.state.running
      return running ? pod : undefined
    },
    {what: `a running pod in ${namespace}`},
  )
}

const pod = (name: string, image: string, labels = ''): string =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}${labels ? `, labels: {${labels}}` : ''}}\nspec: {restartPolicy: Never, containers: [{name: main, image: "${image}"}]}\n`

describe('kubectl logs', () => {
  it('shows what the image prints: postgres ends its startup with "ready to accept connections"', async () => {
    await run('postgres', pod('db', 'postgres:16.4').replace('restartPolicy: Never, ', ''))
    const logs = await eventually(async () => {
      const result = await cluster.kubectl(['logs', 'db', '-n', 'postgres'])
      return result.stdout.includes('ready to accept connections') ? result.stdout : undefined
    })
    const lines = logs.trim().split('\n')
    expect(lines[0]).toBe('The files belonging to this database system will be owned by user "postgres".')
    expect(lines).toContain('PostgreSQL init process complete; ready for start up.')
    expect(lines.at(-1)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[1\] LOG: {2}database system is ready to accept connections$/)
  })

  it('follows a container until it exits (-f), printing every line once, in order', async () => {
    const started = await run('follow', pod('task', 'busybox:1.36'))
    const child = spawn(kubectlPath(), [`--kubeconfig=${cluster.kubeconfigPath}`, 'logs', '-f', started.metadata.name, '-n', 'follow'])
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code).toBe(0)
    expect(output).toBe([...Array.from({length: 40}, (_, i) => `step ${i + 1}`), 'done', ''].join('\n'))
  })

  it('honours --tail, --timestamps, --since-time and limitBytes', async () => {
    const tail = await cluster.kubectl(['logs', 'task', '-n', 'follow', '--tail=2'])
    expect(tail.stdout).toBe('step 40\ndone\n')
    const stamped = await cluster.kubectl(['logs', 'task', '-n', 'follow', '--timestamps', '--tail=3'])
    const lines = stamped.stdout.trim().split('\n')
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (step \d+|done)$/)
    const future = await cluster.kubectl(['logs', 'task', '-n', 'follow', '--since-time=2999-01-01T00:00:00Z'])
    expect(future.stdout).toBe('')
    // kubectl sends whole seconds; the API takes the fraction too, as the kubelet compares nanoseconds.
    const since = lines[1]?.split(' ')[0] ?? ''
    const after = await fetch(`${cluster.server.url}/api/v1/namespaces/follow/pods/task/log?sinceTime=${encodeURIComponent(since)}`)
    expect(await after.text()).toBe('step 40\ndone\n')
    const limited = await fetch(`${cluster.server.url}/api/v1/namespaces/follow/pods/task/log?limitBytes=10`)
    expect(await limited.text()).toBe('step 1\nste')
  })

  it('explains a wrong container and a missing previous instance like the apiserver', async () => {
    const wrong = await fetch(`${cluster.server.url}/api/v1/namespaces/follow/pods/task/log?container=nope`)
    expect(wrong.status).toBe(400)
    expect(await wrong.json()).toMatchObject({kind: 'Status', reason: 'BadRequest', message: 'container nope is not valid for pod task'})
    const previous = await cluster.kubectl(['logs', 'task', '-n', 'follow', '--previous'])
    expect(previous.stderr).toContain('Error from server (BadRequest): previous terminated container "main" in pod "task" not found')
  })
})

describe('following through the API', () => {
  it('streams 2 × 50,000 lines concurrently to client-node followers without loss', async () => {
    await run('bench', `${pod('a', 'busybox:1.36', 'bench: logs').replace('restartPolicy: Never, ', '')}---\n${pod('b', 'busybox:1.36', 'bench: logs').replace('restartPolicy: Never, ', '')}`)
    await eventually(() => cluster.server.list('v1', 'Pod', 'bench').length === 2 && cluster.server.list('v1', 'Pod', 'bench').every((p) => (p.status as {phase?: string}).phase === 'Running'))
    const follow = async (name: string): Promise<string[]> => {
      const stream = new PassThrough()
      let buffered = ''
      const lines: string[] = []
      const done = new Promise<void>((resolve) => {
        stream.on('data', (chunk: Buffer) => {
          buffered += chunk.toString()
          const parts = buffered.split('\n')
          buffered = parts.pop() ?? ''
          lines.push(...parts)
          if (lines.length >= 50_000) resolve()
        })
      })
      const request = await new Log(cluster.kubeConfig).log('bench', name, 'main', stream, {follow: true})
      await done
      request.abort()
      return lines
    }
    const [a, b] = await Promise.all([follow('a'), follow('b')])
    for (const lines of [a, b]) {
      expect(lines).toHaveLength(50_000)
      expect(lines[0]).toBe('bench line 1 lorem ipsum dolor sit amet')
      expect(lines[49_999]).toBe('bench line 50000 lorem ipsum dolor sit amet')
      expect(lines.every((line, index) => line === `bench line ${index + 1} lorem ipsum dolor sit amet`)).toBe(true)
    }
  })

  it('lets a follower whose stream was dropped resume with sinceTime and lose nothing', async () => {
    await run('resume', pod('feed', 'busybox:1.36'))
    const seen = new Set<string>()
    let lastStamp = ''
    let dropped = false
    const follow = async (sinceTime?: string): Promise<'ended' | 'dropped'> => {
      const query = `follow=true&timestamps=true${sinceTime ? `&sinceTime=${encodeURIComponent(sinceTime)}` : ''}`
      const response = await fetch(`${cluster.server.url}/api/v1/namespaces/resume/pods/feed/log?${query}`)
      let buffered = ''
      try {
        for await (const chunk of response.body ?? []) {
          buffered += Buffer.from(chunk as Uint8Array).toString()
          const parts = buffered.split('\n')
          buffered = parts.pop() ?? ''
          for (const line of parts) {
            const space = line.indexOf(' ')
            lastStamp = line.slice(0, space)
            seen.add(line.slice(space + 1))
          }
          if (seen.size >= 30 && !sinceTime && !dropped) {
            dropped = true
            cluster.server.dropLogStreams()
          }
        }
        return 'ended'
      } catch {
        return 'dropped'
      }
    }
    expect(await follow()).toBe('dropped')
    expect(seen.size).toBeLessThan(150)
    expect(await follow(lastStamp)).toBe('ended')
    expect([...seen].sort((x, y) => Number(x.split(' ')[1]) - Number(y.split(' ')[1]))).toEqual(Array.from({length: 150}, (_, i) => `event ${i + 1}`))
  })
})
