/**
 * skiff/sdk/storage: writing a storage backend (`ctx.provide.storageBackend`).
 *
 * - The contract: `Storage` (etcd-shaped: one global revision, compare-and-swap on mod revisions,
 *   watches that replay history) and its typed errors, which the API turns into 409/404/410/413/503.
 * - A store whose process is its only writer extends `SingleWriterStorage` and writes only its
 *   data layer: get/list/create/update/delete, readHistory (for watch replays), expiredRevision
 *   (for time-based compaction) and removeHistory. Watches (WatchHub: replay, fan-out, progress),
 *   the revision checks, compaction one at a time on a schedule, and closing come with it.
 *   storage-memory is the smallest example, storage-sqlite adds group commit.
 * - The pieces, for a store that others write too (storage-etcd): StoreLifecycle (closing),
 *   CompactionSchedule and RevisionTimeline (time-based compaction), planWrite (preconditions and
 *   events of a write), keyRange and listPage (list reads), checkFromRevision and notifyWatchError
 *   (watch handles), futureRevisionError and futureCompactionError (the contract's words).
 * - `test/storage/conformance.ts` in the Skiff repository is the suite every backend passes.
 */
export { SkiffError } from '../errors.js';
export {
  CompactionSchedule,
  type CompactionScheduleOptions,
  DEFAULT_COMPACTION_INTERVAL_SECONDS,
  DEFAULT_COMPACTION_WINDOW_SECONDS,
  RevisionTimeline,
  type StoreOptions,
} from '../storage/compaction.js';
export { StoreLifecycle } from '../storage/lifecycle.js';
export { type KeyRange, keyRange, listPage, prefixEnd } from '../storage/ranges.js';
export { type SingleWriterOptions, SingleWriterStorage } from '../storage/single-writer.js';
export {
  CompactedError,
  futureCompactionError,
  futureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
  type ListOptions,
  type ListResult,
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
  checkFromRevision,
  DEFAULT_PROGRESS_INTERVAL_MS,
  failedWatch,
  type HistorySource,
  type HubWatch,
  notifyWatchError,
  WatchHub,
} from '../storage/watch-hub.js';
export { type PlannedWrite, planWrite, type WriteRequest } from '../storage/writes.js';
