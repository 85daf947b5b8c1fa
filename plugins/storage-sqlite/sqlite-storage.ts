/**
 * The default Storage: an embedded SQLite file in WAL mode with synchronous=FULL.
 *
 * better-sqlite3 is synchronous, so every read sees a committed state and no JavaScript runs while a
 * transaction is open. Writes are queued and committed together on the next turn of the event loop
 * (group commit, see write-batch.ts); each promise settles only after its transaction committed.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  CompactedError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  prefixEnd,
  type Storage,
  StorageError,
  type StorageEvent,
  StorageUnavailableError,
  type WatchOptions,
} from '../../core/storage/types.js';
import { failedWatch, type HubWatch, WatchHub } from '../../core/storage/watch-hub.js';
import { openDatabase, type Tightened } from './open-database.js';
import { type HistoryRow, type LiveRow, prepareStatements, type Range, type Statements } from './schema.js';
import { applyBatch, type BatchOutcome, type WriteRequest } from './write-batch.js';

export interface SqliteStorageOptions {
  /** The database file; its directory is created when missing. */
  path: string;
  /** History older than this is compacted by the timer (default 300, like kube-apiserver). */
  compactionWindowSeconds?: number;
  /** How often the timer looks for expired history (default 60). */
  compactionIntervalSeconds?: number;
  /** How often watchers get onProgress (default 5000). */
  progressIntervalMs?: number;
  logger?: Logger;
  /** The clock, for tests of time-based compaction. */
  now?: () => number;
}

export interface SqliteStorageStats {
  revision: number;
  compactedRevision: number;
  /** Transactions that committed writes, and the writes they carried (group commit's batching ratio). */
  commits: number;
  writes: number;
  /** Rows of MVCC history, including each live key's newest version. */
  historyRows: number;
  watchers: number;
}

interface Pending {
  req: WriteRequest;
  resolve: (kv: KeyValue) => void;
  reject: (err: Error) => void;
}

/** Bounds how long one commit holds the event loop. */
const MAX_BATCH = 2000;
/** Rows removed per compaction transaction, between which writes and reads go on. */
const COMPACTION_SLICE = 2000;
/** Above every key in practice (U+10FFFF sorts last in UTF-8 byte order): the end of the empty prefix. */
const KEY_MAX = '\u{10ffff}';

export class SqliteStorage implements Storage {
  readonly backend = 'sqlite';
  private readonly s: Statements;
  private readonly commit: (requests: WriteRequest[]) => BatchOutcome;
  private readonly hub: WatchHub;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly queue: Pending[] = [];
  private flushScheduled = false;
  private revision: number;
  private compactedRev: number;
  private compaction: Promise<void> = Promise.resolve();
  private closed = false;
  private closing?: Promise<void>;
  private commits = 0;
  private writes = 0;

  static async open(options: SqliteStorageOptions): Promise<SqliteStorage> {
    const warnWide = (t: Tightened) =>
      options.logger?.warn(t, 'SQLite store file was readable by others (it holds Secrets): it is 0600 now');
    return new SqliteStorage(openDatabase(options.path, warnWide), options);
  }

  private constructor(
    private readonly db: Database.Database,
    private readonly options: SqliteStorageOptions,
  ) {
    this.s = prepareStatements(db);
    this.now = options.now ?? Date.now;
    this.windowMs = (options.compactionWindowSeconds ?? 300) * 1000;
    this.revision = Math.max(this.s.getMeta.get('revision')?.value ?? 0, this.s.maxRev.get()?.rev ?? 0);
    this.compactedRev = this.s.getMeta.get('compacted')?.value ?? 0;
    this.commit = db.transaction((requests: WriteRequest[]) => applyBatch(this.s, requests, this.revision, this.now()));
    this.hub = new WatchHub(
      { readHistory: (p, f, t, l) => this.readHistory(p, f, t, l), compacted: () => this.compactedRev },
      this.revision,
      options.progressIntervalMs,
    );
    const intervalMs = (options.compactionIntervalSeconds ?? 60) * 1000;
    this.timer = setInterval(() => this.compactExpired().catch((err) => this.logCompactionError(err)), intervalMs);
    this.timer.unref();
    options.logger?.info(
      { path: options.path, revision: this.revision, compacted: this.compactedRev },
      'opened SQLite store',
    );
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    const row = this.s.get.get(key);
    return row && toKeyValue(row);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    const at = this.readRevision(options.revision);
    const range = keyRange(prefix, options.after);
    const limit = options.limit && options.limit > 0 ? options.limit : 0;
    const newest = at === this.revision;
    // One extra row tells whether the page was cut short.
    const page = { ...range, at, limit: limit ? limit + 1 : -1 };
    const rows = newest ? this.s.listLive.all(page) : this.s.listAt.all(page);
    if (!limit || rows.length <= limit) return { items: rows.map(toKeyValue), revision: at, more: false };
    const items = rows.slice(0, limit).map(toKeyValue);
    const rest = { lower: `${items[limit - 1]!.key}\0`, upper: range.upper, at };
    const remaining = (newest ? this.s.countLive.get(rest) : this.s.countAt.get(rest))!.n;
    return { items, revision: at, more: true, remaining };
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.enqueue({ op: 'create', key, value });
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.enqueue({ op: 'update', key, value, expected: expectedModRevision });
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.enqueue({ op: 'delete', key, expected: expectedModRevision });
  }

