/**
 * Closing semantics every backend shares: once close() is called, every call fails with
 * StorageUnavailableError ("the X store is closed") and a new watch fails the same way; close()
 * runs the backend's shutdown once (pending writes finish first), and closing twice is fine.
 */
import { StorageUnavailableError, type WatchOptions } from './types.js';
import { failedWatch, type HubWatch } from './watch-hub.js';

export class StoreLifecycle {
  private isClosed = false;
  private closing?: Promise<void>;

  /** `store` names the store in errors: "the SQLite store". */
  constructor(private readonly store: string) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** Throws StorageUnavailableError once the store is closed. */
  checkOpen(): void {
    if (this.isClosed) throw this.closedError();
  }

  closedError(): StorageUnavailableError {
    return new StorageUnavailableError(`${this.store} is closed`);
  }

  /** What open watches are told when the store closes. */
  get closedReason(): string {
    return `${this.store} was closed`;
  }

  /** A watch that fails at once when the store is closed; undefined while it is open. */
  refusedWatch(options: WatchOptions): HubWatch | undefined {
    return this.isClosed ? failedWatch(options, this.closedError()) : undefined;
  }

  /** Marks the store closed at once, then runs `shutdown` (once: later calls share its promise). */
  close(shutdown: () => Promise<void>): Promise<void> {
    if (!this.closing) {
      // Closed before shutdown's first line runs: nothing new is accepted while it drains.
      this.isClosed = true;
      this.closing = shutdown();
    }
    return this.closing;
  }
}
