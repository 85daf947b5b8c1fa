/**
 * Fans committed events out to watchers, for any store whose writes all pass through this process
 * (storage-sqlite, storage-memory; see SingleWriterStorage): the backend publishes what it committed
 * and answers history reads, the hub does the rest.
 *
 * A new watcher first replays history from its backend in pages (so a watch from far back does not
 * block the event loop). Live events published meanwhile wait in its queue and are drained after the
 * replay; anything at or below the watcher's cursor is skipped, so the stream has no gap and no
 * duplicate. Delivery is always asynchronous (never inside a writer's call stack) and in revision order.
 */
import { CompactedError, type StorageEvent, StorageUnavailableError, type Watch, type WatchOptions } from './types.js';

export interface HistorySource {
  /**
   * Events with `from < revision <= to` whose key starts with `prefix`, oldest first, at most `limit`.
   * May answer asynchronously (a database client): the watcher then waits for the page.
   */
  readHistory(prefix: string, from: number, to: number, limit: number): StorageEvent[] | Promise<StorageEvent[]>;
  /** The compacted revision: history at or below it is gone. */
  compacted(): number;
}

export const DEFAULT_PROGRESS_INTERVAL_MS = 5000;

/**
 * The handle a watch returns. `requestProgress` goes beyond the contract's Watch: it asks for an
 * onProgress call as soon as every event up to the current revision has been delivered.
 */
export interface HubWatch extends Watch {
  requestProgress(): void;
}
const REPLAY_PAGE = 1000;

type Item = StorageEvent | { progress: number };

interface Watcher {
  prefix: string;
  options: WatchOptions;
  /** The newest revision delivered (initially fromRevision). */
  cursor: number;
  /** Replay reads history up to here; later events arrive through `queue`. */
  replayTo: number;
  replaying: boolean;
  queue: Item[];
  scheduled: boolean;
  /** Waiting for an asynchronous history page: nothing else runs for this watcher meanwhile. */
  reading: boolean;
  done: boolean;
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly timer: NodeJS.Timeout;
  private published: number;

  constructor(
    private readonly source: HistorySource,
    revision: number,
    progressIntervalMs = DEFAULT_PROGRESS_INTERVAL_MS,
  ) {
    this.published = revision;
    this.timer = setInterval(() => this.progress(), progressIntervalMs);
    this.timer.unref();
  }

  watch(prefix: string, options: WatchOptions): HubWatch {
    const from = checkFromRevision(options.fromRevision);
    const compacted = this.source.compacted();
    // 0 means "from the beginning"; once the beginning is compacted away it means "from now", as in etcd.
    const cursor = from === 0 && compacted > 0 ? this.published : from;
    const w: Watcher = {
      prefix,
      options,
      cursor,
      replayTo: this.published,
      replaying: cursor < this.published,
      queue: [],
      scheduled: false,
      reading: false,
      done: false,
    };
    if (cursor < compacted) {
      queueMicrotask(() => this.fail(w, new CompactedError(cursor, compacted)));
    } else {
      this.watchers.add(w);
      this.schedule(w);
    }
    return { cancel: () => this.stop(w), requestProgress: () => this.requestProgress(w) };
  }

  /** Hand over committed events, in revision order. */
  publish(events: StorageEvent[]): void {
    if (!events.length) return;
    this.published = events[events.length - 1]!.revision;
    for (const w of this.watchers) {
      let added = false;
      for (const e of events) {
        if (!e.key.startsWith(w.prefix)) continue;
        w.queue.push(Object.freeze(e));
        added = true;
      }
      if (added) this.schedule(w);
    }
  }

  /** Every watcher gets onError(StorageUnavailableError); nothing follows. */
  close(reason: string): void {
    clearInterval(this.timer);
    for (const w of [...this.watchers]) this.fail(w, new StorageUnavailableError(reason));
  }

  /** How many watchers are active (for tests and metrics). */
  get size(): number {
    return this.watchers.size;
  }

