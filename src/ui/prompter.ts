/**
 * Questions to the user. Every question names the flag that answers it, so the same code
 * serves a person at a terminal (inquirer), CI and --no-input (defaults, or a usage error
 * naming the missing flag), and tests (a scripted prompter).
 */
import {UsageError} from '../errors.js'

interface Question<T> {
  /** The flag that answers this question without a prompt, e.g. "--name". */
  flag: string
  message: string
  default?: T
  /** Pre-selected for a person at a terminal, but not taken as an answer without one. */
  suggestion?: T
}

export interface SelectQuestion<T extends string> extends Question<T> {
  choices: Array<{value: T; name?: string; description?: string}>
}

export interface InputQuestion extends Question<string> {
  /** Returns an error message, or undefined when the answer is fine. */
  validate?: (value: string) => string | undefined
}

export interface Prompter {
  select<T extends string>(question: SelectQuestion<T>): Promise<T>
  input(question: InputQuestion): Promise<string>
  confirm(question: Question<boolean>): Promise<boolean>
}

/** A person at a terminal. @inquirer/prompts is imported only when a question is asked. */
export function terminalPrompter(): Prompter {
  return {
    async select(question) {
      const {select} = await import('@inquirer/prompts')
      return select({message: question.message, choices: question.choices, default: question.default ?? question.suggestion})
    },
    async input(question) {
      const {input} = await import('@inquirer/prompts')
      return input({
        message: question.message,
        default: question.default ?? question.suggestion,
        validate: (value) => question.validate?.(value) ?? true,
      })
    },
    async confirm(question) {
      const {confirm} = await import('@inquirer/prompts')
      return confirm({message: question.message, default: question.default ?? question.suggestion})
    },
  }
}

/** No one to ask: take the default, or fail naming the flag that would have answered. */
export function noInputPrompter(): Prompter {
  const answer = <T>(question: Question<T>, takesValue = true): T => {
    if (question.default !== undefined) return question.default
    throw new UsageError(`${question.flag} is required when devctl cannot prompt (--no-input, CI, or not a terminal): ${question.message.replace(/[?:]\s*$/, '')}.`, {
      hint: `Pass ${question.flag}${takesValue ? ' <value>' : ''}, or run in a terminal to be asked.`,
    })
  }
  return {
    async select(question) {
      return answer(question)
    },
    async input(question) {
      const value = answer(question)
      const problem = question.validate?.(value)
      if (problem) throw new UsageError(`The default for ${question.flag} is not usable: ${problem}`, {hint: `Pass ${question.flag} <value>.`})
      return value
    },
    async confirm(question) {
      return answer(question, false)
    },
  }
}
