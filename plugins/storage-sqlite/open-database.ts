/**
 * Opens (or creates) the SQLite file with the settings durability depends on, and turns SQLite's
 * failures into operator errors that say what to do.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SkiffError } from '../../core/errors.js';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';

const OPEN_ERROR = 'SKIFF_STORAGE_SQLITE_OPEN';

export function openDatabase(path: string): Database.Database {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new SkiffError(
      OPEN_ERROR,
      `cannot create the directory of the SQLite store ${path}: ${(err as Error).message}`,
      'make server.dataDir writable, or set plugins.storage-sqlite.path to a file in a writable directory',
    );
  }
  let db: Database.Database | undefined;
  try {
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
