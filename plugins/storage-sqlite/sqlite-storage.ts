/**
 * The default Storage: an embedded SQLite file in WAL mode with synchronous=FULL.
 *
 * better-sqlite3 is synchronous, so every read sees a committed state and no JavaScript runs while a
 * transaction is open. Writes are queued and committed together on the next turn of the event loop
 * (group commit, see write-batch.ts); each promise settles only after its transaction committed.
 * The file is opened with an exclusive lock, so this process is its only writer: watches, revision
 * checks, the compaction schedule and closing come from SingleWriterStorage.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import {
  type KeyValue,
  keyRange,
  type ListOptions,
  type ListResult,
  listPage,
  SingleWriterStorage,
  StorageError,
  type StorageEvent,
  StorageUnavailableError,
  type StoreOptions,
  type WriteRequest,
} from 'skiff/sdk/storage';
import { openDatabase, type Tightened } from './open-database.js';
import { type HistoryRow, prepareStatements, type Range, type Statements, toKeyValue } from './schema.js';
import { applyBatch, type BatchOutcome } from './write-batch.js';

export interface SqliteStorageOptions extends StoreOptions {
  /** The database file; its directory is created when missing. */
  path: string;
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

export class SqliteStorage extends SingleWriterStorage {
  readonly backend = 'sqlite';
  private readonly commit: (requests: WriteRequest[]) => BatchOutcome;
  private readonly queue: Pending[] = [];
  private flushScheduled = false;
  private commits = 0;
  private writes = 0;

  static async open(options: SqliteStorageOptions): Promise<SqliteStorage> {
    const warnWide = (t: Tightened) =>
      options.logger?.warn(t, 'SQLite store file was readable by others (it holds Secrets): it is 0600 now');
    const db = openDatabase(options.path, warnWide);
    const store = new SqliteStorage(db, prepareStatements(db), options);
    options.logger?.info(
      { path: options.path, revision: store.revision, compacted: store.compactedRev },
      'opened SQLite store',
    );
    return store;
  }

  private constructor(
    private readonly db: Database.Database,
    private readonly s: Statements,
    options: SqliteStorageOptions,
  ) {
    super({
      ...options,
      name: 'the SQLite store',
      revision: Math.max(s.getMeta.get('revision')?.value ?? 0, s.maxRev.get()?.rev ?? 0),
      compacted: s.getMeta.get('compacted')?.value ?? 0,
    });
    this.commit = db.transaction((requests: WriteRequest[]) => applyBatch(s, requests, this.revision, this.now()));
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    const row = this.s.get.get(key);
    return row && toKeyValue(row);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    const at = this.readRevision(options.revision);
    const limit = options.limit && options.limit > 0 ? options.limit : 0;
    const newest = at === this.revision;
    // One extra row tells whether the page was cut short.
    const page = { ...sqlRange(prefix, options.after), at, limit: limit ? limit + 1 : -1 };
    const rows = newest ? this.s.listLive.all(page) : this.s.listAt.all(page);
    if (!limit || rows.length <= limit) return listPage(rows.map(toKeyValue), at);
    const items = rows.slice(0, limit).map(toKeyValue);
    const rest = { ...sqlRange(prefix, items[limit - 1]!.key), at };
    return listPage(items, at, (newest ? this.s.countLive.get(rest) : this.s.countAt.get(rest))!.n);
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

  protected readHistory(prefix: string, from: number, to: number, limit: number): StorageEvent[] {
    return this.s.history.all({ ...sqlRange(prefix), from, to, limit }).map(toEvent);
  }

  protected expiredRevision(cutoffMs: number): number {
    // rev_times keeps the newest revision of each second: take whole seconds before the cutoff.
    return this.s.revBefore.get(Math.floor(cutoffMs / 1000))?.rev ?? 0;
  }

  /** Deletes rows no revision >= target can see, oldest first, one slice per transaction. */
  protected async removeHistory(target: number): Promise<void> {
    // Persisted before any row goes: a restart refuses the same reads.
    this.s.setMeta.run('compacted', target);
    let lo = (this.s.minRev.get()?.rev ?? target + 1) - 1;
    while (lo < target && !this.closed) {
      const hi = Math.min(target, this.s.nthRevAfter.get(lo, COMPACTION_SLICE - 1)?.rev ?? target);
      this.db.transaction(() => this.s.compactSlice.run({ lo, hi, target }))();
      lo = hi;
      await nextTurn();
    }
    if (!this.closed) this.s.forgetTimes.run(target);
  }

  protected override async drainWrites(): Promise<void> {
    while (this.queue.length) this.flush();
  }

  protected override async release(): Promise<void> {
    this.db.close();
  }

  private enqueue(req: WriteRequest): Promise<KeyValue> {
    if (this.closed) return Promise.reject(this.closedError());
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
}

/** keyRange with SQL's bounds: the empty prefix reads to KEY_MAX. */
function sqlRange(prefix: string, after?: string): Range {
  const { lower, upper = KEY_MAX } = keyRange(prefix, after);
  return { lower, upper };
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
