/**
 * The storage conformance suite: every backend must pass it. `open` returns a fresh, empty store;
 * give it a short progress interval (≤ 200 ms) so the onProgress test stays quick. The suite closes
 * each store after its test; the caller removes whatever files the stores left.
 */
import { expect } from 'chai';
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
  RevisionMismatchError,
  type Storage,
  StorageError,
  StorageUnavailableError,
} from '../../core/storage/types.js';
import { watchConformance } from './conformance-watch.js';
import { collect, rejection } from './helpers.js';

const P = '/registry/pods/';

export function storageConformance(name: string, open: () => Promise<Storage>): void {
  describe(`storage conformance: ${name}`, function () {
    this.timeout(20000);
    let store: Storage;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    const s = () => store;

    revisionTests(s);
    casTests(s);
    listTests(s);
    watchConformance(s);
    compactionTests(s);
    closeTests(s);
  });
}

function revisionTests(s: () => Storage): void {
  describe('revisions', () => {
    it('starts empty at revision 0', async () => {
      expect(await s().currentRevision()).to.equal(0);
      expect(await s().compactedRevision()).to.equal(0);
      expect(await s().get(`${P}a`)).to.equal(undefined);
      expect(await s().list(P)).to.deep.equal({ items: [], revision: 0, more: false });
    });

    it('moves the global revision by one per create, update and delete', async () => {
      const a = await s().create(`${P}a`, 'one');
      expect(a).to.deep.equal({ key: `${P}a`, value: 'one', createRevision: 1, modRevision: 1 });
      const b = await s().create(`${P}b`, 'x');
      const a2 = await s().update(`${P}a`, 'two', a.modRevision);
      expect(a2).to.deep.equal({ key: `${P}a`, value: 'two', createRevision: 1, modRevision: 3 });
      const gone = await s().delete(`${P}b`, b.modRevision);
      expect(gone).to.deep.equal({ key: `${P}b`, value: 'x', createRevision: 2, modRevision: 4 });
      expect(await s().currentRevision()).to.equal(4);
      expect(await s().get(`${P}a`)).to.deep.equal(a2);
      expect(await s().get(`${P}b`)).to.equal(undefined);
    });

    it('refuses to create an existing key without using a revision', async () => {
      await s().create(`${P}a`, 'x');
      const err = await rejection(s().create(`${P}a`, 'y'));
      expect(err)
        .to.be.instanceOf(KeyExistsError)
        .and.include({ key: `${P}a` });
      expect(await s().currentRevision()).to.equal(1);
      expect((await s().get(`${P}a`))!.value).to.equal('x');
    });

    it('gives a key created again after a delete a new createRevision', async () => {
      await s().create(`${P}a`, 'x');
      await s().delete(`${P}a`);
      const again = await s().create(`${P}a`, 'y');
      expect(again).to.include({ createRevision: 3, modRevision: 3 });
    });

    it('gives concurrent writes distinct consecutive revisions', async () => {
      const kvs = await Promise.all(Array.from({ length: 50 }, (_, i) => s().create(`${P}k${i}`, 'x')));
      expect(kvs.map((kv) => kv.modRevision).sort((x, y) => x - y)).to.deep.equal(
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      expect(await s().currentRevision()).to.equal(50);
    });

    it('round-trips unicode and large values', async () => {
      const values = [
        'héllo wörld',
        '日本語のテキスト',
        '😀👍🏽 family: 👨‍👩‍👧',
        'e\u0301 combining',
        '{"a":"\\u0000"}',
        'nul\u0000inside',
        'x'.repeat(1 << 20),
      ];
      for (const [i, v] of values.entries()) await s().create(`${P}u${i}`, v);
      const listed = (await s().list(P)).items.map((kv) => kv.value);
      expect(listed).to.deep.equal(values);
      expect((await s().get(`${P}u2`))!.value).to.equal(values[2]);
    });
  });
}

function casTests(s: () => Storage): void {
  describe('compare-and-swap', () => {
    it('updates only at the expected mod revision', async () => {
      const a = await s().create(`${P}a`, 'one');
      const err = await rejection(s().update(`${P}a`, 'two', a.modRevision + 7));
      expect(err)
        .to.be.instanceOf(RevisionMismatchError)
        .and.include({ key: `${P}a`, expected: 8, actual: 1 });
      expect(await rejection(s().update(`${P}missing`, 'x', 1))).to.be.instanceOf(KeyNotFoundError);
      expect(await s().currentRevision()).to.equal(1);
    });

    it('guards deletes by revision when asked', async () => {
      const a = await s().create(`${P}a`, 'one');
      const b = await s().update(`${P}a`, 'two', a.modRevision);
      expect(await rejection(s().delete(`${P}a`, a.modRevision))).to.be.instanceOf(RevisionMismatchError);
      expect(await s().get(`${P}a`)).to.deep.equal(b);
      expect((await s().delete(`${P}a`, b.modRevision)).value).to.equal('two');
      expect(await rejection(s().delete(`${P}a`))).to.be.instanceOf(KeyNotFoundError);
    });

    it('lets exactly one of many concurrent updates at the same revision win', async () => {
      const a = await s().create(`${P}a`, 'base');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => s().update(`${P}a`, `v${i}`, a.modRevision)),
      );
      const won = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<KeyValue>[];
      expect(won).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).to.be.instanceOf(RevisionMismatchError);
      expect(await s().get(`${P}a`)).to.deep.equal(won[0]!.value);
      expect(await s().currentRevision()).to.equal(2);
    });

    it('lets exactly one of many concurrent creates of a key win', async () => {
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s().create(`${P}a`, `v${i}`)));
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      expect(await s().currentRevision()).to.equal(1);
    });

    it('fails one write of a concurrent batch without failing the others', async () => {
      const a = await s().create(`${P}a`, 'x');
      const results = await Promise.allSettled([
        s().create(`${P}b`, 'b'),
        s().create(`${P}a`, 'dup'),
        s().update(`${P}a`, 'stale', a.modRevision + 1),
        s().update(`${P}a`, 'ok', a.modRevision),
        s().delete(`${P}nope`),
        s().create(`${P}c`, 'c'),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal([
        'fulfilled',
        'rejected',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : ''));
      expect(reasons).to.deep.equal(['', 'KeyExistsError', 'RevisionMismatchError', '', 'KeyNotFoundError', '']);
      const revs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.modRevision] : []));
      expect(revs).to.deep.equal([2, 3, 4]);
      expect((await s().list(P)).items.map((kv) => kv.value)).to.deep.equal(['ok', 'b', 'c']);
    });
  });
}

