/**
 * Consistent reads (no resourceVersion) wait for the watch cache to reach storage's newest write.
 * A cache that does not get there in time is not an error for the client: the read goes to
 * storage, as upstream's consistent reads fall back to etcd. A read at N the cache has not seen
 * is still the 504 upstream gives.
 */
import { expect } from 'chai';
import type { ResourceCache } from '../../../core/api/resource-cache.js';
import { ResourceReader } from '../../../core/api/store/reader.js';
import type { ResourceDefinition } from '../../../core/api/types.js';
import { errors, isStatusError } from '../../../core/errors.js';
import { MemoryStorage } from '../../../plugins/storage-memory/memory-storage.js';

const CONFIGMAPS: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
};

/** A watch cache stuck before every write: it never catches up, and says so with the 504. */
function stuckCache(): { cache: ResourceCache; waits: number[] } {
  const waits: number[] = [];
  const cache = {
    revision: 0,
    waitFresh: (revision: number) => {
      waits.push(revision);
      return Promise.reject(errors.tooLargeResourceVersion(revision, 0));
    },
    get: () => undefined,
    list: () => ({ items: [], revision: 0, more: false, remaining: 0 }),
  } as unknown as ResourceCache;
  return { cache, waits };
}

describe('core/api: consistent reads when the watch cache lags', () => {
  let storage: MemoryStorage;
  beforeEach(async () => {
    storage = new MemoryStorage();
    for (const name of ['a', 'b'])
      await storage.create(
        `/registry/configmaps/default/${name}`,
        JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } }),
      );
  });
  afterEach(() => storage.close());

  it('GET and LIST without resourceVersion read storage once the cache did not catch up', async () => {
    const { cache, waits } = stuckCache();
    const reader = new ResourceReader(CONFIGMAPS, storage, cache);
    const got = await reader.get('/registry/configmaps/default/a', 'a');
    expect(got.metadata).to.include({ name: 'a', resourceVersion: '1' });
    const list = await reader.list('default', {});
    expect(list.items.map((o) => o.metadata.name)).to.deep.equal(['a', 'b']);
    expect(list.metadata.resourceVersion).to.equal('2');
    // Each first asked the cache to catch up with the newest revision.
    expect(waits).to.deep.equal([2, 2]);
  });

  it('a missing object is still 404, and a read at a revision the cache has not seen still 504', async () => {
    const reader = new ResourceReader(CONFIGMAPS, storage, stuckCache().cache);
    const missing = await reader.get('/registry/configmaps/default/zz', 'zz').catch((e: unknown) => e);
    expect(isStatusError(missing) && missing.code).to.equal(404);
    const atTwo = await reader.get('/registry/configmaps/default/a', 'a', '2').catch((e: unknown) => e);
    expect(isStatusError(atTwo) && atTwo.code).to.equal(504);
  });
});
