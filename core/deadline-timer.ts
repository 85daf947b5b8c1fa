/**
 * Many pending deadlines served by one timer, armed for the earliest. Admission timeouts and reads
 * waiting for the watch cache come by the thousand per second, and a timer each cost more than the
 * work they guard. A deadline that is settled first never fires.
 */
export interface Deadline {
  readonly at: number;
  settled: boolean;
  readonly expire: () => void;
}

export class DeadlineTimer {
  private pending: Deadline[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Number.POSITIVE_INFINITY;

  /** Calls `expire` `ms` from now, unless `settle` comes first. */
  add(ms: number, expire: () => void): Deadline {
    const deadline: Deadline = { at: Date.now() + ms, settled: false, expire };
    this.pending.push(deadline);
    if (deadline.at < this.armedAt) this.arm();
    return deadline;
  }

  settle(deadline: Deadline): void {
    deadline.settled = true;
    // Calls mostly end in the order they began: drop the settled ones from the front at once.
    while (this.pending.length && this.pending[0]!.settled) this.pending.shift();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    for (const d of this.pending) if (!d.settled) this.armedAt = Math.min(this.armedAt, d.at);
    if (this.armedAt === Number.POSITIVE_INFINITY) {
      this.pending = [];
      return;
    }
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.armedAt - Date.now()));
    this.timer.unref();
  }

  private fire(): void {
    const now = Date.now();
    const left: Deadline[] = [];
    for (const d of this.pending) {
      if (d.settled) continue;
      if (d.at > now) left.push(d);
      else {
        d.settled = true;
        d.expire();
      }
    }
    this.pending = left;
    this.arm();
  }
}
