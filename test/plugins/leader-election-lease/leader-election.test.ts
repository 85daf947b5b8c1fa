/**
 * Leader election through Leases against real servers on loopback, on the memory and sqlite
 * backends, with candidates in process and over HTTP. Timings are short (see FAST) and every wait
 * is bounded. Measured handovers are printed at the end.
 */
import { expect } from 'chai';
import { microTime, nowMicroTime } from '../../../core/api/micro-time.js';
import type { ApiClient } from '../../../core/client/types.js';
import { SkiffError } from '../../../core/errors.js';
import { LeaseElector } from '../../../plugins/leader-election-lease/elector.js';
import { LEASES } from '../../../plugins/leader-election-lease/lease.js';
import { httpClient } from '../../helpers/http-client.js';
import {
  barrier,
  type Candidate,
  candidate,
  FAST,
  faulty,
  JITTERED_RETRY_MS,
  logger,
  MICRO_TIME,
  readLease,
  sampleOverlap,
  sleep,
  until,
} from '../../helpers/leader-election.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const measured: string[] = [];
const report = () => {
  if (measured.length) console.log(`      measured:\n        ${measured.splice(0).join('\n        ')}`);
};

describe('plugins/leader-election-lease: options', () => {
  const client = {} as ApiClient;
  const make = (o: object) => () => new LeaseElector({ client, logger, name: 'x', ...o });

  it('defaults as upstream: kube-system, 15 s / 10 s / 2 s, hostname_uuid identity', () => {
    const e = new LeaseElector({ client, logger, name: 'kube-controller-manager' });
    expect(e.identity).to.match(/^.+_[0-9a-f-]{36}$/);
    expect(e.isLeader()).to.equal(false);
  });

  it("refuses upstream's invalid combinations with a coded error", () => {
    for (const bad of [
      { leaseDuration: 10, renewDeadline: 10 },
      { renewDeadline: 2.4, retryPeriod: 2 },
      { retryPeriod: 0 },
      { leaseDuration: Number.NaN },
      { identity: '' },
      { name: '' },
    ]) {
      expect(make(bad), JSON.stringify(bad)).to.throw(SkiffError).with.property('code', 'SKIFF_LEADER_ELECTION_CONFIG');
    }
  });

  it('writes MicroTime: RFC 3339, UTC, six fraction digits', () => {
    expect(microTime(Date.UTC(2024, 4, 1, 10, 0, 0, 123))).to.equal('2024-05-01T10:00:00.123000Z');
    expect(microTime(Date.UTC(2024, 4, 1, 10, 0, 0, 123) + 0.456)).to.equal('2024-05-01T10:00:00.123456Z');
  });

  it('stamps with real microseconds: never the same twice, and on the wall clock', () => {
    const stamps = Array.from({ length: 2000 }, () => nowMicroTime());
    // Read at once: the checks below take a while on a loaded machine.
    const wallClock = Date.now();
    expect(new Set(stamps).size).to.equal(stamps.length);
    expect([...stamps].sort()).to.deep.equal(stamps);
    for (const s of stamps) expect(s).to.match(MICRO_TIME);
    expect(Math.abs(Date.parse(stamps.at(-1)!) - wallClock)).to.be.lessThan(50);
  });
});

