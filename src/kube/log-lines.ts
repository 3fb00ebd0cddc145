/**
 * Container logs as lines: a Writable that splits the byte stream into lines (a line split
 * across chunks is joined; a final line without newline is flushed at the end).
 */
import {Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {StringDecoder} from 'node:string_decoder'

import type {KubeClient} from './client.js'

export function lineSink(onLine: (line: string) => void): Writable {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  const push = (text: string) => {
    const parts = (partial + text).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) onLine(line.endsWith('\r') ? line.slice(0, -1) : line)
  }
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      push(decoder.write(chunk))
      callback()
    },
    final(callback) {
      push(decoder.end())
      if (partial) onLine(partial)
      partial = ''
      callback()
    },
  })
}

/** Follow one container's log until it ends or `signal` aborts; errors end it quietly. */
export async function followContainer(kube: KubeClient, namespace: string, pod: string, container: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
  try {
    const answer = await kube.openLog(namespace, pod, {container, follow: true}, signal)
    if (answer.ok) await pipeline(answer.body, lineSink(onLine), {signal})
  } catch {
    // a dropped connection or Ctrl-C: what was shown stays shown
  }
}