function listTests(s: () => Storage): void {
  describe('list', () => {
    it('returns the keys under a prefix in key order, and nothing from a sibling prefix', async () => {
      for (const k of ['/registry/podsx/a', `${P}ns2/b`, `${P}ns1/z`, `${P}ns1/a`, '/registry/pod', '/registry/pods']) {
        await s().create(k, k);
      }
      const r = await s().list(P);
      expect(r.items.map((kv) => kv.key)).to.deep.equal([`${P}ns1/a`, `${P}ns1/z`, `${P}ns2/b`]);
      expect(r).to.include({ revision: 6, more: false });
      expect((await s().list(`${P}ns1/`)).items).to.have.length(2);
      expect((await s().list('/registry/podsx/')).items.map((kv) => kv.key)).to.deep.equal(['/registry/podsx/a']);
    });

    it('pages with limit and after, counting what remains', async () => {
      for (let i = 0; i < 7; i++) await s().create(`${P}k${i}`, `v${i}`);
      await s().create('/registry/podsx/k9', 'other');
      const first = await s().list(P, { limit: 3 });
      expect(first.items.map((kv) => kv.key)).to.deep.equal([`${P}k0`, `${P}k1`, `${P}k2`]);
      expect(first).to.include({ more: true, remaining: 4, revision: 8 });
      const second = await s().list(P, { limit: 3, after: `${P}k2` });
      expect(second.items.map((kv) => kv.key)).to.deep.equal([`${P}k3`, `${P}k4`, `${P}k5`]);
      expect(second).to.include({ more: true, remaining: 1 });
      const last = await s().list(P, { limit: 3, after: `${P}k5` });
      expect(last.items.map((kv) => kv.key)).to.deep.equal([`${P}k6`]);
      expect(last.more).to.equal(false);
      expect(last).to.not.have.property('remaining');
      const exact = await s().list(P, { limit: 7 });
      expect(exact).to.include({ more: false });
      expect(exact.items).to.have.length(7);
    });

    it('reads the state as of an old revision', async () => {
      const a = await s().create(`${P}a`, 'a1'); // 1
      const b = await s().create(`${P}b`, 'b1'); // 2
      await s().update(`${P}a`, 'a2', a.modRevision); // 3
      await s().delete(`${P}b`, b.modRevision); // 4
      await s().create(`${P}c`, 'c1'); // 5
      await s().create(`${P}b`, 'b2'); // 6
      const at = async (revision: number) =>
        (await s().list(P, { revision })).items.map(
          (kv) => `${kv.key.slice(P.length)}=${kv.value}@${kv.modRevision}/${kv.createRevision}`,
        );
      expect(await at(1)).to.deep.equal(['a=a1@1/1']);
      expect(await at(2)).to.deep.equal(['a=a1@1/1', 'b=b1@2/2']);
      expect(await at(3)).to.deep.equal(['a=a2@3/1', 'b=b1@2/2']);
      expect(await at(4)).to.deep.equal(['a=a2@3/1']);
      expect(await at(5)).to.deep.equal(['a=a2@3/1', 'c=c1@5/5']);
      expect(await at(6)).to.deep.equal(['a=a2@3/1', 'b=b2@6/6', 'c=c1@5/5']);
      expect((await s().list(P, { revision: 4 })).revision).to.equal(4);
    });

    it('pages consistently at an old revision while writes go on', async () => {
      for (let i = 0; i < 6; i++) await s().create(`${P}k${i}`, 'old');
      const first = await s().list(P, { limit: 2 });
      await s().delete(`${P}k3`);
      await s().update(`${P}k4`, 'new', 5);
      await s().create(`${P}k21`, 'new');
      const keys = first.items.map((kv) => kv.key);
      let page = first;
      while (page.more) {
        page = await s().list(P, { revision: first.revision, limit: 2, after: keys.at(-1) });
        expect(page.revision).to.equal(first.revision);
        keys.push(...page.items.map((kv) => kv.key));
        expect(page.items.every((kv) => kv.value === 'old')).to.equal(true);
      }
      expect(keys).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => `${P}k${i}`));
      const mid = await s().list(P, { revision: first.revision, limit: 2, after: `${P}k1` });
      expect(mid.remaining).to.equal(2);
    });

    it('refuses a revision newer than the current one', async () => {
      await s().create(`${P}a`, 'x');
      expect(await rejection(s().list(P, { revision: 5 }))).to.be.instanceOf(StorageError);
    });
  });
}

