/**
 * A command line as people see it — --debug echoes of what devctl runs, the command a hint says
 * to run again: quoted for a POSIX shell, values under secret-looking --set keys and registered
 * secrets masked. Apart from process.ts so showing a command never loads execa.
 */
import {maskSecretSetValues} from '../chart/set-syntax.js'
import {redact} from '../secrets/redact.js'

/** Flags whose value is `KEY=VALUE` pairs (helm's, and devctl's own --set): a value under a secret-looking key is masked when shown. */
const SET_FLAGS = new Set(['--set', '--set-string', '--set-literal', '--set-json'])

/** `shown` (the argument as displayed) quoted when the argument itself needs it; a mask needs none. */
function quoted(arg: string, shown: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? shown : `'${shown.replaceAll("'", `'\\''`)}'`
}

/** One argument as shown: `--set k=v` and `--set=k=v` alike have their secret values masked. */
function shown(arg: string, previous: string | undefined): string {
  if (SET_FLAGS.has(previous ?? '')) return maskSecretSetValues(arg)
  const [flag = '', ...value] = arg.split('=')
  return value.length > 0 && SET_FLAGS.has(flag) ? `${flag}=${maskSecretSetValues(value.join('='))}` : arg
}

export function formatCommand(file: string, args: readonly string[]): string {
  return redact([file, ...args.map((arg, i) => quoted(arg, shown(arg, args[i - 1])))].join(' '))
}
