/**
 * The node-level plugins, with cases after upstream's tests (taint_toleration_test.go,
 * node_unschedulable_test.go, node_name_test.go, node_ports_test.go, node_affinity_test.go,
 * image_locality_test.go): TaintToleration, NodeUnschedulable, NodeName, NodePorts, NodeAffinity
 * and ImageLocality.
 */
import { expect } from 'chai';
import { Code } from '../../../core/sdk/scheduler.js';
import { SchedulingCycleState } from '../../../plugins/scheduler-default/framework/cycle-state.js';
import { boundPod, codesOf, harness, type Json, makeNode, makePod, reasonsOf } from './harness.js';

const taint = (key: string, value: string, effect: string) => ({ key, value, effect });

describe('scheduler plugin TaintToleration', () => {
  const on = (taints: Json[], tolerations: Json[]) =>
    reasonsOf(
      harness({ nodes: [makeNode('a', { taints })] }).filter('TaintToleration', makePod('p', { tolerations })),
    )[0];

  it('Filter: untolerated NoSchedule taints refuse the node (UnschedulableAndUnresolvable), with the taint named', () => {
    expect(on([taint('dedicated', 'user1', 'NoSchedule')], [])).to.equal(
      'node(s) had untolerated taint {dedicated: user1}',
    );
    const h = harness({ nodes: [makeNode('a', { taints: [taint('dedicated', 'user1', 'NoSchedule')] })] });
    expect(codesOf(h.filter('TaintToleration', makePod('p')))).to.deep.equal([Code.UnschedulableAndUnresolvable]);
    expect(
      on(
        [taint('dedicated', 'user1', 'NoSchedule')],
        [{ key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' }],
      ),
    ).to.equal('node(s) had untolerated taint {dedicated: user1}');
  });

  it('Filter: Equal with the same value, Exists, and an empty effect tolerate', () => {
    expect(
      on([taint('dedicated', 'user1', 'NoSchedule')], [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }]),
    ).to.equal('fits');
    expect(
      on([taint('foo', 'bar', 'NoSchedule')], [{ key: 'foo', operator: 'Exists', effect: 'NoSchedule' }]),
    ).to.equal('fits');
    expect(on([taint('foo', 'bar', 'NoSchedule')], [{ key: 'foo', operator: 'Equal', value: 'bar' }])).to.equal('fits');
    const both = [taint('dedicated', 'user2', 'NoSchedule'), taint('foo', 'bar', 'NoSchedule')];
    expect(
      on(both, [
        { key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' },
        { key: 'foo', operator: 'Exists', effect: 'NoSchedule' },
      ]),
    ).to.equal('fits');
  });

  it('Filter: a toleration with another (non-empty) effect does not tolerate', () => {
    expect(
      on(
        [taint('foo', 'bar', 'NoSchedule')],
        [{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }],
      ),
    ).to.equal('node(s) had untolerated taint {foo: bar}');
  });

  it('Filter: PreferNoSchedule taints never refuse; NoExecute ones must be tolerated too, as upstream', () => {
    expect(on([taint('dedicated', 'user1', 'PreferNoSchedule')], [])).to.equal('fits');
    expect(on([taint('node.kubernetes.io/not-ready', '', 'NoExecute')], [])).to.equal(
      'node(s) had untolerated taint {node.kubernetes.io/not-ready: }',
    );
    expect(
      on(
        [taint('node.kubernetes.io/not-ready', '', 'NoExecute')],
        [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
      ),
    ).to.equal('fits');
  });

  it('Score: fewer untolerated PreferNoSchedule taints is better (100, 50, 0)', () => {
    const h = harness({
      nodes: [
        makeNode('a'),
        makeNode('b', { taints: [taint('cpu-type', 'arm64', 'PreferNoSchedule')] }),
        makeNode('c', {
          taints: [taint('cpu-type', 'arm64', 'PreferNoSchedule'), taint('disk-type', 'ssd', 'PreferNoSchedule')],
        }),
      ],
    });
    expect(
      h.score(
        'TaintToleration',
        makePod('p', { tolerations: [{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }] }),
      ),
    ).to.deep.equal([100, 50, 0]);
    // Tolerated taints cost nothing, however many; NoSchedule taints do not count here.
    const tolerant = makePod('p', {
      tolerations: [
        { key: 'cpu-type', operator: 'Equal', value: 'arm64', effect: 'PreferNoSchedule' },
        { key: 'disk-type', operator: 'Equal', value: 'ssd', effect: 'PreferNoSchedule' },
      ],
    });
    expect(h.score('TaintToleration', tolerant)).to.deep.equal([100, 100, 100]);
  });
});

describe('scheduler plugins NodeUnschedulable and NodeName', () => {
  it('NodeUnschedulable refuses a cordoned node unless the pod tolerates the unschedulable taint', () => {
    const h = harness({ nodes: [makeNode('a', { unschedulable: true }), makeNode('b')] });
    expect(reasonsOf(h.filter('NodeUnschedulable', makePod('p')))).to.deep.equal([
      'node(s) were unschedulable',
      'fits',
    ]);
    expect(codesOf(h.filter('NodeUnschedulable', makePod('p')))[0]).to.equal(Code.UnschedulableAndUnresolvable);
    const tolerant = makePod('p', {
      tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
    });
    expect(reasonsOf(h.filter('NodeUnschedulable', tolerant))).to.deep.equal(['fits', 'fits']);
  });

  it('NodeName: a pod naming a node fits only there', () => {
    const h = harness({ nodes: [makeNode('a'), makeNode('b')] });
    expect(reasonsOf(h.filter('NodeName', makePod('p', { nodeName: 'b' })))).to.deep.equal([
      "node(s) didn't match the requested node name",
      'fits',
    ]);
    expect(reasonsOf(h.filter('NodeName', makePod('p')))).to.deep.equal(['fits', 'fits']);
  });
});

describe('scheduler plugin NodePorts', () => {
  const withPorts = (...ports: Json[]) => ({ containers: [{ name: 'c', image: 'x', ports }] });
  const h = harness({
    nodes: [makeNode('a')],
    pods: [
      boundPod(
        'web',
        'a',
        withPorts(
          { containerPort: 80, hostPort: 8080, protocol: 'TCP' },
          { containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '127.0.0.1' },
        ),
      ),
    ],
  });
  const verdict = (...ports: Json[]) => reasonsOf(h.filter('NodePorts', makePod('p', withPorts(...ports))))[0];
  const TAKEN = "node(s) didn't have free ports for the requested pod ports";

  it('a pod without host ports skips the check', () => {
    expect(verdict({ containerPort: 80 })).to.equal('fits');
  });

  it('the same host port and protocol conflicts; another protocol or port does not', () => {
    expect(verdict({ containerPort: 80, hostPort: 8080 })).to.equal(TAKEN);
    expect(verdict({ containerPort: 80, hostPort: 8080, protocol: 'UDP' })).to.equal('fits');
    expect(verdict({ containerPort: 80, hostPort: 8081 })).to.equal('fits');
  });

  it('0.0.0.0 conflicts with every address of that port and protocol, and the other way round', () => {
    expect(verdict({ containerPort: 53, hostPort: 53, protocol: 'UDP' })).to.equal(TAKEN);
    expect(verdict({ containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '127.0.0.2' })).to.equal('fits');
    expect(verdict({ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1' })).to.equal(TAKEN);
  });
});

describe('scheduler plugin NodeAffinity', () => {
  const zoned = [
    makeNode('n1', { labels: { foo: 'bar', zone: 'a', 'kernel-version': '0206' } }),
    makeNode('n2', { labels: { zone: 'b', 'kernel-version': '0200' } }),
  ];
  const required = (...terms: Json[]) => ({
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } },
  });
  const h = harness({ nodes: zoned });
  const verdicts = (spec: Json) => reasonsOf(h.filter('NodeAffinity', makePod('p', spec)));
  const NO = "node(s) didn't match Pod's node affinity/selector";

  it('nodeSelector: every label must be on the node', () => {
    expect(verdicts({ nodeSelector: { foo: 'bar' } })).to.deep.equal(['fits', NO]);
    expect(verdicts({ nodeSelector: { foo: 'bar', zone: 'b' } })).to.deep.equal([NO, NO]);
  });

  it('operators In, NotIn, Exists, DoesNotExist, Gt, Lt', () => {
    const expr = (key: string, operator: string, values?: string[]) =>
      required({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });
    expect(verdicts(expr('zone', 'In', ['a', 'c']))).to.deep.equal(['fits', NO]);
    expect(verdicts(expr('zone', 'NotIn', ['a']))).to.deep.equal([NO, 'fits']);
    expect(verdicts(expr('foo', 'Exists'))).to.deep.equal(['fits', NO]);
    expect(verdicts(expr('foo', 'DoesNotExist'))).to.deep.equal([NO, 'fits']);
    expect(verdicts(expr('kernel-version', 'Gt', ['0204']))).to.deep.equal(['fits', NO]);
    expect(verdicts(expr('kernel-version', 'Lt', ['0204']))).to.deep.equal([NO, 'fits']);
    // Gt on a label that is not an integer matches nothing.
    expect(verdicts(expr('zone', 'Gt', ['1']))).to.deep.equal([NO, NO]);
  });

  it('terms are ORed, requirements within a term ANDed; an empty term matches nothing', () => {
    expect(
      verdicts(
        required(
          { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
          { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
        ),
      ),
    ).to.deep.equal(['fits', 'fits']);
    expect(
      verdicts(
        required({
          matchExpressions: [
            { key: 'zone', operator: 'In', values: ['a'] },
            { key: 'foo', operator: 'DoesNotExist' },
          ],
        }),
      ),
    ).to.deep.equal([NO, NO]);
    expect(verdicts(required({}))).to.deep.equal([NO, NO]);
  });

  it('nodeSelector and required affinity must both hold', () => {
    expect(
      verdicts({
        nodeSelector: { foo: 'bar' },
        ...required({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }),
      }),
    ).to.deep.equal([NO, NO]);
  });

  it('matchFields metadata.name narrows the nodes in PreFilter; disjoint terms in one term conflict', () => {
    const info = h.info(
      makePod('p', required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] })),
    );
    const plugin = h.component.frameworks.get('default-scheduler')!.plugins.get('NodeAffinity')!;
    const pre = plugin.preFilter!(new SchedulingCycleState(), info, h.component.cache.nodeList());
    expect([...(pre?.nodeNames ?? [])]).to.deep.equal(['n1']);
    const conflict = verdicts(
      required({
        matchFields: [
          { key: 'metadata.name', operator: 'In', values: ['n1'] },
          { key: 'metadata.name', operator: 'In', values: ['n2'] },
        ],
      }),
    );
    expect(conflict).to.deep.equal(['pod affinity terms conflict', 'pod affinity terms conflict']);
  });

  it("addedAffinity (the profile's) applies to every pod", () => {
    const added = harness({
      nodes: zoned,
      pluginConfig: [
        {
          name: 'NodeAffinity',
          args: {
            addedAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }],
              },
            },
          },
        },
      ],
    });
    expect(reasonsOf(added.filter('NodeAffinity', makePod('p')))).to.deep.equal([
      "node(s) didn't match scheduler-enforced node affinity",
      'fits',
    ]);
  });

  it('Score: the weights of the preferred terms a node matches, scaled to 100', () => {
    const preferred = {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 2, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
            { weight: 5, preference: { matchExpressions: [{ key: 'kernel-version', operator: 'Exists' }] } },
          ],
        },
      },
    };
    const three = harness({ nodes: [...zoned, makeNode('n3')] });
    expect(three.score('NodeAffinity', makePod('p', preferred))).to.deep.equal([100, 71, 0]);
    expect(three.score('NodeAffinity', makePod('p'))).to.equal(undefined);
  });
});

