/**
 * PodTopologySpread, after upstream's filtering_test.go and scoring_test.go: maxSkew against the
 * smallest domain, minDomains, the missing-label verdict, node inclusion policies, matchLabelKeys,
 * the system default constraints built from services, and the soft-constraint scores.
 */
import { expect } from 'chai';
import { Code } from '../../../core/sdk/scheduler.js';
import { boundPod, codesOf, harness, type Json, makeNode, makePod, reasonsOf } from './harness.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';
const SKEW = "node(s) didn't match pod topology spread constraints";
const MISSING = `${SKEW} (missing required label)`;

const nodes = [
  makeNode('a1', { labels: { [ZONE]: 'a', [HOST]: 'a1' } }),
  makeNode('a2', { labels: { [ZONE]: 'a', [HOST]: 'a2' } }),
  makeNode('b1', { labels: { [ZONE]: 'b', [HOST]: 'b1' } }),
  makeNode('b2', { labels: { [ZONE]: 'b', [HOST]: 'b2' } }),
];
const foo = (name: string, node: string, extra: Json = {}) => boundPod(name, node, extra, { labels: { foo: '' } });
const constraint = (topologyKey: string, maxSkew = 1, extra: Json = {}) => ({
  maxSkew,
  topologyKey,
  whenUnsatisfiable: 'DoNotSchedule',
  labelSelector: { matchExpressions: [{ key: 'foo', operator: 'Exists' }] },
  ...extra,
});
const spreading = (...constraints: Json[]) =>
  makePod('p', { topologySpreadConstraints: constraints }, { labels: { foo: '' } });

describe('scheduler plugin PodTopologySpread: Filter', () => {
  it('no pods yet: every node fits', () => {
    expect(reasonsOf(harness({ nodes }).filter('PodTopologySpread', spreading(constraint(ZONE))))).to.deep.equal([
      'fits',
      'fits',
      'fits',
      'fits',
    ]);
  });

  it('zones 3/1 with maxSkew 1: only the emptier zone fits', () => {
    const h = harness({ nodes, pods: [foo('p1', 'a1'), foo('p2', 'a1'), foo('p3', 'a2'), foo('p4', 'b1')] });
    expect(reasonsOf(h.filter('PodTopologySpread', spreading(constraint(ZONE))))).to.deep.equal([
      SKEW,
      SKEW,
      'fits',
      'fits',
    ]);
    expect(codesOf(h.filter('PodTopologySpread', spreading(constraint(ZONE))))[0]).to.equal(Code.Unschedulable);
    // maxSkew 3 tolerates it: 3 + 1 − 1 = 3.
    expect(reasonsOf(h.filter('PodTopologySpread', spreading(constraint(ZONE, 3))))).to.deep.equal([
      'fits',
      'fits',
      'fits',
      'fits',
    ]);
  });

  it('pods the selector does not match, or in another namespace, do not count', () => {
    const others = [
      boundPod('x', 'a1', {}, { labels: { bar: '' } }),
      boundPod('y', 'a1', {}, { labels: { foo: '' }, namespace: 'other' }),
    ];
    const h = harness({ nodes, pods: [...others, foo('p4', 'b1')] });
    expect(reasonsOf(h.filter('PodTopologySpread', spreading(constraint(ZONE))))).to.deep.equal([
      'fits',
      'fits',
      SKEW,
      SKEW,
    ]);
  });

  it('a node without the topology label: UnschedulableAndUnresolvable "(missing required label)"', () => {
    const h = harness({ nodes: [...nodes, makeNode('bare')] });
    const verdicts = h.filter('PodTopologySpread', spreading(constraint(ZONE)));
    expect(reasonsOf(verdicts)[4]).to.equal(MISSING);
    expect(codesOf(verdicts)[4]).to.equal(Code.UnschedulableAndUnresolvable);
  });

  it('minDomains: fewer domains than asked makes the global minimum 0', () => {
    const h = harness({ nodes, pods: [foo('p1', 'a1'), foo('p2', 'b1')] });
    expect(reasonsOf(h.filter('PodTopologySpread', spreading(constraint(ZONE))))).to.deep.equal([
      'fits',
      'fits',
      'fits',
      'fits',
    ]);
    expect(reasonsOf(h.filter('PodTopologySpread', spreading(constraint(ZONE, 1, { minDomains: 3 }))))).to.deep.equal([
      SKEW,
      SKEW,
      SKEW,
      SKEW,
    ]);
  });

  it('nodeAffinityPolicy: Honor (default) counts only nodes the pod could go to; Ignore counts all', () => {
    const h = harness({ nodes, pods: [foo('p1', 'a1'), foo('p2', 'a2')] });
    const onlyA = (policy?: string) =>
      makePod(
        'p',
        {
          topologySpreadConstraints: [constraint(ZONE, 1, policy ? { nodeAffinityPolicy: policy } : {})],
          nodeSelector: { [ZONE]: 'a' },
        },
        { labels: { foo: '' } },
      );
    // Honor: zone b does not count, so zone a (2) is the smallest domain: 2 + 1 − 2 ≤ 1.
    expect(reasonsOf(h.filter('PodTopologySpread', onlyA()))).to.deep.equal(['fits', 'fits', 'fits', 'fits']);
    expect(reasonsOf(h.filter('PodTopologySpread', onlyA('Ignore')))).to.deep.equal([SKEW, SKEW, 'fits', 'fits']);
  });

  it('nodeTaintsPolicy Honor leaves out nodes whose taints the pod does not tolerate', () => {
    const tainted = [
      ...nodes.slice(0, 2),
      makeNode('b1', {
        labels: { [ZONE]: 'b', [HOST]: 'b1' },
        taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }],
      }),
    ];
    const h = harness({ nodes: tainted, pods: [foo('p1', 'a1')] });
    expect(reasonsOf(h.filter('PodTopologySpread', spreading(constraint(ZONE))))).to.deep.equal([SKEW, SKEW, 'fits']);
    expect(
      reasonsOf(h.filter('PodTopologySpread', spreading(constraint(ZONE, 1, { nodeTaintsPolicy: 'Honor' })))),
    ).to.deep.equal(['fits', 'fits', 'fits']);
  });

  it("matchLabelKeys narrows the selector with the pod's own label values", () => {
    const v1 = (name: string, node: string) => boundPod(name, node, {}, { labels: { foo: '', rev: 'v1' } });
    const h = harness({ nodes, pods: [v1('p1', 'a1'), v1('p2', 'a2')] });
    const v2 = makePod(
      'p',
      { topologySpreadConstraints: [constraint(ZONE, 1, { matchLabelKeys: ['rev'] })] },
      { labels: { foo: '', rev: 'v2' } },
    );
    expect(reasonsOf(h.filter('PodTopologySpread', v2))).to.deep.equal(['fits', 'fits', 'fits', 'fits']);
    const again = makePod(
      'p',
      { topologySpreadConstraints: [constraint(ZONE, 1, { matchLabelKeys: ['rev'] })] },
      { labels: { foo: '', rev: 'v1' } },
    );
    expect(reasonsOf(h.filter('PodTopologySpread', again))).to.deep.equal([SKEW, SKEW, 'fits', 'fits']);
  });

  it('system defaults are soft (ScheduleAnyway): Filter has nothing to do', () => {
    expect(
      reasonsOf(harness({ nodes }).filter('PodTopologySpread', makePod('p', {}, { labels: { app: 'web' } }))),
    ).to.deep.equal(['fits', 'fits', 'fits', 'fits']);
  });
});

