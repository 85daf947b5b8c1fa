/**
 * --streaming-connection-idle-timeout: a connection on which nothing moved for this long is closed.
 * Activity only stamps a time; one timer per connection wakes when the timeout could have passed,
 * so a busy port-forward costs no timer churn per frame.
 */
export class IdleTimer {
  private last = Date.now();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {
    this.arm(timeoutMs);
  }

  touch(): void {
    this.last = Date.now();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.check(), Math.max(ms, 10));
    this.timer.unref();
  }

  private check(): void {
    const quiet = Date.now() - this.last;
    if (quiet >= this.timeoutMs) {
      this.stopped = true;
      this.onIdle();
    } else {
      this.arm(this.timeoutMs - quiet);
    }
  }
}
