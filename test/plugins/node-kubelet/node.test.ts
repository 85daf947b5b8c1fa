/**
 * Node management (seed 3.4.1) and the kubelet's life: registration with capacity, allocatable,
 * addresses, nodeInfo, conditions, labels, taints and a pod range; the Lease heartbeat; a kubelet
 * that restarts re-registers and adopts what still runs; OOMKilled; and once every kubelet is
 * stopped, nothing left on the host.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { kubeletConfigSchema } from '../../../plugins/node-kubelet/config.js';
import { Kubelet } from '../../../plugins/node-kubelet/kubelet.js';
import { nodeUser } from '../../../plugins/node-kubelet/node-names.js';
import {
  condition,
  FAST,
  getPod,
  HTTP_SERVER,
  httpText,
  isRoot,
  type KubeletHarness,
  leftovers,
  NODES,
  PODS,
  podSpec,
  processesOf,
  rootReason,
  startHarness,
  waitFor,
} from './helpers.js';

const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };

describe('node-kubelet: nodes', function () {
  this.timeout(60_000);
  let h: KubeletHarness;

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    h = await startHarness();
  });

  after(async () => {
    await h?.close();
  });

  it('registers its Node: capacity, allocatable, addresses, nodeInfo, conditions, labels, taints, pod range', async () => {
    await h.kubelet('reg', {
      nodeLabels: { disk: 'ssd' },
      registerWithTaints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
      maxPods: 42,
    });
    const node = await h.admin.get(NODES, '', 'reg');
    // biome-ignore lint/suspicious/noExplicitAny: a Node status, read field by field
    const status = node.status as Record<string, any>;
    expect(node.metadata.labels).to.include({
      disk: 'ssd',
      'kubernetes.io/hostname': 'reg',
      'kubernetes.io/os': 'linux',
      'beta.kubernetes.io/os': 'linux',
    });
    expect(node.metadata.labels!['kubernetes.io/arch']).to.be.oneOf(['amd64', 'arm64']);
    expect((node.spec as Record<string, unknown>).taints).to.deep.equal([
      { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
    ]);
    const podCIDR = (node.spec as { podCIDR: string }).podCIDR;
    expect(podCIDR).to.match(/\/24$/);
    expect(podCIDR.split('.').slice(0, 2)).to.deep.equal(h.runtimeConfig.clusterCIDR.split('.').slice(0, 2));
    expect(status.capacity).to.include.keys('cpu', 'memory', 'pods', 'ephemeral-storage');
    expect(status.capacity.pods).to.equal('42');
    expect(status.allocatable.pods).to.equal('42');
    const internal = status.addresses.find((a: { type: string }) => a.type === 'InternalIP');
    expect(internal.address.split('.').slice(0, 3)).to.deep.equal(podCIDR.split('.').slice(0, 3));
    expect(status.addresses).to.deep.include({ type: 'Hostname', address: 'reg' });
    expect(status.nodeInfo).to.include({ kubeletVersion: 'v1.32.0+skiff', operatingSystem: 'linux' });
    expect(status.nodeInfo.containerRuntimeVersion).to.match(/^skiff-process:\/\//);
    expect(status.nodeInfo.bootID).to.equal(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(
      status.conditions.map(
        (c: { type: string; status: string; reason: string }) => `${c.type}=${c.status} ${c.reason}`,
      ),
    ).to.deep.equal([
      'MemoryPressure=False KubeletHasSufficientMemory',
      'DiskPressure=False KubeletHasNoDiskPressure',
      'PIDPressure=False KubeletHasSufficientPID',
      'Ready=True KubeletReady',
    ]);
  });

  it('with --register-node=false creates no Node, but keeps one an administrator made up to date', async () => {
    await h.kubelet('unregistered', { registerNode: false });
    const missing = await h.admin.get(NODES, '', 'unregistered').then(
      () => 'found',
      (err: { code?: number }) => err.code,
    );
    expect(missing).to.equal(404);
    await h.admin.create(NODES, '', { metadata: { name: 'unregistered' } });
    const node = await waitFor(
      'the kubelet to report on the Node it did not create',
      () => h.admin.get(NODES, '', 'unregistered'),
      (n) =>
        (n.status as { conditions?: { type: string; status: string }[] })?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ) === true,
    );
    expect((node.status as { capacity?: Record<string, string> }).capacity).to.include.keys('cpu', 'memory', 'pods');
  });

  it('divides the machine between local nodes sharing it', async () => {
    const one = (await h.admin.get(NODES, '', 'reg')).status as { capacity: { memory: string } };
    const shared = new Kubelet({
      nodeName: 'half',
      client: h.server.server.client(nodeUser('half')),
      runtime: h.provider,
      config: kubeletConfigSchema.parse(FAST),
      rootDir: mkdtempSync(join(tmpdir(), 'skiff-kubelet-')),
      logger: pino({ level: 'silent' }),
      localIndex: 7,
      localCount: 2,
    });
    h.roots.push(shared.rootDir);
    await shared.start();
    try {
      const half = (await h.admin.get(NODES, '', 'half')).status as { capacity: { memory: string } };
      const mi = (q: string) => Number(q.replace(/Mi$/, ''));
      expect(mi(half.capacity.memory)).to.be.closeTo(mi(one.capacity.memory) / 2, 1);
    } finally {
      await shared.stop({ stopPods: true });
    }
  });

  it('heartbeats through a Lease in kube-node-lease, owned by its Node, renewed every 10 s (here, 1/4 of 4 s)', async () => {
    await h.kubelet('beat', { nodeLeaseDurationSeconds: 4 });
    const node = await h.admin.get(NODES, '', 'beat');
    const first = await waitFor(
      'lease',
      () => h.admin.get(LEASES, 'kube-node-lease', 'beat'),
      () => true,
    );
    expect(first.spec).to.include({ holderIdentity: 'beat', leaseDurationSeconds: 4 });
    expect(first.metadata.ownerReferences).to.deep.equal([
      { apiVersion: 'v1', kind: 'Node', name: 'beat', uid: node.metadata.uid },
    ]);
    const renewed = await waitFor(
      'renewal',
      () => h.admin.get(LEASES, 'kube-node-lease', 'beat'),
      (l) => (l.spec as { renewTime: string }).renewTime !== (first.spec as { renewTime: string }).renewTime,
      5000,
    );
    expect(Date.parse((renewed.spec as { renewTime: string }).renewTime)).to.be.above(
      Date.parse((first.spec as { renewTime: string }).renewTime),
    );
  });

  it('restarted, it re-registers (same pod range) and adopts the pods still running', async () => {
    const first = await h.kubelet('phoenix');
    await h.admin.create(PODS, 'default', podSpec('survivor', 'phoenix', HTTP_SERVER));
    const before = await waitFor(
      'survivor ready',
      () => getPod(h, 'survivor'),
      (p) => condition(p, 'Ready') === 'True',
    );
    const cidr = ((await h.admin.get(NODES, '', 'phoenix')).spec as { podCIDR: string }).podCIDR;
    await first.stop({ stopPods: false });
    expect(await httpText(`http://${before.status!.podIP}:8080/`), 'still serving without a kubelet').to.equal(
      'pod survivor',
    );
    await h.kubelet('phoenix', {}, first.rootDir);
    expect(((await h.admin.get(NODES, '', 'phoenix')).spec as { podCIDR: string }).podCIDR).to.equal(cidr);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await getPod(h, 'survivor');
    const c = after.status!.containerStatuses![0]!;
    expect(c).to.include({
      restartCount: 0,
      containerID: before.status!.containerStatuses![0]!.containerID,
      ready: true,
    });
    expect(after.status!.podIP).to.equal(before.status!.podIP);
  });

  it('reports a container killed over its memory limit as OOMKilled (exit 137)', async function () {
    if (!existsSync('/sys/fs/cgroup/memory')) {
      console.warn('      skipped: no cgroup v1 memory controller, so no memory limit is enforced');
      this.skip();
    }
    await h.kubelet('oom');
    const spec = podSpec('hog', 'oom', ['node', '-e', 'const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))'], {
      restartPolicy: 'Never',
    });
    (spec.spec as { containers: Record<string, unknown>[] }).containers[0]!.resources = { limits: { memory: '64Mi' } };
    await h.admin.create(PODS, 'default', spec);
    const pod = await waitFor(
      'hog failed',
      () => getPod(h, 'hog'),
      (p) => p.status?.phase === 'Failed',
    );
    expect(pod.status!.containerStatuses![0]!.state!.terminated).to.include({ reason: 'OOMKilled', exitCode: 137 });
  });

  it('deletes a pod a kubelet runs gracefully (marked first), and one no kubelet reported on at once', async () => {
    await h.admin.create(PODS, 'default', podSpec('orphan', 'no-such-node', HTTP_SERVER));
    const now = await h.admin.delete(PODS, 'default', 'orphan');
    expect(now.metadata.deletionTimestamp).to.equal(undefined);
    expect((await h.admin.list(PODS, 'default')).items.map((p) => p.metadata.name)).to.not.include('orphan');
  });

  it('leaves no process, network namespace, link, route, cgroup or mount once its kubelets stop', async () => {
    // Stopped as `skiff up` stops (no sweep): what the kubelets and the runtime removed themselves.
    await h.stop();
    expect(leftovers(h.runtimeConfig.prefix, h.runtimeConfig.clusterCIDR)).to.deep.equal([]);
    for (const root of h.roots) expect(processesOf(root)).to.deep.equal([]);
    const mounts = readFileSync('/proc/mounts', 'utf8');
    for (const root of h.roots) expect(mounts).to.not.include(root);
  });
});

/** Pure parts: flag syntax, pod ranges, back-off, $(VAR) expansion, the kubelet's admission. */
describe('node-kubelet: pure parts', () => {
  it('parses --node-labels and --register-with-taints as upstream', async () => {
    const { parseLabels, parseTaints } = await import('../../../plugins/node-kubelet/config.js');
    expect(parseLabels('a=b,zone=x')).to.deep.equal({ a: 'b', zone: 'x' });
    expect(() => parseLabels('nokey')).to.throw(/key=value/);
    expect(parseTaints('k=v:NoSchedule,gpu:NoExecute')).to.deep.equal([
      { key: 'k', value: 'v', effect: 'NoSchedule' },
      { key: 'gpu', effect: 'NoExecute' },
    ]);
    expect(() => parseTaints('k=v:Sometimes')).to.throw(/Effect/);
  });

  it('picks a /24 of the cluster range no other node has, the preferred one first', async () => {
    const { choosePodCIDR } = await import('../../../plugins/node-kubelet/cidr.js');
    expect(choosePodCIDR('10.244.0.0/16', new Set(), 2)).to.equal('10.244.2.0/24');
    expect(choosePodCIDR('10.244.0.0/16', new Set(['10.244.2.0/24']), 2)).to.equal('10.244.3.0/24');
    expect(choosePodCIDR('10.9.0.0/24', new Set(['10.9.0.0/24']), 0)).to.equal(undefined);
  });

  it('backs off 10 s doubling to 5 min, and forgets after 10 min of quiet', async () => {
    const { BackOff, goDuration } = await import('../../../plugins/node-kubelet/backoff.js');
    const b = new BackOff(10_000, 300_000);
    expect(b.isInBackOffSince('k', 0, 1)).to.equal(false);
    b.next('k', 0);
    expect(b.isInBackOffSince('k', 1000, 5000)).to.equal(true);
    expect(b.isInBackOffSince('k', 1000, 12_000)).to.equal(false);
    for (let i = 0; i < 10; i++) b.next('k', 1000);
    expect(b.get('k')).to.equal(300_000);
    expect(goDuration(b.get('k'))).to.equal('5m0s');
    b.next('k', 1000 + 600_001);
    expect(b.get('k'), 'reset after twice the maximum').to.equal(10_000);
  });

  it('expands $(VAR) as upstream: defined names, $$ escapes, unknown names stay', async () => {
    const { expand } = await import('../../../plugins/node-kubelet/env.js');
    const vars = new Map([['A', 'x']]);
    expect(expand('$(A)-$(B)-$$(A)-$$$(A)', vars)).to.equal('x-$(B)-$(A)-$x');
  });

  it("admits as upstream's predicate handler: pods, cpu, memory, node selector", async () => {
    const { admitPod } = await import('../../../plugins/node-kubelet/admission.js');
    const pod = (cpu: string, selector?: Record<string, string>) =>
      ({
        spec: { nodeSelector: selector, containers: [{ name: 'c', resources: { requests: { cpu, memory: '1Mi' } } }] },
      }) as never;
    const node = { milliCpu: 1000, memoryBytes: 1 << 30, pods: 2 };
    expect(admitPod(pod('500m'), [pod('400m')], node, {})).to.equal(undefined);
    expect(admitPod(pod('700m'), [pod('400m')], node, {})).to.deep.equal({
      reason: 'OutOfcpu',
      message: "Node didn't have enough resource: cpu, requested: 700, used: 400, capacity: 1000",
    });
    expect(admitPod(pod('1m'), [pod('1m'), pod('1m')], node, {})?.reason).to.equal('OutOfpods');
    expect(admitPod(pod('1m', { disk: 'ssd' }), [], node, { disk: 'hdd' })?.reason).to.equal('NodeAffinity');
  });
});
