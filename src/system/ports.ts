/**
 * Host ports: is one free, who holds it, and which nearby one is free instead. Checked by
 * really binding (the only test that cannot lie), then named from /proc on Linux or lsof
 * elsewhere.
 */
import {readdir, readFile, readlink} from 'node:fs/promises'
import {createServer} from 'node:net'

import {runAllowingFailure} from '../tools/process.js'

export function isPortFree(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({port, host, exclusive: true}, () => server.close(() => resolve(true)))
  })
}

/** The first free port after `port` (up to 100 further), for "use 8081 instead". */
export async function nextFreePort(port: number, taken: ReadonlySet<number> = new Set()): Promise<number | undefined> {
  for (let candidate = port + 1; candidate <= Math.min(port + 100, 65535); candidate++) {
    if (!taken.has(candidate) && (await isPortFree(candidate))) return candidate
  }
  return undefined
}

/** `preferred` if it is free and not `taken`, else the next port that is (`preferred` when none is). */
export async function freeLocalPort(preferred: number, taken: ReadonlySet<number>): Promise<number> {
  if (!taken.has(preferred) && (await isPortFree(preferred))) return preferred
  return (await nextFreePort(preferred, taken)) ?? preferred
}

/** "node (pid 4242)" or undefined when it cannot be told (another user's process, no lsof). */
export async function portHolder(port: number): Promise<string | undefined> {
  return process.platform === 'linux' ? fromProc(port) : fromLsof(port)
}

async function fromProc(port: number): Promise<string | undefined> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A' && fields[9]) inodes.add(fields[9])
    }
  }
  if (inodes.size === 0) return undefined
  for (const pid of (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
      if (inode && inodes.has(inode)) {
        const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim()
        return `${name} (pid ${pid})`
      }
    }
  }
  return undefined
}

async function fromLsof(port: number): Promise<string | undefined> {
  const result = await runAllowingFailure('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc']).catch(() => undefined)
  if (!result || result.exitCode !== 0) return undefined
  const pid = /^p(\d+)$/m.exec(result.stdout)?.[1]
  const name = /^c(.+)$/m.exec(result.stdout)?.[1]
  return pid ? `${name ?? '?'} (pid ${pid})` : undefined
}
