/**
 * One timer for every deadline of every simulated node: deadlines are rounded up to a tick and
 * kept in buckets, and a single setTimeout is armed for the earliest bucket. A thousand nodes with
 * ten thousand containers cost one pending timer, not ten thousand. Callbacks that no longer apply
 * (the container was stopped meanwhile) check that themselves.
 */
const TICK_MS = 20;

export class Clock {
  private readonly buckets = new Map<number, (() => void)[]>();
  private timer?: NodeJS.Timeout;
  private armedSlot = Number.POSITIVE_INFINITY;

  /** Run `fn` at `when` (ms since the epoch), at most one tick late. */
  at(when: number, fn: () => void): void {
    const slot = Math.ceil(when / TICK_MS);
    const bucket = this.buckets.get(slot);
    if (bucket) bucket.push(fn);
    else this.buckets.set(slot, [fn]);
    if (slot < this.armedSlot) this.arm(slot);
  }

  /** Resolves after `ms` (0: on the next turn). */
  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.at(Date.now() + ms, resolve));
  }

  private arm(slot: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedSlot = slot;
    this.timer = setTimeout(() => this.fire(), Math.max(0, slot * TICK_MS - Date.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedSlot = Number.POSITIVE_INFINITY;
    const now = Math.floor(Date.now() / TICK_MS);
    let earliest = Number.POSITIVE_INFINITY;
    for (const [slot, fns] of this.buckets) {
      if (slot > now) {
        earliest = Math.min(earliest, slot);
        continue;
      }
      this.buckets.delete(slot);
      for (const fn of fns) fn();
    }
    // Callbacks may have added buckets (and armed the timer) meanwhile.
    if (earliest < this.armedSlot) this.arm(earliest);
  }
}
