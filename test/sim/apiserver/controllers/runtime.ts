/**
 * A tiny controller-runtime: controllers say which keys a change concerns; keys are queued,
 * de-duplicated and reconciled on the next turn of the event loop; reconciles can ask to be
 * woken again after some simulated time. Pausing (a stopped cluster) keeps the queue.
 */
import type {SimClock} from '../contract.js'
import type {Change, ObjectStore} from '../store.js'

export interface Controller {
  readonly name: string
  /** Keys (usually `namespace/name`) this change makes worth reconciling. */
  keysFor(change: Change): string[]
  reconcile(key: string): void
}

export class ControllerRuntime {
  private readonly controllers: Controller[] = []
  private readonly queue = new Map<Controller, Set<string>>()
  private readonly timers = new Set<NodeJS.Timeout>()
  /** When each (controller, key) is next due to be woken, so repeated requests share one timer. */
  private readonly wakeUps = new Map<string, number>()
  private drainScheduled: NodeJS.Immediate | undefined
  private paused = false
  private closed = false
  private readonly unsubscribe: () => void

  constructor(
    store: ObjectStore,
    readonly clock: SimClock,
  ) {
    this.unsubscribe = store.subscribe((change) => this.onChange(change))
  }

  register(controller: Controller): void {
    this.controllers.push(controller)
  }

  /** Reconciles every key a controller derives from the current state (used at start and resume). */
  resyncAll(): void {
    for (const controller of this.controllers) this.enqueue(controller, '*')
  }

  enqueue(controller: Controller, key: string): void {
    if (this.closed) return
    let keys = this.queue.get(controller)
    if (!keys) {
      keys = new Set()
      this.queue.set(controller, keys)
    }
    keys.add(key)
    this.scheduleDrain()
  }

  /** Reconcile `key` again after `simulatedMs` of simulated time (an earlier pending wake-up suffices). */
  after(simulatedMs: number, controller: Controller, key: string): void {
    if (this.closed) return
    const delay = Math.max(0, simulatedMs * this.clock.factor)
    const id = `${controller.name}\u0000${key}`
    const due = Date.now() + delay
    const pending = this.wakeUps.get(id)
    if (pending !== undefined && pending <= due) return
    this.wakeUps.set(id, due)
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (this.wakeUps.get(id) === due) this.wakeUps.delete(id)
      this.enqueue(controller, key)
    }, delay)
    this.timers.add(timer)
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    this.scheduleDrain()
  }

  close(): void {
    this.closed = true
    this.unsubscribe()
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.wakeUps.clear()
    if (this.drainScheduled) clearImmediate(this.drainScheduled)
    this.queue.clear()
  }

  private onChange(change: Change): void {
    for (const controller of this.controllers) {
      for (const key of controller.keysFor(change)) this.enqueue(controller, key)
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.paused || this.closed) return
    this.drainScheduled = setImmediate(() => {
      this.drainScheduled = undefined
      this.drain()
    })
  }

  private drain(): void {
    let budget = 2000
    while (!this.paused && !this.closed && budget > 0) {
      // Registration order is reconcile priority (e.g. the volume controller before the scheduler).
      const controller = this.controllers.find((candidate) => (this.queue.get(candidate)?.size ?? 0) > 0)
      const keys = controller ? this.queue.get(controller) : undefined
      if (!controller || !keys) return
      const key = keys.values().next().value as string
      keys.delete(key)
      budget--
      try {
        controller.reconcile(key)
      } catch (error) {
        // A controller bug must not stop the others; retry later like a real work queue.
        process.emitWarning(`simulated ${controller.name} failed on ${key}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
        this.after(1000, controller, key)
      }
    }
    if (budget === 0) this.scheduleDrain()
  }
}
