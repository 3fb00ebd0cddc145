import {describe, expect, it} from 'vitest'

import {probableCommand} from '../../src/hooks/command-not-found.js'

describe('the command a typo probably meant', () => {
  const commands = ['up', 'upgrade', 'status', 'logs', 'down', 'doctor', 'db:shell', 'db:snapshot', 'db:snapshots', 'forward']

  it.each([
    ['stat', 'status'],
    ['stauts', 'status'],
    ['lgos', 'logs'],
    ['upgarde', 'upgrade'],
    ['db:shel', 'db:shell'],
    ['fowrard', 'forward'],
  ])('%s → %s', (typo, meant) => {
    expect(probableCommand(typo, commands)).toBe(meant)
  })

  it('suggests nothing for a word that is no typo of any command', () => {
    expect(probableCommand('kubernetes', commands)).toBeUndefined()
    expect(probableCommand('x', [])).toBeUndefined()
  })
})
