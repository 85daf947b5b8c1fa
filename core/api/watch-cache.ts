/**
 * The watch cache: one per resource, fed by one storage watch. It serves LIST and WATCH from
 * memory, keeps recent events for replay, and encodes each event once for every watcher (upstream's
 * cacher). Watchers older than the kept history get a dedicated storage watch, or 410 Expired when
 * storage has compacted that far.
 */
import { type Deadline, DeadlineTimer } from '../deadline-timer.js';
import { errors, statusJson } from '../errors.js';
import {
  CompactedError,
  type Storage,
  type StorageEvent,
  StorageUnavailableError,
  type Watch,
} from '../storage/types.js';
import type { KubeObject } from './types.js';

export interface WatchCacheOptions {
  storage: Storage;
  prefix: string;
  decode(kv: { key: string; value: string; modRevision: number }): KubeObject;
  historyLimit?: number;
  bookmarkType: { apiVersion: string; kind: string };
  bookmarkIntervalMs?: number;
  logger?: { warn(obj: unknown, msg?: string): void; info(obj: unknown, msg?: string): void };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface CacheEvent {
  type: WatchEventType;
  object: KubeObject;
  encoded(): Buffer;
}

export interface CacheWatchOptions {
  resourceVersion?: string;
  namespace?: string;
  filter?: (obj: KubeObject) => boolean;
  allowBookmarks?: boolean;
  onEvent(event: CacheEvent): void;
  onClose?(): void;
}

/** One change as the cache keeps it: the object before and after, and lazily built views per type. */
interface Change {
  key: string;
  namespace: string;
  revision: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  prev?: KubeObject;
  views: Partial<Record<WatchEventType, CacheEvent>>;
}

interface Watcher {
  namespace?: string;
  filter?: (obj: KubeObject) => boolean;
  /** Started at a revision the cache has not reached: changes up to it are not this watcher's. */
  after?: number;
  onEvent(e: CacheEvent): void;
  close(): void;
}

/** An event, encoded at most once however many watchers write it (a class: no closure per event). */
class SharedEvent implements CacheEvent {
  private buf: Buffer | undefined;

  constructor(
    readonly type: WatchEventType,
    readonly object: KubeObject,
  ) {}