describe('scheduler plugin PodTopologySpread: Score', () => {
  const soft = (topologyKey: string, maxSkew = 1) => ({
    ...constraint(topologyKey, maxSkew),
    whenUnsatisfiable: 'ScheduleAnyway',
  });

  it('hostname: fewer matching pods on the node is better (0, 33, 100)', () => {
    const three = nodes.slice(0, 3);
    const h = harness({ nodes: three, pods: [foo('p1', 'a1'), foo('p2', 'a1'), foo('p3', 'a2')] });
    expect(h.score('PodTopologySpread', spreading(soft(HOST)))).to.deep.equal([0, 33, 100]);
  });

  it('zone: nodes of the emptier zone score higher', () => {
    const h = harness({ nodes, pods: [foo('p1', 'a1'), foo('p2', 'a2'), foo('p3', 'b1')] });
    const scores = h.score('PodTopologySpread', spreading(soft(ZONE)))!;
    expect(scores[2]).to.be.greaterThan(scores[0]!);
    expect(scores[0]).to.equal(scores[1]);
    expect(scores[2]).to.equal(100);
  });

  it('system defaults spread the pods of a service by hostname and zone', () => {
    const svc = { metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' } } };
    const web = (name: string, node: string) => boundPod(name, node, {}, { labels: { app: 'web' } });
    const h = harness({ nodes, pods: [web('w1', 'a1'), web('w2', 'a2')], listers: { services: [svc] as never } });
    const scores = h.score('PodTopologySpread', makePod('p', {}, { labels: { app: 'web' } }))!;
    expect(scores[2]).to.equal(100);
    expect(scores[0]).to.be.lessThan(scores[2]!);
    // A pod no service, controller or set selects gets no default constraints.
    expect(h.score('PodTopologySpread', makePod('p', {}, { labels: { app: 'lonely' } }))).to.equal(undefined);
  });

  it("a node missing a topology key of the pod's own constraints scores 0", () => {
    const h = harness({ nodes: [...nodes.slice(0, 2), makeNode('bare')], pods: [foo('p1', 'a1')] });
    const scores = h.score('PodTopologySpread', spreading(soft(ZONE)))!;
    expect(scores[2]).to.equal(0);
  });
});

describe('scheduler plugin PodTopologySpread: args', () => {
  it("List defaults replace the system ones; bad args are refused with upstream's field paths", () => {
    expect(() =>
      harness({
        nodes,
        pluginConfig: [
          {
            name: 'PodTopologySpread',
            args: {
              defaultingType: 'System',
              defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'ScheduleAnyway' }],
            },
          },
        ],
      }),
    ).to.throw(/when .defaultingType is "System", .defaultConstraints must be empty/);
    expect(() =>
      harness({
        nodes,
        pluginConfig: [
          {
            name: 'PodTopologySpread',
            args: {
              defaultingType: 'List',
              defaultConstraints: [{ maxSkew: 0, topologyKey: ZONE, whenUnsatisfiable: 'Sometimes' }],
            },
          },
        ],
      }),
    ).to.throw(
      /defaultConstraints\[0\]\.maxSkew: Invalid value: 0: must be greater than zero; defaultConstraints\[0\]\.whenUnsatisfiable: Unsupported value: "Sometimes"/,
    );
    const h = harness({
      nodes,
      pluginConfig: [
        {
          name: 'PodTopologySpread',
          args: {
            defaultingType: 'List',
            defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule' }],
          },
        },
      ],
      pods: [boundPod('w', 'a1', {}, { labels: { app: 'web' } })],
      listers: {
        services: [{ metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' } } }] as never,
      },
    });
    expect(reasonsOf(h.filter('PodTopologySpread', makePod('p', {}, { labels: { app: 'web' } })))).to.deep.equal([
      SKEW,
      SKEW,
      'fits',
      'fits',
    ]);
  });
});