describe('scheduler plugin ImageLocality', () => {
  const MB = 1024 * 1024;
  const image = (names: string[], size: number) => ({ names, sizeBytes: size });

  it('scores nodes by the size of the images they already have, spread-weighted', () => {
    const h = harness({
      nodes: [
        makeNode('n1', {
          images: [image(['gcr.io/40:latest', 'gcr.io/40:v1'], 40 * MB), image(['gcr.io/300:latest'], 300 * MB)],
        }),
        makeNode('n2', { images: [image(['gcr.io/250:latest'], 250 * MB)] }),
      ],
    });
    const pod = makePod('p', {
      containers: [
        { name: 'a', image: 'gcr.io/40' },
        { name: 'b', image: 'gcr.io/250' },
      ],
    });
    // n1: 40 MiB × ½ spread = 20 MiB < 23 MiB → 0. n2: 250 MiB × ½ = 125 MiB → 100 × (125 − 23) / (2000 − 23) = 5.
    expect(h.score('ImageLocality', pod)).to.deep.equal([0, 5]);
  });

  it('an image name without a tag is :latest', () => {
    const h = harness({ nodes: [makeNode('n1', { images: [image(['gcr.io/300:latest'], 300 * MB)] })] });
    expect(h.score('ImageLocality', makePod('p', { containers: [{ name: 'a', image: 'gcr.io/300' }] }))).to.deep.equal([
      28,
    ]);
  });
});
