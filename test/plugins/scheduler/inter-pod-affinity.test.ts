/**
 * InterPodAffinity, after upstream's filtering_test.go and scoring_test.go: required affinity in
 * a topology domain (and the first pod of a self-selecting group), required anti-affinity of the
 * pod and of pods already running, namespaces and namespaceSelector, preferred terms and
 * hardPodAffinityWeight in Score.
 */
import { expect } from 'chai';
import { Code } from '../../../core/sdk/scheduler.js';
import { boundPod, codesOf, harness, type Json, makeNode, makePod, reasonsOf } from './harness.js';

const ZONE = 'topology.kubernetes.io/zone';
const nodes = [
  makeNode('n1', { labels: { [ZONE]: 'z1', 'kubernetes.io/hostname': 'n1' } }),
  makeNode('n2', { labels: { [ZONE]: 'z1', 'kubernetes.io/hostname': 'n2' } }),
  makeNode('n3', { labels: { [ZONE]: 'z2', 'kubernetes.io/hostname': 'n3' } }),
  makeNode('n4', { labels: { 'kubernetes.io/hostname': 'n4' } }),
];
const term = (labels: Json, topologyKey: string, extra: Json = {}) => ({
  labelSelector: { matchLabels: labels },
  topologyKey,
  ...extra,
});
const required = (kind: 'podAffinity' | 'podAntiAffinity', ...terms: Json[]) => ({
  affinity: { [kind]: { requiredDuringSchedulingIgnoredDuringExecution: terms } },
});

const AFFINITY = "node(s) didn't match pod affinity rules";
const ANTI = "node(s) didn't match pod anti-affinity rules";
const EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules";

describe('scheduler plugin InterPodAffinity: Filter', () => {
  const db = boundPod('db', 'n1', {}, { labels: { app: 'db' } });

  it('required affinity: only nodes in the domain of a matching pod, and with the topology label', () => {
    const h = harness({ nodes, pods: [db] });
    const pod = makePod('web', required('podAffinity', term({ app: 'db' }, ZONE)));
    expect(reasonsOf(h.filter('InterPodAffinity', pod))).to.deep.equal(['fits', 'fits', AFFINITY, AFFINITY]);
    expect(codesOf(h.filter('InterPodAffinity', pod))[2]).to.equal(Code.UnschedulableAndUnresolvable);
  });

  it('required affinity: the first pod of a group selecting itself may go where the label exists', () => {
    const h = harness({ nodes });
    const pod = makePod('first', required('podAffinity', term({ app: 'web' }, ZONE)), { labels: { app: 'web' } });
    expect(reasonsOf(h.filter('InterPodAffinity', pod))).to.deep.equal(['fits', 'fits', 'fits', AFFINITY]);
    const other = makePod('other', required('podAffinity', term({ app: 'web' }, ZONE)), { labels: { app: 'api' } });
    expect(reasonsOf(h.filter('InterPodAffinity', other))).to.deep.equal([AFFINITY, AFFINITY, AFFINITY, AFFINITY]);
  });

  it('required anti-affinity of the pod keeps it out of the domain (Unschedulable: preemption may help)', () => {
    const h = harness({ nodes, pods: [db] });
    const pod = makePod('web', required('podAntiAffinity', term({ app: 'db' }, ZONE)));
    expect(reasonsOf(h.filter('InterPodAffinity', pod))).to.deep.equal([ANTI, ANTI, 'fits', 'fits']);
    expect(codesOf(h.filter('InterPodAffinity', pod))[0]).to.equal(Code.Unschedulable);
  });

  it("an existing pod's anti-affinity keeps matching pods out of its domain", () => {
    const loner = boundPod('loner', 'n3', required('podAntiAffinity', term({ app: 'web' }, 'kubernetes.io/hostname')), {
      labels: { app: 'loner' },
    });
    const h = harness({ nodes, pods: [loner] });
    expect(reasonsOf(h.filter('InterPodAffinity', makePod('web', {}, { labels: { app: 'web' } })))).to.deep.equal([
      'fits',
      'fits',
      EXISTING,
      'fits',
    ]);
    expect(reasonsOf(h.filter('InterPodAffinity', makePod('api', {}, { labels: { app: 'api' } })))).to.deep.equal([
      'fits',
      'fits',
      'fits',
      'fits',
    ]);
  });

  it("namespaces: terms look in the pod's own namespace unless they name others or select them", () => {
    const elsewhere = boundPod('db', 'n3', {}, { labels: { app: 'db' }, namespace: 'data' });
    const listers = {
      namespaces: [
        { metadata: { name: 'data', labels: { team: 'storage' } } },
        { metadata: { name: 'default', labels: {} } },
      ] as never,
    };
    const h = harness({ nodes, pods: [elsewhere], listers });
    const own = makePod('web', required('podAffinity', term({ app: 'db' }, ZONE)));
    expect(reasonsOf(h.filter('InterPodAffinity', own))).to.deep.equal([AFFINITY, AFFINITY, AFFINITY, AFFINITY]);
    const named = makePod('web', required('podAffinity', term({ app: 'db' }, ZONE, { namespaces: ['data'] })));
    expect(reasonsOf(h.filter('InterPodAffinity', named))).to.deep.equal([AFFINITY, AFFINITY, 'fits', AFFINITY]);
    const selected = makePod(
      'web',
      required('podAffinity', term({ app: 'db' }, ZONE, { namespaceSelector: { matchLabels: { team: 'storage' } } })),
    );
    expect(reasonsOf(h.filter('InterPodAffinity', selected))).to.deep.equal([AFFINITY, AFFINITY, 'fits', AFFINITY]);
    const all = makePod('web', required('podAffinity', term({ app: 'db' }, ZONE, { namespaceSelector: {} })));
    expect(reasonsOf(h.filter('InterPodAffinity', all))).to.deep.equal([AFFINITY, AFFINITY, 'fits', AFFINITY]);
  });

  it('a pod with no affinity, and no anti-affinity around, skips the plugin', () => {
    const h = harness({ nodes, pods: [db] });
    expect(reasonsOf(h.filter('InterPodAffinity', makePod('plain')))).to.deep.equal(['fits', 'fits', 'fits', 'fits']);
  });
});

