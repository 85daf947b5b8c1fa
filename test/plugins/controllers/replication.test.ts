/**
 * controller-replication in a real server (`skiff up` role): ReplicationControllers and ReplicaSets
 * keep exactly N pods, scale down in upstream's order, adopt and release pods, report status and
 * quota refusals. Pods do not run: the test binds them to nodes that exist only as objects and
 * writes their status as a kubelet would.
 */
import { expect } from 'chai';
import type { Event, ReplicationControllerCondition } from 'kubernetes-types/core/v1.js';
import { bindPod, createNodes, listPods, markReady, setPodState } from '../../helpers/pod-states.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

const MERGE = { 'Content-Type': 'application/merge-patch+json' };

const rc = (name: string, replicas: number, labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name },
  spec: {
    replicas,
    selector: labels,
    template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
    ...extra,
  },
});

describe('controller-replication', function () {
  this.timeout(60_000);
  let s: TestServer;
  const ns = 'default';
  const rcs = `/api/v1/namespaces/${ns}/replicationcontrollers`;

  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'api-apps-v1': {},
        'admission-resource-quota': {},
        'authz-bootstrap-roles': {},
        'controller-replication': {},
        'controller-resource-quota': { config: { settleSeconds: 0.1 } },
      },
    });
    await createNodes(s.url, ['node-a', 'node-b']);
  });
  after(async () => s?.close());

  const scale = (name: string, replicas: number) =>
    api(s.url, 'PATCH', `${rcs}/${name}/scale`, { spec: { replicas } }, MERGE);
  const podsOf = (app: string) => listPods(s.url, ns, `app=${app}`);
  const live = async (app: string) => (await podsOf(app)).filter((p) => !p.deleting);
  const rcStatus = async (name: string) => (await api(s.url, 'GET', `${rcs}/${name}`)).body.status;

  it('scales 0 → 5 → 2 and removes the pods upstream ranks first', async () => {
    expect((await api(s.url, 'POST', rcs, rc('rank', 0, { app: 'rank' }))).status).to.equal(201);
    expect((await scale('rank', 5)).status).to.equal(200);
    const pods = await waitFor(
      '5 pods',
      () => live('rank'),
      (p) => p.length === 5,
    );
    for (const p of pods) expect(p.owner).to.include({ kind: 'ReplicationController', name: 'rank', controller: true });
    // The first pod stays unscheduled.
    const [, pending, notReady, readyLong, readyNow] = pods.map((p) => p.name) as string[];
    for (const name of [pending, notReady, readyLong, readyNow]) await bindPod(s.url, ns, name!, 'node-a');
    await setPodState(s.url, ns, pending!, { phase: 'Pending' });
    await setPodState(s.url, ns, notReady!, { phase: 'Running', ready: false });
    await markReady(s.url, ns, readyLong!, new Date(Date.now() - 3_600_000));
    await markReady(s.url, ns, readyNow!);
    await waitFor(
      '2 ready',
      () => rcStatus('rank'),
      (st) => st.readyReplicas === 2,
    );

    // Unscheduled before scheduled, pending before running, not ready before ready.
    await scale('rank', 2);
    const two = await waitFor(
      '2 pods',
      () => live('rank'),
      (p) => p.length === 2,
    );
    expect(two.map((p) => p.name).sort()).to.deep.equal([readyLong, readyNow].sort());
    // Ready for less time goes before ready for longer.
    await scale('rank', 1);
    const one = await waitFor(
      '1 pod',
      () => live('rank'),
      (p) => p.length === 1,
    );
    expect(one[0]!.name).to.equal(readyLong);
    const st = await waitFor(
      'status',
      () => rcStatus('rank'),
      (x) => x.replicas === 1,
    );
    expect(st).to.include({ replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1 });
  });

  it('of two otherwise equal pods deletes the one with more container restarts', async () => {
    await api(s.url, 'POST', rcs, rc('restarts', 2, { app: 'restarts' }));
    const [a, b] = (
      await waitFor(
        '2 pods',
        () => live('restarts'),
        (p) => p.length === 2,
      )
    ).map((p) => p.name);
    const since = new Date(Date.now() - 60_000);
    for (const name of [a!, b!]) await bindPod(s.url, ns, name, 'node-b');
    await setPodState(s.url, ns, a!, { ready: true, readySince: since, restarts: 7 });
    await setPodState(s.url, ns, b!, { ready: true, readySince: since, restarts: 0 });
    await scale('restarts', 1);
    const left = await waitFor(
      '1 pod',
      () => live('restarts'),
      (p) => p.length === 1,
    );
    expect(left[0]!.name).to.equal(b);
  });

  it('a burst of 50 replicas creates exactly 50 pods, never more', async () => {
    await api(s.url, 'POST', rcs, rc('burst', 50, { app: 'burst' }));
    let most = 0;
    await waitFor(
      '50 pods',
      async () => {
        const n = (await live('burst')).length;
        most = Math.max(most, n);
        return n;
      },
      (n) => n === 50,
      20_000,
    );
    // Syncs after the burst (status writes, pod events) must not add any.
    await waitFor(
      'status 50',
      () => rcStatus('burst'),
      (st) => st.replicas === 50,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await live('burst')).length).to.equal(50);
    expect(most).to.equal(50);
    const events = await api(s.url, 'GET', `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3Dburst`);
    const created = (events.body.items as Event[]).filter((e) => e.reason === 'SuccessfulCreate');
    expect(created.length).to.be.within(1, 50);
    expect(created[0]).to.deep.include({ type: 'Normal', source: { component: 'replication-controller' } });
    expect(created[0].message).to.match(/^Created pod: burst-/);
  });

  it('adopts matching orphans instead of creating pods, and releases a pod whose labels stop matching', async () => {
    const orphan = (name: string) => ({
      metadata: { name, labels: { app: 'adopt' } },
      spec: { containers: [{ name: 'app', image: 'busybox' }] },
    });
    for (const name of ['orphan-1', 'orphan-2']) {
      expect((await api(s.url, 'POST', `/api/v1/namespaces/${ns}/pods`, orphan(name))).status).to.equal(201);
    }
    await api(s.url, 'POST', rcs, rc('adopt', 3, { app: 'adopt' }));
    const pods = await waitFor(
      '3 owned pods',
      () => live('adopt'),
      (p) => p.length === 3 && p.every((x) => x.owner),
    );
    const adopted = pods.filter((p) => p.name.startsWith('orphan-'));
    expect(adopted).to.have.length(2);
    const rcUid = (await api(s.url, 'GET', `${rcs}/adopt`)).body.metadata.uid;
    for (const p of adopted) {
      expect(p.owner).to.deep.equal({
        apiVersion: 'v1',
        kind: 'ReplicationController',
        name: 'adopt',
        uid: rcUid,
        controller: true,
        blockOwnerDeletion: true,
      });
    }
    // Relabelled out of the selector: released (no owner), and replaced.
    await api(
      s.url,
      'PATCH',
      `/api/v1/namespaces/${ns}/pods/orphan-1`,
      { metadata: { labels: { app: 'gone' } } },
      MERGE,
    );
    const released = await waitFor(
      'released',
      () => listPods(s.url, ns, 'app=gone'),
      (p) => p.length === 1 && p[0]!.owner === undefined,
    );
    expect(released[0]!.name).to.equal('orphan-1');
    await waitFor(
      'replaced',
      () => live('adopt'),
      (p) => p.length === 3 && !p.some((x) => x.name === 'orphan-1'),
    );
  });

  it('counts available replicas only after minReadySeconds', async () => {
    await api(s.url, 'POST', rcs, rc('slow', 1, { app: 'slow' }, { minReadySeconds: 2 }));
    const [pod] = await waitFor(
      '1 pod',
      () => live('slow'),
      (p) => p.length === 1,
    );
    await bindPod(s.url, ns, pod!.name, 'node-a');
    await markReady(s.url, ns, pod!.name);
    const ready = await waitFor(
      'ready',
      () => rcStatus('slow'),
      (st) => st.readyReplicas === 1,
    );
    expect(ready.availableReplicas ?? 0).to.equal(0);
    const available = await waitFor(
      'available',
      () => rcStatus('slow'),
      (st) => st.availableReplicas === 1,
      8_000,
    );
    expect(available.observedGeneration).to.equal(1);
  });

  it('reports a quota refusal as ReplicaFailure with the quota message, and clears it once pods fit', async () => {
    await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'tight' } });
    const quota = { metadata: { name: 'pods' }, spec: { hard: { pods: '1' } } };
    expect((await api(s.url, 'POST', '/api/v1/namespaces/tight/resourcequotas', quota)).status).to.equal(201);
    await waitFor(
      'quota status',
      () => api(s.url, 'GET', '/api/v1/namespaces/tight/resourcequotas/pods'),
      (r) => r.body.status?.used !== undefined,
    );
    const tight = '/api/v1/namespaces/tight/replicationcontrollers';
    await api(s.url, 'POST', tight, rc('capped', 3, { app: 'capped' }));
    const failed = await waitFor(
      'ReplicaFailure',
      async () => (await api(s.url, 'GET', `${tight}/capped`)).body.status,
      (st) => (st.conditions ?? []).some((c: ReplicationControllerCondition) => c.type === 'ReplicaFailure'),
    );
    const condition = failed.conditions.find((c: ReplicationControllerCondition) => c.type === 'ReplicaFailure');
    expect(condition).to.include({ status: 'True', reason: 'FailedCreate' });
    expect(condition.message).to.contain('exceeded quota: pods').and.contain('limited: pods=1');
    expect(failed.replicas).to.equal(1);
    const events = await api(s.url, 'GET', '/api/v1/namespaces/tight/events');
    const refused = (events.body.items as Event[]).find((e) => e.reason === 'FailedCreate');
    expect(refused).to.include({ type: 'Warning' });
    expect(refused?.message).to.match(/^Error creating: .*exceeded quota/);

    await api(s.url, 'PATCH', '/api/v1/namespaces/tight/resourcequotas/pods', { spec: { hard: { pods: '5' } } }, MERGE);
    const healed = await waitFor(
      '3 pods and no failure',
      async () => (await api(s.url, 'GET', `${tight}/capped`)).body.status,
      (st) =>
        st.replicas === 3 &&
        !(st.conditions ?? []).some((c: ReplicationControllerCondition) => c.type === 'ReplicaFailure'),
      20_000,
    );
    expect(healed.replicas).to.equal(3);
  });

  it('runs ReplicaSets (apps/v1) with the same code: matchExpressions select, scale works', async () => {
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'front' },
      spec: {
        replicas: 3,
        selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['front'] }] },
        template: { metadata: { labels: { app: 'front' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
      },
    };
    const path = `/apis/apps/v1/namespaces/${ns}/replicasets`;
    expect((await api(s.url, 'POST', path, rs)).status).to.equal(201);
    const pods = await waitFor(
      '3 pods',
      () => live('front'),
      (p) => p.length === 3,
    );
    expect(pods[0]!.owner).to.include({ kind: 'ReplicaSet', name: 'front', controller: true });
    await api(s.url, 'PATCH', `${path}/front/scale`, { spec: { replicas: 1 } }, MERGE);
    await waitFor(
      '1 pod',
      () => live('front'),
      (p) => p.length === 1,
    );
    const st = await waitFor(
      'status',
      async () => (await api(s.url, 'GET', `${path}/front`)).body.status,
      (x) => x.replicas === 1,
    );
    expect(st.observedGeneration).to.equal(2);
  });
});
