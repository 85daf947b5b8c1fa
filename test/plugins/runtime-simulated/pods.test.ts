/**
 * Pods on simulated nodes (issue 19 item 8): Running after the start delay with an IP of the
 * node's pod CIDR; exits and probe failures scripted by sim.skiff.dev/* annotations reflected in
 * the pod's status as upstream's kubelet reports them; deletion stops the pod and frees its IP.
 */
import { expect } from 'chai';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';
import { KUBE_LABELS } from 'skiff/sdk/runtime';
import type { SimulatedNodes } from '../../../plugins/node-kubelet/multi/host.js';
import {
  condition,
  EVENTS,
  getPod,
  inCidr,
  NODES,
  PODS,
  type SimHarness,
  simPod,
  startSimHarness,
  waitFor,
} from './helpers.js';

const NODE = 'sim-pods';
const probe = { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 1 };

async function eventReasons(h: SimHarness, pod: string): Promise<string[]> {
  const list = await h.admin.list(EVENTS, 'default');
  return list.items
    .filter((e) => (e as KubeObject & { involvedObject: { name: string } }).involvedObject.name === pod)
    .map((e) => `${(e as Record<string, unknown>).reason}`);
}

describe('runtime-simulated: pods', function () {
  this.timeout(30_000);
  let h: SimHarness;
  let host: SimulatedNodes;
  let podCIDR: string;

  before(async () => {
    h = await startSimHarness();
    host = await h.nodes([NODE], { maxPods: 12 });
    podCIDR = ((await h.admin.get(NODES, '', NODE)).spec as { podCIDR: string }).podCIDR;
  });
  after(async () => {
    await h?.close();
  });

  const phaseOf = (name: string, phase: string) =>
    waitFor(
      `${name} ${phase}`,
      () => getPod(h, name),
      (p) => p.status?.phase === phase,
    );

  it('runs a pod bound to the node: Running, Ready, an IP in the pod CIDR, the node as hostIP, a running container', async () => {
    await h.admin.create(PODS, 'default', simPod('web', NODE));
    const pod = await phaseOf('web', 'Running');
    expect(inCidr(pod.status!.podIP!, podCIDR), `${pod.status?.podIP} in ${podCIDR}`).to.equal(true);
    expect(pod.status?.podIPs).to.deep.equal([{ ip: pod.status?.podIP }]);
    expect(pod.status?.hostIP).to.equal(host.nodes.get(NODE)!.address);
    expect(condition(pod, 'Ready')).to.equal('True');
    const main = pod.status!.containerStatuses![0]!;
    expect(main).to.include({ name: 'main', ready: true, started: true, restartCount: 0 });
    expect(main.state?.running?.startedAt).to.be.a('string');
    expect(main.containerID).to.match(/^skiff-simulated:\/\//);
    expect(main.imageID).to.match(/^busybox@sha256:[0-9a-f]{64}$/);
  });

  it('scripted exit with restartPolicy Never: Failed, terminated with the exit code and reason Error', async () => {
    const annotations = { 'sim.skiff.dev/exit-after': '200ms', 'sim.skiff.dev/exit-code': '3' };
    await h.admin.create(PODS, 'default', simPod('exit-never', NODE, annotations, { restartPolicy: 'Never' }));
    const pod = await phaseOf('exit-never', 'Failed');
    expect(pod.status!.containerStatuses![0]!.state?.terminated).to.include({ exitCode: 3, reason: 'Error' });
  });

  it('scripted exit 0 with OnFailure: Succeeded, Completed', async () => {
    const annotations = { 'sim.skiff.dev/exit-after': '0.1' };
    await h.admin.create(PODS, 'default', simPod('exit-ok', NODE, annotations, { restartPolicy: 'OnFailure' }));
    const pod = await phaseOf('exit-ok', 'Succeeded');
    expect(pod.status!.containerStatuses![0]!.state?.terminated).to.include({ exitCode: 0, reason: 'Completed' });
  });

  it('scripted failing exit with Always: restarted, then CrashLoopBackOff with the last exit in lastState; dead containers collected', async () => {
    const annotations = { 'sim.skiff.dev/exit-after': '100ms', 'sim.skiff.dev/exit-code': '1' };
    await h.admin.create(PODS, 'default', simPod('crash', NODE, annotations));
    const pod = await waitFor(
      'crash in CrashLoopBackOff after a restart',
      () => getPod(h, 'crash'),
      (p) => {
        const s = p.status?.containerStatuses?.[0];
        return (s?.restartCount ?? 0) >= 1 && s?.state?.waiting?.reason === 'CrashLoopBackOff';
      },
    );
    const main = pod.status!.containerStatuses![0]!;
    expect(main.lastState?.terminated).to.include({ exitCode: 1, reason: 'Error' });
    expect(main.state?.waiting?.message).to.match(
      /^back-off \d+s restarting failed container=main pod=crash_default\(/,
    );
    expect(pod.status?.phase).to.equal('Running');
    expect(await eventReasons(h, 'crash')).to.include('BackOff');
    // After the back-off, restarted again; only the newest dead container is kept (upstream's container GC).
    await waitFor(
      'a second restart',
      () => getPod(h, 'crash'),
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
    );
    const kept = await host.nodes
      .get(NODE)!
      .runtime.listContainers({ labels: { [KUBE_LABELS.podUid]: pod.metadata!.uid! } });
    expect(kept.length).to.be.at.most(2);
  });

  it('a per-container key wins over the pod-wide one', async () => {
    const annotations = { 'sim.skiff.dev/exit-after': '100ms', 'sim.skiff.dev/exit-after.keep': '1h' };
    const spec = {
      restartPolicy: 'Never',
      containers: [
        { name: 'keep', image: 'busybox' },
        { name: 'main', image: 'busybox' },
      ],
    };
    await h.admin.create(PODS, 'default', simPod('mixed', NODE, annotations, spec));
    const pod = await waitFor(
      'main to exit while keep runs',
      () => getPod(h, 'mixed'),
      (p) => p.status?.containerStatuses?.find((c) => c.name === 'main')?.state?.terminated !== undefined,
    );
    expect(pod.status!.containerStatuses!.find((c) => c.name === 'keep')!.state?.running).to.not.equal(undefined);
    expect(pod.status?.phase).to.equal('Running');
  });

  it('scripted readiness failure: the container and the pod turn unready, the pod keeps running', async () => {
    const annotations = { 'sim.skiff.dev/readiness-fail-after': '600ms' };
    const spec = { containers: [{ name: 'main', image: 'busybox', readinessProbe: probe }] };
    await h.admin.create(PODS, 'default', simPod('unready', NODE, annotations, spec));
    await waitFor(
      'unready to be Ready',
      () => getPod(h, 'unready'),
      (p) => condition(p, 'Ready') === 'True',
    );
    const pod = await waitFor(
      'unready to turn unready',
      () => getPod(h, 'unready'),
      (p) => condition(p, 'Ready') === 'False',
    );
    expect(pod.status?.phase).to.equal('Running');
    expect(pod.status!.containerStatuses![0]).to.include({ ready: false, restartCount: 0 });
    expect(condition(pod, 'ContainersReady')).to.equal('False');
    expect(await eventReasons(h, 'unready')).to.include('Unhealthy');
  });

  it('scripted liveness failure: the container is killed and restarted, with Unhealthy and Killing events', async () => {
    const annotations = { 'sim.skiff.dev/liveness-fail-after': '300ms' };
    const spec = { containers: [{ name: 'main', image: 'busybox', livenessProbe: probe }] };
    await h.admin.create(PODS, 'default', simPod('dead', NODE, annotations, spec));
    const pod = await waitFor(
      'dead to be restarted',
      () => getPod(h, 'dead'),
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
    );
    expect(pod.status!.containerStatuses![0]!.lastState?.terminated).to.include({ exitCode: 143, reason: 'Error' });
    expect(await eventReasons(h, 'dead')).to.include.members(['Unhealthy', 'Killing']);
  });

  it('runs init containers to completion first, then the app container', async () => {
    const spec = { initContainers: [{ name: 'setup', image: 'busybox' }] };
    await h.admin.create(PODS, 'default', simPod('init', NODE, {}, spec));
    const pod = await phaseOf('init', 'Running');
    expect(pod.status!.initContainerStatuses![0]!.state?.terminated).to.include({ exitCode: 0, reason: 'Completed' });
    expect(condition(pod, 'Initialized')).to.equal('True');
  });

  it('a malformed annotation leaves the container waiting in CreateContainerError, saying what to write', async () => {
    await h.admin.create(PODS, 'default', simPod('typo', NODE, { 'sim.skiff.dev/exit-after': 'soon' }));
    const pod = await waitFor(
      'typo to wait',
      () => getPod(h, 'typo'),
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError',
    );
    expect(pod.status!.containerStatuses![0]!.state!.waiting!.message).to.include(
      'sim.skiff.dev/exit-after="soon" is not a duration',
    );
    expect(pod.status?.phase).to.equal('Pending');
  });

  it('deleting a pod stops it: its sandbox and containers go, and the pod object is removed', async () => {
    await h.admin.create(PODS, 'default', simPod('doomed', NODE));
    const running = await phaseOf('doomed', 'Running');
    const uid = running.metadata!.uid!;
    const runtime = host.nodes.get(NODE)!.runtime;
    expect(await runtime.listPodSandboxes({ labels: { [KUBE_LABELS.podUid]: uid } })).to.have.length(1);
    await h.admin.delete(PODS, 'default', 'doomed');
    await waitFor(
      'doomed to be gone',
      () => h.admin.list(PODS, 'default'),
      (l) => !l.items.some((p) => p.metadata.name === 'doomed'),
    );
    await waitFor(
      'its sandbox to be removed',
      () => runtime.listPodSandboxes({ labels: { [KUBE_LABELS.podUid]: uid } }),
      (s) => s.length === 0,
    );
    expect(await runtime.listContainers({ labels: { [KUBE_LABELS.podUid]: uid } })).to.have.length(0);
  });

  it('admission: beyond --max-pods a pod is Failed with OutOfpods and never runs', async () => {
    const list = await h.admin.list(PODS, 'default');
    const active = list.items.filter(
      (p) => !['Succeeded', 'Failed'].includes((p.status as Pod['status'])?.phase ?? ''),
    );
    const free = 12 - active.length;
    for (let i = 0; i < free; i++) await h.admin.create(PODS, 'default', simPod(`fill-${i}`, NODE));
    await waitFor(
      'the node to be full',
      () => h.admin.list(PODS, 'default'),
      (l) =>
        l.items.filter((p) => p.metadata.name?.startsWith('fill-') && (p.status as Pod['status'])?.phase === 'Running')
          .length === free,
    );
    await h.admin.create(PODS, 'default', simPod('one-too-many', NODE));
    const pod = await phaseOf('one-too-many', 'Failed');
    expect(pod.status).to.include({ reason: 'OutOfpods' });
    expect(pod.status?.message).to.match(
      /^Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 12, capacity: 12$/,
    );
    expect(pod.status?.podIP).to.equal(undefined);
  });
});
