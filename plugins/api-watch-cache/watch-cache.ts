/**
 * The watch cache: one per resource, fed by one storage watch. It serves LIST and WATCH from
 * memory, keeps recent events for replay, and encodes each event once for every watcher (upstream's
 * cacher). Watchers older than the kept history get a dedicated storage watch, or 410 Expired when
 * storage has compacted that far.
 */
import { errors, type KubeObject } from 'skiff/sdk/api';
import {
  type CachedPage,
  type CacheEvent,
  type CacheSource,
  CacheWatcher,
  type CacheWatchOptions,
  type Change,
  type Deadline,
  DeadlineTimer,
  errorEvent,
  makeEvent,
  namespaceOfKey,
  type ResourceCache,
  replayFromStorage,
  withRevision,
} from 'skiff/sdk/cache';
import type { StorageEvent, Watch } from 'skiff/sdk/storage';
import { ChangeLog } from './change-log.js';

export interface WatchCacheOptions extends CacheSource {
  historyLimit?: number;
  bookmarkType: { apiVersion: string; kind: string };
  bookmarkIntervalMs?: number;
  logger?: { warn(obj: unknown, msg?: string): void; info(obj: unknown, msg?: string): void };
}

interface Waiter {
  revision: number;
  deadline: Deadline;
  resolve(): void;
}

export class WatchCache implements ResourceCache {
  private readonly objects = new Map<string, KubeObject>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private sortedKeys: string[] | undefined;
  private readonly history: ChangeLog;
  /** Every event after this revision is in `history`. */
  private historyBase = 0;
  private readonly watchers = new Set<CacheWatcher>();
  /** Reads waiting for the cache to reach a revision; one timer serves all their timeouts. */
  private waiters: Waiter[] = [];
  private readonly waiterDeadlines = new DeadlineTimer();
  private storageWatch: Watch | undefined;
  private stopped = false;
  private _revision = 0;

  constructor(private readonly options: WatchCacheOptions) {
    this.history = new ChangeLog(options.historyLimit ?? 10_000);
  }

  get revision(): number {
    return this._revision;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  async start(): Promise<void> {
    const { storage, prefix } = this.options;
    const list = await storage.list(prefix);
    this.objects.clear();
    this.byNamespace.clear();
    this.sortedKeys = undefined;
    for (const kv of list.items) this.put(kv.key, this.options.decode(kv));
    this._revision = list.revision;
    this.historyBase = list.revision;
    this.history.clear();
    this.storageWatch = storage.watch(prefix, {
      fromRevision: list.revision,
      onEvent: (e) => this.apply(e),
      onError: (err) => void this.recover(err),
      onProgress: (rev) => this.advance(rev),
    });
  }

  stop(): void {
    this.stopped = true;
    this.storageWatch?.cancel();
    for (const w of [...this.watchers]) w.close();
    this.watchers.clear();
  }

  /** The storage watch failed: rebuild from a fresh list; watchers cannot know what they missed, so they get 410. */
  private async recover(err: Error): Promise<void> {
    if (this.stopped) return;
    this.options.logger?.warn({ err, prefix: this.options.prefix }, 'watch cache lost its storage watch; re-listing');
    for (const w of [...this.watchers]) {
      w.onEvent(errorEvent(errors.expired('the watch cache was re-initialized; list again')));
      w.close();
    }
    await new Promise((r) => setTimeout(r, 100).unref());
    if (!this.stopped) await this.start().catch((e: unknown) => this.recover(e as Error));
  }

  private put(key: string, obj: KubeObject): void {
    if (!this.objects.has(key)) {
      this.sortedKeys = undefined;
      const ns = namespaceOfKey(this.options.prefix, key);
      const set = this.byNamespace.get(ns) ?? new Set<string>();
      this.byNamespace.set(ns, set);
      set.add(key);
    }
    this.objects.set(key, obj);
  }

  private remove(key: string): void {
    if (!this.objects.delete(key)) return;
    this.sortedKeys = undefined;
    this.byNamespace.get(namespaceOfKey(this.options.prefix, key))?.delete(key);
  }

  private apply(e: StorageEvent): void {
    const prev = this.objects.get(e.key);
    let change: Change;
    const namespace = namespaceOfKey(this.options.prefix, e.key);
    if (e.type === 'delete') {
      const base = prev ?? this.options.decode({ key: e.key, value: e.value, modRevision: e.revision });
      change = {
        key: e.key,
        namespace,
        revision: e.revision,
        type: 'DELETED',
        object: withRevision(base, e.revision),
        prev: base,
        views: {},
      };
      this.remove(e.key);
    } else {
      const object = this.options.decode({ key: e.key, value: e.value, modRevision: e.revision });
      change = {
        key: e.key,
        namespace,
        revision: e.revision,
        type: prev ? 'MODIFIED' : 'ADDED',
        object,
        prev,
        views: {},
      };
      this.put(e.key, object);
    }
    this.historyBase = this.history.push(change) ?? this.historyBase;
    this.advance(e.revision);
    for (const w of this.watchers) w.deliver(change);
  }

  private advance(revision: number): void {
    if (revision <= this._revision) return;
    this._revision = revision;
    if (this.waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.revision > revision) waiting.push(w);
      else {
        this.waiterDeadlines.settle(w.deadline);
        w.resolve();
      }
    }
    this.waiters = waiting;
  }

