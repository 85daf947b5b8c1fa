/**
 * skiff/sdk/storage: writing a storage backend (`ctx.provide.storageBackend`). The etcd-shaped
 * Storage contract and its typed errors, and the shared backend machinery: the watch fan-out
 * (WatchHub, which replays history and delivers in revision order) and its failure handle.
 */
export { SkiffError } from '../errors.js';
export {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  prefixEnd,
  RevisionMismatchError,
  type Storage,
  StorageError,
  type StorageEvent,
  type StorageEventType,
  StorageUnavailableError,
  ValueTooLargeError,
  type Watch,
  type WatchOptions,
} from '../storage/types.js';
export {
  DEFAULT_PROGRESS_INTERVAL_MS,
  failedWatch,
  type HistorySource,
  type HubWatch,
  WatchHub,
} from '../storage/watch-hub.js';
