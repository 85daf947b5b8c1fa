/**
 * A controller's work queue, after client-go's rate-limited workqueue: a key is queued at most once;
 * a key added while a worker holds it is queued again when that worker is done, so one key is never
 * worked on by two workers at once; keys may be added after a delay (a resync after
 * minReadySeconds), and a key that fails is retried after a per-key exponential back-off (5 ms,
 * doubling, at most 1000 s: client-go's default item rate limiter) until it succeeds. Several
 * workers share one queue: upstream's --concurrent-*-syncs flags.
 */
import type { Logger } from 'pino';

const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 1_000_000;

export class ControllerQueue {
  /** Keys waiting for a worker, in order. */
  private readonly order: string[] = [];
  private readonly queued = new Set<string>();
  /** Keys a worker holds now; adding one marks it to be queued again when the worker is done. */
  private readonly processing = new Set<string>();
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idle: (() => void)[] = [];
  private stopped = false;

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.idle.shift()?.();
  }

  /** Adds `key` once `ms` have passed (a key already queued stays queued). */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** Adds `key` after its back-off, which doubles with each failure until `forget`. */
  addRateLimited(key: string): void {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    this.addAfter(key, Math.min(BASE_DELAY_MS * 2 ** failures, MAX_DELAY_MS));
  }

  /** The key succeeded: its back-off starts again from the beginning. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many keys wait for a worker (for tests and metrics). */
  get length(): number {
    return this.order.length;
  }

  /**
   * Runs `workers` workers until `signal` aborts. A key whose work throws is logged and retried
   * after its back-off; one that succeeds is forgotten.
   */
  async run(signal: AbortSignal, workers: number, work: (key: string) => Promise<void>, logger: Logger): Promise<void> {
    const stop = () => this.stop();
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) this.stop();
    const worker = async () => {
      for (let key = await this.next(); key !== undefined; key = await this.next()) {
        try {
          await work(key);
          this.forget(key);
        } catch (err) {
          if (!this.stopped) {
            // A conflict (someone wrote the object since it was read) is routine: the retry reads again.
            const routine = (err as { code?: unknown })?.code === 409;
            (routine ? logger.debug : logger.warn).call(logger, { err, key }, 'sync failed; retrying after a back-off');
            this.addRateLimited(key);
          }
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
    signal.removeEventListener('abort', stop);
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped) {
      const key = this.order.shift();
      if (key !== undefined) {
        this.queued.delete(key);
        this.processing.add(key);
        return key;
      }
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
    return undefined;
  }

  private done(key: string): void {
    this.processing.delete(key);
    if (this.again.delete(key)) this.add(key);
  }

  private stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const wake of this.idle.splice(0)) wake();
  }
}
