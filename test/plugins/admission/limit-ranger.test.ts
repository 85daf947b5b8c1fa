/** LimitRanger: upstream's defaulting, annotation and bounds, as functions and through a real server. */
import { expect } from 'chai';
import {
  ANNOTATION,
  applyDefaults,
  claimViolations,
  violations,
} from '../../../plugins/admission-limit-ranger/limit-ranger.js';
import { api, startTestServer } from '../../helpers/server.js';

const container = (name: string, resources?: Record<string, unknown>) => ({
  name,
  image: 'x',
  ...(resources ? { resources } : {}),
});
const pod = (containers: unknown[], initContainers?: unknown[]) => ({
  metadata: { name: 'web' },
  spec: { containers, ...(initContainers ? { initContainers } : {}) },
});
const limits = (...items: Record<string, unknown>[]) => ({ metadata: { name: 'lr' }, spec: { limits: items } });

describe('LimitRanger rules', () => {
  it('fills only unset requests and limits, and says what it set', () => {
    const p = pod(
      [container('web'), container('db', { requests: { cpu: '1' }, limits: { memory: '1Gi' } })],
      [container('init')],
    );
    applyDefaults(
      p,
      limits({
        type: 'Container',
        default: { cpu: '500m', memory: '256Mi' },
        defaultRequest: { cpu: '100m', memory: '128Mi' },
      }),
    );
    const [web, db] = p.spec.containers as { resources: unknown }[];
    expect(web!.resources).to.deep.equal({
      limits: { cpu: '500m', memory: '256Mi' },
      requests: { cpu: '100m', memory: '128Mi' },
    });
    expect(db!.resources).to.deep.equal({
      requests: { cpu: '1', memory: '128Mi' },
      limits: { memory: '1Gi', cpu: '500m' },
    });
    expect((p.metadata as unknown as { annotations: Record<string, string> }).annotations[ANNOTATION]).to.equal(
      'LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web; ' +
        'memory request for container db; cpu limit for container db; ' +
        'cpu, memory request for init container init; cpu, memory limit for init container init',
    );
  });

  it('changes nothing and annotates nothing when every value is set', () => {
    const p = pod([container('web', { requests: { cpu: '1' }, limits: { cpu: '1' } })]);
    applyDefaults(p, limits({ type: 'Container', default: { cpu: '2' }, defaultRequest: { cpu: '1' } }));
    expect(p.metadata).to.deep.equal({ name: 'web' });
  });

  const cases: [string, Record<string, unknown>, Record<string, unknown> | undefined, string[]][] = [
    [
      'within bounds',
      { type: 'Container', min: { cpu: '100m' }, max: { cpu: '1' } },
      { requests: { cpu: '200m' }, limits: { cpu: '500m' } },
      [],
    ],
    [
      'request under min',
      { type: 'Container', min: { cpu: '100m' } },
      { requests: { cpu: '50m' } },
      ['minimum cpu usage per Container is 100m, but request is 50m'],
    ],
    [
      'no request with a min',
      { type: 'Container', min: { memory: '64Mi' } },
      undefined,
      ['minimum memory usage per Container is 64Mi.  No request is specified'],
    ],
    [
      'limit over max',
      { type: 'Container', max: { memory: '1Gi' } },
      { limits: { memory: '2Gi' } },
      ['maximum memory usage per Container is 1Gi, but limit is 2Gi'],
    ],
    [
      'no limit with a max',
      { type: 'Container', max: { cpu: '1' } },
      { requests: { cpu: '1' } },
      ['maximum cpu usage per Container is 1.  No limit is specified'],
    ],
    [
      'ratio too high',
      { type: 'Container', maxLimitRequestRatio: { cpu: '2' } },
      { requests: { cpu: '250m' }, limits: { cpu: '1' } },
      ['cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000'],
    ],
    [
      'ratio exactly at the bound',
      { type: 'Container', maxLimitRequestRatio: { cpu: '4' } },
      { requests: { cpu: '250m' }, limits: { cpu: '1' } },
      [],
    ],
    [
      'ratio without a request',
      { type: 'Container', maxLimitRequestRatio: { cpu: '2' } },
      { limits: { cpu: '1' } },
      ['cpu max limit to request ratio per Container is 2, but no request is specified or request is 0'],
    ],
    [
      'quantities compared exactly across units',
      { type: 'Container', max: { memory: '1Gi' } },
      { limits: { memory: '1073741824' } },
      [],
    ],
  ];
  for (const [title, item, resources, expected] of cases) {
    it(`${title} → ${expected.length ? expected.join('; ') : 'admitted'}`, () => {
      expect(violations(pod([container('web', resources)]), limits(item))).to.deep.equal(expected);
    });
  }

  it('bounds the Pod total: the sum of containers, or the largest init container', () => {
    const p = pod(
      [container('a', { limits: { memory: '256Mi' } }), container('b', { limits: { memory: '256Mi' } })],
      [container('i', { limits: { memory: '768Mi' } })],
    );
    expect(violations(p, limits({ type: 'Pod', max: { memory: '512Mi' } }))).to.deep.equal([
      'maximum memory usage per Pod is 512Mi, but limit is 768Mi',
    ]);
  });
});

