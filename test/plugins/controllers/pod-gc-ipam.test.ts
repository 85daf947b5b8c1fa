/**
 * controller-pod-gc and controller-node-ipam in a real server, with short timings: pods on a
 * deleted node are marked Failed (DisruptionTarget DeletionByPodGC) and deleted once the node has
 * been gone for the quarantine; finished pods over --terminated-pod-gc-threshold go, oldest first;
 * nodes get pod CIDRs from --cluster-cidr, keep one they already have (whose range is then not
 * handed out), and free theirs when deleted.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';
import { createPod, createReadyNode } from './service-fixtures.js';

const NS = 'default';
const MERGE = { 'Content-Type': 'application/merge-patch+json' };

describe('controller-pod-gc', function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'authz-bootstrap-roles': {},
        'controller-pod-gc': {
          config: { gcCheckPeriodSeconds: 0.2, quarantineSeconds: 0.5, terminatedPodGCThreshold: 2 },
        },
      },
    });
  });
  after(async () => s?.close());

  const getPod = (name: string) => api(s.url, 'GET', `/api/v1/namespaces/${NS}/pods/${name}`);

  it('deletes the pods of a deleted node', async () => {
    await createReadyNode(s.url, 'gc-node');
    await createPod(s.url, NS, 'orphan', { nodeName: 'gc-node' });
    await createPod(s.url, NS, 'kept', { nodeName: 'other-node-that-stays' });
    await createReadyNode(s.url, 'other-node-that-stays');
    // A pod whose node exists stays through a few collections.
    await new Promise((r) => setTimeout(r, 800));
    expect((await getPod('orphan')).status).to.equal(200);
    expect((await api(s.url, 'DELETE', '/api/v1/nodes/gc-node')).status).to.equal(200);
    await waitFor(
      'orphan deleted',
      () => getPod('orphan'),
      (r) => r.status === 404,
    );
    expect((await getPod('kept')).status).to.equal(200);
  });

  it('keeps at most --terminated-pod-gc-threshold finished pods: evicted ones go first, then the oldest', async () => {
    const finish = async (name: string, status: Record<string, unknown>) => {
      await createPod(s.url, NS, name, { labels: { batch: 'x' } });
      const r = await api(s.url, 'PATCH', `/api/v1/namespaces/${NS}/pods/${name}/status`, { status }, MERGE);
      expect(r.status).to.equal(200);
    };
    await finish('done-old', { phase: 'Succeeded' });
    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has whole seconds
    await finish('done-new-1', { phase: 'Succeeded' });
    await finish('done-new-2', { phase: 'Failed' });
    await finish('evicted', { phase: 'Failed', reason: 'Evicted' });
    const left = await waitFor(
      'two finished pods',
      async () => (await api(s.url, 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=batch%3Dx`)).body.items,
      (items: { metadata: { name: string } }[]) => items.length === 2,
    );
    expect(left.map((p) => p.metadata.name).sort()).to.deep.equal(['done-new-1', 'done-new-2']);
  });
});

describe('controller-node-ipam', function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'authz-bootstrap-roles': {},
        'controller-node-ipam': {
          config: { allocateNodeCIDRs: true, clusterCIDR: '10.200.0.0/22', nodeCIDRMaskSize: 24 },
        },
      },
    });
  });
  after(async () => s?.close());

  const cidrOf = async (name: string) => {
    const node = (await api(s.url, 'GET', `/api/v1/nodes/${name}`)).body;
    return node.spec?.podCIDR ? { podCIDR: node.spec.podCIDR, podCIDRs: node.spec.podCIDRs } : undefined;
  };

  it('gives each node a range of the cluster CIDR, skips one a node has, and frees a deleted node’s', async () => {
    // A node registered with a range (as a kubelet with --pod-cidr does) keeps it, and it is taken.
    const own = { metadata: { name: 'ipam-own' }, spec: { podCIDR: '10.200.1.0/24', podCIDRs: ['10.200.1.0/24'] } };
    expect((await api(s.url, 'POST', '/api/v1/nodes', own)).status).to.equal(201);
    for (const name of ['ipam-a', 'ipam-b', 'ipam-c']) await createReadyNode(s.url, name);
    const got: Record<string, string> = {};
    for (const name of ['ipam-a', 'ipam-b', 'ipam-c']) {
      const cidr = await waitFor(
        `${name} range`,
        () => cidrOf(name),
        (c) => c !== undefined,
      );
      expect(cidr!.podCIDRs).to.deep.equal([cidr!.podCIDR]);
      got[name] = cidr!.podCIDR;
    }
    expect(Object.values(got).sort()).to.deep.equal(['10.200.0.0/24', '10.200.2.0/24', '10.200.3.0/24']);
    expect((await cidrOf('ipam-own'))!.podCIDR).to.equal('10.200.1.0/24');

    // The /22 is full: a fifth node waits, with an event, until a range is freed.
    await createReadyNode(s.url, 'ipam-d');
    await waitFor(
      'CIDRNotAvailable',
      async () =>
        (await api(s.url, 'GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dipam-d')).body
          .items,
      (items: { reason: string }[]) => items.some((e) => e.reason === 'CIDRNotAvailable'),
    );
    expect(await cidrOf('ipam-d')).to.equal(undefined);
    expect((await api(s.url, 'DELETE', '/api/v1/nodes/ipam-b')).status).to.equal(200);
    const d = await waitFor(
      'ipam-d range',
      () => cidrOf('ipam-d'),
      (c) => c !== undefined,
    );
    expect(d!.podCIDR).to.equal(got['ipam-b']);
  });
});
