import { expect } from 'chai';
import { pino } from 'pino';
import type { PluginContext } from '../../core/plugins/contract.js';
import type { Storage } from '../../core/storage/types.js';
import plugin, { type MemoryStorageConfig } from '../../plugins/storage-memory/index.js';
import { MemoryStorage } from '../../plugins/storage-memory/memory-storage.js';
import { storageConformance } from './conformance.js';
import { waitFor } from './helpers.js';

storageConformance('memory', async () => new MemoryStorage({ progressIntervalMs: 50 }));

describe('storage-memory', () => {
  it('compacts history older than the compaction window', async () => {
    let now = 1_000_000;
    const store = new MemoryStorage({ compactionWindowSeconds: 300, now: () => now });
    await store.create('/a', '1');
    await store.create('/b', '1');
    now += 200_000;
    await store.create('/c', '1');
    expect(await store.compactExpired()).to.equal(0);
    now += 101_000;
    expect(await store.compactExpired()).to.equal(2);
    now += 200_000;
    expect(await store.compactExpired()).to.equal(3);
    expect((await store.list('/')).items).to.have.length(3);
    await store.close();
  });

  it('lists keys in order whatever order they were written in, between reads, pages and compactions', async () => {
    let now = 1_000_000;
    const store = new MemoryStorage({ compactionWindowSeconds: 1, now: () => now });
    const names = Array.from({ length: 200 }, (_, i) => `/e/${String((i * 7919) % 200).padStart(3, '0')}`);
    for (const [i, name] of names.entries()) {
      await store.create(name, 'x');
      // Reads in between merge what came before; the rest waits for the next read.
      if (i % 37 === 0) expect((await store.list('/e/')).items).to.have.length(i + 1);
    }
    const sorted = [...names].sort();
    expect((await store.list('/e/')).items.map((kv) => kv.key)).to.deep.equal(sorted);
    const page = await store.list('/e/', { after: sorted[99], limit: 3 });
    expect(page.items.map((kv) => kv.key)).to.deep.equal(sorted.slice(100, 103));
    await store.delete(sorted[0]!);
    now += 2_000;
    await store.create('/e/000', 'again');
    await store.compactExpired();
    await store.create('/d/first', 'x');
    const all = (await store.list('/')).items.map((kv) => kv.key);
    expect(all).to.deep.equal(['/d/first', ...sorted]);
    await store.close();
  });

  it('answers requestProgress once the events before it were delivered', async () => {
    const store = new MemoryStorage();
    const seen: string[] = [];
    const w = store.watch('/a/', {
      fromRevision: 0,
      onEvent: (e) => seen.push(`event ${e.revision}`),
      onProgress: (r) => seen.push(`progress ${r}`),
    });
    await store.create('/a/1', 'x');
    await store.create('/b/1', 'x');
    w.requestProgress();
    await waitFor(
      () => seen.length === 2,
      1000,
      () => seen.join(),
    );
    expect(seen).to.deep.equal(['event 1', 'progress 2']);
    await store.close();
  });

  it('has a strict config schema with defaults and offers the "memory" backend', async () => {
    expect(plugin.name).to.equal('storage-memory');
    expect(plugin.config!.parse({})).to.deep.equal({ compactionWindowSeconds: 300 });
    expect(() => plugin.config!.parse({ path: '/x' })).to.throw();
    const offered = new Map<string, () => Promise<Storage>>();
    const ctx = {
      name: 'storage-memory',
      config: { compactionWindowSeconds: 60 },
      logger: pino({ level: 'silent' }),
      provide: { storageBackend: (name: string, open: () => Promise<Storage>) => offered.set(name, open) },
    } as unknown as PluginContext<MemoryStorageConfig>;
    await plugin.setup(ctx);
    const store = await offered.get('memory')!();
    expect(store.backend).to.equal('memory');
    await store.create('/k', 'v');
    expect(plugin.close, 'the server closes the store it opened').to.equal(undefined);
    await store.close();
    expect(await store.currentRevision().catch((err: Error) => err.name)).to.equal('StorageUnavailableError');
  });
});
