import type {Prompter} from '../../src/ui/prompter.js'

type Answer = string | boolean

/**
 * A person at the terminal, answering by flag name; records what was asked. A list answers the
 * same flag's questions in turn (a loop such as "another Secret?"), then the default.
 */
export function scriptedPrompter(answers: Record<string, Answer | Answer[]>): Prompter & {asked: string[]} {
  const asked: string[] = []
  const queues = new Map(Object.entries(answers).map(([flag, answer]) => [flag, Array.isArray(answer) ? [...answer] : undefined]))
  const take = (flag: string, fallback: unknown) => {
    asked.push(flag)
    const queue = queues.get(flag)
    if (queue) return queue.length > 0 ? queue.shift() : fallback
    return flag in answers ? answers[flag] : fallback
  }
  return {
    asked,
    async select(q) {
      // Enter on the list takes what it pre-selects.
      return take(q.flag, q.default ?? q.suggestion) as never
    },
    async input(q) {
      const value = take(q.flag, q.default ?? q.suggestion) as string
      const problem = q.validate?.(value)
      if (problem) throw new Error(`scripted answer rejected: ${problem}`)
      return value
    },
    async confirm(q) {
      return take(q.flag, q.default) as boolean
    },
  }
}
