/**
 * Permit against a real server, with a third-party plugin as upstream's coscheduling uses the
 * extension point: a pod answered Wait is assumed on its node and held (handle.waitingPod) until
 * the plugin allows it, rejects it, or its timeout passes; a held pod is never bound before it is
 * allowed, and a rejected one is forgotten by the cache and reported as unschedulable.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import type {
  SchedulerPlugin,
  SchedulerPluginHandle,
  SchedulerPluginRegistration,
} from '../../../core/sdk/scheduler.js';
import { Code, status } from '../../../core/sdk/scheduler.js';
import { SchedulerComponent } from '../../../plugins/scheduler-default/component/component.js';
import { schedulerConfigurationFrom } from '../../../plugins/scheduler-default/config/configuration.js';
import { goDuration } from '../../../plugins/scheduler-default/framework/waiting-pods.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';
import { bound, createAll, eventsFor, getPod, node, pod, unschedulable } from './helpers.js';

/** Holds pods labelled gang=<n> until n of them wait, then lets them all through. */
function gang(handle: SchedulerPluginHandle, timeoutMs: number): SchedulerPlugin {
  return {
    name: 'Gang',
    permit(_state, p) {
      const size = Number(p.labels.gang ?? 0);
      if (!size) return undefined;
      const waiting = handle.waitingPods().filter((w) => w.pod.labels.gang === p.labels.gang);
      if (waiting.length + 1 < size) return { status: status(Code.Wait), timeoutMs };
      for (const w of waiting) w.allow('Gang');
      return undefined;
    },
  };
}

const CONFIG = {
  apiVersion: 'kubescheduler.config.k8s.io/v1',
  kind: 'KubeSchedulerConfiguration',
  profiles: [{ schedulerName: 'default-scheduler', plugins: { permit: { enabled: [{ name: 'Gang' }] } } }],
};

