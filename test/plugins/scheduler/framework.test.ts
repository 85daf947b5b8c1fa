/**
 * The scheduling algorithm and the cache, after upstream's schedule_one_test.go and
 * cache_test.go: how many nodes are searched (percentageOfNodesToScore, adaptive), where each
 * search starts, that ties are broken at random among the best only, the PreFilter message, and
 * that an assumed pod counts on its node until forgotten or confirmed, never twice.
 */
import { expect } from 'chai';
import {
  numFeasibleNodesToFind,
  schedulePod,
  selectHost,
} from '../../../plugins/scheduler-default/component/algorithm.js';
import { SchedulingCycleState } from '../../../plugins/scheduler-default/framework/cycle-state.js';
import { FitError } from '../../../plugins/scheduler-default/framework/diagnosis.js';
import { boundPod, harness, makeNode, makePod, withRequests } from './harness.js';

describe('scheduler algorithm', () => {
  it('numFeasibleNodesToFind: all of a small cluster, else 50 − n/125 % (at least 5 % and 100 nodes), or the configured share', () => {
    expect(numFeasibleNodesToFind(0, 50)).to.equal(50);
    expect(numFeasibleNodesToFind(0, 99)).to.equal(99);
    // 100 nodes: 49 % would be 49 nodes, under the floor of 100.
    expect(numFeasibleNodesToFind(0, 100)).to.equal(100);
    expect(numFeasibleNodesToFind(0, 1000)).to.equal(420);
    expect(numFeasibleNodesToFind(0, 5000)).to.equal(500);
    expect(numFeasibleNodesToFind(0, 6000)).to.equal(300);
    expect(numFeasibleNodesToFind(0, 20_000)).to.equal(1000);
    expect(numFeasibleNodesToFind(30, 1000)).to.equal(300);
    expect(numFeasibleNodesToFind(1, 1000)).to.equal(100);
    expect(numFeasibleNodesToFind(100, 1000)).to.equal(1000);
  });

  it('searches from where the previous search stopped, so pods spread over a large cluster', () => {
    const nodes = Array.from({ length: 300 }, (_, i) =>
      makeNode(`n${String(i).padStart(3, '0')}`, { allocatable: { cpu: '1' } }),
    );
    const h = harness({
      nodes,
      config: {
        apiVersion: 'kubescheduler.config.k8s.io/v1',
        kind: 'KubeSchedulerConfiguration',
        percentageOfNodesToScore: 40,
      },
    });
    const fwk = h.component.frameworks.get('default-scheduler')!;
    const ctx = h.component.scheduler.ctx;
    const first = schedulePod(
      ctx,
      fwk,
      new SchedulingCycleState(),
      h.info(makePod('a', withRequests({ cpu: '100m' }))),
    );
    expect(first.evaluatedNodes).to.equal(120);
    expect(ctx.nextStart).to.equal(120);
    schedulePod(ctx, fwk, new SchedulingCycleState(), h.info(makePod('b', withRequests({ cpu: '100m' }))));
    expect(ctx.nextStart).to.equal(240);
    schedulePod(ctx, fwk, new SchedulingCycleState(), h.info(makePod('c', withRequests({ cpu: '100m' }))));
    expect(ctx.nextStart).to.equal(60);
  });

  it('selectHost picks only among the best, each of them about equally often', () => {
    const h = harness({ nodes: [makeNode('a'), makeNode('b'), makeNode('c')] });
    const nodes = ['a', 'b', 'c'].map((n) => h.node(n));
    const wins = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const n = selectHost(nodes, Float64Array.from([10, 30, 30])).name;
      wins.set(n, (wins.get(n) ?? 0) + 1);
    }
    expect(wins.has('a')).to.equal(false);
    expect(wins.get('b')).to.be.within(1300, 1700);
    expect(wins.get('c')).to.be.within(1300, 1700);
  });

  it('a PreFilter rejection is the message for every node', () => {
    const h = harness({ nodes: [makeNode('n1'), makeNode('n2')] });
    const fwk = h.component.frameworks.get('default-scheduler')!;
    const pod = makePod('p', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchFields: [
                  { key: 'metadata.name', operator: 'In', values: ['n1'] },
                  { key: 'metadata.name', operator: 'In', values: ['n2'] },
                ],
              },
            ],
          },
        },
      },
    });
    try {
      schedulePod(h.component.scheduler.ctx, fwk, new SchedulingCycleState(), h.info(pod));
      expect.fail('no node can fit');
    } catch (err) {
      expect(err).to.be.instanceOf(FitError);
      expect((err as Error).message).to.equal('0/2 nodes are available: pod affinity terms conflict.');
      expect([...(err as FitError).diagnosis.unschedulablePlugins]).to.deep.equal(['NodeAffinity']);
    }
  });
});

