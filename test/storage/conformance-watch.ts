/** The watch half of the storage conformance suite (see conformance.ts). */
import { expect } from 'chai';
import { CompactedError, type Storage, StorageUnavailableError } from '../../core/storage/types.js';
import { collect, settle, summary, waitFor } from './helpers.js';

const P = '/registry/pods/';

export function watchConformance(store: () => Storage): void {
  describe('watch', () => {
    it('replays history after fromRevision, then streams live events with no gap and no duplicate', async () => {
      const s = store();
      for (let i = 0; i < 5; i++) await s.create(`${P}a${i}`, `v${i}`);
      const c = collect(s, P, 2);
      // Writes race the replay: some land before it starts reading, some during, some after.
      const writes = Array.from({ length: 20 }, (_, i) => s.create(`${P}b${i}`, 'x'));
      await Promise.all(writes);
      for (let i = 0; i < 5; i++) await s.update(`${P}a${i}`, 'y', i + 1);
      const events = await c.until(28);
      await settle();
      expect(events.map((e) => e.revision)).to.deep.equal(Array.from({ length: 28 }, (_, i) => i + 3));
      c.watch.cancel();
    });

    it('carries prevValue for updates and deletes, and the deleted value on deletes', async () => {
      const s = store();
      const c = collect(s, P, 0);
      const a = await s.create(`${P}a`, 'one');
      await s.update(`${P}a`, 'two', a.modRevision);
      await s.delete(`${P}a`);
      const [created, updated, deleted] = await c.until(3);
      expect(created).to.deep.equal({ type: 'create', key: `${P}a`, value: 'one', revision: 1, createRevision: 1 });
      expect(updated).to.deep.include({
        type: 'update',
        value: 'two',
        prevValue: 'one',
        revision: 2,
        createRevision: 1,
      });
      expect(deleted).to.deep.include({
        type: 'delete',
        value: 'two',
        prevValue: 'two',
        revision: 3,
        createRevision: 1,
      });
    });

    it('replays the same event shapes as it streams live', async () => {
      const s = store();
      const live = collect(s, P, 0);
      const a = await s.create(`${P}a`, 'one');
      await s.update(`${P}a`, 'two', a.modRevision);
      await s.delete(`${P}a`);
      await s.create(`${P}a`, 'again');
      await live.until(4);
      const replayed = await collect(s, P, 0).until(4);
      expect(replayed).to.deep.equal(live.events);
      expect(replayed[3]).to.not.have.property('prevValue');
    });

    it('only sees keys under its prefix', async () => {
      const s = store();
      const c = collect(s, P, 0);
      await s.create('/registry/podsx/a', 'x');
      await s.create(`${P}a`, 'x');
      await s.create('/registry/pod', 'x');
      await c.until(1);
      await settle();
      expect(summary(c.events)).to.deep.equal([`create ${P}a @2`]);
    });

    it('delivers asynchronously, never inside the writer call', async () => {
      const s = store();
      const c = collect(s, P, 0);
      await settle(5);
      const write = s.create(`${P}a`, 'x');
      expect(c.events).to.have.length(0);
      await write;
      await c.until(1);
    });

    it('keeps revision order when a watcher writes from inside onEvent', async () => {
      const s = store();
      const seen: number[] = [];
      const w = s.watch(P, {
        fromRevision: 0,
        onEvent: (e) => {
          seen.push(e.revision);
          if (e.revision < 5) void s.create(`${P}chain${e.revision}`, 'x');
        },
      });
      await s.create(`${P}start`, 'x');
      await waitFor(
        () => seen.length >= 5,
        2000,
        () => `seen ${seen}`,
      );
      expect(seen).to.deep.equal([1, 2, 3, 4, 5]);
      w.cancel();
    });

    it('stops delivering after cancel', async () => {
      const s = store();
      const c = collect(s, P, 0);
      await s.create(`${P}a`, 'x');
      await c.until(1);
      c.watch.cancel();
      await s.create(`${P}b`, 'x');
      await settle();
      expect(c.events).to.have.length(1);
    });

    it('gives every watcher the same stream', async () => {
      const s = store();
      const watchers = Array.from({ length: 20 }, (_, i) => collect(s, P, i % 3));
      await Promise.all(Array.from({ length: 30 }, (_, i) => s.create(`${P}k${i}`, 'x')));
      for (const [i, w] of watchers.entries()) {
        const events = await w.until(30 - (i % 3));
        expect(events.map((e) => e.revision)).to.deep.equal(
          Array.from({ length: 30 - (i % 3) }, (_, j) => j + 1 + (i % 3)),
        );
      }
    });

    it('replays a long history in order while writes continue', async () => {
      const s = store();
      for (let i = 0; i < 25; i++) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => s.create(`${P}h${i}-${j}`, 'x')));
      }
      const c = collect(s, P, 0);
      for (let i = 0; i < 5; i++) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => s.create(`${P}l${i}-${j}`, 'x')));
      }
      const events = await c.until(3000, 10000);
      expect(events.every((e, i) => e.revision === i + 1)).to.equal(true);
    });

    it('waits for revisions newer than the current one', async () => {
      const s = store();
      await s.create(`${P}a`, 'x');
      const c = collect(s, P, 3);
      for (const k of ['b', 'c', 'd']) await s.create(`${P}${k}`, 'x');
      await c.until(1);
      await settle();
      expect(summary(c.events)).to.deep.equal([`create ${P}d @4`]);
    });

    it('fails with CompactedError from a compacted revision, and works from the compacted revision itself', async () => {
      const s = store();
      for (let i = 0; i < 6; i++) await s.create(`${P}k${i}`, 'x');
      await s.compact(4);
      const old = collect(s, P, 3);
      const err = await old.failed();
      expect(err).to.be.instanceOf(CompactedError);
      expect(err).to.include({ requested: 3, compacted: 4 });
      await s.create(`${P}late`, 'x');
      await settle();
      expect(old.events).to.have.length(0);
      const ok = await collect(s, P, 4).until(3);
      expect(ok.map((e) => e.revision)).to.deep.equal([5, 6, 7]);
    });

    it('fails a replay that a compaction overtakes', async () => {
      const s = store();
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.create(`${P}k${i}`, 'x')));
      const c = collect(s, P, 10);
      await s.compact(40);
      expect(await c.failed()).to.be.instanceOf(CompactedError);
      await s.create(`${P}late`, 'x');
      await settle();
      expect(c.events.every((e) => e.revision <= 40)).to.equal(true);
    });

    it('treats fromRevision 0 on a compacted store as "from now"', async () => {
      const s = store();
      for (let i = 0; i < 3; i++) await s.create(`${P}k${i}`, 'x');
      await s.compact(2);
      const c = collect(s, P, 0);
      await s.create(`${P}new`, 'x');
      await c.until(1);
      await settle();
      expect(summary(c.events)).to.deep.equal([`create ${P}new @4`]);
    });

    it('ends a watch whose onEvent throws with onError, leaving other watchers alone', async () => {
      const s = store();
      const errors: Error[] = [];
      s.watch(P, {
        fromRevision: 0,
        onEvent: () => {
          throw new Error('consumer bug');
        },
        onError: (err) => errors.push(err),
      });
      const other = collect(s, P, 0);
      await s.create(`${P}a`, 'x');
      await s.create(`${P}b`, 'x');
      await other.until(2);
      await settle();
      expect(errors.map((e) => e.message)).to.deep.equal(['consumer bug']);
    });

    it('reports progress with the current revision', async () => {
      const s = store();
      await s.create(`${P}a`, 'x');
      await s.create('/registry/other/b', 'x');
      const c = collect(s, P, 0);
      await waitFor(
        () => c.progress.length > 0,
        3000,
        () => 'no onProgress call; open the store with a short progress interval',
      );
      expect(c.progress[0]).to.equal(2);
      expect(summary(c.events)).to.deep.equal([`create ${P}a @1`]);
      c.watch.cancel();
    });

    it('tells watchers when the store closes', async () => {
      const s = store();
      const c = collect(s, P, 0);
      await s.close();
      expect(await c.failed()).to.be.instanceOf(StorageUnavailableError);
      const after = collect(s, P, 0);
      expect(await after.failed()).to.be.instanceOf(StorageUnavailableError);
    });
  });
}
