/**
 * storage-sqlite: the default storage backend, an embedded SQLite file under the data directory.
 * Offers the backend "sqlite" (server.storageBackend / --storage-backend sqlite).
 */
import { join } from 'node:path';
import { definePlugin } from 'skiff/sdk';
import { DEFAULT_COMPACTION_INTERVAL_SECONDS, DEFAULT_COMPACTION_WINDOW_SECONDS } from 'skiff/sdk/storage';
import { z } from 'zod';
import { SqliteStorage } from './sqlite-storage.js';

const configSchema = z
  .object({
    /** The database file (default <server.dataDir>/skiff.db). */
    path: z.string().min(1).optional(),
    compactionWindowSeconds: z.number().int().positive().default(DEFAULT_COMPACTION_WINDOW_SECONDS),
    compactionIntervalSeconds: z.number().int().positive().default(DEFAULT_COMPACTION_INTERVAL_SECONDS),
  })
  .strict();

export type SqliteStorageConfig = z.infer<typeof configSchema>;

export default definePlugin<SqliteStorageConfig>({
  name: 'storage-sqlite',
  description: 'Durable storage in an embedded SQLite file (WAL, synchronous=FULL, group commit, MVCC history).',
  config: configSchema,
  setup(ctx) {
    const path = ctx.config.path ?? join(ctx.server.dataDir, 'skiff.db');
    ctx.provide.storageBackend('sqlite', async () => {
      const store = await SqliteStorage.open({
        path,
        compactionWindowSeconds: ctx.config.compactionWindowSeconds,
        compactionIntervalSeconds: ctx.config.compactionIntervalSeconds,
        logger: ctx.logger,
      });
      return store;
    });
  },
});
