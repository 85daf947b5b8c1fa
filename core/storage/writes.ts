/**
 * The semantics of a write, shared by every backend that checks preconditions itself (etcd checks
 * them in its transactions): a create needs the key absent, an update or guarded delete needs its
 * live version at the expected mod revision. planWrite decides, before the backend writes anything,
 * what the write stores and which event it announces, or throws the contract's error.
 */
import {
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
  RevisionMismatchError,
  type StorageEvent,
  type StorageEventType,
} from './types.js';

/** A create, update or delete as a value, so a backend can queue writes and commit them together. */
export type WriteRequest =
  | { op: 'create'; key: string; value: string }
  | { op: 'update'; key: string; value: string; expected: number }
  | { op: 'delete'; key: string; expected?: number };

export interface PlannedWrite {
  /** What the write resolves to (for a delete: the deleted value, at the delete's revision). */
  kv: KeyValue;
  /** What watchers see. */
  event: StorageEvent;
}

/**
 * The outcome of `req` at `revision` on a key whose live version is `live` (undefined: absent).
 * Throws KeyExistsError, KeyNotFoundError or RevisionMismatchError when the precondition fails.
 */
export function planWrite(req: WriteRequest, live: KeyValue | undefined, revision: number): PlannedWrite {
  if (req.op === 'create') {
    if (live) throw new KeyExistsError(req.key);
    return planned('create', req.key, req.value, revision, revision);
  }
  if (!live) throw new KeyNotFoundError(req.key);
  if (req.expected !== undefined && live.modRevision !== req.expected) {
    throw new RevisionMismatchError(req.key, req.expected, live.modRevision);
  }
  const value = req.op === 'update' ? req.value : live.value;
  return planned(req.op, req.key, value, revision, live.createRevision, live.value);
}

function planned(
  type: StorageEventType,
  key: string,
  value: string,
  revision: number,
  createRevision: number,
  prevValue?: string,
): PlannedWrite {
  const event: StorageEvent = { type, key, value, revision, createRevision };
  if (prevValue !== undefined) event.prevValue = prevValue;
  return { kv: { key, value, createRevision, modRevision: revision }, event };
}
