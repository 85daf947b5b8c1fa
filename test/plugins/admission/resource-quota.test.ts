/**
 * ResourceQuota: upstream's usage rules, its messages, and the guarantee that usage never passes
 * a hard limit under concurrent creates, with the quota controller recounting in the background.
 */
import { expect } from 'chai';
import {
  podConstraintError,
  quotaApplies,
  usageOf,
  usageToList,
} from '../../../plugins/admission-resource-quota/usage.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

const PODS = { group: '', resource: 'pods' };
const pod = (name: string, resources?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: { containers: [{ name: 'app', image: 'busybox', ...(resources ? { resources } : {}) }], ...extra },
});

describe('resource quota usage (upstream evaluators)', () => {
  it('counts a pod and its compute resources, the largest init container winning', () => {
    const p = pod(
      'a',
      { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } },
      {
        initContainers: [{ name: 'init', image: 'x', resources: { requests: { cpu: '2' } } }],
      },
    );
    expect(usageToList(usageOf(PODS, p))).to.deep.equal({
      'count/pods': '1',
      cpu: '2',
      'limits.cpu': '1',
      'limits.memory': '128Mi',
      memory: '64Mi',
      pods: '1',
      'requests.cpu': '2',
      'requests.memory': '64Mi',
    });
  });

  it('finished pods use nothing; services count node ports and load balancers; other kinds count/<resource>.<group>', () => {
    expect(usageOf(PODS, { ...pod('done'), status: { phase: 'Succeeded' } }).size).to.equal(0);
    const svc = { metadata: { name: 's' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }, { port: 443 }] } };
    expect(usageToList(usageOf({ group: '', resource: 'services' }, svc))).to.deep.equal({
      'count/services': '1',
      services: '1',
      'services.loadbalancers': '1',
      'services.nodeports': '2',
    });
    expect(usageToList(usageOf({ group: 'coordination.k8s.io', resource: 'leases' }, { metadata: {} }))).to.deep.equal({
      'count/leases.coordination.k8s.io': '1',
    });
  });

  it('matches scopes: Terminating, NotTerminating, BestEffort, NotBestEffort', () => {
    const q = (scopes: string[]) => ({ metadata: {}, spec: { hard: { pods: '1' }, scopes } });
    const bestEffort = pod('be');
    const burstable = pod('b', { requests: { cpu: '1' } }, { activeDeadlineSeconds: 30 });
    expect(quotaApplies(q(['BestEffort']), PODS, bestEffort)).to.equal(true);
    expect(quotaApplies(q(['BestEffort']), PODS, burstable)).to.equal(false);
    expect(quotaApplies(q(['NotBestEffort', 'Terminating']), PODS, burstable)).to.equal(true);
    expect(quotaApplies(q(['NotTerminating']), PODS, burstable)).to.equal(false);
    expect(quotaApplies(q(['BestEffort']), { group: '', resource: 'services' }, { metadata: {} })).to.equal(false);
  });

  it('requires every container to state what a cpu or memory quota tracks (upstream message)', () => {
    const p = {
      metadata: {},
      spec: { containers: [{ name: 'web' }, { name: 'db', resources: { limits: { cpu: '1' } } }] },
    };
    expect(podConstraintError(['pods', 'limits.cpu', 'limits.memory'], p)).to.equal(
      'must specify limits.cpu for: web; limits.memory for: db,web',
    );
    expect(podConstraintError(['pods', 'count/pods'], p)).to.equal(undefined);
  });
});

const sameKeys = (a: object = {}, b: object = {}) =>
  JSON.stringify(Object.keys(a).sort()) === JSON.stringify(Object.keys(b).sort());

