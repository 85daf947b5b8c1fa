/**
 * skiff/sdk/controller's work queue and event recorder, the pieces every controller shares: a key is
 * never worked on by two workers at once, a key added meanwhile is worked on again after, several
 * workers really run at once, delayed keys come when due, a failing key backs off; identical Events
 * raise a count instead of piling up, and a burst on one object is capped.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import type { KubeObject } from '../../core/api/types.js';
import type { ApiClient } from '../../core/client/types.js';
import { eventRecorder } from '../../core/controller-kit/events.js';
import { ControllerQueue } from '../../core/controller-kit/queue.js';

const silent = pino({ level: 'silent' });
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('core/controller-kit', () => {
  describe('ControllerQueue', () => {
    it('runs several keys at once, one key never twice at once, and again when added meanwhile', async () => {
      const q = new ControllerQueue();
      const abort = new AbortController();
      let inFlight = 0;
      let most = 0;
      const runs = new Map<string, number>();
      const busy = new Set<string>();
      let overlap = false;
      const running = q.run(
        abort.signal,
        3,
        async (key) => {
          if (busy.has(key)) overlap = true;
          busy.add(key);
          inFlight++;
          most = Math.max(most, inFlight);
          runs.set(key, (runs.get(key) ?? 0) + 1);
          if (key === 'a' && runs.get('a') === 1) q.add('a');
          await tick(20);
          inFlight--;
          busy.delete(key);
        },
        silent,
      );
      for (const k of ['a', 'b', 'c', 'a', 'b']) q.add(k);
      await tick(100);
      abort.abort();
      await running;
      expect(overlap).to.equal(false);
      expect(most).to.equal(3);
      expect(runs.get('a')).to.equal(2);
      expect(runs.get('b')).to.equal(1);
    });

    it('adds a delayed key when due, and retries a failing key after a growing back-off', async () => {
      const q = new ControllerQueue();
      const abort = new AbortController();
      const seen: [string, number][] = [];
      const started = Date.now();
      let failures = 0;
      const running = q.run(
        abort.signal,
        1,
        async (key) => {
          seen.push([key, Date.now() - started]);
          if (key === 'flaky' && failures++ < 3) throw new Error('not yet');
        },
        silent,
      );
      q.addAfter('later', 60);
      q.add('flaky');
      await tick(150);
      abort.abort();
      await running;
      const later = seen.find(([k]) => k === 'later');
      expect(later![1]).to.be.at.least(55);
      expect(seen.filter(([k]) => k === 'flaky')).to.have.length(4);
    });

    it('stops every worker when the signal aborts, pending timers included', async () => {
      const q = new ControllerQueue();
      const abort = new AbortController();
      const running = q.run(abort.signal, 4, async () => {}, silent);
      q.addAfter('never', 10_000);
      abort.abort();
      await running;
      expect(q.length).to.equal(0);
    });
  });

  describe('eventRecorder', () => {
    function fakeClient() {
      const calls: { verb: string; name: string; body: Record<string, unknown> }[] = [];
      const client = {
        async create(_r: unknown, _ns: string, obj: KubeObject) {
          calls.push({ verb: 'create', name: obj.metadata.name ?? '', body: obj });
          return obj;
        },
        async patch(_r: unknown, _ns: string, name: string, _t: string, body: Record<string, unknown>) {
          calls.push({ verb: 'patch', name, body });
          return { metadata: { name } };
        },
      };
      return { calls, client: client as unknown as ApiClient };
    }
    const owner: KubeObject = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'web', namespace: 'ns', uid: 'u1' },
    };

    it('creates an upstream-shaped Event, then raises the count of an identical one', async () => {
      const { calls, client } = fakeClient();
      const events = eventRecorder(client, 'replication-controller', silent);
      events.event(owner, 'Warning', 'FailedCreate', 'Error creating: quota');
      events.event(owner, 'Warning', 'FailedCreate', 'Error creating: quota');
      await tick();
      expect(calls.map((c) => c.verb)).to.deep.equal(['create', 'patch']);
      const created = calls[0]!.body;
      expect(created).to.deep.include({
        reason: 'FailedCreate',
        type: 'Warning',
        count: 1,
        source: { component: 'replication-controller' },
        reportingComponent: 'replication-controller',
      });
      expect(created.involvedObject).to.include({
        kind: 'ReplicationController',
        name: 'web',
        namespace: 'ns',
        uid: 'u1',
      });
      expect(calls[0]!.name).to.match(/^web\.[0-9a-f]+$/);
      expect(calls[1]).to.deep.include({ name: calls[0]!.name });
      expect(calls[1]!.body.count).to.equal(2);
    });

    it('lets one object have 25 Events at once, then no more (the spam filter)', async () => {
      const { calls, client } = fakeClient();
      const events = eventRecorder(client, 'replication-controller', silent);
      for (let i = 0; i < 100; i++) events.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: web-${i}`);
      await tick();
      expect(calls).to.have.length(25);
    });
  });
});