  watch(prefix: string, options: WatchOptions): HubWatch {
    if (this.closed) return failedWatch(options, new StorageUnavailableError('the SQLite store is closed'));
    return this.hub.watch(prefix, options);
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
    if (revision > this.revision) {
      throw new StorageError(`cannot compact to revision ${revision}: the current revision is ${this.revision}`);
    }
    if (revision <= this.compactedRev) return this.compaction;
    // Readers and watchers are refused from here on, before any row goes.
    this.compactedRev = revision;
    this.s.setMeta.run('compacted', revision);
    // One compaction at a time; a failed one does not stop the next.
    this.compaction = this.compaction.catch(() => {}).then(() => this.removeHistory(revision));
    return this.compaction;
  }

  /** Compact everything written longer ago than the compaction window; returns the compacted revision. */
  async compactExpired(): Promise<number> {
    if (this.closed) return this.compactedRev;
    const cutoffSecond = Math.floor((this.now() - this.windowMs) / 1000);
    const target = this.s.revBefore.get(cutoffSecond)?.rev ?? 0;
    if (target > this.compactedRev) {
      await this.compact(target);
      this.options.logger?.debug({ revision: target }, 'compacted history older than the compaction window');
    }
    return this.compactedRev;
  }

  stats(): SqliteStorageStats {
    this.checkOpen();
    return {
      revision: this.revision,
      compactedRevision: this.compactedRev,
      commits: this.commits,
      writes: this.writes,
      historyRows: this.s.countHistory.get()!.n,
      watchers: this.hub.size,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    while (this.queue.length) this.flush();
    await this.compaction.catch(() => {});
    this.hub.close('the SQLite store was closed');
    this.db.close();
  }

  private enqueue(req: WriteRequest): Promise<KeyValue> {
    if (this.closed) return Promise.reject(new StorageUnavailableError('the SQLite store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (!batch.length) return;
    if (this.queue.length && !this.closed) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    let outcome: BatchOutcome;
    try {
      outcome = this.commit(batch.map((p) => p.req));
    } catch (err) {
      const failure = new StorageUnavailableError(`the SQLite commit failed: ${(err as Error).message}`);
      for (const p of batch) p.reject(failure);
      return;
    }
    this.commits++;
    this.writes += outcome.revision - this.revision;
    this.revision = outcome.revision;
    const events: StorageEvent[] = [];
    outcome.results.forEach((r, i) => {
      if (r instanceof StorageError) {
        batch[i]!.reject(r);
      } else {
        batch[i]!.resolve(r.kv);
        events.push(r.event);
      }
    });
    this.hub.publish(events);
  }

  /** Deletes rows no revision >= target can see, oldest first, one slice per transaction. */
  private async removeHistory(target: number): Promise<void> {
    let lo = (this.s.minRev.get()?.rev ?? target + 1) - 1;
    while (lo < target && !this.closed) {
      const hi = Math.min(target, this.s.nthRevAfter.get(lo, COMPACTION_SLICE - 1)?.rev ?? target);
      this.db.transaction(() => this.s.compactSlice.run({ lo, hi, target }))();
      lo = hi;
      await nextTurn();
    }
    if (!this.closed) this.s.forgetTimes.run(target);
  }

  private readHistory(prefix: string, from: number, to: number, limit: number): StorageEvent[] {
    return this.s.history.all({ ...keyRange(prefix), from, to, limit }).map(toEvent);
  }

  private readRevision(revision: number | undefined): number {
    if (!revision) return this.revision;
    if (revision < this.compactedRev) throw new CompactedError(revision, this.compactedRev);
    if (revision > this.revision) {
      throw new StorageError(`revision ${revision} is newer than the current revision ${this.revision}`);
    }
    return revision;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageUnavailableError('the SQLite store is closed');
  }

  private logCompactionError(err: unknown): void {
    this.options.logger?.error({ err }, 'automatic compaction failed; history keeps growing until it succeeds');
  }
}

function keyRange(prefix: string, after?: string): Range {
  // after + NUL is the smallest key greater than `after`.
  const past = after ? `${after}\0` : '';
  return { lower: past > prefix ? past : prefix, upper: prefix ? prefixEnd(prefix) : KEY_MAX };
}

function toKeyValue(row: LiveRow): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.create_rev, modRevision: row.rev };
}

function toEvent(row: HistoryRow): StorageEvent {
  const type = row.deleted ? 'delete' : row.prev_rev === null ? 'create' : 'update';
  const event: StorageEvent = {
    type,
    key: row.key,
    value: (row.deleted ? row.prev_value : row.value) ?? '',
    revision: row.rev,
    createRevision: row.create_rev,
  };
  if (row.prev_rev !== null) event.prevValue = row.prev_value ?? '';
  return event;
}
