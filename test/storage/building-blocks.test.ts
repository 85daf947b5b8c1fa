/**
 * The backend building blocks skiff/sdk/storage exports beside the contract, each on its own: the
 * conformance suites check them inside the three backends, these tests pin down what a third-party
 * backend relies on when it uses one directly.
 */
import { expect } from 'chai';
import {
  CompactionSchedule,
  KeyExistsError,
  KeyNotFoundError,
  keyRange,
  listPage,
  planWrite,
  RevisionMismatchError,
  RevisionTimeline,
  type StorageEvent,
  StorageUnavailableError,
  StoreLifecycle,
  WatchHub,
} from 'skiff/sdk/storage';
import { collect, waitFor } from './helpers.js';

const live = { key: '/r/a', value: 'one', createRevision: 3, modRevision: 5 };

describe('storage building blocks (skiff/sdk/storage)', () => {
  describe('planWrite', () => {
    it('checks the precondition of each kind of write with the contract errors', () => {
      expect(() => planWrite({ op: 'create', key: '/r/a', value: 'x' }, live, 6)).to.throw(KeyExistsError);
      expect(() => planWrite({ op: 'update', key: '/r/a', value: 'x', expected: 5 }, undefined, 6)).to.throw(
        KeyNotFoundError,
      );
      expect(() => planWrite({ op: 'delete', key: '/r/a', expected: 4 }, live, 6))
        .to.throw(RevisionMismatchError)
        .that.includes({ expected: 4, actual: 5 });
    });

    it('gives the stored value and the event, with prevValue only for updates and deletes', () => {
      expect(planWrite({ op: 'create', key: '/r/b', value: 'x' }, undefined, 6)).to.deep.equal({
        kv: { key: '/r/b', value: 'x', createRevision: 6, modRevision: 6 },
        event: { type: 'create', key: '/r/b', value: 'x', revision: 6, createRevision: 6 },
      });
      const updated = planWrite({ op: 'update', key: '/r/a', value: 'two', expected: 5 }, live, 6);
      expect(updated.event).to.deep.equal({
        type: 'update',
        key: '/r/a',
        value: 'two',
        prevValue: 'one',
        revision: 6,
        createRevision: 3,
      });
      const deleted = planWrite({ op: 'delete', key: '/r/a' }, live, 7);
      expect(deleted.kv).to.deep.equal({ key: '/r/a', value: 'one', createRevision: 3, modRevision: 7 });
      expect(deleted.event).to.include({ type: 'delete', value: 'one', prevValue: 'one', revision: 7 });
    });
  });

  describe('keyRange and listPage', () => {
    it('bounds a prefix, moves the lower bound past `after`, and leaves the empty prefix open', () => {
      expect(keyRange('/r/p/')).to.deep.equal({ lower: '/r/p/', upper: '/r/p0' });
      expect(keyRange('/r/p/', '/r/p/k')).to.deep.equal({ lower: '/r/p/k\0', upper: '/r/p0' });
      expect(keyRange('/r/p/', '/a')).to.deep.equal({ lower: '/r/p/', upper: '/r/p0' });
      expect(keyRange('')).to.deep.equal({ lower: '' });
    });

    it('says `remaining` exactly when the page was cut short', () => {
      expect(listPage([], 4)).to.deep.equal({ items: [], revision: 4, more: false });
      expect(listPage([live], 9, 2)).to.deep.equal({ items: [live], revision: 9, more: true, remaining: 2 });
    });
  });

  describe('RevisionTimeline', () => {
    it('finds the newest revision noted by a time, and forgets what was compacted', () => {
      const t = new RevisionTimeline();
      t.note(1000, 1);
      t.note(1000, 3); // the same millisecond: one entry, the newer revision
      t.note(2000, 4);
      t.note(3000, 9);
      expect(t.newestAtOrBefore(999)).to.equal(0);
      expect(t.newestAtOrBefore(1000)).to.equal(3);
      expect(t.newestAtOrBefore(2500)).to.equal(4);
      t.forget(4);
      expect(t.newestAtOrBefore(2500)).to.equal(0);
      expect(t.newestAtOrBefore(3000)).to.equal(9);
    });
  });

  describe('CompactionSchedule', () => {
    const schedules: CompactionSchedule[] = [];
    afterEach(() => {
      for (const s of schedules.splice(0)) s.stop();
    });

    it('compacts to what is older than the window, once per new revision, and retries a failed compaction', async () => {
      let now = 100_000;
      const timeline = new RevisionTimeline();
      const compacted: number[] = [];
      let failNext = false;
      const schedule = new CompactionSchedule({
        compactionWindowSeconds: 60,
        compactionIntervalSeconds: 3600,
        now: () => now,
        expiredRevision: (cutoffMs) => timeline.newestAtOrBefore(cutoffMs),
        compact: async (revision) => {
          if (failNext) throw new Error('disk full');
          compacted.push(revision);
        },
      });
      schedules.push(schedule);
      timeline.note(now, 7);
      await schedule.run();
      now += 60_000;
      await schedule.run();
      await schedule.run();
      expect(compacted).to.deep.equal([7]);
      timeline.note(now, 8);
      now += 60_000;
      failNext = true;
      expect(await schedule.run().catch((err: Error) => err.message)).to.equal('disk full');
      failNext = false;
      await schedule.run();
      expect(compacted).to.deep.equal([7, 8]);
    });

    it('logs a failure of its timer instead of throwing it', async () => {
      const logged: string[] = [];
      const logger = { error: (_: unknown, msg: string) => logged.push(msg), debug: () => {} };
      schedules.push(
        new CompactionSchedule({
          compactionIntervalSeconds: 0.01,
          logger: logger as never,
          expiredRevision: () => {
            throw new Error('store gone');
          },
          compact: async () => {},
        }),
      );
      await waitFor(
        () => logged.length > 0,
        2000,
        () => 'no log line',
      );
      expect(logged[0]).to.match(/automatic compaction failed/);
    });
  });

  describe('WatchHub over a history source that answers asynchronously (a database client)', () => {
    /** A log of `n` events and a hub that reads it a few milliseconds late, as a network database would. */
    function asyncStore(n: number, duringRead: (from: number) => void = () => {}) {
      const log: StorageEvent[] = Array.from({ length: n }, (_, i) => event(i + 1));
      let compacted = 0;
      const hub = new WatchHub(
        {
          readHistory: async (_prefix, from, to, limit) => {
            duringRead(from);
            await new Promise((resolve) => setTimeout(resolve, 3));
            return log.filter((e) => e.revision > Math.max(from, compacted) && e.revision <= to).slice(0, limit);
          },
          compacted: () => compacted,
        },
        n,
      );
      const append = () => {
        const e = event(log.length + 1);
        log.push(e);
        hub.publish([{ ...e }]);
      };
      return { hub, append, compact: (revision: number) => (compacted = revision) };
    }
    const event = (revision: number): StorageEvent => ({
      type: 'create',
      key: `/r/k${revision}`,
      value: 'x',
      revision,
      createRevision: revision,
    });

    it('replays every page in order while live events race it, with no gap and no duplicate', async () => {
      const { hub, append } = asyncStore(2500);
      const c = collect({ watch: (p: string, o: never) => hub.watch(p, o) } as never, '/r/', 0);
      for (let i = 0; i < 50; i++) {
        append();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const events = await c.until(2550);
      expect(events.map((e) => e.revision)).to.deep.equal(Array.from({ length: 2550 }, (_, i) => i + 1));
      hub.close('done');
    });

    it('fails the watch with CompactedError when a compaction overtakes a page being read', async () => {
      // The second page's read is in flight when history up to 2800 is compacted away.
      const store = asyncStore(3000, (from) => from === 1000 && store.compact(2800));
      const c = collect({ watch: (p: string, o: never) => store.hub.watch(p, o) } as never, '/r/', 0);
      expect(await c.failed()).to.have.property('name', 'CompactedError');
      expect(c.events.map((e) => e.revision)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i + 1));
      store.hub.close('done');
    });
  });

  describe('StoreLifecycle', () => {
    it('is closed before shutdown runs, runs it once, and refuses calls and watches after', async () => {
      const life = new StoreLifecycle('the test store');
      let runs = 0;
      let closedInside = false;
      const shutdown = async () => {
        closedInside = life.closed;
        runs++;
      };
      expect(life.refusedWatch({ fromRevision: 0, onEvent: () => {} })).to.equal(undefined);
      await Promise.all([life.close(shutdown), life.close(shutdown)]);
      expect({ runs, closedInside }).to.deep.equal({ runs: 1, closedInside: true });
      expect(() => life.checkOpen())
        .to.throw(StorageUnavailableError)
        .with.property('message', 'the test store is closed');
      const errors: Error[] = [];
      life.refusedWatch({ fromRevision: 0, onEvent: () => {}, onError: (err) => errors.push(err) });
      expect(errors, 'never inside the watch call').to.have.length(0);
      await waitFor(
        () => errors.length > 0,
        1000,
        () => 'no onError',
      );
      expect(errors[0]).to.be.instanceOf(StorageUnavailableError);
    });
  });
});
