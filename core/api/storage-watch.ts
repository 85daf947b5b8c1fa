/**
 * A watch served straight from storage, for a resource whose watch cache is turned off (upstream's
 * --watch-cache-sizes=<resource>#0, the default for events): no copy of every object in memory, at
 * the price of one storage watch per client watch. With no resourceVersion (or "0") the client first
 * gets an ADDED for each object that exists, as from the cache; with N, what came after N.
 */
import { errors, isStatusError } from '../errors.js';
import { type CacheSource, CacheWatcher, type CacheWatchOptions, replayFromStorage } from './cache-watcher.js';
import { decodeStored } from './meta.js';
import { withStorageErrors } from './store/storage-errors.js';
import { errorEvent, makeEvent } from './watch-events.js';

export function watchFromStorage(options: CacheWatchOptions, source: CacheSource): { cancel(): void } {
  const watcher = new CacheWatcher(options, new Set());
  let cancelled = false;
  const rv = options.resourceVersion ?? '';
  if (rv !== '' && rv !== '0') watcher.fallback = replayFromStorage(watcher, Number(rv), source);
  else void listThenWatch(watcher, source, () => cancelled);
  return {
    cancel: () => {
      cancelled = true;
      watcher.cancel();
    },
  };
}

async function listThenWatch(w: CacheWatcher, source: CacheSource, cancelled: () => boolean): Promise<void> {
  const prefix = w.namespace === undefined ? source.prefix : `${source.prefix}${w.namespace}/`;
  try {
    const list = await withStorageErrors(() => source.storage.list(prefix));
    if (cancelled()) return;
    for (const kv of list.items) {
      const object = decodeStored(kv);
      if (!w.filter || w.filter(object)) w.onEvent(makeEvent('ADDED', object));
    }
    w.fallback = replayFromStorage(w, list.revision, source);
  } catch (err) {
    w.onEvent(errorEvent(isStatusError(err) ? err : errors.internal(`watch failed: ${(err as Error).message}`)));
    w.close();
  }
}
