/** api-watch-cache's config and the upstream flags that set it. */
import type { SkiffError } from 'skiff/sdk';
import { bool, type FlagSpec, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { parseWatchCacheSizes } from './sizes.js';

export const configSchema = z
  .object({
    /** Changes kept per resource for watches that resume from a resourceVersion (upstream:
     * --default-watch-cache-size). Older ones are replayed from storage history, or get 410 Expired
     * once compacted. 0, as upstream: no cache for a resource unless watchCacheSizes sizes it. */
    defaultWatchCacheSize: z.number().int().min(0).default(1000),
    /** Per resource, by upstream's name (pods, deployments.apps): 0 turns its cache off, so it is read
     * and watched from storage (upstream --watch-cache-sizes). Events have none unless sized here. */
    watchCacheSizes: z.record(z.string().regex(/^[a-z0-9][a-z0-9.-]*$/), z.number().int().min(0)).default({}),
  })
  .strict();

export type WatchCacheConfig = z.infer<typeof configSchema>;

function cacheSize(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, 0 for no watch caches');
  return Number(value);
}

function cacheSizes(value: string): Record<string, number> {
  try {
    return parseWatchCacheSizes(value);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}: ${(err as SkiffError).fix}`);
  }
}

export const FLAGS: FlagSpec[] = [
  {
    flag: '--watch-cache [bool]',
    help: 'serve GET, LIST and WATCH from the watch caches (default: true, as config/default.yaml lists this plugin); false: everything from storage',
    parse: bool,
    toConfig: () => ({}),
    enables: true,
    disables: (on) => on === false,
  },
  {
    flag: '--default-watch-cache-size <n>',
    help: 'changes each watch cache keeps for watches that resume from a resourceVersion (default: 1000); 0: no watch cache unless --watch-cache-sizes sizes one, everything served from storage',
    parse: cacheSize,
    toConfig: (value) => ({ defaultWatchCacheSize: value }),
  },
  {
    flag: '--watch-cache-sizes <list>',
    help: "per-resource watch cache sizes, resource[.group]#size,... (replaces the config file's); 0 serves that resource from storage (default: events#0)",
    parse: cacheSizes,
    toConfig: (value) => ({ watchCacheSizes: value }),
  },
];
