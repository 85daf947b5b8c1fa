/**
 * LIST and WATCH for one resource. Reads come from the watch cache (consistent: it first catches up
 * with the store's newest revision); continuation pages and exact-revision reads come from storage
 * at the revision of the first page, so paging is consistent as upstream's. A resource without a
 * cache (no plugin provides one, or --watch-cache-sizes=events#0) is read and watched from storage.
 */
import { errors, isStatusError } from '../../errors.js';
import { CompactedError, type Storage } from '../../storage/types.js';
import { type ContinueToken, continueExpired, decodeContinue, encodeContinue } from '../continue-token.js';
import { decodeStored, parseResourceVersion } from '../meta.js';
import { storagePrefix } from '../registry.js';
import type { ResourceCache } from '../resource-cache.js';
import { watchFromStorage } from '../storage-watch.js';
import type { KubeObject, ResourceDefinition } from '../types.js';
import { apiVersionOf } from '../types.js';
import type { CacheEvent } from '../watch-events.js';
import { type SelectionOptions, selectionFor } from './query.js';
import { withStorageErrors } from './storage-errors.js';

export interface ListQuery extends SelectionOptions {
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface WatchQuery extends SelectionOptions {
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
}

export interface ListResult {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

export class ResourceReader {
  private readonly prefix: string;

  constructor(
    private readonly def: ResourceDefinition,
    private readonly storage: Storage,
    /** Absent when the resource has no watch cache (none provided, or sized 0). */
    readonly cache: ResourceCache | undefined,
  ) {
    this.prefix = storagePrefix(def);
  }

  private listPrefix(namespace: string): string {
    return this.def.namespaced && namespace ? `${this.prefix}${namespace}/` : this.prefix;
  }

  /**
   * GET from the cache. Without a resourceVersion the read is consistent, like upstream's consistent
   * reads from cache: first catch up with the store's newest revision, so a client always reads its
   * own writes (from storage, if the cache is not there within 3 s). "0" takes the cache as it is;
   * N waits (3 s at most, then 504) until it has seen N.
   */
  async get(key: string, name: string, resourceVersion?: string): Promise<KubeObject> {
    const rv = checkedRevision(resourceVersion);
    if (!this.cache) return this.getFromStorage(key, name, rv);
    if (rv === undefined) {
      if (!(await this.caughtUp())) return this.getFromStorage(key, name, undefined);
    } else if (rv > 0) await this.cache.waitFresh(rv);
    const obj = this.cache.get(key);
    if (!obj) throw errors.notFound({ group: this.def.group, resource: this.def.plural }, name);
    return obj;
  }

  /** Without a cache every GET is storage's newest version, which is never older than a given N. */
  private async getFromStorage(key: string, name: string, rv: number | undefined): Promise<KubeObject> {
    if (rv) await this.checkReached(rv);
    const kv = await withStorageErrors(() => this.storage.get(key));
    if (!kv) throw errors.notFound({ group: this.def.group, resource: this.def.plural }, name);
    return decodeStored(kv);
  }

