/**
 * NodeResourcesFit (Filter and the three scoring strategies) and NodeResourcesBalancedAllocation,
 * with cases taken from upstream's fit_test.go, least_allocated_test.go, most_allocated_test.go,
 * requested_to_capacity_ratio_test.go and balanced_allocation_test.go (quantities as upstream
 * writes them: "4000" CPUs, "10000" bytes).
 */
import { expect } from 'chai';
import { Code } from '../../../core/sdk/scheduler.js';
import { SchedulingCycleState } from '../../../plugins/scheduler-default/framework/cycle-state.js';
import { boundPod, codesOf, harness, type Json, makeNode, makePod, reasonsOf, withRequests } from './harness.js';

const nodes = (...caps: Json[]) => caps.map((c, i) => makeNode(`node${i + 1}`, { allocatable: c }));
const fitArgs = (strategy: Json) => [{ name: 'NodeResourcesFit', args: { scoringStrategy: strategy } }];

describe('scheduler plugin NodeResourcesFit: Filter', () => {
  const node = makeNode('n', { allocatable: { cpu: '10', memory: '20', pods: '32' } });
  const used = boundPod('used', 'n', withRequests({ cpu: '5', memory: '19' }));

  it('a pod requesting nothing fits, even on a full node', () => {
    const h = harness({ nodes: [node], pods: [boundPod('full', 'n', withRequests({ cpu: '10', memory: '20' }))] });
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('p')))).to.deep.equal(['fits']);
  });

  it('reports every insufficient resource, as upstream counts them', () => {
    const h = harness({ nodes: [node], pods: [used] });
    expect(
      reasonsOf(h.filter('NodeResourcesFit', makePod('p', withRequests({ cpu: '8', memory: '2' })))),
    ).to.deep.equal(['Insufficient cpu, Insufficient memory']);
    expect(codesOf(h.filter('NodeResourcesFit', makePod('p', withRequests({ cpu: '5', memory: '1' }))))).to.deep.equal([
      Code.Success,
    ]);
    expect(
      reasonsOf(h.filter('NodeResourcesFit', makePod('p', withRequests({ cpu: '6', memory: '1' })))),
    ).to.deep.equal(['Insufficient cpu']);
  });

  it('init containers count as their largest, regular containers summed, overhead on top', () => {
    const h = harness({ nodes: [node], pods: [used] });
    // Containers 1+1 CPU, init containers 3 and 5: the pod needs max(2, 5) = 5 of the 5 left.
    const spec = {
      ...withRequests({ cpu: '1' }, { cpu: '1' }),
      initContainers: [
        { name: 'i1', resources: { requests: { cpu: '3' } } },
        { name: 'i2', resources: { requests: { cpu: '5' } } },
      ],
    };
    expect(codesOf(h.filter('NodeResourcesFit', makePod('p', spec)))).to.deep.equal([Code.Success]);
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('p', { ...spec, overhead: { cpu: '1' } })))).to.deep.equal([
      'Insufficient cpu',
    ]);
  });

  it('a sidecar (restartable init container) keeps running: it adds to the containers', () => {
    const h = harness({ nodes: [node], pods: [used] });
    const spec = {
      ...withRequests({ cpu: '3' }),
      initContainers: [{ name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '3' } } }],
    };
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('p', spec)))).to.deep.equal(['Insufficient cpu']);
  });

  it('counts pods against allocatable pods: "Too many pods"', () => {
    const small = makeNode('n', { allocatable: { cpu: '10', memory: '20', pods: '1' } });
    const h = harness({ nodes: [small], pods: [boundPod('a', 'n')] });
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('p')))).to.deep.equal(['Too many pods']);
  });

  it('extended resources, and ignoredResources / ignoredResourceGroups', () => {
    const gpu = makeNode('n', { allocatable: { cpu: '10', memory: '20', 'example.com/aaa': '1' } });
    const wants = makePod('p', withRequests({ 'example.com/aaa': '2', 'other.io/bbb': '1' }));
    expect(reasonsOf(harness({ nodes: [gpu] }).filter('NodeResourcesFit', wants))).to.deep.equal([
      'Insufficient example.com/aaa, Insufficient other.io/bbb',
    ]);
    const ignoring = harness({
      nodes: [gpu],
      pluginConfig: [
        {
          name: 'NodeResourcesFit',
          args: { ignoredResources: ['example.com/aaa'], ignoredResourceGroups: ['other.io'] },
        },
      ],
    });
    expect(reasonsOf(ignoring.filter('NodeResourcesFit', wants))).to.deep.equal(['fits']);
  });
});