  private progress(): void {
    for (const w of this.watchers) this.requestProgress(w);
  }

  private requestProgress(w: Watcher): void {
    if (w.done || !w.options.onProgress) return;
    w.queue.push({ progress: this.published });
    this.schedule(w);
  }

  private schedule(w: Watcher): void {
    if (w.scheduled || w.reading || w.done) return;
    w.scheduled = true;
    // Replay pages yield to I/O between them; live events go out as soon as the writer's turn ends.
    // (Inline arrows, not a named one: under tsx a named closure also gets its name set, per event.)
    if (w.replaying) setImmediate(() => this.runScheduled(w));
    else queueMicrotask(() => this.runScheduled(w));
  }

  private runScheduled(w: Watcher): void {
    w.scheduled = false;
    this.pump(w);
  }

  private pump(w: Watcher): void {
    try {
      if (w.replaying) {
        const page = this.readPage(w);
        if (page instanceof Promise) {
          this.awaitPage(w, page);
          return;
        }
        this.replayPage(w, page);
        if (w.replaying) {
          this.schedule(w);
          return;
        }
      }
      this.drain(w);
    } catch (err) {
      this.fail(w, err as Error);
    }
  }

  private readPage(w: Watcher): StorageEvent[] | Promise<StorageEvent[]> {
    this.checkCompacted(w);
    return this.source.readHistory(w.prefix, w.cursor, w.replayTo, REPLAY_PAGE);
  }

  private awaitPage(w: Watcher, page: Promise<StorageEvent[]>): void {
    w.reading = true;
    page
      .then((events) => {
        w.reading = false;
        // A compaction during the read may have removed part of the page.
        this.checkCompacted(w);
        this.replayPage(w, events);
        this.schedule(w);
      })
      .catch((err: Error) => {
        w.reading = false;
        this.fail(w, err);
      });
  }

  private checkCompacted(w: Watcher): void {
    const compacted = this.source.compacted();
    if (w.cursor < compacted) throw new CompactedError(w.cursor, compacted);
  }

  private replayPage(w: Watcher, page: StorageEvent[]): void {
    for (const e of page) {
      if (w.done) return;
      w.cursor = e.revision;
      w.options.onEvent(e);
    }
    if (page.length < REPLAY_PAGE) {
      w.cursor = Math.max(w.cursor, w.replayTo);
      w.replaying = false;
    }
  }

  private drain(w: Watcher): void {
    const items = w.queue;
    w.queue = [];
    for (const item of items) {
      if (w.done) return;
      if ('progress' in item) {
        if (item.progress >= w.cursor) w.options.onProgress?.(item.progress);
      } else if (item.revision > w.cursor) {
        w.cursor = item.revision;
        w.options.onEvent(item);
      }
    }
  }

  private stop(w: Watcher): void {
    w.done = true;
    w.queue = [];
    this.watchers.delete(w);
  }

  private fail(w: Watcher, err: Error): void {
    if (w.done) return;
    this.stop(w);
    notifyWatchError(w.options, err);
  }
}

/** Storage.watch's argument check: fromRevision is a revision (0: from the beginning). */
export function checkFromRevision(from: number): number {
  if (!Number.isSafeInteger(from) || from < 0) {
    throw new TypeError(`watch fromRevision must be a non-negative integer, got ${from}`);
  }
  return from;
}

/** Calls a watch's onError (once it has ended); a throwing handler must not take the store down with it. */
export function notifyWatchError(options: WatchOptions, err: Error): void {
  try {
    options.onError?.(err);
  } catch (thrown) {
    process.emitWarning(`storage watch onError handler threw: ${(thrown as Error).message}`);
  }
}

/** A watch that fails at once, for stores that cannot serve one (closed). */
export function failedWatch(options: WatchOptions, err: Error): HubWatch {
  let cancelled = false;
  queueMicrotask(() => cancelled || options.onError?.(err));
  return {
    cancel: () => {
      cancelled = true;
    },
    requestProgress: () => {},
  };
}
