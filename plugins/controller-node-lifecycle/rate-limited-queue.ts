/**
 * Upstream's RateLimitedTimedQueue (nodelifecycle/scheduler): node names waiting to be tainted,
 * in the order they are due, let through by a token bucket (burst 1) whose rate follows the zone's
 * state. A name stays known after it is processed, until removed, so it is not queued twice.
 */

/** client-go's token bucket with a burst of 1; a rate of 0 never lets anything through. */
export class TokenBucket {
  private tokens = 1;
  private at = Date.now();

  constructor(readonly qps: number) {}

  tryAccept(now = Date.now()): boolean {
    if (this.qps <= 0) return false;
    this.tokens = Math.min(1, this.tokens + ((now - this.at) / 1000) * this.qps);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface TimedValue {
  value: string;
  uid: string;
  processAt: number;
}

/** What a try did: done, or try again after `retryMs`. */
export type TryResult = { done: true } | { done: false; retryMs: number };

export class RateLimitedTimedQueue {
  private queue: TimedValue[] = [];
  /** Every name added and not removed (processed ones included). */
  private readonly known = new Set<string>();

  constructor(private limiter: TokenBucket) {}

  /** Adds a name unless it is known; whether it was added. */
  add(value: string, uid: string, now = Date.now()): boolean {
    if (this.known.has(value)) return false;
    this.known.add(value);
    this.queue.push({ value, uid, processAt: now });
    this.queue.sort((a, b) => a.processAt - b.processAt);
    return true;
  }

  /** Forgets a name (queued or processed); whether it was known. */
  remove(value: string): boolean {
    this.queue = this.queue.filter((v) => v.value !== value);
    return this.known.delete(value);
  }

  /** Upstream's SwapLimiter: a new rate; a bucket that was empty stays empty for the new rate too. */
  swapLimiter(qps: number): void {
    if (this.limiter.qps === qps) return;
    const next = new TokenBucket(qps);
    if (!this.limiter.tryAccept()) next.tryAccept();
    this.limiter = next;
  }

  /** Processes due names while the bucket allows, in order (upstream's Try). */
  async tryEach(fn: (value: TimedValue) => Promise<TryResult>): Promise<void> {
    for (let head = this.queue[0]; head; head = this.queue[0]) {
      if (!this.limiter.tryAccept()) return;
      const now = Date.now();
      if (now < head.processAt) return;
      const result = await fn(head);
      if (result.done) this.queue = this.queue.filter((v) => v !== head);
      else {
        head.processAt = now + result.retryMs + 1;
        this.queue.sort((a, b) => a.processAt - b.processAt);
      }
    }
  }
}
