import {describe, expect, it} from 'vitest'

import {commandWords, FlagError, type FlagSpec, parseFlags, parseGoDuration} from './flags.js'

// Flags of the shapes `k3d cluster create` has.
const specs: FlagSpec[] = [
  {name: 'config', short: 'c', kind: 'string'},
  {name: 'wait', kind: 'bool', default: 'true'},
  {name: 'agents', short: 'a', kind: 'int', default: '0'},
  {name: 'port', short: 'p', kind: 'stringArray'},
  {name: 'volume', short: 'v', kind: 'stringSlice'},
  {name: 'timeout', kind: 'duration', default: '0s'},
  {name: 'no-lb', kind: 'bool'},
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
    const flags = parseFlags(['cluster', '-cdemo.yaml', 'create', '--no-lb', 'demo', '-p', '8080:80@loadbalancer', '--port=8443:443@loadbalancer', '-v', '/a:/a,/b:/b', '--agents', '2'], specs)
    expect(flags.args).toEqual(['cluster', 'create', 'demo'])
    expect(flags.string('config')).toBe('demo.yaml')
    expect(flags.bool('no-lb')).toBe(true)
    expect(flags.strings('port')).toEqual(['8080:80@loadbalancer', '8443:443@loadbalancer'])
    expect(flags.strings('volume')).toEqual(['/a:/a', '/b:/b'])
    expect(flags.int('agents')).toBe(2)
  })

  it('uses defaults, and stops at --', () => {
    const flags = parseFlags(['--wait=false', '--', '--no-lb'], specs)
    expect(flags.bool('wait')).toBe(false)
    expect(flags.args).toEqual(['--no-lb'])
    expect(flags.string('timeout')).toBe('0s')
    expect(flags.has('timeout')).toBe(false)
  })

  // The texts below are what cobra/pflag (k3d, docker) print after "Error: " for the same argv.
  it.each([
    [['--no-such-flag'], 'unknown flag: --no-such-flag'],
    [['-Z'], "unknown shorthand flag: 'Z' in -Z"],
    [['-c'], "flag needs an argument: 'c' in -c"],
    [['--config'], 'flag needs an argument: --config'],
    [['--wait=watcher'], 'invalid argument "watcher" for "--wait" flag: strconv.ParseBool: parsing "watcher": invalid syntax'],
    [['--agents', 'two'], 'invalid argument "two" for "-a, --agents" flag: strconv.ParseInt: parsing "two": invalid syntax'],
    [['--timeout', '300'], 'invalid argument "300" for "--timeout" flag: time: missing unit in duration "300"'],
    [['--timeout', '5x'], 'invalid argument "5x" for "--timeout" flag: time: unknown unit "x" in duration "5x"'],
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
    expect(
      commandWords(
        ['--verbose', '--timestamps', 'cluster', 'list', 'demo'],
        [
          {name: 'verbose', kind: 'bool'},
          {name: 'timestamps', kind: 'bool'},
        ],
        2,
      ),
    ).toEqual(['cluster', 'list'])
    expect(commandWords(['--config', 'x.yaml', 'cluster', 'create'], [{name: 'config', short: 'c', kind: 'string'}], 2)).toEqual(['cluster', 'create'])
  })
})