  /**
   * Resolves once the cache has seen `revision`. While writes stream in, most consistent reads
   * land here for a moment, so a waiter costs an entry in a list rather than a timer of its own.
   */
  waitFresh(revision: number, timeoutMs = 3000): Promise<void> {
    if (revision <= this._revision) return Promise.resolve();
    this.storageWatch?.requestProgress?.();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        revision,
        resolve,
        deadline: this.waiterDeadlines.add(timeoutMs, () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(errors.tooLargeResourceVersion(revision, this._revision));
        }),
      };
      this.waiters.push(waiter);
    });
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  private keysFor(namespace: string | undefined): string[] {
    if (namespace === undefined) {
      this.sortedKeys ??= [...this.objects.keys()].sort();
      return this.sortedKeys;
    }
    return [...(this.byNamespace.get(namespace) ?? [])].sort();
  }

  list(options: {
    namespace?: string;
    filter?: (obj: KubeObject) => boolean;
    limit?: number;
    afterKey?: string;
  }): CachedPage {
    const keys = this.keysFor(options.namespace);
    let start = 0;
    if (options.afterKey) {
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid]! <= options.afterKey) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const items: { key: string; object: KubeObject }[] = [];
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let i = start;
    for (; i < keys.length && items.length < limit; i++) {
      const object = this.objects.get(keys[i]!)!;
      if (!options.filter || options.filter(object)) items.push({ key: keys[i]!, object });
    }
    let more = false;
    let remaining = keys.length - i;
    if (options.filter && remaining > 0) {
      remaining = 0;
      for (let j = i; j < keys.length; j++) if (options.filter(this.objects.get(keys[j]!)!)) remaining++;
    }
    more = remaining > 0;
    return { items, revision: this._revision, more, remaining };
  }

  /** Starts a watch at options.resourceVersion: '' or '0' lists what exists first, N replays what came after N. */
  watch(options: CacheWatchOptions): { cancel(): void } {
    const rv = options.resourceVersion ?? '';
    if (rv !== '' && !/^\d+$/.test(rv))
      throw errors.badRequest(`invalid resourceVersion "${rv}": must be a non-negative integer`);
    const watcher = new CacheWatcher(options, this.watchers);
    if (options.allowBookmarks) {
      watcher.bookmarkEvery(this.options.bookmarkIntervalMs ?? 60_000, () => this.sendBookmark(watcher));
    }
    if (rv === '' || rv === '0') this.startWithList(watcher);
    else this.startAfter(watcher, Number(rv));
    return { cancel: () => watcher.cancel() };
  }

  private startWithList(w: CacheWatcher): void {
    for (const { object } of this.list({ namespace: w.namespace, filter: w.filter }).items) {
      w.onEvent(makeEvent('ADDED', object));
    }
    this.watchers.add(w);
  }

  private startAfter(w: CacheWatcher, from: number): void {
    if (from > this._revision) {
      // Upstream's cacher neither waits nor fails here: the watch starts, and sends what comes after.
      w.after = from;
      this.watchers.add(w);
    } else if (from >= this.historyBase) {
      for (const change of this.history.after(from)) w.deliver(change);
      this.watchers.add(w);
    } else {
      w.fallback = replayFromStorage(w, from, this.options);
    }
  }

  /** Bookmarks tell a watcher how far it has seen: none before the revision it started at. */
  private sendBookmark(w: CacheWatcher): void {
    if (w.after === undefined || this._revision > w.after) w.onEvent(this.bookmark());
  }

  private bookmark(): CacheEvent {
    const { apiVersion, kind } = this.options.bookmarkType;
    return makeEvent('BOOKMARK', { apiVersion, kind, metadata: { resourceVersion: String(this._revision) } });
  }
}
