/** ControllerManager with leader election: two managers on one real server share one lease. */
import { expect } from 'chai';
import { LEADER_ELECTION } from '../../../core/client/leader-election.js';
import { type ControllerLeaderElection, ControllerManager } from '../../../plugins/controller-manager/manager.js';
import { LEASES } from '../../../plugins/leader-election-lease/lease.js';
import { FAST, faulty, logger, readLease, sampleOverlap, sleep, until } from '../../helpers/leader-election.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

for (const storage of ['memory', 'sqlite'] as const) {
  describe(`plugins/controller-manager: leader election (${storage})`, function () {
    this.timeout(15_000);
    let s: TestServer;
    let n = 0;
    let name = '';
    /** Per manager: how often its counter controller started, and whether one runs now. */
    const runs = new Map<string, number>();
    const active = new Set<string>();
    const managers: ControllerManager[] = [];

    const manager = (id: string, le?: ControllerLeaderElection) => {
      const m = new ControllerManager(
        s.server.api,
        logger,
        (controller) => ({
          client: s.server.client(),
          logger: logger.child({ manager: id, controller }),
          namespacedResources: async () => [],
        }),
        le ? { leaderElection: { ...FAST, identity: id, name, ...le }, electors: s.server.use(LEADER_ELECTION) } : {},
      );
      managers.push(m);
      return m;
    };

    before(async () => {
      s = await startTestServer({ storage, plugins: { 'leader-election-lease': {} } });
      s.server.hooks.registerControllers.tap('test-counter', (registry) =>
        registry.register({
          name: 'counter',
          create: (ctx) => ({
            async run(signal) {
              const id = (ctx.logger.bindings() as { manager: string }).manager;
              runs.set(id, (runs.get(id) ?? 0) + 1);
              active.add(id);
              await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
              active.delete(id);
            },
          }),
        }),
      );
    });
    beforeEach(() => {
      name = `cm-${++n}`;
      runs.clear();
    });
    afterEach(async () => {
      await Promise.all(managers.splice(0).map((m) => m.stop()));
    });
    after(() => s.close());

    it('runs the controllers only on the leader, and hands them over when it stops', async () => {
      const [a, b] = [manager('a', {}), manager('b', {})];
      expect(await a.start()).to.deep.equal(['counter']);
      await b.start();
      const sampler = sampleOverlap(() => active.size);
      await until('one manager runs the controller', () => active.size === 1);
      await sleep(500);
      const leader = [...active][0]!;
      expect([...runs.keys()]).to.deep.equal([leader]);
      const t0 = performance.now();
      await (leader === 'a' ? a : b).stop();
      const other = leader === 'a' ? 'b' : 'a';
      await until('the other manager takes over', () => active.has(other), 2_000);
      console.log(`      (${storage}) controllers handed over in ${Math.round(performance.now() - t0)} ms`);
      expect(sampler.stop().max).to.equal(1);
      expect((await readLease(s.server.client(), name)).spec.holderIdentity).to.equal(other);
    });

    it('stops the controllers when the lease is lost, and campaigns again', async () => {
      const fa = faulty(s.server.client());
      const a = manager('a', { client: fa.client });
      await a.start();
      await until('a runs the controller', () => active.has('a'));
      const b = manager('b', {});
      await b.start();
      const sampler = sampleOverlap(() => active.size);
      await sleep(300);
      fa.broken = true;
      await until('b runs the controller instead', () => active.has('b') && !active.has('a'), 3_000);
      fa.broken = false;
      await sleep(600);
      expect([...active]).to.deep.equal(['b']);
      await b.stop();
      await until('a leads again', () => active.has('a'), 2_000);
      expect(sampler.stop().max).to.equal(1);
      expect(runs.get('a')).to.equal(2);
    });

    it('without leaderElection the controllers run at once and no lease is written', async () => {
      const m = manager('solo');
      expect(m.identity).to.equal(undefined);
      await m.start();
      await until('the controller runs', () => active.has('solo'), 500);
      const lease = await s.server
        .client()
        .get(LEASES, 'kube-system', 'kube-controller-manager')
        .catch((e: { code: number }) => e.code);
      expect(lease).to.equal(404);
    });
  });
}
