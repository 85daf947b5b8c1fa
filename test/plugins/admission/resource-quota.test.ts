/**
 * ResourceQuota: upstream's usage rules, its messages, and the guarantee that usage never passes
 * a hard limit under concurrent creates, with the quota controller recounting in the background.
 */
import { expect } from 'chai';
import { loadConfigFromObject } from '../../../core/config/load.js';
import { formatScopes, usageToList } from '../../../core/sdk/quota.js';
import { matchingScopes, quotaApplies, uncoveredScopes } from '../../../plugins/quota-evaluator/scopes.js';
import { podConstraintError, usageOf } from '../../../plugins/quota-evaluator/usage.js';
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

  it('matches scope selectors: PriorityClass as a label selector, CrossNamespacePodAffinity, any operator elsewhere', () => {
    const selected = (expressions: unknown[], p: ReturnType<typeof pod>) =>
      quotaApplies(
        { metadata: {}, spec: { hard: { pods: '1' }, scopeSelector: { matchExpressions: expressions } } },
        PODS,
        p,
      );
    const critical = pod('c', undefined, { priorityClassName: 'system-node-critical' });
    const plain = pod('p');
    const table: [unknown, ReturnType<typeof pod>, boolean][] = [
      [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }, critical, true],
      [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }, critical, false],
      [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }, plain, false],
      [{ scopeName: 'PriorityClass', operator: 'NotIn', values: ['high'] }, critical, true],
      [{ scopeName: 'PriorityClass', operator: 'NotIn', values: ['high'] }, plain, true],
      [{ scopeName: 'PriorityClass', operator: 'NotIn', values: ['system-node-critical'] }, critical, false],
      [{ scopeName: 'PriorityClass', operator: 'Exists' }, critical, true],
      [{ scopeName: 'PriorityClass', operator: 'Exists' }, plain, false],
      [{ scopeName: 'PriorityClass', operator: 'DoesNotExist' }, plain, true],
      [{ scopeName: 'BestEffort', operator: 'DoesNotExist' }, plain, true],
    ];
    for (const [expression, p, want] of table) {
      expect(
        selected([expression], p),
        `${JSON.stringify(expression)} on ${p.metadata && (p.metadata as { name: string }).name}`,
      ).to.equal(want);
    }
    const term = { topologyKey: 'zone', labelSelector: {} };
    const affinity = (t: Record<string, unknown>) =>
      pod('a', undefined, {
        affinity: {
          podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: t }] },
        },
      });
    const cross = { scopeName: 'CrossNamespacePodAffinity', operator: 'Exists' };
    expect(selected([cross], affinity({ ...term, namespaceSelector: {} }))).to.equal(true);
    expect(selected([cross], affinity({ ...term, namespaces: ['other'] }))).to.equal(true);
    expect(selected([cross], affinity(term))).to.equal(false);
    expect(selected([cross], plain)).to.equal(false);
  });

  it('finds the limited scopes no quota covers, printed as upstream prints them', () => {
    const limited = [
      { scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical', 'system-cluster-critical'] },
      { scopeName: 'BestEffort', operator: 'Exists', values: [] },
    ];
    const critical = pod('c', undefined, { priorityClassName: 'system-node-critical' });
    const matched = matchingScopes(limited, PODS, critical);
    expect(matched).to.deep.equal(limited);
    expect(matchingScopes(limited, { group: '', resource: 'services' }, critical)).to.deep.equal([]);
    expect(formatScopes(uncoveredScopes(matched, []))).to.equal(
      '[{PriorityClass In [system-node-critical system-cluster-critical]} {BestEffort Exists []}]',
    );
    // Covered by name: any PriorityClass selector of a quota the pod matches covers the scope.
    const quotaScope = [{ scopeName: 'PriorityClass', operator: 'Exists', values: [] }];
    expect(uncoveredScopes(matched, quotaScope)).to.deep.equal([limited[1]]);
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
        // The controllers act as system:kube-controller-manager, which only the chain authorizes.
        'authz-bootstrap-roles': {},
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

  it('charges updates that add usage (a service turned LoadBalancer) and gives it back when undone', async () => {
    await namespace('q3');
    await api(s.url, 'POST', quotaPath('q3'), {
      metadata: { name: 'lb' },
      spec: { hard: { 'services.loadbalancers': '1' } },
    });
    await ready('q3', 'lb');
    const svcPath = (name: string) => `/api/v1/namespaces/q3/services/${name}`;
    const service = (name: string) => ({ metadata: { name }, spec: { ports: [{ port: 80 }] } });
    const retype = (name: string, type: string) =>
      api(s.url, 'PATCH', svcPath(name), { spec: { type } }, { 'Content-Type': 'application/merge-patch+json' });
    const lbUsed = async () =>
      (await api(s.url, 'GET', quotaPath('q3', 'lb'))).body.status.used['services.loadbalancers'];
    for (const name of ['a', 'b']) {
      expect((await api(s.url, 'POST', '/api/v1/namespaces/q3/services', service(name))).status).to.equal(201);
    }
    expect(await lbUsed()).to.equal('0');
    expect((await retype('a', 'LoadBalancer')).status).to.equal(200);
    expect(await lbUsed()).to.equal('1');
    const refused = await retype('b', 'LoadBalancer');
    expect(refused.status).to.equal(403);
    expect(refused.body.message).to.equal(
      'services "b" is forbidden: exceeded quota: lb, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1',
    );
    expect((await api(s.url, 'GET', svcPath('b'))).body.spec.type).to.equal('ClusterIP');
    // An update that adds nothing is not charged again.
    const relabel = { metadata: { labels: { tier: 'web' } } };
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    expect((await api(s.url, 'PATCH', svcPath('a'), relabel, merge)).status).to.equal(200);
    expect(await lbUsed()).to.equal('1');
    // Back to ClusterIP: the controller recounts, and b may take the load balancer.
    expect((await retype('a', 'ClusterIP')).status).to.equal(200);
    await waitFor('the load balancer given back', lbUsed, (v) => v === '0');
    expect((await retype('b', 'LoadBalancer')).status).to.equal(200);
    expect(await lbUsed()).to.equal('1');
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

describe('admission-resource-quota limitedResources (ResourceQuotaConfiguration)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'admission-resource-quota': {
          config: {
            limitedResources: [
              {
                resource: 'pods',
                matchScopes: [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }],
              },
              { resource: 'persistentvolumeclaims', matchContains: ['requests.storage'] },
            ],
          },
        },
        // The controllers act as system:kube-controller-manager, which only the chain authorizes.
        'authz-bootstrap-roles': {},
        'controller-resource-quota': { config: { settleSeconds: 0.2 } },
      },
    });
    expect((await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'lim' } })).status).to.equal(201);
  });
  after(() => s.close());

  const critical = (name: string) => pod(name, undefined, { priorityClassName: 'system-node-critical' });
  const claim = {
    metadata: { name: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };

  it('refuses a matchScopes selector upstream would not take, naming where it is', async () => {
    const load = (matchScopes: unknown[]) =>
      loadConfigFromObject(
        {
          plugins: {
            'quota-evaluator': {},
            'admission-resource-quota': { config: { limitedResources: [{ resource: 'pods', matchScopes }] } },
          },
        },
        '(test)',
      );
    for (const bad of [
      { scopeName: 'PriorityClass', operator: 'In' },
      { scopeName: 'PriorityClass', operator: 'Exists', values: ['x'] },
      { scopeName: 'PriorityClass', operator: 'Equals', values: ['x'] },
      { scopeName: 'Priority', operator: 'Exists' },
    ]) {
      const err = await load([bad]).then(
        () => undefined,
        (e: { code?: string; message: string }) => e,
      );
      expect(err?.code, JSON.stringify(bad)).to.equal('SKIFF_PLUGIN_CONFIG_INVALID');
      expect(err?.message).to.contain('plugins.admission-resource-quota.config.limitedResources');
    }
    await load([{ scopeName: 'BestEffort', operator: 'Exists' }]);
  });

  it('refuses what needs a covering quota where there is none, with upstream messages and codes', async () => {
    const refused = await api(s.url, 'POST', '/api/v1/namespaces/lim/pods', critical('c1'));
    expect(refused.status).to.equal(500);
    expect(refused.body.reason).to.equal(undefined);
    expect(refused.body.message).to.equal(
      'insufficient quota to match these scopes: [{PriorityClass In [system-node-critical]}]',
    );
    expect((await api(s.url, 'GET', '/api/v1/namespaces/lim/pods/c1')).status).to.equal(404);
    // Pods that match no limited scope, and kinds nothing limits, need no quota.
    expect((await api(s.url, 'POST', '/api/v1/namespaces/lim/pods', pod('plain'))).status).to.equal(201);
    const pvc = await api(s.url, 'POST', '/api/v1/namespaces/lim/persistentvolumeclaims', claim);
    expect(pvc.status).to.equal(403);
    expect(pvc.body.message).to.equal(
      'persistentvolumeclaims "data" is forbidden: insufficient quota to consume: requests.storage',
    );
  });

  it('admits and charges them once a quota covers the scope and the resource', async () => {
    const quota = (name: string, spec: Record<string, unknown>) =>
      api(s.url, 'POST', '/api/v1/namespaces/lim/resourcequotas', { metadata: { name }, spec });
    await quota('critical', {
      hard: { pods: '5' },
      scopeSelector: {
        matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }],
      },
    });
    await quota('storage', { hard: { 'requests.storage': '10Gi' } });
    for (const name of ['critical', 'storage']) {
      await waitFor(
        `status of quota ${name}`,
        async () => (await api(s.url, 'GET', `/api/v1/namespaces/lim/resourcequotas/${name}`)).body,
        (q) => q.status?.used !== undefined,
      );
    }
    expect((await api(s.url, 'POST', '/api/v1/namespaces/lim/pods', critical('c2'))).status).to.equal(201);
    expect((await api(s.url, 'POST', '/api/v1/namespaces/lim/persistentvolumeclaims', claim)).status).to.equal(201);
    const used = async (name: string) =>
      (await api(s.url, 'GET', `/api/v1/namespaces/lim/resourcequotas/${name}`)).body.status.used;
    // The scoped quota counts only the pod it applies to, not the plain one.
    expect(await used('critical')).to.deep.equal({ pods: '1' });
    expect(await used('storage')).to.deep.equal({ 'requests.storage': '1Gi' });
  });
});
