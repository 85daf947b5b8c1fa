/**
 * The SQLite schema and every statement the store runs, prepared once.
 *
 * `kv` is the MVCC log: one row per revision (create, update or delete). A deletion row keeps no
 * value; its `prev_rev` points at the version it removed, which compaction never drops while the
 * deletion is still in history. `live` maps each existing key to its newest row, so GET and LIST at
 * the newest revision never scan history. `rev_times` remembers the newest revision of each second,
 * which is how time-based compaction finds "the revision five minutes ago".
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { KeyValue } from 'skiff/sdk/storage';

export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  rev INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  prev_rev INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0,
  value TEXT
);
CREATE INDEX IF NOT EXISTS kv_key_rev ON kv (key, rev);
CREATE TABLE IF NOT EXISTS live (
  key TEXT PRIMARY KEY,
  rev INTEGER NOT NULL,
  create_rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rev_times (
  second INTEGER PRIMARY KEY,
  rev INTEGER NOT NULL
);
`;

export interface LiveRow {
  key: string;
  rev: number;
  create_rev: number;
  value: string;
}

export interface HistoryRow {
  rev: number;
  key: string;
  create_rev: number;
  prev_rev: number | null;
  deleted: number;
  value: string | null;
  prev_value: string | null;
}

export function toKeyValue(row: LiveRow): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.create_rev, modRevision: row.rev };
}

/** Range bounds: keys `>= lower` and `< upper`. */
export interface Range {
  lower: string;
  upper: string;
}

const LIVE = 'SELECT l.key, l.rev, l.create_rev, k.value FROM live l JOIN kv k ON k.rev = l.rev';
// Walks the (key, rev) index in key order and keeps each key's newest row at or below @at, so a
// page stops after `limit` keys instead of grouping and sorting the whole range.
const AT_REVISION = `FROM kv k WHERE k.key >= @lower AND k.key < @upper AND k.deleted = 0
  AND k.rev = (SELECT max(rev) FROM kv x WHERE x.key = k.key AND x.rev <= @at)`;

export function prepareStatements(db: BetterSqlite3.Database) {
  return {
    get: db.prepare<[string], LiveRow>(`${LIVE} WHERE l.key = ?`),
    listLive: db.prepare<[Range & { limit: number }], LiveRow>(
      `${LIVE} WHERE l.key >= @lower AND l.key < @upper ORDER BY l.key LIMIT @limit`,
    ),
    countLive: db.prepare<[Range], { n: number }>(
      'SELECT count(*) AS n FROM live WHERE key >= @lower AND key < @upper',
    ),
    listAt: db.prepare<[Range & { at: number; limit: number }], LiveRow>(
      `SELECT k.key, k.rev, k.create_rev, k.value ${AT_REVISION} ORDER BY k.key LIMIT @limit`,
    ),
    countAt: db.prepare<[Range & { at: number }], { n: number }>(`SELECT count(*) AS n ${AT_REVISION}`),
    history: db.prepare<[Range & { from: number; to: number; limit: number }], HistoryRow>(
      `SELECT k.rev, k.key, k.create_rev, k.prev_rev, k.deleted, k.value, p.value AS prev_value
       FROM kv k LEFT JOIN kv p ON p.rev = k.prev_rev
       WHERE k.rev > @from AND k.rev <= @to AND k.key >= @lower AND k.key < @upper
       ORDER BY k.rev LIMIT @limit`,
    ),
    insertKv: db.prepare<[number, string, number, number | null, number, string | null]>(
      'INSERT INTO kv (rev, key, create_rev, prev_rev, deleted, value) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    insertLive: db.prepare<[string, number, number]>('INSERT INTO live (key, rev, create_rev) VALUES (?, ?, ?)'),
    updateLive: db.prepare<[number, string]>('UPDATE live SET rev = ? WHERE key = ?'),
    deleteLive: db.prepare<[string]>('DELETE FROM live WHERE key = ?'),
    getMeta: db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE name = ?'),
    setMeta: db.prepare<[string, number]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ),
    countHistory: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM kv'),
    maxRev: db.prepare<[], { rev: number | null }>('SELECT max(rev) AS rev FROM kv'),
    minRev: db.prepare<[], { rev: number | null }>('SELECT min(rev) AS rev FROM kv'),
    nthRevAfter: db.prepare<[number, number], { rev: number }>(
      'SELECT rev FROM kv WHERE rev > ? ORDER BY rev LIMIT 1 OFFSET ?',
    ),
    recordTime: db.prepare<[number, number]>(
      'INSERT INTO rev_times (second, rev) VALUES (?, ?) ON CONFLICT (second) DO UPDATE SET rev = excluded.rev',
    ),
    revBefore: db.prepare<[number], { rev: number | null }>('SELECT max(rev) AS rev FROM rev_times WHERE second < ?'),
    forgetTimes: db.prepare<[number]>('DELETE FROM rev_times WHERE rev <= ?'),
    // Superseded versions and deletions at or below @target, in one slice of revisions. Slices go
    // oldest first, so a deletion is never removed before the version it hides.
    compactSlice: db.prepare<[{ lo: number; hi: number; target: number }]>(
      `DELETE FROM kv WHERE rev > @lo AND rev <= @hi AND (deleted = 1 OR EXISTS (
         SELECT 1 FROM kv n WHERE n.key = kv.key AND n.rev > kv.rev AND n.rev <= @target))`,
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
