/**
 * skiff/sdk/cache: writing a watch cache (`ctx.provide.resourceCache`), as api-watch-cache does.
 *
 * - The contract: `ResourceCacheProvider` is asked once per served resource (`CachedResource`:
 *   its definition, storage, key prefix and decoder) and gives a `ResourceCache` or undefined
 *   (served from storage).
 * - The pieces: `CacheWatcher` is one client watch (its namespace, filter, starting revision,
 *   bookmark timer); `replayFromStorage` serves a watcher from a storage watch when it starts
 *   before what the cache keeps; `makeEvent` and `errorEvent` make events encoded once for every
 *   watcher; a `Change` is one write as the cache keeps it, `withRevision` the deleted object at
 *   the revision of its deletion; `DeadlineTimer` serves many timeouts with one timer.
 */
export {
  type CacheSource,
  CacheWatcher,
  type CacheWatchOptions,
  namespaceOfKey,
  replayFromStorage,
} from '../api/cache-watcher.js';
export type { CachedPage, CachedResource, ResourceCache, ResourceCacheProvider } from '../api/resource-cache.js';
export {
  type CacheEvent,
  type Change,
  errorEvent,
  makeEvent,
  type WatchEventType,
  withRevision,
} from '../api/watch-events.js';
export { type Deadline, DeadlineTimer } from '../deadline-timer.js';
