/**
 * The binding cycle against a real server, with a client that interferes: a pod bound by someone
 * else between the scheduling decision and the binding (the 409 upstream's BindingREST answers)
 * is not bound again and not requeued; a binding that fails is unreserved, requeued with backoff
 * and retried, and the pod is never lost; the cache never counts a pod twice. Also the
 * scheduler's /metrics and /healthz port.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import type { KubeObject } from '../../../core/api/types.js';
import type { ApiClient } from '../../../core/client/types.js';
import { StatusError } from '../../../core/errors.js';
import { SchedulerComponent } from '../../../plugins/scheduler-default/component/component.js';
import { serveHealthAndMetrics } from '../../../plugins/scheduler-default/component/serving.js';
import { loadSchedulerConfiguration } from '../../../plugins/scheduler-default/config/configuration.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { bound, createAll, eventsFor, getPod, node, pod, waitForPod } from './helpers.js';

type Interceptor = (namespace: string, obj: KubeObject, forward: () => Promise<KubeObject>) => Promise<KubeObject>;

/** The server's client, with pods/binding creates passing through `intercept`. */
function interfering(inner: ApiClient, intercept: Interceptor): ApiClient {
  return {
    ...inner,
    get: inner.get.bind(inner),
    list: inner.list.bind(inner),
    update: inner.update.bind(inner),
    patch: inner.patch.bind(inner),
    delete: inner.delete.bind(inner),
    watch: inner.watch.bind(inner),
    create: ((r, ns, obj, options) =>
      options?.subresource === 'binding'
        ? intercept(ns, obj, () => inner.create(r, ns, obj, options))
        : inner.create(r, ns, obj, options)) as ApiClient['create'],
  };
}

const BINDING = (name: string, node: string) =>
  ({
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name },
    target: { kind: 'Node', name: node },
  }) as unknown as KubeObject;

describe('scheduler binding cycle', function () {
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

  function start(intercept: Interceptor): SchedulerComponent {
    const client = interfering(ts.server.client(), intercept);
    component = new SchedulerComponent({
      client,
      logger: pino({ level: 'silent' }),
      config: loadSchedulerConfiguration(),
      external: () => undefined,
    });
    component.start();
    return component;
  }

  it('a pod bound by someone else meanwhile (409): not bound again, not requeued, counted once', async () => {
    const admin = ts.server.client();
    const c = start(async (ns, obj, forward) => {
      // Another scheduler wins the race: the pod goes to "other" first.
      await admin.create({ group: '', version: 'v1', resource: 'pods' }, ns, BINDING(obj.metadata.name!, 'other'), {
        subresource: 'binding',
      });
      return forward();
    });
    await createAll(ts, [node('mine', { cpu: '4' }), node('other', { cpu: '1' }), pod('p', { cpu: '1' })]);
    const p = await bound(ts, 'p');
    expect(p.spec?.nodeName).to.equal('other');
    await waitForPod(
      ts,
      'p',
      () => c.cache.nodes.get('other')!.pods.length === 1,
      'the cache to show the pod on other',
    );
    expect(c.cache.nodes.get('mine')!.pods.length).to.equal(0);
    expect(c.cache.podCount).to.equal(1);
    expect(c.queue.pending()).to.deep.equal({ active: 0, backoff: 0, unschedulable: 0, gated: 0 });
    expect((await eventsFor(ts, 'p')).filter((e) => e.reason === 'FailedScheduling')).to.deep.equal([]);
  });

  it('a failed binding is unreserved and retried after backoff; the pod is bound exactly once', async () => {
    let attempts = 0;
    const c = start(async (_ns, _obj, forward) => {
      if (++attempts === 1) throw new StatusError(500, 'InternalError', 'etcd is having a bad day');
      return forward();
    });
    await createAll(ts, [node('n', { cpu: '1', pods: '1' }), pod('p', { cpu: '1' })]);
    const failed = await waitForPod(
      ts,
      'p',
      (x) => Boolean(x.status?.conditions?.some((k) => k.reason === 'SchedulerError')),
      'the SchedulerError condition',
    );
    expect(failed.status?.conditions?.[0]?.message).to.equal(
      'running Bind plugin "DefaultBinder": etcd is having a bad day',
    );
    expect(c.cache.nodes.get('n')!.pods.length, 'the assumed pod was forgotten').to.equal(0);
    const p = await bound(ts, 'p');
    expect(p.spec?.nodeName).to.equal('n');
    expect(attempts).to.equal(2);
    await waitForPod(ts, 'p', () => c.cache.nodes.get('n')!.pods.length === 1, 'the cache to confirm the pod');
    expect((await getPod(ts, 'p')).metadata?.uid).to.equal(p.metadata?.uid);
  });

  it('the next pod sees the previous one on its node before the binding lands (assumed pods)', async () => {
    const held: (() => void)[] = [];
    const c = start(async (_ns, _obj, forward) => {
      await new Promise<void>((resolve) => held.push(resolve));
      return forward();
    });
    await createAll(ts, [
      node('a', { cpu: '1' }),
      node('b', { cpu: '1' }),
      pod('p1', { cpu: '1' }),
      pod('p2', { cpu: '1' }),
    ]);
    await waitForPod(ts, 'p1', () => held.length === 2, 'both bindings to be in flight');
    // Neither binding has landed, yet the two pods were placed on different nodes.
    expect([...c.cache.nodes.values()].map((n) => n.pods.length)).to.deep.equal([1, 1]);
    for (const release of held) release();
    const nodes = [(await bound(ts, 'p1')).spec?.nodeName, (await bound(ts, 'p2')).spec?.nodeName].sort();
    expect(nodes).to.deep.equal(['a', 'b']);
  });

  it("serves /metrics with upstream's scheduler series and /healthz on a loopback port", async () => {
    const c = start((_ns, _obj, forward) => forward());
    await createAll(ts, [node('n', { cpu: '1' }), pod('ok', { cpu: '100m' }), pod('huge', { cpu: '5' })]);
    await bound(ts, 'ok');
    await waitForPod(
      ts,
      'huge',
      (x) => Boolean(x.status?.conditions?.some((k) => k.reason === 'Unschedulable')),
      'huge to be unschedulable',
    );
    const { server, port } = await serveHealthAndMetrics(c, '127.0.0.1', 0);
    try {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).to.include('scheduler_schedule_attempts_total{result="scheduled",profile="default-scheduler"} 1');
      expect(metrics).to.include(
        'scheduler_schedule_attempts_total{result="unschedulable",profile="default-scheduler"} 1',
      );
      expect(metrics).to.match(
        /scheduler_scheduling_attempt_duration_seconds_count\{result="scheduled",profile="default-scheduler"\} 1/,
      );
      // The failed pod waits in backoff or among the unschedulable ones (depending on whether an event overlapped).
      const pending = c.queue.pending();
      expect(pending.backoff + pending.unschedulable).to.equal(1);
      for (const [queue, n] of Object.entries(pending))
        expect(metrics).to.include(`scheduler_pending_pods{queue="${queue}"} ${n}`);
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).to.equal('ok');
    } finally {
      server.close();
    }
    const refused = await serveHealthAndMetrics(c, '0.0.0.0', 0).then(
      () => 'served',
      (err: Error & { code?: string }) => err.code,
    );
    expect(refused).to.equal('SKIFF_SCHEDULER_ADDRESS_NOT_LOOPBACK');
  });
});