describe('scheduler Permit: waiting pods', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let component: SchedulerComponent | undefined;

  beforeEach(async () => {
    ts = await startTestServer();
  });
  afterEach(async () => {
    await component?.stop();
    component = undefined;
    await ts?.close();
  });

  function start(timeoutMs: number): SchedulerComponent {
    const registration: SchedulerPluginRegistration = { factory: (_args, handle) => gang(handle, timeoutMs) };
    component = new SchedulerComponent({
      client: ts.server.client(),
      logger: pino({ level: 'silent' }),
      config: schedulerConfigurationFrom(CONFIG, '(test)'),
      external: (name) => (name === 'Gang' ? registration : undefined),
    });
    component.start();
    return component;
  }

  it('a pod held at Permit is not bound until the plugin allows it; then both of the gang are', async () => {
    const c = start(20_000);
    await createAll(ts, [node('n', { cpu: '4' }), pod('a', { labels: { gang: '2' } })]);
    const held = await waitFor(
      'a held at Permit',
      async () => c.waitingPods.list(),
      (w) => w.length === 1,
      10_000,
    );
    expect(held[0]!.pod.name).to.equal('a');
    expect(held[0]!.nodeName).to.equal('n');
    expect(held[0]!.pendingPlugins()).to.deep.equal(['Gang']);
    // Assumed: the node already counts it, but nothing is written.
    expect(c.cache.nodes.get('n')!.pods.map((p) => p.name)).to.deep.equal(['a']);
    expect((await getPod(ts, 'a')).spec?.nodeName).to.equal(undefined);

    await createAll(ts, [pod('b', { labels: { gang: '2' } })]);
    expect((await bound(ts, 'a')).spec?.nodeName).to.equal('n');
    expect((await bound(ts, 'b')).spec?.nodeName).to.equal('n');
    expect(c.waitingPods.list()).to.deep.equal([]);
  });

  it("a plugin's timeout rejects the pod: upstream's message, the cache forgets it, the pod stays pending", async () => {
    const c = start(300);
    await createAll(ts, [node('n', { cpu: '4' }), pod('lonely', { labels: { gang: '3' } })]);
    const p = await unschedulable(ts, 'lonely');
    const condition = p.status?.conditions?.find((k) => k.type === 'PodScheduled');
    expect(condition?.message).to.equal('rejected due to timeout after waiting 300ms at plugin Gang');
    expect(p.spec?.nodeName).to.equal(undefined);
    const events = await waitFor(
      'the FailedScheduling event',
      () => eventsFor(ts, 'lonely'),
      (es) => es.some((e) => e.reason === 'FailedScheduling'),
      10_000,
    );
    expect(events.find((e) => e.reason === 'FailedScheduling')?.message).to.equal(condition?.message);
    // Between attempts (backoff), the rejected pod is neither assumed nor held.
    await waitFor(
      'the rejected pod forgotten',
      async () => ({ held: c.waitingPods.list().length, onNode: c.cache.nodes.get('n')!.pods.length }),
      (s) => s.held === 0 && s.onNode === 0,
      10_000,
    );
  });

  it('a plugin may reject a waiting pod with its own message; a deleted one stops waiting', async () => {
    const c = start(20_000);
    await createAll(ts, [
      node('n', { cpu: '4' }),
      pod('x', { labels: { gang: '5' } }),
      pod('y', { labels: { gang: '9' } }),
    ]);
    await waitFor(
      'x and y held',
      async () => c.waitingPods.list(),
      (w) => w.length === 2,
      10_000,
    );
    const x = c.waitingPods.list().find((w) => w.pod.name === 'x')!;
    x.reject('Gang', 'the gang cannot be placed');
    const p = await unschedulable(ts, 'x');
    expect(p.status?.conditions?.find((k) => k.type === 'PodScheduled')?.message).to.equal('the gang cannot be placed');

    const y = c.waitingPods.list().find((w) => w.pod.name === 'y')!;
    await ts.server.client().delete({ group: '', version: 'v1', resource: 'pods' }, 'default', 'y', {
      gracePeriodSeconds: 0,
    });
    await waitFor(
      'y no longer held',
      async () => c.waitingPods.get(y.pod.uid),
      (w) => w === undefined,
      10_000,
    );
    await waitFor(
      'y gone from the cache',
      async () => c.cache.nodes.get('n')!.pods.map((q) => q.name),
      (names) => !names.includes('y'),
      10_000,
    );
  });

  it('preempting a pod held at Permit rejects it ("preempted") instead of deleting it', async () => {
    const c = start(20_000);
    await createAll(ts, [
      node('n', { cpu: '1' }),
      pod('low', { cpu: '800m', labels: { gang: '2' }, spec: { priority: 0 } }),
    ]);
    await waitFor(
      'low held',
      async () => c.waitingPods.list(),
      (w) => w.length === 1,
      10_000,
    );
    await createAll(ts, [pod('urgent', { cpu: '800m', spec: { priority: 1000 } })]);
    expect((await bound(ts, 'urgent')).spec?.nodeName).to.equal('n');
    const low = await getPod(ts, 'low');
    expect(low.kind, 'a waiting victim is not deleted').to.equal('Pod');
    expect(low.metadata?.deletionTimestamp).to.equal(undefined);
    expect(low.spec?.nodeName).to.equal(undefined);
    const preempted = await waitFor(
      'the Preempted event',
      () => eventsFor(ts, 'low'),
      (es) => es.some((e) => e.reason === 'Preempted'),
      10_000,
    );
    expect(preempted.find((e) => e.reason === 'Preempted')?.message).to.match(/^Preempted by pod \S+ on node n$/);
  });

  it("the timeout reads as Go prints durations, as upstream's message does", () => {
    expect([250, 1000, 1500, 90_000, 900_000, 3_600_000].map(goDuration)).to.deep.equal([
      '250ms',
      '1s',
      '1.5s',
      '1m30s',
      '15m0s',
      '1h0m0s',
    ]);
  });
});
