/**
 * One client's watch on the watch cache: where it looks (namespace, filter, starting revision), its
 * bookmark timer, and, when it started before the cache's history, the storage watch that replays
 * what the cache no longer keeps (or ends it with 410 once storage has compacted that far).
 */
import { errors } from '../errors.js';
import { CompactedError, type Storage, StorageUnavailableError, type Watch } from '../storage/types.js';
import type { KubeObject } from './types.js';
import { type CacheEvent, type Change, errorEvent, typeFor, viewOf } from './watch-events.js';

export interface CacheWatchOptions {
  resourceVersion?: string;
  namespace?: string;
  filter?: (obj: KubeObject) => boolean;
  allowBookmarks?: boolean;
  onEvent(event: CacheEvent): void;
  onClose?(): void;
}

/** Where the cache's objects come from: the storage, the resource's key prefix, and the decoder. */
export interface CacheSource {
  storage: Storage;
  prefix: string;
  decode(kv: { key: string; value: string; modRevision: number }): KubeObject;
}

export class CacheWatcher {
  readonly namespace: string | undefined;
  readonly filter: ((obj: KubeObject) => boolean) | undefined;
  /** Started at a revision the cache has not reached: changes up to it are not this watcher's. */
  after: number | undefined;
  /** The storage watch replaying what is older than the cache's history, when it needs one. */
  fallback: Watch | undefined;
  private closed = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: CacheWatchOptions,
    private readonly watchers: Set<CacheWatcher>,
  ) {
    this.namespace = options.namespace;
    this.filter = options.filter;
  }

  onEvent(e: CacheEvent): void {
    if (!this.closed) this.options.onEvent(e);
  }

  /** A change, as this watcher sees it (or not at all). */
  deliver(change: Change): void {
    if (this.namespace !== undefined && change.namespace !== this.namespace) return;
    if (this.after !== undefined && change.revision <= this.after) return;
    const type = typeFor(change, this.filter);
    if (type) this.onEvent(viewOf(change, type));
  }

  bookmarkEvery(intervalMs: number, send: () => void): void {
    this.bookmarkTimer = setInterval(send, intervalMs);
    this.bookmarkTimer.unref();
  }

  /** Ended by the cache (stopped, re-listed, storage failed): the client is told. */
  close(): void {
    if (this.closed) return;
    this.end();
    this.options.onClose?.();
  }

  /** Ended by the client. */
  cancel(): void {
    if (!this.closed) this.end();
  }

  private end(): void {
    this.closed = true;
    this.watchers.delete(this);
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.fallback?.cancel();
  }
}

export function namespaceOfKey(prefix: string, key: string): string {
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? '' : rest.slice(0, slash);
}

/**
 * Older than the cache's history, or a resource without a cache: storage replays from `from` and
 * goes on live. Nothing is kept per object (such a watch may last for hours): the previous version,
 * which only a filter needs, comes from the event.
 */
export function replayFromStorage(w: CacheWatcher, from: number, source: CacheSource): Watch {
  const { storage, prefix } = source;
  return storage.watch(prefix, {
    fromRevision: from,
    onEvent: (e) => {
      const prevValue = e.prevValue;
      const prev =
        w.filter && prevValue ? source.decode({ key: e.key, value: prevValue, modRevision: e.revision }) : undefined;
      const object = source.decode({ key: e.key, value: e.value, modRevision: e.revision });
      const type = e.type === 'create' ? 'ADDED' : e.type === 'update' ? 'MODIFIED' : 'DELETED';
      const namespace = namespaceOfKey(prefix, e.key);
      w.deliver({
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
      w.onEvent(errorEvent(status));
      w.close();
    },
  });
}
