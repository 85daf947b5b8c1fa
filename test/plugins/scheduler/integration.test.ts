/**
 * The scheduler in a real server (`skiff up`'s role, in-process, acting as system:kube-scheduler
 * through upstream's bootstrap roles), with Node objects and no kubelet: pods are bound through
 * pods/binding, refused ones get upstream's FailedScheduling message and PodScheduled condition,
 * and a cluster change brings a parked pod back.
 */
import { expect } from 'chai';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { api, type TestServer } from '../../helpers/server.js';
import {
  bound,
  createAll,
  eventsFor,
  getPod,
  node,
  pod,
  schedulerServer,
  unschedulable,
  waitForPod,
} from './helpers.js';

const names = (xs: Pod[]) => xs.map((p) => p.spec?.nodeName).sort();

describe('scheduler in a real server: placement', function () {
  this.timeout(60_000);
  let ts: TestServer;

  beforeEach(async () => {
    ts = await schedulerServer();
  });
  afterEach(() => ts?.close());

  it('binds a pod that fits, with the Scheduled event from default-scheduler and PodScheduled=True', async () => {
    await createAll(ts, [node('small', { cpu: '1' }), node('big', { cpu: '4' }), pod('web', { cpu: '2' })]);
    const p = await bound(ts, 'web');
    expect(p.spec?.nodeName).to.equal('big');
    expect(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).to.equal('True');
    const deadline = Date.now() + 5_000;
    let scheduled: Event | undefined;
    while (!scheduled && Date.now() < deadline) {
      scheduled = (await eventsFor(ts, 'web')).find((e) => e.reason === 'Scheduled');
      if (!scheduled) await new Promise((r) => setTimeout(r, 30));
    }
    expect(scheduled).to.deep.include({
      type: 'Normal',
      message: 'Successfully assigned default/web to big',
      reportingComponent: 'default-scheduler',
      action: 'Binding',
    });
    expect(scheduled!.involvedObject).to.include({
      kind: 'Pod',
      name: 'web',
      namespace: 'default',
      uid: p.metadata?.uid,
    });
  });

  // Upstream's message ends in ".." when preemption adds its own sentence (FitError joins with " %v."): kept.
  it("a pod that fits nowhere: upstream's aggregated message, event, condition; a node added later unblocks it", async () => {
    await createAll(ts, [
      node('n1', { cpu: '1' }),
      node('n2', { cpu: '1' }),
      node('n3', { cpu: '8', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      pod('big', { cpu: '2' }),
    ]);
    const p = await unschedulable(ts, 'big');
    const condition = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const message =
      '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..';
    expect(condition).to.include({ status: 'False', reason: 'Unschedulable', message });
    const failed = (await eventsFor(ts, 'big')).find((e) => e.reason === 'FailedScheduling');
    expect(failed).to.include({ type: 'Warning', message });
    await createAll(ts, [node('n4', { cpu: '4' })]);
    expect((await bound(ts, 'big')).spec?.nodeName).to.equal('n4');
  });

  it('no nodes at all: "no nodes available to schedule pods"', async () => {
    await createAll(ts, [pod('lonely')]);
    const p = await unschedulable(ts, 'lonely');
    expect(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message).to.equal(
      'no nodes available to schedule pods',
    );
    await createAll(ts, [node('first')]);
    expect((await bound(ts, 'lonely')).spec?.nodeName).to.equal('first');
  });

  it('taints and tolerations: only a tolerating pod lands on a tainted node', async () => {
    const taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    await createAll(ts, [
      node('gpu', { taints }),
      pod('trainer', {
        spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] },
      }),
      pod('plain'),
    ]);
    expect((await bound(ts, 'trainer')).spec?.nodeName).to.equal('gpu');
    await unschedulable(ts, 'plain');
  });

  it('nodeName is honoured (such pods are never scheduled) and nodeSelector picks the labelled node', async () => {
    await createAll(ts, [
      node('a', { labels: { disk: 'ssd' } }),
      node('b'),
      pod('pinned', { spec: { nodeName: 'b' } }),
      pod('fast', { spec: { nodeSelector: { disk: 'ssd' } } }),
    ]);
    expect((await bound(ts, 'fast')).spec?.nodeName).to.equal('a');
    expect((await getPod(ts, 'pinned')).spec?.nodeName).to.equal('b');
  });

  it('anti-affinity spreads replicas one per node; the one too many waits', async () => {
    const replica = (i: number) =>
      pod(`web-${i}`, {
        labels: { app: 'web' },
        spec: {
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' },
              ],
            },
          },
        },
      });
    await createAll(ts, [node('a'), node('b'), node('c'), replica(1), replica(2), replica(3), replica(4)]);
    const placed = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        waitForPod(
          ts,
          `web-${i}`,
          (p) => Boolean(p.spec?.nodeName || p.status?.conditions?.some((c) => c.reason === 'Unschedulable')),
          `web-${i} decided`,
        ),
      ),
    );
    const onNodes = placed.filter((p) => p.spec?.nodeName);
    expect(names(onNodes)).to.deep.equal(['a', 'b', 'c']);
    const waiting = placed.find((p) => !p.spec?.nodeName)!;
    expect(waiting.status?.conditions?.[0]?.message).to.equal(
      "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..",
    );
  });

  it('affinity brings a pod into the zone of the pod it follows', async () => {
    const zone = (z: string) => ({ 'topology.kubernetes.io/zone': z });
    await createAll(ts, [
      node('a1', { labels: zone('a') }),
      node('b1', { labels: zone('b') }),
      pod('db', { labels: { app: 'db' }, spec: { nodeName: 'b1' } }),
    ]);
    await createAll(ts, [
      pod('app', {
        spec: {
          affinity: {
            podAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'topology.kubernetes.io/zone' },
              ],
            },
          },
        },
      }),
    ]);
    expect((await bound(ts, 'app')).spec?.nodeName).to.equal('b1');
  });

  it('topology spread keeps zones within maxSkew', async () => {
    const zone = (z: string) => ({ 'topology.kubernetes.io/zone': z });
    await createAll(ts, [
      node('a1', { labels: zone('a') }),
      node('a2', { labels: zone('a') }),
      node('b1', { labels: zone('b') }),
    ]);
    const spread = (i: number) =>
      pod(`s-${i}`, {
        labels: { app: 's' },
        spec: {
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: { app: 's' } },
            },
          ],
        },
      });
    for (let i = 0; i < 4; i++) {
      await createAll(ts, [spread(i)]);
      await bound(ts, `s-${i}`);
    }
    const all = await Promise.all([0, 1, 2, 3].map((i) => getPod(ts, `s-${i}`)));
    const inA = all.filter((p) => p.spec?.nodeName?.startsWith('a')).length;
    expect(inA).to.equal(2);
  });
});