for (const storage of ['memory', 'sqlite'] as const) {
  describe(`plugins/leader-election-lease (${storage})`, function () {
    this.timeout(15_000);
    let s: TestServer;
    let client: ApiClient;
    let http: ApiClient;
    let n = 0;
    let name = '';
    const running: Candidate[] = [];
    const start = (c: ApiClient, o: Partial<Parameters<typeof candidate>[1]> = {}) => {
      const cand = candidate(c, { name, ...o });
      running.push(cand);
      return cand;
    };
    const leaders = () => running.filter((c) => c.leading());

    before(async () => {
      s = await startTestServer({ storage });
      client = s.server.client();
      http = httpClient(s.url);
    });
    beforeEach(() => {
      name = `lease-${++n}`;
    });
    afterEach(async () => {
      await Promise.all(running.splice(0).map((c) => c.stop()));
    });
    after(async () => {
      report();
      await s.close();
    });

    it('one of three candidates leads at a time, through repeated handovers', async () => {
      start(client);
      start(client);
      start(http);
      const sampler = sampleOverlap(() => leaders().length);
      for (let round = 0; round < 4; round++) {
        await until('a leader', () => leaders().length === 1);
        const leader = leaders()[0]!;
        expect((await readLease(client, name)).spec.holderIdentity).to.equal(leader.elector.identity);
        await sleep(300);
        await leader.stop();
        running.splice(running.indexOf(leader), 1);
        start(round % 2 ? http : client);
      }
      await until('a leader', () => leaders().length === 1);
      const { max, samples } = sampler.stop();
      expect(max, `most leaders at once over ${samples} samples`).to.equal(1);
      const lease = await readLease(client, name);
      // Four releases, five holders: each new holder counted one transition.
      expect(lease.spec.leaseTransitions).to.equal(4);
      const current = leaders()[0]!.elector.identity;
      for (const c of running) await until('everyone saw the new leader', () => c.newLeaders.at(-1) === current);
    });

    it('writes the Lease fields as upstream: holder, duration, MicroTimes, transitions, release', async () => {
      const a = start(client, { identity: 'a' });
      await until('a leads', () => a.leading());
      const first = await readLease(client, name);
      expect(first.spec).to.include({ holderIdentity: 'a', leaseDurationSeconds: 1, leaseTransitions: 0 });
      expect(first.spec.acquireTime).to.match(MICRO_TIME);
      // As upstream, the new leader renews at once, so renewTime may already be past acquireTime.
      expect(first.spec.renewTime).to.match(MICRO_TIME);
      expect(Date.parse(first.spec.renewTime)).to.be.at.least(Date.parse(first.spec.acquireTime));
      await sleep(500);
      const renewed = await readLease(client, name);
      expect(renewed.metadata.resourceVersion).to.not.equal(first.metadata.resourceVersion);
      expect(Date.parse(renewed.spec.renewTime)).to.be.greaterThan(Date.parse(first.spec.renewTime));
      expect(renewed.spec).to.include({ acquireTime: first.spec.acquireTime, leaseTransitions: 0 });

      await a.stop();
      expect(a.stoppedLeading).to.equal(true);
      const released = await readLease(client, name);
      expect(released.spec).to.include({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
      expect(released.spec.renewTime).to.match(MICRO_TIME);

      const b = start(http, { identity: 'b', releaseOnCancel: false });
      await until('b leads', () => b.leading(), 1_000);
      const taken = await readLease(client, name);
      expect(taken.spec).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
      expect(taken.spec.acquireTime).to.not.equal(released.spec.acquireTime);

      // A restarted process with the same identity holds the lease already: no wait, no transition.
      await b.stop();
      const t0 = performance.now();
      const again = start(client, { identity: 'b' });
      await until('b leads again', () => again.leading(), 900);
      measured.push(`${storage}: same identity re-acquires its unexpired lease in ${ms(performance.now() - t0)}`);
      const kept = await readLease(client, name);
      expect(kept.spec).to.include({ holderIdentity: 'b', leaseTransitions: 1, acquireTime: taken.spec.acquireTime });
    });

    it('a leader that releases on stop hands over well within leaseDuration', async () => {
      const slow = { leaseDuration: 4, renewDeadline: 2, retryPeriod: 0.2 };
      const a = start(client, { ...slow, identity: 'a' });
      await until('a leads', () => a.leading());
      const others = [start(client, slow), start(http, slow)];
      await sleep(500);
      const t0 = performance.now();
      await a.stop();
      await until('another leads', () => others.some((c) => c.leading()), 2_000);
      const handover = performance.now() - t0;
      measured.push(`${storage}: release handover ${ms(handover)} (leaseDuration 4 s)`);
      expect(handover).to.be.lessThan(1_000);
    });

    it('releases on stop even when a renewal cut short by the stop lands after all', async () => {
      const fa = faulty(client);
      const a = start(fa.client, { identity: 'a' });
      await until('a leads', () => a.leading());
      let open!: () => void;
      const opened = new Promise<void>((r) => {
        open = r;
      });
      let landed!: () => void;
      const renewalLanded = new Promise<void>((r) => {
        landed = r;
      });
      let calls = 0;
      fa.gate = async () => {
        calls++;
        // The next renewal is held until a is told to stop; the release waits until it has landed.
        await (calls === 1 ? opened : renewalLanded);
      };
      await until('a renewal held in flight', () => calls === 1);
      const sentBefore = fa.lastUpdateSent;
      const conflictsBefore = fa.conflicts;
      const stopping = a.stop();
      open();
      await until('the renewal landed', () => fa.lastUpdateSent !== sentBefore);
      landed();
      await stopping;
      // The lease was a version ahead of what a had read: its release met a 409, then read and released.
      expect(fa.conflicts).to.equal(conflictsBefore + 1);
      const lease = await readLease(client, name);
      expect(lease.spec).to.include({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    });

    it('a killed leader (no release) is replaced once the lease expires, not before', async () => {
      const fa = faulty(client);
      const a = start(fa.client, { identity: 'a', releaseOnCancel: false });
      await until('a leads', () => a.leading());
      const b = start(client);
      await sleep(600);
      const killed = performance.now();
      await a.stop();
      await until('b leads', () => b.leading(), 3_000);
      const sinceRenewal = b.started! - fa.lastUpdateSent;
      const sinceKill = b.started! - killed;
      measured.push(`${storage}: kill → new leader ${ms(sinceKill)} (${ms(sinceRenewal)} after the last renewal)`);
      expect(sinceRenewal).to.be.at.least(FAST.leaseDuration * 1000 - 20);
      expect(sinceKill).to.be.at.most(FAST.leaseDuration * 1000 + 2 * JITTERED_RETRY_MS + 300);
      expect((await readLease(client, name)).spec.leaseTransitions).to.equal(1);
    });

    it('a leader that cannot reach the API gives up within renewDeadline, before anyone else leads', async () => {
      const fa = faulty(client);
      const a = start(fa.client, { identity: 'a' });
      await until('a leads', () => a.leading());
      const b = start(http, { identity: 'b' });
      const sampler = sampleOverlap(() => leaders().length);
      await sleep(400);
      const broken = performance.now();
      fa.broken = true;
      await until('a gives up', () => !a.leading(), 2_000);
      const gaveUp = a.stopped! - broken;
      await until('b leads', () => b.leading(), 3_000);
      expect(sampler.stop().max).to.equal(1);
      measured.push(
        `${storage}: unreachable leader gave up after ${ms(gaveUp)}; successor after ${ms(b.started! - broken)}`,
      );
      expect(gaveUp).to.be.at.most((FAST.renewDeadline + FAST.retryPeriod) * 1000 + 300);
      expect(b.started!).to.be.greaterThan(a.stopped!);
      await a.done;
      expect(a.stoppedLeading).to.equal(true);
    });

    it('409: of two candidates racing to create the lease, one wins', async () => {
      const gate = barrier(2);
      const [fa, fb] = [faulty(client), faulty(client)];
      fa.gate = gate;
      fb.gate = gate;
      const cands = [start(fa.client), start(fb.client)];
      await until('a leader', () => leaders().length === 1);
      await sleep(400);
      expect(leaders()).to.have.length(1);
      expect(fa.conflicts + fb.conflicts).to.equal(1);
      const lease = await readLease(client, name);
      expect(lease.spec).to.include({ leaseTransitions: 0, holderIdentity: leaders()[0]!.elector.identity });
      const loser = cands.find((c) => !c.leading())!;
      await until('the loser sees the winner', () => loser.elector.leader() === leaders()[0]!.elector.identity, 1_000);
    });

    it('409: of two candidates racing to take over an expired lease, one wins', async () => {
      const stamp = microTime(Date.now() - 60_000);
      await client.create(LEASES, 'kube-system', {
        metadata: { name },
        spec: {
          holderIdentity: 'ghost',
          leaseDurationSeconds: 1,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: 3,
        },
      });
      const gate = barrier(2);
      const [fa, fb] = [faulty(client), faulty(client)];
      fa.gate = gate;
      fb.gate = gate;
      const t0 = performance.now();
      start(fa.client);
      start(fb.client);
      await until('a leader', () => leaders().length === 1, 4_000);
      // The old renewTime does not count: expiry runs from when each candidate first saw the lease.
      expect(leaders()[0]!.started! - t0).to.be.at.least(FAST.leaseDuration * 1000);
      await sleep(400);
      expect(leaders()).to.have.length(1);
      expect(fa.conflicts + fb.conflicts).to.equal(1);
      expect((await readLease(client, name)).spec.leaseTransitions).to.equal(4);
    });

    it('409 on a renewal (the lease changed behind the leader) costs no leadership', async () => {
      const fa = faulty(client);
      const a = start(fa.client, { identity: 'a' });
      await until('a leads', () => a.leading());
      await client.patch(LEASES, 'kube-system', name, 'merge', { metadata: { labels: { touched: 'yes' } } });
      const patched = await readLease(client, name);
      await sleep(600);
      expect(a.leading()).to.equal(true);
      const after = await readLease(client, name);
      expect(after.spec.holderIdentity).to.equal('a');
      expect(Date.parse(after.spec.renewTime)).to.be.greaterThan(Date.parse(patched.spec.renewTime));
      expect(after.metadata.labels).to.deep.equal({ touched: 'yes' });
      expect(fa.conflicts).to.equal(1);
    });
  });
}

const ms = (v: number) => `${Math.round(v)} ms`;
