import type {SimClock} from './contract.js'

/** A clock whose sleeps last `factor` times the asked duration; timestamps stay wall-clock. */
export function createClock(factor: number): SimClock {
  if (!(factor > 0)) throw new Error(`clock factor must be a positive number, got ${factor}`)
  return {
    factor,
    now: () => new Date(),
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason)
          return
        }
        const onAbort = (): void => {
          clearTimeout(timer)
          reject(signal?.reason)
        }
        const timer = setTimeout(
          () => {
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
          Math.max(0, ms * factor),
        )
        signal?.addEventListener('abort', onAbort, {once: true})
      })
    },
  }
}
