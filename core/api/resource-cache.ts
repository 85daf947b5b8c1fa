/**
 * What a watch cache offers the API (`ctx.provide.resourceCache`, api-watch-cache's): per resource,
 * its objects in memory, kept current by one storage watch, so LIST, GET and WATCH need not read
 * storage. Core asks the provider once per served resource as the API starts; a resource it gives
 * no cache (or every resource, when no plugin provides one) is read and watched straight from
 * storage, as upstream's --watch-cache=false.
 */
import type { CacheSource, CacheWatchOptions } from './cache-watcher.js';
import type { KubeObject, ResourceDefinition } from './types.js';

export interface CachedPage {
  /** In key order. */
  items: { key: string; object: KubeObject }[];
  /** The revision the cache had reached when it listed. */
  revision: number;
  /** More matching objects follow the last item. */
  more: boolean;
  /** How many (matching, with a filter) objects follow the last item. */
  remaining: number;
}

export interface ResourceCache {
  /** The newest storage revision the cache has seen. */
  readonly revision: number;
  /** Lists and watches storage; resolves once the cache holds what storage holds. */
  start(): Promise<void>;
  /** Ends the storage watch and every watch the cache serves. */
  stop(): void;
  /** The object under a storage key, as the cache holds it now. */
  get(key: string): KubeObject | undefined;
  list(options: { namespace?: string; filter?: (obj: KubeObject) => boolean; limit?: number }): CachedPage;
  /**
   * Resolves once the cache has seen `revision`; rejects with a 504 StatusError (upstream's "Too
   * large resource version") when it has not within a few seconds.
   */
  waitFresh(revision: number): Promise<void>;
  /** A watch from `options.resourceVersion` ('' or '0': the objects first, as ADDED events). */
  watch(options: CacheWatchOptions): { cancel(): void };
}

/** A resource the API serves: where its objects are stored, and how to decode one. */
export interface CachedResource extends CacheSource {
  def: ResourceDefinition;
}

/** Called once per served resource as the API starts; undefined: serve it from storage. */
export type ResourceCacheProvider = (resource: CachedResource) => ResourceCache | undefined;
