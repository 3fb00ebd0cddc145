/**
 * A command devctl does not have (`devctl stat`): name the one it probably meant. In a terminal,
 * offer to run it; elsewhere (CI, pipes) it is a usage error like any other bad input (exit 2),
 * with the suggestion — oclif's not-found plugin exits 127 there and suggests nothing.
 */
import {Errors, toConfiguredId, type Hook} from '@oclif/core'
import {closest, distance} from 'fastest-levenshtein'

import {ExitCode} from '../errors.js'
import {terminalPrompter} from '../ui/prompter.js'
import {colorEnabled, createTheme, detectTerminal} from '../ui/terminal.js'

/** The command meant, if one is near enough to be a typo of `id` (not any command at all). */
export function probableCommand(id: string, commands: string[]): string | undefined {
  if (commands.length === 0) return undefined
  const nearest = closest(id, commands)
  return distance(id, nearest) <= Math.max(2, Math.floor(id.length / 3)) ? nearest : undefined
}

const hook: Hook.CommandNotFound = async function (options) {
  const commands = options.config.commands.filter((command) => !command.hidden).flatMap((command) => [command.id, ...command.aliases])
  const suggestion = probableCommand(options.id, commands)
  const bin = options.config.bin
  const typed = toConfiguredId(options.id, options.config)
  const meant = suggestion && toConfiguredId(suggestion, options.config)
  const terminal = detectTerminal({noInput: (options.argv ?? []).includes('--no-input')})
  if (suggestion && meant && terminal.canPrompt) {
    process.stderr.write(`${typed} is not a ${bin} command.\n`)
    const yes = await terminalPrompter()
      .confirm({flag: '', message: `Did you mean ${meant}?`, suggestion: true})
      .catch(() => false)
    if (yes) return options.config.runCommand(suggestion, options.argv)
  }
  const t = createTheme(colorEnabled(process.stderr))
  const guess = meant ? ` Did you mean \`${bin} ${meant}\`?` : ''
  process.stderr.write(`${t.red('Error:')} \`${typed}\` is not a ${bin} command.${guess}\n${t.cyan('→')} Run \`${bin} help\` for the list of commands.\n`)
  throw new Errors.ExitError(ExitCode.usage)
}

export default hook