describe('scheduler plugin NodeResourcesFit: LeastAllocated', () => {
  const pod = makePod('p', withRequests({ cpu: '1000', memory: '2000' }, { cpu: '2000', memory: '3000' }));

  it('nothing scheduled, differently sized nodes: 37 and 50', () => {
    const h = harness({ nodes: nodes({ cpu: '4000', memory: '10000' }, { cpu: '6000', memory: '10000' }) });
    expect(h.score('NodeResourcesFit', pod)).to.deep.equal([37, 50]);
  });

  it('pods already there count: 57 and 45', () => {
    const h = harness({
      nodes: nodes({ cpu: '10000', memory: '20000' }, { cpu: '10000', memory: '20000' }),
      pods: [
        boundPod('a', 'node1', withRequests({ cpu: '3000', memory: '0' })),
        boundPod('b', 'node2', withRequests({ cpu: '3000', memory: '5000' })),
      ],
    });
    expect(h.score('NodeResourcesFit', pod)).to.deep.equal([57, 45]);
  });

  it('requests beyond capacity score 0 for that resource: 50 and 25', () => {
    const h = harness({
      nodes: nodes({ cpu: '4000', memory: '10000' }, { cpu: '4000', memory: '10000' }),
      pods: [
        boundPod('a', 'node1', withRequests({ cpu: '3000', memory: '0' })),
        boundPod('b', 'node2', withRequests({ cpu: '3000', memory: '5000' })),
      ],
    });
    expect(h.score('NodeResourcesFit', makePod('p', withRequests({ cpu: '3000', memory: '0' })))).to.deep.equal([
      50, 25,
    ]);
  });

  it('resource weights: memory ×2, cpu ×1 gives 41 and 50', () => {
    const h = harness({
      nodes: nodes({ cpu: '4000', memory: '10000' }, { cpu: '6000', memory: '10000' }),
      pluginConfig: fitArgs({
        type: 'LeastAllocated',
        resources: [
          { name: 'memory', weight: 2 },
          { name: 'cpu', weight: 1 },
        ],
      }),
    });
    expect(h.score('NodeResourcesFit', pod)).to.deep.equal([41, 50]);
  });

  it('an extended resource the pod does not request is left out of the score', () => {
    const h = harness({
      nodes: nodes({ cpu: '6000', memory: '10000' }, { cpu: '6000', memory: '10000', 'example.com/res': '4' }),
      pluginConfig: fitArgs({
        type: 'LeastAllocated',
        resources: [
          { name: 'cpu', weight: 1 },
          { name: 'memory', weight: 1 },
          { name: 'example.com/res', weight: 1 },
        ],
      }),
    });
    expect(h.score('NodeResourcesFit', pod)).to.deep.equal([50, 50]);
  });

  it('containers without requests count as 100m CPU and 200 MiB', () => {
    const h = harness({ nodes: nodes({ cpu: '1', memory: '1Gi' }) });
    // CPU (1000 − 100) / 1000 = 90; memory (1024 − 200) MiB / 1024 MiB = 80; (90 + 80) / 2 = 85.
    expect(h.score('NodeResourcesFit', makePod('p', { containers: [{ name: 'c', image: 'x' }] }))).to.deep.equal([85]);
  });
});

describe('scheduler plugin NodeResourcesFit: MostAllocated and RequestedToCapacityRatio', () => {
  const pod = makePod('p', withRequests({ cpu: '1000', memory: '2000' }, { cpu: '2000', memory: '3000' }));
  const sized = nodes({ cpu: '4000', memory: '10000' }, { cpu: '6000', memory: '10000' });

  it('MostAllocated prefers the fuller node: 62 and 50', () => {
    const h = harness({ nodes: sized, pluginConfig: fitArgs({ type: 'MostAllocated' }) });
    expect(h.score('NodeResourcesFit', pod)).to.deep.equal([62, 50]);
  });

  it('MostAllocated caps requests at capacity', () => {
    const h = harness({
      nodes: nodes({ cpu: '4000', memory: '10000' }),
      pluginConfig: fitArgs({ type: 'MostAllocated' }),
      pods: [boundPod('a', 'node1', withRequests({ cpu: '3000', memory: '0' }))],
    });
    // CPU: 6000 requested of 4000 → 100; memory 0 of 10000 → 0: 50.
    expect(h.score('NodeResourcesFit', makePod('p', withRequests({ cpu: '3000', memory: '0' })))).to.deep.equal([50]);
  });

  it('RequestedToCapacityRatio follows the shape (0 → 0, 100 → 10: bin packing)', () => {
    const shape = [
      { utilization: 0, score: 0 },
      { utilization: 100, score: 10 },
    ];
    const h = harness({
      nodes: sized,
      pluginConfig: fitArgs({ type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape } }),
    });
    // node1: CPU 75 %, memory 50 % → 75 and 50 → 62.5 → 63 (rounded, as upstream); node2: 50, 50.
    expect(h.score('NodeResourcesFit', pod)).to.deep.equal([63, 50]);
  });

  it('RequestedToCapacityRatio with a spreading shape (0 → 10, 100 → 0)', () => {
    const shape = [
      { utilization: 0, score: 10 },
      { utilization: 100, score: 0 },
    ];
    const h = harness({
      nodes: sized,
      pluginConfig: fitArgs({ type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape } }),
    });
    expect(h.score('NodeResourcesFit', pod)).to.deep.equal([38, 50]);
  });
});