  async list(namespace: string, query: ListQuery): Promise<ListResult> {
    const selection = selectionFor(this.def, query);
    const rv = checkedRevision(query.resourceVersion);
    const match = query.resourceVersionMatch ?? '';
    if (match && !['Exact', 'NotOlderThan'].includes(match)) {
      throw errors.badRequest(
        `resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
      );
    }
    if (query.continue) {
      if (query.resourceVersion)
        throw errors.badRequest('specifying resource version is not allowed when using continue');
      const token = decodeContinue(query.continue);
      if (token.revision < 0) token.revision = await this.newestRevision();
      await this.checkReached(token.revision);
      return this.listFromStorage(namespace, selection.predicate, query.limit, token);
    }
    if (match === 'Exact' && rv) {
      await this.checkReached(rv);
      return this.listFromStorage(namespace, selection.predicate, query.limit, { revision: rv, after: '' });
    }
    if (!this.cache) {
      // Storage's newest state is never older than N; revision 0 reads it and tells its revision.
      if (rv) await this.checkReached(rv);
      return this.listFromStorage(namespace, selection.predicate, query.limit, { revision: 0, after: '' });
    }
    // '' = most recent (read our writes); '0' = any state; 'N' = not older than N.
    if (rv === undefined) {
      if (!(await this.caughtUp()))
        return this.listFromStorage(namespace, selection.predicate, query.limit, { revision: 0, after: '' });
    } else if (rv > 0) await this.cache.waitFresh(rv);
    const page = this.cache.list({
      namespace: this.def.namespaced && namespace ? namespace : undefined,
      filter: selection.predicate,
      limit: query.limit,
    });
    const result = this.listObject(
      page.items.map((i) => i.object),
      page.revision,
    );
    if (page.more && page.items.length) {
      const last = page.items[page.items.length - 1]!.key;
      result.metadata.continue = encodeContinue({ revision: page.revision, after: last.slice(this.prefix.length) });
      if (!selection.predicate) result.metadata.remainingItemCount = page.remaining;
    }
    return result;
  }

  private async listFromStorage(
    namespace: string,
    predicate: ((o: KubeObject) => boolean) | undefined,
    limit: number | undefined,
    token: ContinueToken,
  ): Promise<ListResult> {
    const prefix = this.listPrefix(namespace);
    let after = token.after ? this.prefix + token.after : undefined;
    if (after && !after.startsWith(prefix))
      throw errors.badRequest('invalid continue token: it belongs to another list');
    const items: { key: string; object: KubeObject }[] = [];
    let more = false;
    let remaining = 0;
    try {
      // With a selector, pages may come back short; keep reading until the page is full.
      for (;;) {
        const want = limit ? limit - items.length : 0;
        const page = await withStorageErrors(() =>
          this.storage.list(prefix, { revision: token.revision, after, limit: want || undefined }),
        );
        token.revision ||= page.revision;
        for (const kv of page.items) {
          const object = decodeStored(kv);
          if (!predicate || predicate(object)) items.push({ key: kv.key, object });
        }
        more = page.more;
        remaining = page.remaining ?? 0;
        after = page.items.at(-1)?.key ?? after;
        if (!more || (limit && items.length >= limit)) break;
      }
    } catch (err) {
      if (err instanceof CompactedError) throw continueExpired();
      throw err;
    }
    const result = this.listObject(
      items.map((i) => i.object),
      token.revision,
    );
    if (more && items.length) {
      result.metadata.continue = encodeContinue({
        revision: token.revision,
        after: items.at(-1)!.key.slice(this.prefix.length),
      });
      if (!predicate) result.metadata.remainingItemCount = remaining;
    }
    return result;
  }

  /**
   * Reads at a revision come from storage, the authority on it (upstream delegates them to etcd):
   * one it has not reached is the documented 504, not the 500 of a failed read.
   */
  private async checkReached(revision: number): Promise<void> {
    if (this.cache && revision <= this.cache.revision) return; // what the cache has seen, storage has reached
    const newest = await this.newestRevision();
    if (revision > newest) throw errors.tooLargeResourceVersion(revision, newest);
  }

  /**
   * A consistent read waits for the cache to reach the store's newest revision. One the cache does
   * not reach in time (a flood of writes, a slow storage watch) is read from storage instead, as
   * upstream's consistent reads fall back to etcd, rather than failing with a 504.
   */
  private async caughtUp(): Promise<boolean> {
    const cache = this.cache!;
    const newest = await this.newestRevision();
    if (newest <= cache.revision) return true;
    try {
      await cache.waitFresh(newest);
      return true;
    } catch (err) {
      if (isStatusError(err) && err.code === 504) return false;
      throw err;
    }
  }

  /** The store's newest revision, which consistent reads wait for; an unreachable store is a 503. */
  private newestRevision(): Promise<number> {
    return withStorageErrors(() => this.storage.currentRevision());
  }

  private listObject(items: KubeObject[], revision: number): ListResult {
    return {
      apiVersion: apiVersionOf(this.def),
      kind: `${this.def.kind}List`,
      metadata: { resourceVersion: String(revision) },
      items,
    };
  }

  /** Start a watch; `onClose` runs when the cache ends it (stop, or a 410 it sent). */
  watch(
    namespace: string,
    query: WatchQuery,
    onEvent: (e: CacheEvent) => void,
    onClose?: () => void,
  ): { cancel(): void } {
    const selection = selectionFor(this.def, query);
    checkedRevision(query.resourceVersion);
    const options = {
      resourceVersion: query.resourceVersion ?? '',
      namespace: this.def.namespaced && namespace ? namespace : undefined,
      filter: selection.predicate,
      allowBookmarks: query.allowWatchBookmarks ?? false,
      onEvent,
      onClose,
    };
    if (this.cache) return this.cache.watch(options);
    return watchFromStorage(options, { storage: this.storage, prefix: this.prefix, decode: decodeStored });
  }
}

/** A resourceVersion query parameter as a revision (undefined when absent); anything else is a 400. */
function checkedRevision(resourceVersion: string | undefined): number | undefined {
  const rv = parseResourceVersion(resourceVersion);
  if (Number.isNaN(rv))
    throw errors.badRequest(`invalid resourceVersion "${resourceVersion}": must be a non-negative integer`);
  return rv;
}
