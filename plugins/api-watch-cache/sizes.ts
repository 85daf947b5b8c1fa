/**
 * How big each resource's watch cache is (upstream's --default-watch-cache-size and
 * --watch-cache-sizes): the changes kept for replay, or 0 for no cache at all, so the resource is
 * read and watched from storage. As upstream, events have none unless asked for: every component
 * writes them and few read them back, and a cache would hold a copy of each in memory.
 */
import { SkiffError } from 'skiff/sdk';
import type { ResourceDefinition } from 'skiff/sdk/api';

export interface WatchCacheSizes {
  /** Changes kept per resource unless `byResource` names it. */
  default: number;
  /** By upstream's name: the plural for the core group ("pods"), else plural.group ("deployments.apps"). */
  byResource: Readonly<Record<string, number>>;
}

/** Upstream's DefaultWatchCacheSizes: caches turned off unless the operator sizes them. */
const BUILT_IN: Readonly<Record<string, number>> = { events: 0, 'events.events.k8s.io': 0 };

/** Upstream's name of a resource in these flags: pods, deployments.apps. */
export const resourceName = (def: Pick<ResourceDefinition, 'plural' | 'group'>) =>
  def.group ? `${def.plural}.${def.group}` : def.plural;

export function watchCacheSizeOf(def: Pick<ResourceDefinition, 'plural' | 'group'>, sizes: WatchCacheSizes): number {
  const name = resourceName(def);
  return sizes.byResource[name] ?? BUILT_IN[name] ?? sizes.default;
}

/** A size for a resource that is not served is a typo the operator would never notice: stop. */
export function checkWatchCacheSizes(sizes: WatchCacheSizes, served: readonly ResourceDefinition[]): void {
  const known = new Set(served.map(resourceName));
  const unknown = Object.keys(sizes.byResource).filter((n) => !known.has(n));
  if (unknown.length === 0) return;
  throw new SkiffError(
    'SKIFF_WATCH_CACHE_SIZES_UNKNOWN_RESOURCE',
    `watch cache sizes name resources this server does not serve: ${unknown.join(', ')}`,
    'name each as its lowercase plural, with .group outside the core group (pods, deployments.apps), or drop it',
  );
}

/** Upstream's flag syntax, "resource[.group]#size,...", as a map; anything else is a clear error. */
export function parseWatchCacheSizes(value: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const part of value.split(',').map((p) => p.trim())) {
    if (!part) continue;
    const match = /^([a-z0-9][a-z0-9.-]*)#(\d+)$/.exec(part);
    if (!match) {
      throw new SkiffError(
        'SKIFF_WATCH_CACHE_SIZES_SYNTAX',
        `invalid watch cache size "${part}"`,
        'write each as resource[.group]#size, for example events#0,pods#5000',
      );
    }
    sizes[match[1]!] = Number(match[2]);
  }
  return sizes;
}