describe('LimitRanger rules for claims', () => {
  const claim = (resources?: Record<string, unknown>) => ({
    metadata: { name: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], ...(resources ? { resources } : {}) },
  });
  const storage = limits({ type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '10Gi' } });
  const cases: [string, ReturnType<typeof claim>, string[]][] = [
    ['within bounds', claim({ requests: { storage: '5Gi' } }), []],
    [
      'under min',
      claim({ requests: { storage: '500Mi' } }),
      ['minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi'],
    ],
    [
      'over max (a limit is not the ask: only the request counts)',
      claim({ requests: { storage: '20Gi' }, limits: { storage: '5Gi' } }),
      ['maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi'],
    ],
    [
      'no request',
      claim(),
      [
        'minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified',
        'maximum storage usage per PersistentVolumeClaim is 10Gi.  No request is specified',
      ],
    ],
  ];
  for (const [title, c, expected] of cases) {
    it(`${title} → ${expected.length ? expected.join('; ') : 'admitted'}`, () => {
      expect(claimViolations(c, storage)).to.deep.equal(expected);
    });
  }

  it('Container and Pod items say nothing about claims, and claim items nothing about pods', () => {
    const podItems = limits({ type: 'Container', max: { cpu: '1' } }, { type: 'Pod', max: { memory: '1Gi' } });
    expect(claimViolations(claim(), podItems)).to.deep.equal([]);
    expect(violations(pod([container('app')]), storage)).to.deep.equal([]);
  });
});

describe('admission-limit-ranger through the API', () => {
  it('bounds claims on create and on resize; a claim item must bound storage', async () => {
    const s = await startTestServer({ plugins: { 'admission-limit-ranger': {} } });
    try {
      const unbounded = await api(s.url, 'POST', '/api/v1/namespaces/default/limitranges', {
        metadata: { name: 'nothing' },
        spec: { limits: [{ type: 'PersistentVolumeClaim', max: { cpu: '1' } }] },
      });
      expect(unbounded.status).to.equal(422);
      expect(unbounded.body.message).to.contain(
        'spec.limits[0].limits: Required value: either minimum or maximum storage value is required, but neither was provided',
      );
      const lr = await api(s.url, 'POST', '/api/v1/namespaces/default/limitranges', {
        metadata: { name: 'storage' },
        spec: { limits: [{ type: 'PersistentVolumeClaim', max: { storage: '10Gi' } }] },
      });
      expect(lr.status).to.equal(201);
      expect(lr.body.spec.limits[0]).to.not.have.property('default');
      const claims = '/api/v1/namespaces/default/persistentvolumeclaims';
      const claim = (name: string, size: string) => ({
        metadata: { name },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
      });
      const big = await api(s.url, 'POST', claims, claim('big', '20Gi'));
      expect(big.status).to.equal(403);
      expect(big.body.message).to.equal(
        'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi',
      );
      expect((await api(s.url, 'POST', claims, claim('ok', '5Gi'))).status).to.equal(201);
      // Only a bound claim may grow (as upstream); there is no volume controller here to bind it.
      const merge = { 'Content-Type': 'application/merge-patch+json' };
      const bound = await api(s.url, 'PATCH', `${claims}/ok/status`, { status: { phase: 'Bound' } }, merge);
      expect(bound.status).to.equal(200);
      const grow = await api(
        s.url,
        'PATCH',
        `${claims}/ok`,
        { spec: { resources: { requests: { storage: '20Gi' } } } },
        merge,
      );
      expect(grow.status).to.equal(403);
      expect(grow.body.message).to.contain(
        'maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi',
      );
      expect((await api(s.url, 'GET', `${claims}/ok`)).body.spec.resources.requests.storage).to.equal('5Gi');
      const within = { spec: { resources: { requests: { storage: '8Gi' } } } };
      expect((await api(s.url, 'PATCH', `${claims}/ok`, within, merge)).status).to.equal(200);
      // Pods are not bound by a claim item.
      expect((await api(s.url, 'POST', '/api/v1/namespaces/default/pods', pod([container('app')]))).status).to.equal(
        201,
      );
    } finally {
      await s.close();
    }
  });

  it('defaults a pod (kubectl sees it), refuses one over max, and defaults the LimitRange itself', async () => {
    const s = await startTestServer({ plugins: { 'admission-limit-ranger': {} } });
    try {
      const lr = await api(s.url, 'POST', '/api/v1/namespaces/default/limitranges', {
        metadata: { name: 'limits' },
        spec: { limits: [{ type: 'Container', max: { cpu: '1', memory: '512Mi' }, defaultRequest: { cpu: '100m' } }] },
      });
      expect(lr.status).to.equal(201);
      // Upstream's defaulting: default from max, defaultRequest kept where given, else from default.
      expect(lr.body.spec.limits[0].default).to.deep.equal({ cpu: '1', memory: '512Mi' });
      expect(lr.body.spec.limits[0].defaultRequest).to.deep.equal({ cpu: '100m', memory: '512Mi' });

      const ok = await api(s.url, 'POST', '/api/v1/namespaces/default/pods', pod([container('app')]));
      expect(ok.status).to.equal(201);
      expect(ok.body.spec.containers[0].resources).to.deep.equal({
        limits: { cpu: '1', memory: '512Mi' },
        requests: { cpu: '100m', memory: '512Mi' },
      });
      expect(ok.body.metadata.annotations[ANNOTATION]).to.equal(
        'LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app',
      );
      const big = await api(s.url, 'POST', '/api/v1/namespaces/default/pods', {
        ...pod([container('app', { limits: { cpu: '2', memory: '1Gi' } })]),
        metadata: { name: 'big' },
      });
      expect(big.status).to.equal(403);
      expect(big.body.message).to.equal(
        'pods "big" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Container is 512Mi, but limit is 1Gi]',
      );
    } finally {
      await s.close();
    }
  });
});
