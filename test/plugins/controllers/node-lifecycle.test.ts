/**
 * controller-node-lifecycle (with DefaultTolerationSeconds) in a real server, with short timings:
 * a node whose Lease stops being renewed goes Unknown ("Kubelet stopped posting node status."),
 * gets the unreachable NoSchedule and NoExecute taints, its pods are marked not Ready and evicted
 * once their toleration runs out (never when they tolerate forever), and it loses the taints when
 * its heartbeats and Ready status return. Nodes are objects; the test renews their Leases.
 */
import { expect } from 'chai';
import type { Node, NodeCondition, PodCondition, Taint } from 'kubernetes-types/core/v1.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';
import { ensureLeaseNamespace, Heartbeat } from './node-heartbeats.js';
import { createPod, createReadyNode, eventsFor, setNodeReady, setPodStatus } from './service-fixtures.js';

const NS = 'default';
const TOLERATION_SECONDS = 2;

const taintsOf = (node: Node | undefined): Taint[] => node?.spec?.taints ?? [];
const hasTaint = (node: Node | undefined, key: string, effect: string) =>
  taintsOf(node).some((t) => t.key === key && t.effect === effect);
const readyOf = (obj: { status?: { conditions?: (NodeCondition | PodCondition)[] } } | undefined) =>
  (obj?.status?.conditions ?? []).find((c) => c.type === 'Ready');

describe('controller-node-lifecycle', function () {
  this.timeout(60_000);
  let s: TestServer;
  const beats: Heartbeat[] = [];

  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'authz-bootstrap-roles': {},
        'admission-default-toleration-seconds': {
          config: {
            defaultNotReadyTolerationSeconds: TOLERATION_SECONDS,
            defaultUnreachableTolerationSeconds: TOLERATION_SECONDS,
          },
        },
        'controller-node-lifecycle': {
          config: {
            nodeMonitorPeriod: 0.2,
            nodeMonitorGracePeriod: 1.5,
            nodeStartupGracePeriod: 1.5,
            nodeEvictionRate: 10,
          },
        },
      },
    });
    await ensureLeaseNamespace(s.url);
    for (const name of ['nl-a', 'nl-b']) {
      await createReadyNode(s.url, name, { internalIP: '127.0.0.1' });
      const beat = new Heartbeat(s.url, name);
      await beat.start();
      beats.push(beat);
    }
  });
  after(async () => {
    for (const b of beats) await b.stop();
    await s?.close();
  });

  const node = async (name: string) => (await api(s.url, 'GET', `/api/v1/nodes/${name}`)).body;
  const pod = async (name: string) => (await api(s.url, 'GET', `/api/v1/namespaces/${NS}/pods/${name}`)).body;

  it('a silent node goes Unknown, is tainted, its pods are marked not ready and evicted after their toleration', async () => {
    for (const name of ['short', 'forever']) {
      await createPod(s.url, NS, name, { nodeName: 'nl-a' });
      await setPodStatus(s.url, NS, name, name === 'short' ? '10.6.0.1' : '10.6.0.2', true);
    }
    // 'forever' tolerates unreachable without a limit (tolerations may be added after create).
    const forever = await pod('forever');
    forever.spec.tolerations = [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }];
    expect((await api(s.url, 'PUT', `/api/v1/namespaces/${NS}/pods/forever`, forever)).status).to.equal(200);

    await beats[0]!.stop();
    const silent = await waitFor(
      'Unknown',
      () => node('nl-a'),
      (n) => readyOf(n)?.status === 'Unknown',
      10_000,
    );
    expect(readyOf(silent)).to.include({
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
    });
    const tainted = await waitFor(
      'unreachable taints',
      () => node('nl-a'),
      (n) =>
        hasTaint(n, 'node.kubernetes.io/unreachable', 'NoExecute') &&
        hasTaint(n, 'node.kubernetes.io/unreachable', 'NoSchedule'),
    );
    const taintedAt = Date.now();
    expect(taintsOf(tainted).find((t) => t.effect === 'NoExecute')!.timeAdded).to.match(/Z$/);
    expect(readyOf(await node('nl-b'))?.status).to.equal('True');
    await waitFor(
      'pods not ready',
      () => pod('short'),
      (p) => readyOf(p)?.status === 'False',
    );

    const evicted = await waitFor(
      'short evicted',
      () => pod('short'),
      (p) => Boolean(p.metadata?.deletionTimestamp) || p.code === 404,
    );
    expect(Date.now() - taintedAt).to.be.at.least(TOLERATION_SECONDS * 1000 - 500);
    if (evicted.metadata) {
      const disruption = (evicted.status.conditions ?? []).find((c: PodCondition) => c.type === 'DisruptionTarget');
      expect(disruption).to.include({ status: 'True', reason: 'DeletionByTaintManager' });
    }
    expect((await pod('forever')).metadata.deletionTimestamp).to.equal(undefined);
    const reasons = (await eventsFor(s.url, NS, 'short')).map((e) => e.reason);
    expect(reasons).to.include.members(['NodeNotReady', 'TaintManagerEviction']);
  });

  it('recovers when heartbeats and Ready status return: the taints go', async () => {
    await beats[0]!.start();
    await setNodeReady(s.url, 'nl-a', true);
    const back = await waitFor(
      'untainted',
      () => node('nl-a'),
      (n) => readyOf(n)?.status === 'True' && !taintsOf(n).some((t) => t.key === 'node.kubernetes.io/unreachable'),
    );
    expect(taintsOf(back)).to.deep.equal([]);
  });
});

