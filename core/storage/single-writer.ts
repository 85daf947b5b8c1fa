/**
 * The base of a store whose process is its only writer (storage-memory, storage-sqlite): it keeps
 * the current and compacted revisions in memory, publishes what it commits to a WatchHub and
 * compacts on a CompactionSchedule. A subclass stores keys and history and implements reads and
 * writes; this class implements watch, the revision reads, compact (one at a time, readers refused
 * before any history goes), compactExpired and close. A store that several processes write (etcd)
 * cannot know every event itself: it uses the pieces (StoreLifecycle, CompactionSchedule) instead.
 */
import { CompactionSchedule, type StoreOptions } from './compaction.js';
import { StoreLifecycle } from './lifecycle.js';
import {
  CompactedError,
  futureCompactionError,
  futureRevisionError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Storage,
  type StorageEvent,
  type StorageUnavailableError,
  type WatchOptions,
} from './types.js';
import { type HubWatch, WatchHub } from './watch-hub.js';

export interface SingleWriterOptions extends StoreOptions {
  /** Names the store in errors: "the SQLite store" (… is closed). */
  name: string;
  /** The revisions the store opens at (0 for a new one). */
  revision: number;
  compacted: number;
}

export abstract class SingleWriterStorage implements Storage {
  abstract readonly backend: string;
  /** The newest committed revision; a subclass moves it as it commits. */
  protected revision: number;
  /** History at or below this is gone (or going); reads and watches below it fail. */
  protected compactedRev: number;
  /** Publish each commit's events here, in revision order. */
  protected readonly hub: WatchHub;
  protected readonly now: () => number;
  private readonly lifecycle: StoreLifecycle;
  private readonly schedule: CompactionSchedule;
  private compaction: Promise<void> = Promise.resolve();

  constructor(options: SingleWriterOptions) {
    this.revision = options.revision;
    this.compactedRev = options.compacted;
    this.now = options.now ?? Date.now;
    this.lifecycle = new StoreLifecycle(options.name);
    this.hub = new WatchHub(
      { readHistory: (p, f, t, l) => this.readHistory(p, f, t, l), compacted: () => this.compactedRev },
      options.revision,
      options.progressIntervalMs,
    );
    this.schedule = new CompactionSchedule({
      ...options,
      expiredRevision: (cutoffMs) => (this.closed ? 0 : this.expiredRevision(cutoffMs)),
      compact: (revision) => this.compact(revision),
    });
  }

  abstract get(key: string): Promise<KeyValue | undefined>;
  abstract list(prefix: string, options?: ListOptions): Promise<ListResult>;
  abstract create(key: string, value: string): Promise<KeyValue>;
  abstract update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  abstract delete(key: string, expectedModRevision?: number): Promise<KeyValue>;

  /** Events with `from < revision <= to` under `prefix`, oldest first, at most `limit` (replays). */
  protected abstract readHistory(
    prefix: string,
    from: number,
    to: number,
    limit: number,
  ): StorageEvent[] | Promise<StorageEvent[]>;
  /** The newest revision written at or before `cutoffMs` (0: none), for time-based compaction. */
  protected abstract expiredRevision(cutoffMs: number): number | Promise<number>;
  /** Removes history no read at or after `revision` needs (compactedRev is already `revision`). */
  protected abstract removeHistory(revision: number): void | Promise<void>;

  /** Finishes the writes accepted before close (a group-commit queue); runs once, first. */
  protected async drainWrites(): Promise<void> {}
  /** Lets go of files and connections, after the last write and compaction. */
  protected async release(): Promise<void> {}

  watch(prefix: string, options: WatchOptions): HubWatch {
    return this.lifecycle.refusedWatch(options) ?? this.hub.watch(prefix, options);
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.revision;
  }

  async compactedRevision(): Promise<number> {
    this.checkOpen();
    return this.compactedRev;
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision > this.revision) throw futureCompactionError(revision, this.revision);
    if (revision > this.compactedRev) {
      // Readers and watchers are refused from here on, before any history goes.
      this.compactedRev = revision;
      // One compaction at a time; a failed one does not stop the next.
      this.compaction = this.compaction.catch(() => {}).then(() => this.removeHistory(revision));
    }
    return this.compaction;
  }

  /** Compacts everything written longer ago than the compaction window; returns the compacted revision. */
  async compactExpired(): Promise<number> {
    if (!this.closed) await this.schedule.run();
    return this.compactedRev;
  }

  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      this.schedule.stop();
      await this.drainWrites();
      await this.compaction.catch(() => {});
      this.hub.close(this.lifecycle.closedReason);
      await this.release();
    });
  }

  protected get closed(): boolean {
    return this.lifecycle.closed;
  }

  /** Throws StorageUnavailableError once the store is closed. */
  protected checkOpen(): void {
    this.lifecycle.checkOpen();
  }

  protected closedError(): StorageUnavailableError {
    return this.lifecycle.closedError();
  }

  /** The revision a read asks for (ListOptions.revision; 0 or absent: the newest), checked. */
  protected readRevision(revision: number | undefined): number {
    if (!revision) return this.revision;
    if (revision < this.compactedRev) throw new CompactedError(revision, this.compactedRev);
    if (revision > this.revision) throw futureRevisionError(revision, this.revision);
    return revision;
  }
}
