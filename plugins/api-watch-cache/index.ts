/**
 * api-watch-cache: upstream's watch cache (the cacher). Every served resource's objects in memory,
 * kept current by one storage watch each, so GET, LIST and WATCH are served without reading
 * storage, recent changes replayed to watches that resume, each event encoded once for all of its
 * watchers. Sized by --default-watch-cache-size and --watch-cache-sizes. Off: every read and watch
 * goes to storage, as upstream's --watch-cache=false. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { apiVersionOf } from 'skiff/sdk/api';
import { configSchema, FLAGS, type WatchCacheConfig } from './config.js';
import { checkWatchCacheSizes, resourceName, watchCacheSizeOf } from './sizes.js';
import { WatchCache } from './watch-cache.js';

export default definePlugin<WatchCacheConfig>({
  name: 'api-watch-cache',
  description:
    'The watch cache: reads and watches served from memory, one storage watch per resource (--default-watch-cache-size, --watch-cache-sizes).',
  config: configSchema,
  flags: FLAGS,
  setup(ctx) {
    const sizes = { default: ctx.config.defaultWatchCacheSize, byResource: ctx.config.watchCacheSizes };
    const cached: string[] = [];
    const fromStorage: string[] = [];
    ctx.provide.resourceCache(({ def, storage, prefix, decode }) => {
      // The first call comes once every resource is registered: a size naming none is a typo.
      if (!cached.length && !fromStorage.length) checkWatchCacheSizes(sizes, ctx.api.registry.all());
      const size = watchCacheSizeOf(def, sizes);
      (size ? cached : fromStorage).push(resourceName(def));
      if (!size) return undefined;
      const bookmarkType = { apiVersion: apiVersionOf(def), kind: def.kind };
      return new WatchCache({ storage, prefix, decode, historyLimit: size, bookmarkType, logger: ctx.logger });
    });
    // What the operator's sizes made of the served resources, once: the easiest check of a flag.
    ctx.onReady(() => ctx.logger.info({ cached: cached.length, fromStorage }, 'watch caches filled'));
  },
});