describe('scheduler plugin InterPodAffinity: Score', () => {
  const preferred = (kind: 'podAffinity' | 'podAntiAffinity', weight: number, t: Json) => ({
    affinity: { [kind]: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: t }] } },
  });

  it("preferred affinity: nodes in a matching pod's domain score highest", () => {
    const h = harness({ nodes, pods: [boundPod('db', 'n3', {}, { labels: { app: 'db' } })] });
    expect(
      h.score('InterPodAffinity', makePod('web', preferred('podAffinity', 5, term({ app: 'db' }, ZONE)))),
    ).to.deep.equal([0, 0, 100, 0]);
  });

  it('preferred anti-affinity: its domain scores lowest', () => {
    const h = harness({ nodes, pods: [boundPod('db', 'n1', {}, { labels: { app: 'db' } })] });
    expect(
      h.score('InterPodAffinity', makePod('web', preferred('podAntiAffinity', 5, term({ app: 'db' }, ZONE)))),
    ).to.deep.equal([0, 0, 100, 100]);
  });

  it("existing pods' required affinity towards the pod counts with hardPodAffinityWeight", () => {
    const fan = boundPod('fan', 'n3', required('podAffinity', term({ app: 'web' }, ZONE)), { labels: { app: 'fan' } });
    const web = makePod('web', {}, { labels: { app: 'web' } });
    expect(harness({ nodes, pods: [fan] }).score('InterPodAffinity', web)).to.deep.equal([0, 0, 100, 0]);
    const ignoring = harness({
      nodes,
      pods: [fan],
      pluginConfig: [{ name: 'InterPodAffinity', args: { hardPodAffinityWeight: 0 } }],
    });
    expect(ignoring.score('InterPodAffinity', web)).to.equal(undefined);
  });

  it('nothing to score skips the plugin', () => {
    expect(harness({ nodes }).score('InterPodAffinity', makePod('plain'))).to.equal(undefined);
  });
});

describe('scheduler plugin InterPodAffinity: what each node remembers', () => {
  const preferredTowards = (weight: number, t: Json) => ({
    affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: t }] } },
  });

  it('Filter: pods of one template see a node anew once a pod leaves or lands on it', () => {
    const db = boundPod('db', 'n1', {}, { labels: { app: 'db' } });
    const h = harness({ nodes, pods: [db] });
    const template = required('podAntiAffinity', term({ app: 'db' }, ZONE));
    expect(reasonsOf(h.filter('InterPodAffinity', makePod('a', template)))).to.deep.equal([ANTI, ANTI, 'fits', 'fits']);
    expect(reasonsOf(h.filter('InterPodAffinity', makePod('b', template)))).to.deep.equal([ANTI, ANTI, 'fits', 'fits']);
    h.component.cache.removePod(db.metadata.uid!);
    expect(reasonsOf(h.filter('InterPodAffinity', makePod('c', template)))).to.deep.equal([
      'fits',
      'fits',
      'fits',
      'fits',
    ]);
    h.component.cache.addOrUpdatePod(boundPod('db2', 'n3', {}, { labels: { app: 'db' } }));
    expect(reasonsOf(h.filter('InterPodAffinity', makePod('d', template)))).to.deep.equal([
      'fits',
      'fits',
      ANTI,
      'fits',
    ]);
  });

  it("Score: a change of the pod's namespace labels is seen, though no node changed", () => {
    const listers = { namespaces: [{ metadata: { name: 'default', labels: {} } }] as never[] };
    const fan = boundPod(
      'fan',
      'n3',
      preferredTowards(5, term({ app: 'web' }, ZONE, { namespaceSelector: { matchLabels: { team: 'web' } } })),
      { labels: { app: 'fan' }, namespace: 'fans' },
    );
    const h = harness({ nodes, pods: [fan], listers });
    const web = () => makePod('web', {}, { labels: { app: 'web' } });
    expect(h.score('InterPodAffinity', web())).to.equal(undefined);
    listers.namespaces[0] = { metadata: { name: 'default', labels: { team: 'web' } } } as never;
    expect(h.score('InterPodAffinity', web())).to.deep.equal([0, 0, 100, 0]);
    h.component.cache.removePod(fan.metadata.uid!);
    expect(h.score('InterPodAffinity', web())).to.equal(undefined);
  });
});