  encoded(): Buffer {
    if (this.buf) return this.buf;
    // An ERROR's object is a Status, written by the one Status encoder (Go's escaping, its key order).
    const object = this.type === 'ERROR' ? statusJson(this.object) : JSON.stringify(this.object);
    this.buf = Buffer.from(`{"type":"${this.type}","object":${object}}\n`);
    return this.buf;
  }
}

export function makeEvent(type: WatchEventType, object: KubeObject): CacheEvent {
  return new SharedEvent(type, object);
}

function withRevision(obj: KubeObject, revision: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

function viewOf(change: Change, type: WatchEventType): CacheEvent {
  const cached = change.views[type];
  if (cached) return cached;
  // A change that leaves a watcher's selection is a DELETED of the previous content at the new revision.
  const object =
    type === 'DELETED' && change.type !== 'DELETED' ? withRevision(change.prev!, change.revision) : change.object;
  const view = makeEvent(type, object);
  change.views[type] = view;
  return view;
}

/** What a watcher sees of a change, after its filter: upstream's cache_watcher conversion. */
function typeFor(change: Change, filter?: (o: KubeObject) => boolean): WatchEventType | undefined {
  if (!filter) return change.type;
  const cur = change.type !== 'DELETED' && filter(change.object);
  const old = change.prev !== undefined && filter(change.prev);
  if (cur && old) return 'MODIFIED';
  if (cur) return 'ADDED';
  if (old) return 'DELETED';
  return undefined;
}

function namespaceOfKey(prefix: string, key: string): string {
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? '' : rest.slice(0, slash);
}

interface Waiter {
  revision: number;
  deadline: Deadline;
  resolve(): void;
}

export class WatchCache {
  private readonly objects = new Map<string, KubeObject>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private sortedKeys: string[] | undefined;
  private readonly history: Change[] = [];
  /** Every event after this revision is in `history`. */
  private historyBase = 0;
  private readonly watchers = new Set<Watcher>();
  /** Reads waiting for the cache to reach a revision; one timer serves all their timeouts. */
  private waiters: Waiter[] = [];
  private readonly waiterDeadlines = new DeadlineTimer();
  private storageWatch: Watch | undefined;
  private stopped = false;
  private _revision = 0;

  constructor(private readonly options: WatchCacheOptions) {}

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
    this.history.length = 0;
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
      w.onEvent(
        makeEvent(
          'ERROR',
          errors.expired('the watch cache was re-initialized; list again').toStatus() as unknown as KubeObject,
        ),
      );
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
    this.history.push(change);
    const limit = this.options.historyLimit ?? 10_000;
    if (this.history.length > limit)
      this.historyBase = this.history.splice(0, this.history.length - limit).at(-1)!.revision;
    this.advance(e.revision);
    for (const w of this.watchers) this.deliver(w, change);
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

  private deliver(w: Watcher, change: Change): void {
    if (w.namespace !== undefined && change.namespace !== w.namespace) return;
    if (w.after !== undefined && change.revision <= w.after) return;
    const type = typeFor(change, w.filter);
    if (type) w.onEvent(viewOf(change, type));
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

  list(options: { namespace?: string; filter?: (obj: KubeObject) => boolean; limit?: number; afterKey?: string }) {
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

  watch(options: CacheWatchOptions): { cancel(): void } {
    let closed = false;
    let bookmarkTimer: NodeJS.Timeout | undefined;
    let fallback: Watch | undefined;
    const watcher: Watcher = {
      namespace: options.namespace,
      filter: options.filter,
      onEvent: (e) => {
        if (!closed) options.onEvent(e);
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.watchers.delete(watcher);
        if (bookmarkTimer) clearInterval(bookmarkTimer);
        fallback?.cancel();
        options.onClose?.();
      },
    };
    if (options.allowBookmarks) {
      bookmarkTimer = setInterval(() => this.sendBookmark(watcher), this.options.bookmarkIntervalMs ?? 60_000);
      bookmarkTimer.unref();
    }
    const rv = options.resourceVersion ?? '';
    if (rv !== '' && !/^\d+$/.test(rv))
      throw errors.badRequest(`invalid resourceVersion "${rv}": must be a non-negative integer`);
    const cancel = () => {
      if (closed) return;
      closed = true;
      this.watchers.delete(watcher);
      if (bookmarkTimer) clearInterval(bookmarkTimer);
      fallback?.cancel();
    };
    if (rv === '' || rv === '0') {
      for (const { object } of this.list({ namespace: options.namespace, filter: options.filter }).items) {
        watcher.onEvent(makeEvent('ADDED', object));
      }
      this.watchers.add(watcher);
      return { cancel };
    }
    const from = Number(rv);
    if (from > this._revision) {
      // Upstream's cacher neither waits nor fails here: the watch starts, and sends what comes after.
      watcher.after = from;
      this.watchers.add(watcher);
    } else if (from >= this.historyBase) {
      this.startFrom(watcher, from);
    } else {
      fallback = this.watchFromStorage(watcher, from);
    }
    return { cancel };
  }

  private startFrom(w: Watcher, from: number): void {
    for (const change of this.history) if (change.revision > from) this.deliver(w, change);
    this.watchers.add(w);
  }

  /** Older than our history: storage may still have it; otherwise 410 so the client re-lists. */
  private watchFromStorage(w: Watcher, from: number): Watch {
    const last = new Map<string, KubeObject>();
    return this.options.storage.watch(this.options.prefix, {
      fromRevision: from,
      onEvent: (e) => {
        const namespace = namespaceOfKey(this.options.prefix, e.key);
        const prevValue = e.prevValue;
        const prev =
          last.get(e.key) ??
          (prevValue ? this.options.decode({ key: e.key, value: prevValue, modRevision: e.revision }) : undefined);
        const object = this.options.decode({ key: e.key, value: e.value, modRevision: e.revision });
        if (e.type === 'delete') last.delete(e.key);
        else last.set(e.key, object);
        const type = e.type === 'create' ? 'ADDED' : e.type === 'update' ? 'MODIFIED' : 'DELETED';
        this.deliver(w, {
          key: e.key,
          namespace,
          revision: e.revision,
          type,
          object,
          prev: type === 'DELETED' ? object : prev,
          views: {},
        });
      },
      onError: (err) => {
        const status =
          err instanceof CompactedError
            ? errors.expired(`too old resource version: ${from} (${err.compacted})`)
            : err instanceof StorageUnavailableError
              ? errors.serviceUnavailable(`storage is unavailable: ${err.message}`)
              : errors.internal(`watch failed: ${err.message}`);
        w.onEvent(makeEvent('ERROR', status.toStatus() as unknown as KubeObject));
        w.close();
      },
    });
  }

  /** Bookmarks tell a watcher how far it has seen: none before the revision it started at. */
  private sendBookmark(w: Watcher): void {
    if (w.after === undefined || this._revision > w.after) w.onEvent(this.bookmark());
  }

  private bookmark(): CacheEvent {
    const { apiVersion, kind } = this.options.bookmarkType;
    return makeEvent('BOOKMARK', { apiVersion, kind, metadata: { resourceVersion: String(this._revision) } });
  }
}
