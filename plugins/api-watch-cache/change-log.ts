/**
 * The watch cache's recent changes, oldest first, at most `limit` of them. Dropping the oldest must
 * be cheap: a write dropped one per event, and `splice(0, 1)` moves the whole array (51 µs at
 * 20,000 changes, as much as the rest of the write). Here the front only advances; the array is
 * compacted once `limit` changes were dropped, one copy for every `limit` events.
 */
import type { Change } from 'skiff/sdk/cache';

export class ChangeLog {
  private items: (Change | undefined)[] = [];
  private start = 0;

  constructor(private readonly limit: number) {}

  get length(): number {
    return this.items.length - this.start;
  }

  clear(): void {
    this.items = [];
    this.start = 0;
  }

  /** Appends `change`; returns the revision of the change dropped to make room, if one was. */
  push(change: Change): number | undefined {
    this.items.push(change);
    if (this.length <= this.limit) return undefined;
    const dropped = this.items[this.start]!;
    this.items[this.start++] = undefined;
    if (this.start >= this.limit) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return dropped.revision;
  }

  /** The changes after `revision`, oldest first. */
  *after(revision: number): Generator<Change> {
    for (let i = this.start; i < this.items.length; i++) {
      const change = this.items[i]!;
      if (change.revision > revision) yield change;
    }
  }
}
