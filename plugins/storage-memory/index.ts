/**
 * storage-memory: a non-durable storage backend for tests. Offers the backend "memory"
 * (server.storageBackend / --storage-backend memory). Everything is lost when the server stops.
 */

import { definePlugin } from 'skiff/sdk';
import { DEFAULT_COMPACTION_WINDOW_SECONDS } from 'skiff/sdk/storage';
import { z } from 'zod';
import { MemoryStorage } from './memory-storage.js';

const configSchema = z
  .object({
    compactionWindowSeconds: z.number().int().positive().default(DEFAULT_COMPACTION_WINDOW_SECONDS),
  })
  .strict();

export type MemoryStorageConfig = z.infer<typeof configSchema>;

export default definePlugin<MemoryStorageConfig>({
  name: 'storage-memory',
  description: 'In-memory storage for tests: the same semantics as storage-sqlite, without persistence.',
  config: configSchema,
  setup(ctx) {
    ctx.provide.storageBackend('memory', async () => {
      const store = new MemoryStorage({
        compactionWindowSeconds: ctx.config.compactionWindowSeconds,
        logger: ctx.logger,
      });
      ctx.logger.debug('opened in-memory store; nothing is persisted');
      return store;
    });
  },
});
