/**
 * Opens (or creates) the SQLite file with the settings durability depends on, and turns SQLite's
 * failures into operator errors that say what to do.
 *
 * The store holds every Secret, so it is its owner's alone, as etcd keeps its data: the directory
 * Skiff creates is 0700, the database 0600 (SQLite gives its -wal and -shm files the database's
 * mode), and files an older Skiff left readable by others are made 0600 before they are opened.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SkiffError } from 'skiff/sdk/storage';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';

const OPEN_ERROR = 'SKIFF_STORAGE_SQLITE_OPEN';

/** A database file (or its -wal, -shm) that was readable by others and is 0600 now. */
export interface Tightened {
  file: string;
  /** Its mode before, in octal (0644). */
  mode: string;
}

export function openDatabase(path: string, onTightened: (t: Tightened) => void = () => {}): Database.Database {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new SkiffError(
      OPEN_ERROR,
      `cannot create the directory of the SQLite store ${path}: ${(err as Error).message}`,
      'make server.dataDir writable, or set plugins.storage-sqlite.path to a file in a writable directory',
    );
  }
  let db: Database.Database | undefined;
  try {
    for (const t of tightenExisting(path)) onTightened(t);
    createPrivate(path);
    db = new Database(path);
    configure(db);
    db.exec(SCHEMA);
    checkSchemaVersion(db, path);
    return db;
  } catch (err) {
    db?.close();
    throw explain(err as Error & { code?: string }, path);
  }
}

/** Creates the database file 0600 when it does not exist yet (an empty file is an empty database). */
function createPrivate(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function tightenExisting(path: string): Tightened[] {
  const tightened: Tightened[] = [];
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      continue; // absent
    }
    if ((mode & 0o077) === 0) continue;
    chmodSync(file, 0o600);
    tightened.push({ file, mode: mode.toString(8).padStart(4, '0') });
  }
  return tightened;
}

function configure(db: Database.Database): void {
  db.pragma('busy_timeout = 1000');
  // One process owns the file: the revision counter lives in memory, so a second writer would fork history.
  db.pragma('locking_mode = EXCLUSIVE');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal')
    throw new Error(`the filesystem does not support write-ahead logging (journal_mode stayed "${mode}")`);
  // FULL: a commit is on disk (WAL fsynced) before any write is acknowledged.
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -32000');
  db.pragma('temp_store = MEMORY');
}

function checkSchemaVersion(db: Database.Database, path: string): void {
  const row = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'schema'").get();
  if (!row) {
    db.prepare("INSERT INTO meta (name, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
  } else if (row.value > SCHEMA_VERSION) {
    throw new SkiffError(
      OPEN_ERROR,
      `${path} was written by a newer Skiff (schema ${row.value}; this version reads schema ${SCHEMA_VERSION})`,
      'upgrade Skiff, or point plugins.storage-sqlite.path at another file',
    );
  }
}

function explain(err: Error & { code?: string }, path: string): Error {
  if (err instanceof SkiffError) return err;
  if (err.code === 'SQLITE_BUSY' || err.code === 'SQLITE_LOCKED') {
    return new SkiffError(
      'SKIFF_STORAGE_SQLITE_LOCKED',
      `the SQLite store ${path} is in use by another process`,
      'stop the other Skiff server that uses this data directory, or set plugins.storage-sqlite.path to another file',
    );
  }
  if (err.code === 'SQLITE_NOTADB' || err.code === 'SQLITE_CORRUPT') {
    return new SkiffError(
      OPEN_ERROR,
      `${path} is not a readable SQLite database (${err.message})`,
      'move the file aside (or restore it from a backup) and start again; Skiff creates a fresh store',
    );
  }
  return new SkiffError(
    OPEN_ERROR,
    `cannot open the SQLite store ${path}: ${err.message}`,
    'check that the file and its directory are writable and the disk is not full',
  );
}
