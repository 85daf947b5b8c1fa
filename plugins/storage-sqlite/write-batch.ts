/**
 * Group commit: the writes queued since the last commit are applied in one transaction (one fsync),
 * each at its own revision. A write whose precondition fails (key exists, revision mismatch, ...)
 * writes nothing and gets its own error; the others in the batch still commit.
 */
import { type PlannedWrite, planWrite, StorageError, type WriteRequest } from 'skiff/sdk/storage';
import { type Statements, toKeyValue } from './schema.js';

export interface BatchOutcome {
  /** The revision after the batch. */
  revision: number;
  /** Per write, in order: what it did, or why it was refused. */
  results: (PlannedWrite | StorageError)[];
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

/** Applies one write at `rev`; planWrite checks its precondition before anything is written. */
function applyWrite(s: Statements, req: WriteRequest, rev: number): PlannedWrite {
  const cur = s.get.get(req.key);
  const planned = planWrite(req, cur && toKeyValue(cur), rev);
  const { key, createRevision, value } = planned.kv;
  if (req.op === 'create') {
    s.insertKv.run(rev, key, rev, null, 0, value);
    s.insertLive.run(key, rev, rev);
  } else if (req.op === 'update') {
    s.insertKv.run(rev, key, createRevision, cur!.rev, 0, value);
    s.updateLive.run(rev, key);
  } else {
    s.insertKv.run(rev, key, createRevision, cur!.rev, 1, null);
    s.deleteLive.run(key);
  }
  return planned;
}
