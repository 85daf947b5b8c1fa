/**
 * Writes go to etcd at most `max` at a time, in the order they were issued. etcd assigns revisions
 * in the order its server goroutines happen to propose, not in the order requests arrived, so only
 * one write in flight keeps revisions in issue order (what the other backends' group commit gives);
 * more in flight let etcd share fsyncs between them.
 */
export class WriteQueue {
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private inFlight = 0;

  constructor(private readonly max: number) {}

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.slot()
      .then(op)
      .finally(() => this.release());
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return result;
  }

  /** Resolves once every write issued so far has settled. */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private slot(): Promise<void> {
    if (this.inFlight < this.max) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}
