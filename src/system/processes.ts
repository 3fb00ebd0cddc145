/**
 * Other processes on this machine: is one still alive, and is a helm still working on a release
 * (a devctl killed outright leaves its helm running: dropping the release's "pending" revision
 * under it would break what it is applying). Read from /proc on Linux, `ps` elsewhere.
 */
import {readdir, readFile} from 'node:fs/promises'
import {basename} from 'node:path'

import {runAllowingFailure} from '../tools/process.js'

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, it is another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

interface ProcessInfo {
  pid: number
  argv: string[]
}

async function fromProc(): Promise<ProcessInfo[]> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((entry) => /^\d+$/.test(entry))
  const found = await Promise.all(
    pids.map(async (pid) => {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
      return {pid: Number(pid), argv: cmdline.split('\0').filter(Boolean)}
    }),
  )
  return found.filter((p) => p.argv.length > 0)
}

async function fromPs(): Promise<ProcessInfo[]> {
  const result = await runAllowingFailure('ps', ['-Ao', 'pid=,args=']).catch(() => undefined)
  if (!result || result.exitCode !== 0) return []
  return result.stdout.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line)
    // Arguments with spaces are split wrongly here; release and namespace names have none.
    return match ? [{pid: Number(match[1]), argv: match[2]!.split(/\s+/)}] : []
  })
}

/** A helm changing `release` in `namespace` (install, upgrade, rollback, uninstall), if one runs here. */
export async function runningHelmFor(release: string, namespace: string): Promise<number | undefined> {
  const processes = process.platform === 'linux' ? await fromProc() : await fromPs()
  const changing = new Set(['install', 'upgrade', 'rollback', 'uninstall', 'delete', 'un', 'del'])
  const helm = processes.find(({pid, argv}) => {
    if (pid === process.pid || basename(argv[0] ?? '') !== 'helm') return false
    const args = argv.slice(1)
    const namespaceAt = args.findIndex((a) => a === '--namespace' || a === '-n')
    const inNamespace = namespaceAt >= 0 ? args[namespaceAt + 1] === namespace : args.includes(`--namespace=${namespace}`)
    return args.some((a) => changing.has(a)) && args.includes(release) && inNamespace
  })
  return helm?.pid
}