function compactionTests(s: () => Storage): void {
  describe('compaction', () => {
    async function history(): Promise<void> {
      const a = await s().create(`${P}a`, 'a1'); // 1
      await s().create(`${P}b`, 'b1'); // 2
      await s().update(`${P}a`, 'a2', a.modRevision); // 3
      await s().delete(`${P}b`); // 4
      await s().create(`${P}c`, 'c1'); // 5
      await s().update(`${P}c`, 'c2', 5); // 6
    }

    it('refuses reads below the compacted revision and keeps the state at and after it', async () => {
      await history();
      await s().compact(5);
      expect(await s().compactedRevision()).to.equal(5);
      const err = await rejection(s().list(P, { revision: 4 }));
      expect(err).to.be.instanceOf(CompactedError).and.include({ requested: 4, compacted: 5 });
      const at5 = (await s().list(P, { revision: 5 })).items.map((kv) => `${kv.key}=${kv.value}`);
      expect(at5).to.deep.equal([`${P}a=a2`, `${P}c=c1`]);
      expect((await s().list(P)).items.map((kv) => kv.value)).to.deep.equal(['a2', 'c2']);
      expect(await s().get(`${P}b`)).to.equal(undefined);
      expect((await s().get(`${P}a`))!.modRevision).to.equal(3);
    });

    it('keeps compare-and-swap and prevValue working for versions older than the compaction', async () => {
      await history();
      await s().compact(6);
      const c = collect(s(), P, 6);
      await s().update(`${P}a`, 'a3', 3);
      await s().delete(`${P}c`, 6);
      const events = await c.until(2);
      expect(events.map((e) => [e.type, e.prevValue])).to.deep.equal([
        ['update', 'a2'],
        ['delete', 'c2'],
      ]);
      expect((await s().list(P, { revision: 6 })).items.map((kv) => kv.value)).to.deep.equal(['a2', 'c2']);
    });

    it('ignores a compaction at or below the compacted revision and refuses one in the future', async () => {
      await history();
      await s().compact(4);
      await s().compact(2);
      expect(await s().compactedRevision()).to.equal(4);
      expect(await rejection(s().compact(7))).to.be.instanceOf(StorageError);
      await s().compact(6);
      expect(await s().compactedRevision()).to.equal(6);
      expect((await s().list(P)).items.map((kv) => kv.value)).to.deep.equal(['a2', 'c2']);
    });

    it('does not bring back deleted keys', async () => {
      await history();
      await s().compact(6);
      await s().create(`${P}d`, 'd1');
      expect((await s().list(P, { revision: 6 })).items.map((kv) => kv.key)).to.deep.equal([`${P}a`, `${P}c`]);
      expect((await s().list(P, { revision: 7 })).items.map((kv) => kv.key)).to.deep.equal([`${P}a`, `${P}c`, `${P}d`]);
    });
  });
}

function closeTests(s: () => Storage): void {
  describe('close', () => {
    it('finishes pending writes before it resolves', async () => {
      const writes = Array.from({ length: 100 }, (_, i) => s().create(`${P}k${i}`, 'x'));
      await s().close();
      const done = await Promise.allSettled(writes);
      expect(done.every((r) => r.status === 'fulfilled')).to.equal(true);
    });

    it('refuses work after close, and closing twice is fine', async () => {
      await s().close();
      await s().close();
      expect(await rejection(s().get(`${P}a`))).to.be.instanceOf(StorageUnavailableError);
      expect(await rejection(s().create(`${P}a`, 'x'))).to.be.instanceOf(StorageUnavailableError);
      expect(await rejection(s().currentRevision())).to.be.instanceOf(StorageUnavailableError);
    });
  });
}
