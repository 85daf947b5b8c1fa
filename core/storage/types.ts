/**
 * The storage contract. It is etcd-shaped on purpose so that an etcd backend is a thin adapter:
 * a flat key space ("/registry/pods/<ns>/<name>"), one global revision that every write increases by
 * one, compare-and-swap on a key's mod revision, and a watch that replays history from a revision.
 *
 * Values are opaque strings (the API layer stores JSON). A key's resourceVersion, as clients see it, is
 * its modRevision printed in decimal.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created this key (etcd's create_revision). */
  createRevision: number;
  /** Revision of the last write to this key (etcd's mod_revision). */
  modRevision: number;
}

export type StorageEventType = 'create' | 'update' | 'delete';

export interface StorageEvent {
  type: StorageEventType;
  key: string;
  /** The value after the event; for 'delete', the value that was deleted. */
  value: string;
  /** The value before the event (absent for 'create'). */
  prevValue?: string;
  /** The revision of this event: the new modRevision (for 'delete', the revision of the delete). */
  revision: number;
  createRevision: number;
}

export interface ListOptions {
  /** Read as of this revision (0 or absent: the newest). Below the compacted revision: CompactedError (at it is fine, as in etcd). */
  revision?: number;
  /** At most this many items (0 or absent: all). */
  limit?: number;
  /** Only keys strictly greater than this one (for paging). */
  after?: string;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when `limit` cut the list short; continue with `after` = last item's key. */
  more: boolean;
  /** When `more`: how many keys are left after this page. */
  remaining?: number;
}

export interface WatchOptions {
  /** Deliver every event with revision > fromRevision. Older than the compacted revision: onError(CompactedError). */
  fromRevision: number;
  /** Called once per event, in revision order. */
  onEvent: (event: StorageEvent) => void;
  /** Called once if the watch fails; no events follow. */
  onError?: (err: Error) => void;
  /** Called periodically (and when asked) with the store's current revision, for bookmarks. */
  onProgress?: (revision: number) => void;
}

export interface Watch {
  cancel(): void;
  /** Ask for an onProgress call with the current revision soon (etcd's progress request). */
  requestProgress?(): void;
}

export interface Storage {
  readonly backend: string;
  /**
   * True when other API servers may write to the same store at once (etcd). What one server keeps
   * in memory alone (cluster IPs and ports in use) is then also claimed in the store.
   */
  readonly shared?: boolean;
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys that start with `prefix`, in key order. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Fails with KeyExistsError if the key exists. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Fails with RevisionMismatchError unless the key's modRevision is `expectedModRevision`; KeyNotFoundError if absent. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /** Guarded by `expectedModRevision` when given. Resolves to the deleted value with `modRevision` = the delete's revision. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  watch(prefix: string, options: WatchOptions): Watch;
  /** The newest revision (0 for an empty store). */
  currentRevision(): Promise<number>;
  /** The oldest revision that can still be read or watched from. */
  compactedRevision(): Promise<number>;
  /** Forget history up to and including `revision`. */
  compact(revision: number): Promise<void>;
  /** Flush and release everything; pending writes finish first. */
  close(): Promise<void>;
}

export class StorageError extends Error {}

export class KeyExistsError extends StorageError {
  override readonly name = 'KeyExistsError';
  constructor(readonly key: string) {
    super(`key exists: ${key}`);
  }
}

export class KeyNotFoundError extends StorageError {
  override readonly name = 'KeyNotFoundError';
  constructor(readonly key: string) {
    super(`key not found: ${key}`);
  }
}

export class RevisionMismatchError extends StorageError {
  override readonly name = 'RevisionMismatchError';
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`revision mismatch on ${key}: expected ${expected}, found ${actual}`);
  }
}

export class CompactedError extends StorageError {
  override readonly name = 'CompactedError';
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super(`required revision ${requested} has been compacted (oldest available: ${compacted})`);
  }
}

/** The request is larger than the backend accepts (etcd's request-size limit). The API answers 413. */
export class ValueTooLargeError extends StorageError {
  override readonly name = 'ValueTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`value larger than the storage limit of ${limitBytes} bytes`);
  }
}

/** The backend cannot be reached or failed; the API answers 503 / 504. */
export class StorageUnavailableError extends StorageError {
  override readonly name = 'StorageUnavailableError';
}

/** A read at (or a watch from) a revision the store has not reached: a plain StorageError, as etcd's "future revision". */
export function futureRevisionError(requested: number, current: number): StorageError {
  return new StorageError(`revision ${requested} is newer than the current revision ${current}`);
}

/** compact(revision) beyond the current revision (the contract refuses it). */
export function futureCompactionError(revision: number, current: number): StorageError {
  return new StorageError(`cannot compact to revision ${revision}: the current revision is ${current}`);
}