describe('scheduler plugin NodeResourcesBalancedAllocation', () => {
  it('even use scores high: 87 for 75 %/50 %, 100 for 50 %/50 %', () => {
    const h = harness({ nodes: nodes({ cpu: '4000', memory: '10000' }, { cpu: '6000', memory: '10000' }) });
    expect(
      h.score(
        'NodeResourcesBalancedAllocation',
        makePod('p', withRequests({ cpu: '1000', memory: '2000' }, { cpu: '2000', memory: '3000' })),
      ),
    ).to.deep.equal([87, 100]);
  });

  it('counts requests as given (no defaults): a pod asking nothing on empty nodes scores 100', () => {
    const h = harness({ nodes: nodes({ cpu: '4000', memory: '10000' }) });
    expect(
      h.score('NodeResourcesBalancedAllocation', makePod('p', { containers: [{ name: 'c', image: 'x' }] })),
    ).to.deep.equal([100]);
  });

  it('fractions above 1 count as 1', () => {
    const h = harness({
      nodes: nodes({ cpu: '4000', memory: '10000' }),
      pods: [boundPod('a', 'node1', withRequests({ cpu: '3000', memory: '5000' }))],
    });
    // CPU 6000/4000 → 1, memory 5000/10000 → 0.5: std 0.25 → 75.
    expect(
      h.score('NodeResourcesBalancedAllocation', makePod('p', withRequests({ cpu: '3000', memory: '0' }))),
    ).to.deep.equal([75]);
  });
});

describe('scheduler plugins NodeResourcesFit and BalancedAllocation: remembered scores', () => {
  const cap = { cpu: '4000', memory: '10000', pods: '110' };
  const want = withRequests({ cpu: '1000', memory: '2000' });

  it('a node scores the same for pods of one template until a pod lands on it or leaves it', () => {
    const h = harness({ nodes: [makeNode('n', { allocatable: cap })] });
    for (const plugin of ['NodeResourcesFit', 'NodeResourcesBalancedAllocation']) {
      const empty = h.score(plugin, makePod('a', want));
      expect(h.score(plugin, makePod('b', want)), plugin).to.deep.equal(empty);
      const big = boundPod(`big-${plugin}`, 'n', withRequests({ cpu: '2000', memory: '1000' }));
      h.component.cache.addOrUpdatePod(big);
      const busy = h.score(plugin, makePod('c', want));
      expect(busy, plugin).to.not.deep.equal(empty);
      // Computed afresh, as a new harness over the same state would.
      const fresh = harness({
        nodes: [makeNode('n', { allocatable: cap })],
        pods: [big],
      });
      expect(busy, plugin).to.deep.equal(fresh.score(plugin, makePod('d', want)));
      h.component.cache.removePod(big.metadata.uid!);
      expect(h.score(plugin, makePod('e', want)), plugin).to.deep.equal(empty);
    }
  });

  it('Filter answers a node once per template until the node changes: a pod that landed makes the next not fit', () => {
    const h = harness({ nodes: [makeNode('n', { allocatable: { cpu: '4', memory: '10', pods: '2' } })] });
    const template = withRequests({ cpu: '3' });
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('a', template)))).to.deep.equal(['fits']);
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('b', template)))).to.deep.equal(['fits']);
    const landed = boundPod('landed', 'n', template);
    h.component.cache.addOrUpdatePod(landed);
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('c', template)))).to.deep.equal(['Insufficient cpu']);
    // Another template is its own question; so is the pods count.
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('d', withRequests({ cpu: '1' }))))).to.deep.equal(['fits']);
    h.component.cache.addOrUpdatePod(boundPod('small', 'n'));
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('e', withRequests({ cpu: '1' }))))).to.deep.equal([
      'Too many pods',
    ]);
    h.component.cache.removePod(landed.metadata.uid!);
    expect(reasonsOf(h.filter('NodeResourcesFit', makePod('f', template)))).to.deep.equal(['fits']);
  });

  it('a copy of a node (as preemption makes) is scored for itself, and leaves the node’s score alone', () => {
    const h = harness({ nodes: [makeNode('n', { allocatable: cap })] });
    const before = h.score('NodeResourcesFit', makePod('a', want));
    const copy = h.node('n').clone();
    copy.addPod(h.info(boundPod('other', 'n', withRequests({ cpu: '3000', memory: '3000' }))));
    const fit = h.component.frameworks.get('default-scheduler')!.plugins.get('NodeResourcesFit')!;
    const state = new SchedulingCycleState();
    const info = h.info(makePod('b', want));
    fit.preScore!(state, info, [h.node('n'), copy]);
    expect(fit.score!(state, info, copy)).to.be.below(fit.score!(state, info, h.node('n')));
    expect(h.score('NodeResourcesFit', makePod('c', want))).to.deep.equal(before);
  });
});
