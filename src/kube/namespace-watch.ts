/**
 * A live view of a namespace (pods and workloads), kept current by watches, that workflow
 * steps wait on: "until every Deployment is ready", "until this Job completes". One watch per
 * kind serves every step, instead of each step polling the API. A watch the API refuses
 * (401, 403, 404) ends the view: `start()` rejects, or every wait fails with the explanation.
 */
import {InterruptedError, type ClusterError} from '../errors.js'
import type {KubeClient} from './client.js'
import type {KindName, KindObject, KubernetesObject} from './types.js'

type Listener = () => void

export class NamespaceWatch {
  private readonly objects = new Map<KindName, Map<string, KubernetesObject>>()
  private readonly listeners = new Set<Listener>()
  private readonly stop = new AbortController()
  /** Why the view stopped following the namespace, if a watch was refused. */
  private failure: ClusterError | undefined

  private constructor(readonly namespace: string) {}

  /** Start watching `kinds` in `namespace`; resolves once each kind has been listed, rejects if one is refused. */
  static async start(kube: KubeClient, namespace: string, kinds: KindName[], signal: AbortSignal): Promise<NamespaceWatch> {
    const view = new NamespaceWatch(namespace)
    const stopSignal = AbortSignal.any([signal, view.stop.signal])
    const started = Promise.all(
      kinds.map((kind) => {
        const store = new Map<string, KubernetesObject>()
        view.objects.set(kind, store)
        return kube.watch(
          kind,
          namespace,
          {},
          (event, object) => {
            const name = object.metadata?.name ?? ''
            if (event === 'delete') store.delete(name)
            else store.set(name, object)
            view.changed()
          },
          stopSignal,
          (error) => view.fail(error),
        )
      }),
    )
    try {
      await started
    } catch (error) {
      view.close()
      throw error
    }
    return view
  }

  /** A watch was refused after the start: stop following, and fail whoever waits. */
  private fail(error: ClusterError): void {
    if (this.failure) return
    this.failure = error
    this.stop.abort()
    this.changed()
  }

  close(): void {
    this.stop.abort()
    this.listeners.clear()
  }

  list<K extends KindName>(kind: K): Array<KindObject<K>> {
    return [...(this.objects.get(kind)?.values() ?? [])] as Array<KindObject<K>>
  }

  get<K extends KindName>(kind: K, name: string): KindObject<K> | undefined {
    return this.objects.get(kind)?.get(name) as KindObject<K> | undefined
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Re-run every waiting check: for news that is not an object change (a process ended). */
  notify(): void {
    this.changed()
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener()
  }

  /**
   * Resolve with the first non-undefined result of `check`, evaluated now and after every
   * change. `check` throws to fail fast. Rejects with the signal's reason when it aborts.
   */
  until<T>(check: () => T | undefined, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let unsubscribe = () => {}
      const onAbort = () => finish(() => reject(signal.reason ?? new InterruptedError()))
      const finish = (settle: () => void) => {
        unsubscribe()
        signal.removeEventListener('abort', onAbort)
        settle()
      }
      const evaluate = () => {
        const {failure} = this
        if (failure) return finish(() => reject(failure))
        try {
          const result = check()
          if (result !== undefined) finish(() => resolve(result))
        } catch (error) {
          finish(() => reject(error))
        }
      }
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, {once: true})
      unsubscribe = this.onChange(evaluate)
      evaluate()
    })
  }
}