describe('scheduler in a real server: profiles, priority, preemption', function () {
  this.timeout(60_000);
  let ts: TestServer;

  afterEach(() => ts?.close());

  it('pods naming another scheduler are left alone; a second profile schedules its own', async () => {
    ts = await schedulerServer(
      {},
      {
        configuration: {
          apiVersion: 'kubescheduler.config.k8s.io/v1',
          kind: 'KubeSchedulerConfiguration',
          profiles: [
            { schedulerName: 'default-scheduler' },
            {
              schedulerName: 'packer',
              pluginConfig: [{ name: 'NodeResourcesFit', args: { scoringStrategy: { type: 'MostAllocated' } } }],
            },
          ],
        },
      },
    );
    // Theirs first: had it been queued, it would have been scheduled before mine (same priority,
    // earlier arrival), and its binding would have landed before mine-2's.
    await createAll(ts, [
      node('n'),
      pod('theirs', { spec: { schedulerName: 'someone-else' } }),
      pod('mine', { spec: { schedulerName: 'packer' } }),
    ]);
    expect((await bound(ts, 'mine')).spec?.nodeName).to.equal('n');
    await createAll(ts, [pod('mine-2')]);
    expect((await bound(ts, 'mine-2')).spec?.nodeName).to.equal('n');
    const theirs = await getPod(ts, 'theirs');
    expect(theirs.spec?.nodeName).to.equal(undefined);
    expect(theirs.status?.conditions ?? []).to.deep.equal([]);
  });

  it('preemption: a high-priority pod evicts a low-priority one and takes its place', async () => {
    ts = await schedulerServer();
    await api(ts.url, 'POST', '/apis/scheduling.k8s.io/v1/priorityclasses', {
      metadata: { name: 'high' },
      value: 1000,
    });
    await createAll(ts, [node('only', { cpu: '1' }), pod('low', { cpu: '800m' })]);
    expect((await bound(ts, 'low')).spec?.nodeName).to.equal('only');
    await createAll(ts, [pod('urgent', { cpu: '800m', spec: { priorityClassName: 'high' } })]);
    const urgent = await waitForPod(
      ts,
      'urgent',
      (p) => Boolean(p.spec?.nodeName),
      'the urgent pod bound after preemption',
      15_000,
    );
    expect(urgent.spec?.nodeName).to.equal('only');
    expect((await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/low')).status).to.equal(404);
    const preempted = (await eventsFor(ts, 'low')).find((e) => e.reason === 'Preempted');
    expect(preempted?.message).to.equal(`Preempted by pod ${urgent.metadata?.uid} on node only`);
  });

  it('a third-party scheduler plugin loads by path from the Skiff config', async () => {
    ts = await schedulerServer(
      { 'scheduler-prefer-label': { path: 'test/fixtures/plugins/scheduler-prefer-label' } },
      {
        configuration: {
          apiVersion: 'kubescheduler.config.k8s.io/v1',
          kind: 'KubeSchedulerConfiguration',
          profiles: [
            {
              schedulerName: 'default-scheduler',
              plugins: { multiPoint: { enabled: [{ name: 'PreferLabel', weight: 50 }] } },
              pluginConfig: [{ name: 'PreferLabel', args: { label: 'fast', avoid: 'slow' } }],
            },
          ],
        },
      },
    );
    await createAll(ts, [
      node('plain'),
      node('slow', { labels: { slow: '' } }),
      node('fast', { labels: { fast: '' } }),
      pod('p'),
    ]);
    expect((await bound(ts, 'p')).spec?.nodeName).to.equal('fast');
  });
});
