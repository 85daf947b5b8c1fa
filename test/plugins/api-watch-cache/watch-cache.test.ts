/** The watch cache on a real (memory) store: replay, initial ADDED, filters, 410, bookmarks, encode-once. */
import { expect } from 'chai';
import { decodeStored } from '../../../core/api/meta.js';
import type { KubeObject } from '../../../core/api/types.js';
import type { CacheEvent } from '../../../core/api/watch-events.js';
import { WatchCache } from '../../../plugins/api-watch-cache/watch-cache.js';
import { MemoryStorage } from '../../../plugins/storage-memory/memory-storage.js';

const PREFIX = '/registry/configmaps/';
const cm = (name: string, labels: Record<string, string> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: name.split('.')[0], labels } });
const key = (name: string) => `${PREFIX}${name.split('.')[0]}/${name}`;

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('api-watch-cache: the watch cache', () => {
  let storage: MemoryStorage;
  let cache: WatchCache;
  const seen = (events: CacheEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.name}`);
  const open = (historyLimit = 100, bookmarkIntervalMs?: number) => {
    cache = new WatchCache({
      storage,
      prefix: PREFIX,
      decode: decodeStored,
      historyLimit,
      bookmarkType: { apiVersion: 'v1', kind: 'ConfigMap' },
      bookmarkIntervalMs,
    });
    return cache.start();
  };

  beforeEach(() => {
    storage = new MemoryStorage({ compactionWindowSeconds: 300 });
  });
  afterEach(async () => {
    cache?.stop();
    await storage.close();
  });

  it('lists from memory in key order, by namespace, with paging', async () => {
    for (const n of ['b.2', 'a.1', 'b.1', 'a.2']) await storage.create(key(n), cm(n));
    await open();
    expect(cache.list({}).items.map((i) => i.object.metadata.name)).to.deep.equal(['a.1', 'a.2', 'b.1', 'b.2']);
    expect(cache.list({ namespace: 'b' }).items.map((i) => i.object.metadata.name)).to.deep.equal(['b.1', 'b.2']);
    const page = cache.list({ limit: 3 });
    expect(page).to.include({ more: true, remaining: 1 });
    expect(cache.list({ afterKey: page.items.at(-1)!.key }).items.map((i) => i.object.metadata.name)).to.deep.equal([
      'b.2',
    ]);
  });

  it('resourceVersion 0 starts with ADDED for what exists, then streams live', async () => {
    await storage.create(key('a.1'), cm('a.1'));
    await open();
    const events: CacheEvent[] = [];
    cache.watch({ resourceVersion: '0', onEvent: (e) => events.push(e) });
    await storage.create(key('a.2'), cm('a.2'));
    await until(() => events.length === 2);
    expect(seen(events)).to.deep.equal(['ADDED a.1', 'ADDED a.2']);
  });

  it('replays every change after a resourceVersion, with deletes carrying their revision', async () => {
    await open();
    const created = await storage.create(key('a.1'), cm('a.1'));
    const updated = await storage.update(key('a.1'), cm('a.1', { x: 'y' }), created.modRevision);
    const deleted = await storage.delete(key('a.1'));
    await cache.waitFresh(deleted.modRevision);
    const events: CacheEvent[] = [];
    cache.watch({ resourceVersion: String(created.modRevision), onEvent: (e) => events.push(e) });
    expect(seen(events)).to.deep.equal(['MODIFIED a.1', 'DELETED a.1']);
    expect(events[0]!.object.metadata.resourceVersion).to.equal(String(updated.modRevision));
    expect(events[1]!.object.metadata.resourceVersion).to.equal(String(deleted.modRevision));
  });

  it('turns changes into ADDED/DELETED for a watcher whose filter they enter or leave', async () => {
    await open();
    const events: CacheEvent[] = [];
    const hot = (o: KubeObject) => o.metadata.labels?.hot === 'yes';
    cache.watch({ resourceVersion: String(cache.revision), filter: hot, onEvent: (e) => events.push(e) });
    const a = await storage.create(key('a.1'), cm('a.1'));
    const b = await storage.update(key('a.1'), cm('a.1', { hot: 'yes' }), a.modRevision);
    const c = await storage.update(key('a.1'), cm('a.1', { hot: 'yes', more: '1' }), b.modRevision);
    await storage.update(key('a.1'), cm('a.1', {}), c.modRevision);
    await until(() => events.length === 3);
    expect(seen(events)).to.deep.equal(['ADDED a.1', 'MODIFIED a.1', 'DELETED a.1']);
    expect(events[2]!.object.metadata.labels).to.deep.equal({ hot: 'yes', more: '1' });
  });

  it('encodes each event once for every watcher', async () => {
    await open();
    const buffers: Buffer[] = [];
    for (let i = 0; i < 3; i++)
      cache.watch({ resourceVersion: String(cache.revision), onEvent: (e) => buffers.push(e.encoded()) });
    await storage.create(key('a.1'), cm('a.1'));
    await until(() => buffers.length === 3);
    expect(buffers[0]).to.equal(buffers[1]).and.equal(buffers[2]);
    expect(JSON.parse(buffers[0]!.toString())).to.deep.include({ type: 'ADDED' });
  });

  it('older than its history: replays from storage, or 410 Expired once storage compacted', async () => {
    await open(2);
    const first = await storage.create(key('a.1'), cm('a.1'));
    for (let i = 2; i <= 5; i++) await storage.create(key(`a.${i}`), cm(`a.${i}`));
    await cache.waitFresh(await storage.currentRevision());
    const replayed: CacheEvent[] = [];
    const w = cache.watch({ resourceVersion: String(first.modRevision), onEvent: (e) => replayed.push(e) });
    await until(() => replayed.length === 4);
    w.cancel();
    await storage.compact(await storage.currentRevision());
    const expired: CacheEvent[] = [];
    let closed = false;
    cache.watch({
      resourceVersion: String(first.modRevision),
      onEvent: (e) => expired.push(e),
      onClose: () => (closed = true),
    });
    await until(() => closed);
    expect(expired.map((e) => e.type)).to.deep.equal(['ERROR']);
    expect(expired[0]!.object).to.include({ code: 410, reason: 'Expired' });
  });

  it('a resourceVersion from the future waits for it, then times out with 504', async () => {
    await open();
    const events: CacheEvent[] = [];
    cache.watch({ resourceVersion: String(cache.revision + 1), onEvent: (e) => events.push(e) });
    await storage.create(key('a.1'), cm('a.1'));
    await storage.create(key('a.2'), cm('a.2'));
    await until(() => events.length === 1);
    expect(seen(events)).to.deep.equal(['ADDED a.2']);
    const current = cache.revision;
    const err = await cache.waitFresh(current + 100, 50).catch((e: { toStatus(): unknown }) => e.toStatus());
    // Upstream's storage.NewTooLargeResourceVersionError, retry after 1 s as its watch cache says.
    expect(err).to.deep.include({
      code: 504,
      reason: 'Timeout',
      message: `Timeout: Too large resource version: ${current + 100}, current: ${current}`,
      details: {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      },
    });
  });

  it('a watch from far in the future starts at once, with no error, and sends only changes after its resourceVersion', async () => {
    await open(100, 20);
    const events: CacheEvent[] = [];
    const from = cache.revision + 3;
    cache.watch({ resourceVersion: String(from), allowBookmarks: true, onEvent: (e) => events.push(e) });
    // Bookmarks may not tell it of a revision before the one it asked for.
    await new Promise((r) => setTimeout(r, 60));
    expect(events).to.deep.equal([]);
    for (const name of ['a.1', 'a.2', 'a.3', 'a.4']) await storage.create(key(name), cm(name));
    await until(() => events.some((e) => e.type === 'ADDED'));
    expect(seen(events.filter((e) => e.type !== 'BOOKMARK'))).to.deep.equal(['ADDED a.4']);
    for (const e of events) expect(Number(e.object.metadata.resourceVersion)).to.be.greaterThan(from);
  });

  it('sends bookmarks with the newest revision to watchers that allow them', async () => {
    await open(100, 30);
    const events: CacheEvent[] = [];
    cache.watch({ resourceVersion: String(cache.revision), allowBookmarks: true, onEvent: (e) => events.push(e) });
    const w = await storage.create(key('a.1'), cm('a.1'));
    await until(() =>
      events.some((e) => e.type === 'BOOKMARK' && e.object.metadata.resourceVersion === String(w.modRevision)),
    );
    const bookmark = events.find((e) => e.type === 'BOOKMARK')!;
    expect(bookmark.object).to.include({ apiVersion: 'v1', kind: 'ConfigMap' });
  });

  it('a refused resourceVersion starts nothing: no bookmark timer keeps sending to the refused watcher', async () => {
    await open(100, 10);
    const events: CacheEvent[] = [];
    expect(() => cache.watch({ resourceVersion: 'x1', allowBookmarks: true, onEvent: (e) => events.push(e) })).to.throw(
      /invalid resourceVersion "x1"/,
    );
    await new Promise((r) => setTimeout(r, 60));
    expect(events).to.deep.equal([]);
    expect(cache.watcherCount).to.equal(0);
  });

  it('stop ends every watcher', async () => {
    await open();
    let closed = 0;
    cache.watch({ resourceVersion: '0', onEvent: () => {}, onClose: () => closed++ });
    cache.watch({ resourceVersion: '0', onEvent: () => {}, onClose: () => closed++ });
    expect(cache.watcherCount).to.equal(2);
    cache.stop();
    expect(closed).to.equal(2);
    expect(cache.watcherCount).to.equal(0);
  });
});
