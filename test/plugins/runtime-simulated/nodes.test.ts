/**
 * Simulated nodes (issue 19 item 8): registration with upstream's conditions and a pod range of
 * the runtime's cluster range, each node's own Lease renewed, and many nodes in one process sharing
 * one pod watch.
 */
import { expect } from 'chai';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';
import {
  condition,
  getPod,
  inCidr,
  LEASES,
  NODES,
  PODS,
  type SimHarness,
  simPod,
  startSimHarness,
  waitFor,
} from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: Node and Lease fields read one by one
type Loose = Record<string, any>;

describe('runtime-simulated: nodes', function () {
  this.timeout(30_000);
  let h: SimHarness;

  before(async () => {
    h = await startSimHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('registers each node Ready, with capacity, its own /24 of the cluster range and its InternalIP in it', async () => {
    await h.nodes(['reg-a', 'reg-b'], { nodeLabels: { zone: 'z1' }, maxPods: 30 });
    const nodes = await Promise.all(['reg-a', 'reg-b'].map((n) => h.admin.get(NODES, '', n)));
    const cidrs = nodes.map((n) => (n.spec as Loose).podCIDR as string);
    expect(cidrs[0]).to.not.equal(cidrs[1]);
    for (const [i, node] of nodes.entries()) {
      const status = node.status as Loose;
      expect(inCidr(cidrs[i]!.split('/')[0]!, '10.64.0.0/10'), cidrs[i]).to.equal(true);
      expect(cidrs[i]).to.match(/\/24$/);
      expect(status.conditions.find((c: Loose) => c.type === 'Ready')).to.include({
        status: 'True',
        reason: 'KubeletReady',
      });
      expect(status.conditions.map((c: Loose) => c.type)).to.include.members([
        'MemoryPressure',
        'DiskPressure',
        'PIDPressure',
      ]);
      expect(status.capacity).to.include({ cpu: '4', memory: '16Gi', pods: '30' });
      const internal = status.addresses.find((a: Loose) => a.type === 'InternalIP').address;
      expect(inCidr(internal, cidrs[i]!)).to.equal(true);
      expect(status.nodeInfo.containerRuntimeVersion).to.match(/^skiff-simulated:\/\//);
      expect(node.metadata.labels).to.include({ zone: 'z1', 'sim.skiff.dev/simulated': 'true' });
      expect(node.metadata.labels?.['kubernetes.io/hostname']).to.equal(node.metadata.name);
    }
  });

  it('keeps a Lease per node in kube-node-lease, owned by its Node, and renews it', async () => {
    const node = await h.admin.get(NODES, '', 'reg-a');
    // Taken within the first renewal period (spread over it), then renewed every quarter of the duration (1 s here).
    const first = await waitFor('the lease', () => h.admin.get(LEASES, 'kube-node-lease', 'reg-a'), Boolean, 3_000);
    expect(first.spec as Loose).to.include({ holderIdentity: 'reg-a', leaseDurationSeconds: 4 });
    expect(first.metadata.ownerReferences?.[0]).to.include({ kind: 'Node', name: 'reg-a', uid: node.metadata.uid });
    await waitFor(
      'the lease to be renewed',
      () => h.admin.get(LEASES, 'kube-node-lease', 'reg-a'),
      (l) => (l.spec as Loose).renewTime !== (first.spec as Loose).renewTime,
      5_000,
    );
    const other = await waitFor('the lease', () => h.admin.get(LEASES, 'kube-node-lease', 'reg-b'), Boolean, 3_000);
    expect((other.spec as Loose).holderIdentity).to.equal('reg-b');
  });

  it('a restarted host takes its Nodes back (same uid and pod range) and runs their pods again', async () => {
    const first = await h.nodes(['again-0']);
    const before = await h.admin.get(NODES, '', 'again-0');
    await h.admin.create(PODS, 'default', simPod('again-pod', 'again-0'));
    await waitFor(
      'again-pod Running',
      () => getPod(h, 'again-pod'),
      (p) => p.status?.phase === 'Running',
    );
    await first.stop({ stopPods: true });
    const second = await h.nodes(['again-0']);
    const after = await h.admin.get(NODES, '', 'again-0');
    expect(after.metadata.uid).to.equal(before.metadata.uid);
    expect((after.spec as Loose).podCIDR).to.equal((before.spec as Loose).podCIDR);
    const runtime = second.nodes.get('again-0')!.runtime;
    await waitFor(
      'the pod to run on the new host',
      () => runtime.listContainers({ state: 'running' }),
      (l) => l.length === 1,
    );
    const pod = await getPod(h, 'again-pod');
    expect(pod.status?.phase).to.equal('Running');
    expect(inCidr(pod.status!.podIP!, (after.spec as Loose).podCIDR)).to.equal(true);
  });

  it('hosts 50 nodes in one process on a single pod watch; their 100 pods all run, each with an IP of its node', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `many-${i}`);
    const before = h.watches();
    await h.nodes(names);
    expect(h.watches() - before, 'pod watches opened for 50 nodes').to.equal(1);
    const ready = await waitFor(
      '50 Ready nodes',
      () => h.admin.list(NODES, ''),
      (l) =>
        l.items.filter(
          (n) => n.metadata.name?.startsWith('many-') && condition(n as unknown as Pod, 'Ready') === 'True',
        ).length === 50,
    );
    const cidrOf = new Map(ready.items.map((n) => [n.metadata.name, (n.spec as Loose).podCIDR as string]));
    expect(new Set(cidrOf.values()).size).to.be.at.least(52);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => h.admin.create(PODS, 'default', simPod(`many-${i}`, names[i % 50]!))),
    );
    const pods = await waitFor(
      '100 Running pods',
      () => h.admin.list(PODS, 'default'),
      (l) =>
        l.items.filter((p) => p.metadata.name?.startsWith('many-') && (p.status as Loose)?.phase === 'Running')
          .length === 100,
    );
    const ips = new Set<string>();
    for (const pod of pods.items.filter((p: KubeObject) => p.metadata.name?.startsWith('many-'))) {
      const { podIP } = pod.status as Loose;
      expect(inCidr(podIP, cidrOf.get((pod.spec as Loose).nodeName)!), `${podIP} of ${pod.metadata.name}`).to.equal(
        true,
      );
      ips.add(podIP);
    }
    expect(ips.size).to.equal(100);
    const one = await getPod(h, 'many-7');
    expect(one.status?.hostIP).to.equal(
      ((await h.admin.get(NODES, '', 'many-7')).status as Loose).addresses.find((a: Loose) => a.type === 'InternalIP')
        .address,
    );
  });
});
