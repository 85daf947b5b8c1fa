/**
 * Upstream's flowcontrol.Backoff as the kubelet uses it for container restarts (CrashLoopBackOff)
 * and image pulls (ImagePullBackOff): the first retry is immediate, then 10 s doubling to 5 min;
 * an entry not touched for twice the maximum (10 min of running fine) starts over.
 */
export class BackOff {
  private readonly entries = new Map<string, { backoff: number; lastUpdate: number }>();

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  private expired(eventTime: number, lastUpdate: number): boolean {
    return eventTime - lastUpdate > this.maxMs * 2;
  }

  /** Whether `key` must still wait, counting from `eventTime` (the container's finishedAt). */
  isInBackOffSince(key: string, eventTime: number, now = Date.now()): boolean {
    const entry = this.entries.get(key);
    if (!entry || this.expired(eventTime, entry.lastUpdate)) return false;
    return now - eventTime < entry.backoff;
  }

  /** Records a retry at `eventTime`: the next wait doubles (up to the maximum). */
  next(key: string, eventTime: number): void {
    const entry = this.entries.get(key);
    if (!entry || this.expired(eventTime, entry.lastUpdate)) {
      this.entries.set(key, { backoff: this.initialMs, lastUpdate: eventTime });
      return;
    }
    entry.backoff = Math.min(entry.backoff * 2, this.maxMs);
    entry.lastUpdate = eventTime;
  }

  /** The current wait of `key` in ms (0 when it has none). */
  get(key: string): number {
    return this.entries.get(key)?.backoff ?? 0;
  }

  /** When the wait that began at `eventTime` ends (ms since the epoch). */
  until(key: string, eventTime: number): number {
    return eventTime + this.get(key);
  }

  /** Forgets every key starting with `prefix` (a pod that is gone). */
  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}

/** Go's time.Duration.String() for whole seconds and minutes: 10s, 2m40s, 5m0s. */
export function goDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m${seconds % 60}s`;
}