describe('admission-resource-quota with controller-resource-quota', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'admission-resource-quota': {},
        'controller-resource-quota': { config: { settleSeconds: 0.2 } },
      },
    });
  });
  after(() => s.close());

  const quotaPath = (ns: string, name = '') => `/api/v1/namespaces/${ns}/resourcequotas${name ? `/${name}` : ''}`;
  const ready = (ns: string, name: string) =>
    waitFor(
      `status of quota ${name}`,
      async () => (await api(s.url, 'GET', quotaPath(ns, name))).body,
      (q) => q.status?.used !== undefined && sameKeys(q.status.hard, q.spec.hard),
    );
  const namespace = async (name: string) => {
    expect((await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name } })).status).to.equal(201);
  };

  it('fills status, charges creates, refuses past the limit with upstream message, frees on delete', async () => {
    await namespace('q1');
    await api(s.url, 'POST', quotaPath('q1'), {
      metadata: { name: 'compute' },
      spec: { hard: { pods: '2', 'requests.cpu': '1', configmaps: '5' } },
    });
    await ready('q1', 'compute');
    const mk = (name: string, cpu: string) =>
      api(s.url, 'POST', '/api/v1/namespaces/q1/pods', pod(name, { requests: { cpu } }));
    expect((await mk('a', '500m')).status).to.equal(201);
    const used = (await api(s.url, 'GET', quotaPath('q1', 'compute'))).body.status.used;
    expect(used).to.include({ pods: '1', 'requests.cpu': '500m' });

    const tooMuch = await mk('b', '600m');
    expect(tooMuch.status).to.equal(403);
    expect(tooMuch.body.message).to.equal(
      'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1',
    );
    const missing = await api(s.url, 'POST', '/api/v1/namespaces/q1/pods', pod('c'));
    expect(missing.status).to.equal(403);
    expect(missing.body.message).to.equal(
      'pods "c" is forbidden: failed quota: compute: must specify requests.cpu for: app',
    );
    expect((await mk('d', '500m')).status).to.equal(201);
    const third = await mk('e', '0');
    expect(third.body.message).to.equal(
      'pods "e" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2',
    );
    const dry = await api(s.url, 'POST', '/api/v1/namespaces/q1/configmaps?dryRun=All', { metadata: { name: 'cm' } });
    expect(dry.status).to.equal(201);
    expect((await api(s.url, 'GET', quotaPath('q1', 'compute'))).body.status.used.configmaps).to.equal('0');

    await api(s.url, 'DELETE', '/api/v1/namespaces/q1/pods/a');
    const after = await waitFor(
      'usage to drop after a delete',
      async () => (await api(s.url, 'GET', quotaPath('q1', 'compute'))).body.status.used,
      (u) => u.pods === '1',
    );
    expect(after['requests.cpu']).to.equal('500m');
  });

  it('refuses while a quota has no status yet (unsure means no)', async () => {
    await namespace('q2');
    // Written straight to the status-less state: the controller could not have seen it yet.
    const quota = { metadata: { name: 'fresh' }, spec: { hard: { secrets: '1' } } };
    await api(s.url, 'POST', quotaPath('q2'), quota);
    const r = await api(s.url, 'POST', '/api/v1/namespaces/q2/secrets', { metadata: { name: 's' } });
    if (r.status === 403)
      expect(r.body.message).to.equal('secrets "s" is forbidden: status unknown for quota: fresh, resources: secrets');
    else expect((await ready('q2', 'fresh')).status.used.secrets).to.equal('1'); // the controller was faster
  });

  it('never lets usage pass the hard limit: pods=10, 100 concurrent creates, 20 rounds', async function () {
    this.timeout(120_000);
    await namespace('race');
    await api(s.url, 'POST', quotaPath('race'), { metadata: { name: 'ten' }, spec: { hard: { pods: '10' } } });
    await ready('race', 'ten');
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          api(s.url, 'POST', '/api/v1/namespaces/race/pods', pod(`p${round}-${i}`)),
        ),
      );
      const created = results.filter((r) => r.status === 201).length;
      const refused = results.filter((r) => r.status === 403);
      expect(created + refused.length, `round ${round}: only 201 and 403`).to.equal(100);
      expect(refused[0]?.body.message ?? '').to.match(
        /exceeded quota: ten, requested: pods=1, used: pods=\d+, limited: pods=10/,
      );
      const pods = (await api(s.url, 'GET', '/api/v1/namespaces/race/pods')).body.items;
      expect(pods.length, `round ${round}`).to.be.at.most(10);
      expect(created, `round ${round}`).to.equal(10);
      // Settled: status.used equals what is really there.
      await waitFor(
        'used to equal reality',
        async () => (await api(s.url, 'GET', quotaPath('race', 'ten'))).body.status.used.pods,
        (u) => u === String(pods.length),
      );
      await Promise.all(
        pods.map((p: { metadata: { name: string } }) =>
          api(s.url, 'DELETE', `/api/v1/namespaces/race/pods/${p.metadata.name}`),
        ),
      );
      await waitFor(
        'used to drop to 0',
        async () => (await api(s.url, 'GET', quotaPath('race', 'ten'))).body.status.used.pods,
        (u) => u === '0',
      );
    }
  });
});
