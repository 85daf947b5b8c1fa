import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect } from 'chai';
import { pino } from 'pino';
import { SkiffError } from '../../core/errors.js';
import type { PluginContext } from '../../core/plugins/contract.js';
import type { Storage } from '../../core/storage/types.js';
import plugin, { type SqliteStorageConfig } from '../../plugins/storage-sqlite/index.js';
import { SqliteStorage, type SqliteStorageOptions } from '../../plugins/storage-sqlite/sqlite-storage.js';
import { storageConformance } from './conformance.js';
import { collect, rejection } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'skiff-sqlite-test-'));
let dirs = 0;
const freshPath = () => join(root, `store-${++dirs}`, 'skiff.db');
const open = (options: Partial<SqliteStorageOptions> = {}) =>
  SqliteStorage.open({ path: freshPath(), progressIntervalMs: 50, ...options });

after(() => rmSync(root, { recursive: true, force: true }));

storageConformance('sqlite', () => open());

describe('storage-sqlite', () => {
  it('keeps data, revisions and history across close and reopen', async () => {
    const path = freshPath();
    const first = await SqliteStorage.open({ path });
    const a = await first.create('/r/a', 'one');
    await first.update('/r/a', 'two', a.modRevision);
    await first.create('/r/b', 'x');
    await first.delete('/r/b');
    await first.create('/r/c', 'x');
    await first.compact(2);
    await first.close();

    const second = await SqliteStorage.open({ path });
    expect(await second.currentRevision()).to.equal(5);
    expect(await second.compactedRevision()).to.equal(2);
    expect(await second.get('/r/a')).to.deep.equal({ key: '/r/a', value: 'two', createRevision: 1, modRevision: 2 });
    const events = await collect(second, '/r/', 2).until(3);
    expect(events.map((e) => `${e.type} ${e.key} @${e.revision}`)).to.deep.equal([
      'create /r/b @3',
      'delete /r/b @4',
      'create /r/c @5',
    ]);
    expect((await second.create('/r/d', 'x')).modRevision).to.equal(6);
    expect((await second.list('/r/', { revision: 3 })).items.map((kv) => kv.key)).to.deep.equal(['/r/a', '/r/b']);
    await second.close();
  });

  it('commits the writes of one event-loop turn in one transaction', async () => {
    const store = await open();
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.create(`/k/${i}`, 'x')));
    expect(store.stats()).to.deep.include({ commits: 1, writes: 200 });
    await store.create('/k/late', 'x');
    expect(store.stats().commits).to.equal(2);
    await store.close();
  });

  it('compacts history older than the window, by the clock, also after a restart', async () => {
    let now = 1_000_000;
    const path = freshPath();
    const store = await SqliteStorage.open({ path, compactionWindowSeconds: 300, now: () => now });
    await store.create('/a', '1');
    await store.update('/a', '2', 1);
    now += 200_000;
    await store.create('/b', '1');
    expect(await store.compactExpired()).to.equal(0);
    now += 102_000;
    expect(await store.compactExpired()).to.equal(2);
    await store.close();
    now += 300_000;
    const reopened = await SqliteStorage.open({ path, compactionWindowSeconds: 300, now: () => now });
    expect(await reopened.compactExpired()).to.equal(3);
    expect((await reopened.list('/')).items.map((kv) => kv.value)).to.deep.equal(['2', '1']);
    await reopened.close();
  });

  it('compacts a large history in slices while reads at newer revisions stay exact', async () => {
    const store = await open();
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          round ? store.update(`/k/${i}`, `v${round}`, (round - 1) * 1000 + i + 1) : store.create(`/k/${i}`, 'v0'),
        ),
      );
    }
    const target = 4500;
    const keys = Array.from({ length: 1000 }, (_, i) => i).sort((x, y) => (`/k/${x}` < `/k/${y}` ? -1 : 1));
    const expected = keys.map((i) => `/k/${i}=${i < 500 ? 'v4' : 'v3'}`);
    let done = false;
    const compaction = store.compact(target).then(() => {
      done = true;
    });
    let reads = 0;
    while (!done || reads === 0) {
      const page = await store.list('/k/', { revision: target });
      expect(page.items.map((kv) => `${kv.key}=${kv.value}`)).to.deep.equal(expected);
      reads++;
      await nextTurn();
    }
    await compaction;
    expect(reads).to.be.greaterThan(1);
    expect(store.stats().historyRows).to.equal(1500);
    await store.close();
  });

  it('refuses a second opener of the same file with an error that says what to do', async () => {
    const path = freshPath();
    const store = await SqliteStorage.open({ path });
    const err = await rejection(SqliteStorage.open({ path }));
    expect(err).to.be.instanceOf(SkiffError).and.include({ code: 'SKIFF_STORAGE_SQLITE_LOCKED' });
    expect((err as SkiffError).fix).to.match(/plugins\.storage-sqlite\.path/);
    await store.close();
  });

  it('explains a file that is not a database', async () => {
    const path = freshPath();
    await SqliteStorage.open({ path }).then((s) => s.close());
    writeFileSync(path, 'this is not sqlite, just some text long enough to fill a header page '.repeat(20));
    const err = await rejection(SqliteStorage.open({ path }));
    expect(err).to.be.instanceOf(SkiffError).and.include({ code: 'SKIFF_STORAGE_SQLITE_OPEN' });
    expect(err.message).to.include(path);
  });

  it('has a strict config schema with defaults and opens <dataDir>/skiff.db', async () => {
    expect(plugin.name).to.equal('storage-sqlite');
    expect(plugin.config!.parse({})).to.deep.equal({ compactionWindowSeconds: 300, compactionIntervalSeconds: 60 });
    expect(() => plugin.config!.parse({ pth: '/x' })).to.throw();
    const dataDir = join(root, 'plugin-data', 'nested');
    const offered = new Map<string, () => Promise<Storage>>();
    const ctx = {
      name: 'storage-sqlite',
      config: plugin.config!.parse({}),
      logger: pino({ level: 'silent' }),
      server: { dataDir },
      provide: { storageBackend: (name: string, openIt: () => Promise<Storage>) => offered.set(name, openIt) },
    } as unknown as PluginContext<SqliteStorageConfig>;
    await plugin.setup(ctx);
    const store = await offered.get('sqlite')!();
    await store.create('/k', 'v');
    expect(plugin.close, 'the server closes the store it opened').to.equal(undefined);
    await store.close();
    expect(await rejection(store.get('/k'))).to.have.property('name', 'StorageUnavailableError');
    const reopened = await SqliteStorage.open({ path: join(dataDir, 'skiff.db') });
    expect((await reopened.get('/k'))!.value).to.equal('v');
    await reopened.close();
  });
});
