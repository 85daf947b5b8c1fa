/**
 * Group commit: the writes queued since the last commit are applied in one transaction (one fsync),
 * each at its own revision. A write whose precondition fails (key exists, revision mismatch, ...)
 * writes nothing and gets its own error; the others in the batch still commit.
 */
import {
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
  RevisionMismatchError,
  StorageError,
  type StorageEvent,
} from '../../core/storage/types.js';
import type { LiveRow, Statements } from './schema.js';

export type WriteRequest =
  | { op: 'create'; key: string; value: string }
  | { op: 'update'; key: string; value: string; expected: number }
  | { op: 'delete'; key: string; expected?: number };

export interface Applied {
  kv: KeyValue;
  event: StorageEvent;
}

export interface BatchOutcome {
  /** The revision after the batch. */
  revision: number;
  /** Per write, in order: what it did, or why it was refused. */
  results: (Applied | StorageError)[];
}

/** Runs inside a transaction; a non-storage error (disk, SQLite) escapes and rolls the batch back. */
export function applyBatch(s: Statements, requests: WriteRequest[], revision: number, nowMs: number): BatchOutcome {
  let rev = revision;
  const results = requests.map((req) => {
    try {
      const applied = applyWrite(s, req, rev + 1);
      rev++;
      return applied;
    } catch (err) {
      if (err instanceof StorageError) return err;
      throw err;
    }
  });
  if (rev > revision) {
    s.setMeta.run('revision', rev);
    s.recordTime.run(Math.floor(nowMs / 1000), rev);
  }
  return { revision: rev, results };
}

/** Applies one write at `rev`; checks its precondition before writing anything. */
function applyWrite(s: Statements, req: WriteRequest, rev: number): Applied {
  const cur = s.get.get(req.key);
  if (req.op === 'create') {
    if (cur) throw new KeyExistsError(req.key);
    s.insertKv.run(rev, req.key, rev, null, 0, req.value);
    s.insertLive.run(req.key, rev, rev);
    return result('create', req.key, req.value, rev, rev);
  }
  if (!cur) throw new KeyNotFoundError(req.key);
  if (req.expected !== undefined && cur.rev !== req.expected) {
    throw new RevisionMismatchError(req.key, req.expected, cur.rev);
  }
  if (req.op === 'update') {
    s.insertKv.run(rev, req.key, cur.create_rev, cur.rev, 0, req.value);
    s.updateLive.run(rev, req.key);
    return result('update', req.key, req.value, rev, cur.create_rev, cur);
  }
  s.insertKv.run(rev, req.key, cur.create_rev, cur.rev, 1, null);
  s.deleteLive.run(req.key);
  return result('delete', req.key, cur.value, rev, cur.create_rev, cur);
}

function result(
  type: StorageEvent['type'],
  key: string,
  value: string,
  rev: number,
  createRev: number,
  prev?: LiveRow,
): Applied {
  const event: StorageEvent = { type, key, value, revision: rev, createRevision: createRev };
  if (prev) event.prevValue = prev.value;
  return { kv: { key, value, createRevision: createRev, modRevision: rev }, event };
}