describe('controller-node-lifecycle: eviction rate limits per zone', function () {
  this.timeout(60_000);
  let s: TestServer;
  const beats = new Map<string, Heartbeat>();
  const RATE = 0.5;

  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'authz-bootstrap-roles': {},
        'controller-node-lifecycle': {
          config: {
            nodeMonitorPeriod: 0.2,
            nodeMonitorGracePeriod: 1,
            nodeStartupGracePeriod: 1,
            nodeEvictionRate: RATE,
          },
        },
      },
    });
    await ensureLeaseNamespace(s.url);
    const zones = { healthy: 5, sick: 4 };
    for (const [zone, count] of Object.entries(zones)) {
      for (let i = 0; i < count; i++) {
        const name = `${zone}-${i}`;
        await createReadyNode(s.url, name, { labels: { 'topology.kubernetes.io/zone': zone } });
        // Renewed more often than the controller looks, so nodes stopped together go silent in one pass.
        const beat = new Heartbeat(s.url, name, 100);
        await beat.start();
        beats.set(name, beat);
      }
    }
  });
  after(async () => {
    for (const b of beats.values()) await b.stop();
    await s?.close();
  });

  const noExecute = async (name: string) =>
    ((await api(s.url, 'GET', `/api/v1/nodes/${name}`)).body.spec?.taints ?? []).some(
      (t: Taint) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute',
    );

  it('taints a healthy zone’s silent nodes one at a time, at --node-eviction-rate, and none in a mostly silent small zone', async () => {
    // healthy: 2 of 5 silent (under the 0.55 threshold); sick: 3 of 4 silent (partial disruption, small zone).
    for (const name of ['healthy-0', 'healthy-1', 'sick-0', 'sick-1', 'sick-2']) await beats.get(name)!.stop();
    const taintedAt = new Map<string, number>();
    await waitFor(
      'both healthy-zone nodes tainted',
      async () => {
        for (const name of ['healthy-0', 'healthy-1']) {
          if (!taintedAt.has(name) && (await noExecute(name))) taintedAt.set(name, Date.now());
        }
        return taintedAt.size;
      },
      (n) => n === 2,
      15_000,
    );
    const [first, second] = [...taintedAt.values()].sort((a, b) => a - b);
    // One token every 1/RATE seconds (the bucket holds one): the second waits about 2 s.
    expect(second! - first!).to.be.at.least((1000 / RATE) * 0.7);
    for (const name of ['sick-0', 'sick-1', 'sick-2']) {
      expect(await noExecute(name), `${name} has no NoExecute taint`).to.equal(false);
      const node = (await api(s.url, 'GET', `/api/v1/nodes/${name}`)).body;
      expect(node.spec.taints.map((t: Taint) => `${t.key}:${t.effect}`)).to.deep.equal([
        'node.kubernetes.io/unreachable:NoSchedule',
      ]);
    }
  });
});
