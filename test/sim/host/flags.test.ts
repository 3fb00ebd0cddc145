import {describe, expect, it} from 'vitest'

import {commandWords, FlagError, type FlagSpec, parseFlags, parseGoDuration} from './flags.js'

const specs: FlagSpec[] = [
  {name: 'namespace', short: 'n', kind: 'string'},
  {name: 'install', short: 'i', kind: 'bool'},
  {name: 'values', short: 'f', kind: 'stringArray'},
  {name: 'timeout', kind: 'duration', default: '5m0s'},
  {name: 'labels', short: 'l', kind: 'stringToString'},
  {name: 'wait', kind: 'bool'},
  {name: 'atomic', kind: 'bool', deprecated: 'use --rollback-on-failure instead'},
  {name: 'dry-run', kind: 'string', noOptDefault: 'client'},
]

function parseError(argv: string[]): string {
  try {
    parseFlags(argv, specs)
  } catch (error) {
    if (error instanceof FlagError) return error.message
  }
  return 'no error'
}

describe('parseFlags', () => {
  it('reads long, short, attached and repeated forms, with positionals anywhere', () => {
    const flags = parseFlags(['upgrade', 'demo', '-ndev', '--install', './chart', '-f', 'a.yaml', '--values=b.yaml', '--timeout', '90s', '-l', 'team=web,tier=1'], specs)
    expect(flags.args).toEqual(['upgrade', 'demo', './chart'])
    expect(flags.string('namespace')).toBe('dev')
    expect(flags.bool('install')).toBe(true)
    expect(flags.strings('values')).toEqual(['a.yaml', 'b.yaml'])
    expect(flags.duration('timeout')).toBe(90_000)
    expect(flags.map('labels')).toEqual({team: 'web', tier: '1'})
  })

  it('uses defaults and no-option defaults', () => {
    const flags = parseFlags(['--dry-run', 'x'], specs)
    expect(flags.string('dry-run')).toBe('client')
    expect(flags.args).toEqual(['x'])
    expect(flags.duration('timeout')).toBe(300_000)
    expect(flags.has('timeout')).toBe(false)
  })

  it('stops at -- and reports deprecations like cobra', () => {
    const flags = parseFlags(['--atomic', '--', '--wait'], specs)
    expect(flags.args).toEqual(['--wait'])
    expect(flags.warnings).toEqual(['Flag --atomic has been deprecated, use --rollback-on-failure instead'])
  })

  // The texts below are what the real helm 3.17 prints after "Error: " for the same argv.
  it.each([
    [['--rollback-on-failure'], 'unknown flag: --rollback-on-failure'],
    [['-Z'], "unknown shorthand flag: 'Z' in -Z"],
    [['-n'], "flag needs an argument: 'n' in -n"],
    [['--namespace'], 'flag needs an argument: --namespace'],
    [['--wait=watcher'], 'invalid argument "watcher" for "--wait" flag: strconv.ParseBool: parsing "watcher": invalid syntax'],
    [['--timeout', '300'], 'invalid argument "300" for "--timeout" flag: time: missing unit in duration "300"'],
    [['--timeout', '5x'], 'invalid argument "5x" for "--timeout" flag: time: unknown unit "x" in duration "5x"'],
    [['-l', 'oops'], 'invalid argument "oops" for "-l, --labels" flag: oops must be formatted as key=value'],
  ])('rejects %j with pflag wording', (argv, message) => {
    expect(parseError(argv)).toBe(message)
  })
})

describe('parseGoDuration', () => {
  it.each([
    ['5m0s', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['250ms', 250],
    ['0', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms)
  })
})

describe('commandWords', () => {
  it('skips global flags and their values before the subcommand', () => {
    expect(commandWords(['--kube-context', 'k3d-demo', '-n', 'web', 'get', 'values', 'demo'], [{name: 'kube-context', kind: 'string'}, {name: 'namespace', short: 'n', kind: 'string'}], 2)).toEqual(['get', 'values'])
  })
})