describe('scheduler cache', () => {
  it('an assumed pod counts on its node at once; forgetting it frees the room; a pod is never assumed twice', () => {
    const h = harness({ nodes: [makeNode('n', { allocatable: { cpu: '1' } })] });
    const cache = h.component.cache;
    const info = h.info(makePod('p', withRequests({ cpu: '600m' })));
    cache.assume(info.assumedOn('n'));
    expect(h.node('n').requested.milliCPU).to.equal(600);
    expect(cache.isAssumed(info.uid)).to.equal(true);
    expect(() => cache.assume(info.assumedOn('n'))).to.throw(/already in the scheduler cache/);
    cache.forget(info.uid);
    expect(h.node('n').requested.milliCPU).to.equal(0);
    expect(cache.has(info.uid)).to.equal(false);
  });

  it('the bound pod from the informer confirms the assumed one without counting it again', () => {
    const h = harness({ nodes: [makeNode('n', { allocatable: { cpu: '1' } })] });
    const cache = h.component.cache;
    const pod = makePod('p', withRequests({ cpu: '600m' }));
    cache.assume(h.info(pod).assumedOn('n'));
    cache.addOrUpdatePod({ ...pod, spec: { ...(pod.spec as object), nodeName: 'n' } });
    expect(cache.isAssumed(pod.metadata.uid!)).to.equal(false);
    expect(h.node('n').pods.length).to.equal(1);
    expect(h.node('n').requested.milliCPU).to.equal(600);
    // Bound elsewhere than assumed (another scheduler won): moved, still counted once.
    const other = makePod('q', withRequests({ cpu: '100m' }));
    cache.assume(h.info(other).assumedOn('n'));
    cache.addNode(makeNode('m'));
    cache.addOrUpdatePod({ ...other, spec: { ...(other.spec as object), nodeName: 'm' } });
    expect(h.node('n').pods.map((p) => p.name)).to.deep.equal(['p']);
    expect(h.node('m').pods.map((p) => p.name)).to.deep.equal(['q']);
  });

  it('pods of a node that went away stay counted until they go; the node is not offered', () => {
    const h = harness({ nodes: [makeNode('a'), makeNode('b')], pods: [boundPod('p', 'a')] });
    const cache = h.component.cache;
    cache.removeNode('a');
    expect(cache.nodeList().map((n) => n.name)).to.deep.equal(['b']);
    expect(cache.nodes.get('a')!.pods.length).to.equal(1);
    cache.removePod(cache.nodes.get('a')!.pods[0]!.uid);
    expect(cache.nodes.has('a')).to.equal(false);
  });

  it("orders nodes zone by zone, as upstream's node tree", () => {
    const zone = (z: string) => ({ 'topology.kubernetes.io/zone': z });
    const h = harness({
      nodes: [
        makeNode('a1', { labels: zone('a') }),
        makeNode('a2', { labels: zone('a') }),
        makeNode('b1', { labels: zone('b') }),
        makeNode('a3', { labels: zone('a') }),
        makeNode('b2', { labels: zone('b') }),
      ],
    });
    expect(h.component.cache.nodeList().map((n) => n.name)).to.deep.equal(['a1', 'b1', 'a2', 'b2', 'a3']);
  });
});
