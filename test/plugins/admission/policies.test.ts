/**
 * NamespaceLifecycle, SecurityContextDeny, AlwaysAdmit/AlwaysDeny and ServiceAccount admission,
 * each against a real server on loopback, with upstream's status codes and messages.
 */
import { rmSync } from 'node:fs';
import { expect } from 'chai';
import { refusedField } from '../../../plugins/admission-security-context-deny/index.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'app', image: 'busybox' }], ...spec },
});

describe('admission-namespace-lifecycle', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ plugins: { 'admission-namespace-lifecycle': {} } });
  });
  after(() => s.close());

  it('refuses content in a namespace that does not exist with NotFound, as upstream', async () => {
    const r = await api(s.url, 'POST', '/api/v1/namespaces/nowhere/configmaps', { metadata: { name: 'c' } });
    expect(r.status).to.equal(404);
    expect(r.body.message).to.equal('namespaces "nowhere" not found');
    const list = await api(s.url, 'GET', '/api/v1/namespaces/nowhere/configmaps');
    expect(list.status).to.equal(200); // reading is not admission's business
  });

  it('refuses new content in a Terminating namespace, allows updates and deletes there', async () => {
    expect((await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'going' } })).status).to.equal(201);
    const cm = { metadata: { name: 'kept' }, data: { a: '1' } };
    expect((await api(s.url, 'POST', '/api/v1/namespaces/going/configmaps', cm)).status).to.equal(201);
    const del = await api(s.url, 'DELETE', '/api/v1/namespaces/going');
    expect(del.status).to.equal(200);
    expect(del.body.status.phase).to.equal('Terminating');

    const refused = await api(s.url, 'POST', '/api/v1/namespaces/going/pods', pod('web'));
    expect(refused.status).to.equal(403);
    expect(refused.body.reason).to.equal('Forbidden');
    expect(refused.body.message).to.equal(
      'pods "web" is forbidden: unable to create new content in namespace going because it is being terminated',
    );
    expect(refused.body.details.causes).to.deep.equal([
      { reason: 'NamespaceTerminating', message: 'namespace going is being terminated', field: 'metadata.namespace' },
    ]);
    const patched = await api(
      s.url,
      'PATCH',
      '/api/v1/namespaces/going/configmaps/kept',
      { data: { a: '2' } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
    expect(patched.status).to.equal(200);
    expect((await api(s.url, 'DELETE', '/api/v1/namespaces/going/configmaps/kept')).status).to.equal(200);
  });

  it('protects default, kube-system and kube-public from deletion', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public']) {
      const r = await api(s.url, 'DELETE', `/api/v1/namespaces/${ns}`);
      expect(r.status, ns).to.equal(403);
      expect(r.body.message).to.equal(`namespaces "${ns}" is forbidden: this namespace may not be deleted`);
      expect((await api(s.url, 'GET', `/api/v1/namespaces/${ns}`)).body.status.phase).to.equal('Active');
    }
  });
});

describe('admission-security-context-deny', () => {
  const cases: [string, Record<string, unknown>, string | undefined][] = [
    ['plain pod', {}, undefined],
    ['runAsNonRoot only', { securityContext: { runAsNonRoot: true } }, undefined],
    [
      'pod supplementalGroups',
      { securityContext: { supplementalGroups: [5] } },
      'pod.Spec.SecurityContext.SupplementalGroups is forbidden',
    ],
    [
      'pod seLinuxOptions',
      { securityContext: { seLinuxOptions: { level: 's0' } } },
      'pod.Spec.SecurityContext.SELinuxOptions is forbidden',
    ],
    ['pod runAsUser', { securityContext: { runAsUser: 0 } }, 'pod.Spec.SecurityContext.RunAsUser is forbidden'],
    ['pod fsGroup', { securityContext: { fsGroup: 2000 } }, 'pod.Spec.SecurityContext.FSGroup is forbidden'],
    [
      'order: supplementalGroups before runAsUser',
      { securityContext: { runAsUser: 1, supplementalGroups: [1] } },
      'pod.Spec.SecurityContext.SupplementalGroups is forbidden',
    ],
    [
      'container runAsUser',
      { containers: [{ name: 'a', image: 'x', securityContext: { runAsUser: 1000 } }] },
      'SecurityContext.RunAsUser is forbidden',
    ],
    [
      'init container seLinuxOptions',
      { initContainers: [{ name: 'i', image: 'x', securityContext: { seLinuxOptions: {} } }] },
      'SecurityContext.SELinuxOptions is forbidden',
    ],
    [
      "container privileged is not this plugin's business",
      { containers: [{ name: 'a', image: 'x', securityContext: { privileged: true } }] },
      undefined,
    ],
  ];
  for (const [title, spec, expected] of cases) {
    it(`${title} → ${expected ?? 'admitted'}`, () => {
      expect(refusedField(pod('p', spec))).to.equal(expected);
    });
  }

  it('refuses creates through the API with upstream messages', async () => {
    const s = await startTestServer({ plugins: { 'admission-security-context-deny': {} } });
    try {
      const r = await api(
        s.url,
        'POST',
        '/api/v1/namespaces/default/pods',
        pod('root', { securityContext: { runAsUser: 0 } }),
      );
      expect(r.status).to.equal(403);
      expect(r.body.message).to.equal('pods "root" is forbidden: pod.Spec.SecurityContext.RunAsUser is forbidden');
      expect((await api(s.url, 'GET', '/api/v1/namespaces/default/pods/root')).status).to.equal(404);
      const ok = await api(s.url, 'POST', '/api/v1/namespaces/default/pods', pod('fine'));
      expect(ok.status).to.equal(201);
    } finally {
      await s.close();
    }
  });
});

describe('admission-always-admit and admission-always-deny', () => {
  it('AlwaysDeny refuses every write but no read; AlwaysAdmit changes nothing', async () => {
    // Bootstrapped first: the default namespaces cannot be created with AlwaysDeny on, as upstream.
    const first = await startTestServer({ storage: 'sqlite' });
    await first.close({ keepData: true });
    const s = await startTestServer({
      storage: 'sqlite',
      dataDir: first.dataDir,
      port: first.port,
      plugins: { 'admission-always-admit': {}, 'admission-always-deny': {} },
    });
    try {
      const r = await api(s.url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } });
      expect(r.status).to.equal(403);
      expect(r.body.message).to.equal('configmaps "x" is forbidden: admission control is denying all modifications');
      const d = await api(s.url, 'DELETE', '/api/v1/namespaces/default/services/kubernetes');
      expect(d.status).to.equal(403);
      expect((await api(s.url, 'GET', '/api/v1/namespaces/default/services/kubernetes')).status).to.equal(200);
    } finally {
      await s.close();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });
});

describe('admission-service-account', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ plugins: { 'admission-service-account': {}, 'controller-service-account': {} } });
  });
  after(() => s.close());

  it('gives a pod the default account and mounts its token in every container', async () => {
    const r = await api(
      s.url,
      'POST',
      '/api/v1/namespaces/default/pods',
      pod('sa', {
        initContainers: [{ name: 'init', image: 'busybox' }],
      }),
    );
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    const spec = r.body.spec;
    expect(spec.serviceAccountName).to.equal('default');
    const volume = spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    expect(volume.name).to.match(/^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(volume.projected.sources[0]).to.deep.equal({
      serviceAccountToken: { expirationSeconds: 3607, path: 'token' },
    });
    for (const c of [...spec.containers, ...spec.initContainers]) {
      expect(c.volumeMounts).to.deep.include({
        name: volume.name,
        readOnly: true,
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      });
    }
  });

  it('mounts nothing when the pod or its account turns automounting off', async () => {
    const off = await api(
      s.url,
      'POST',
      '/api/v1/namespaces/default/pods',
      pod('no-token', { automountServiceAccountToken: false }),
    );
    expect(off.status).to.equal(201);
    expect(off.body.spec.volumes ?? []).to.deep.equal([]);
    await api(s.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', {
      metadata: { name: 'quiet' },
      automountServiceAccountToken: false,
    });
    const quiet = await api(
      s.url,
      'POST',
      '/api/v1/namespaces/default/pods',
      pod('quiet', { serviceAccountName: 'quiet' }),
    );
    expect(quiet.status).to.equal(201);
    expect(quiet.body.spec.volumes ?? []).to.deep.equal([]);
  });

  it('refuses a pod whose account does not exist, with upstream message', async () => {
    const r = await api(
      s.url,
      'POST',
      '/api/v1/namespaces/default/pods',
      pod('ghost', { serviceAccountName: 'ghost' }),
    );
    expect(r.status).to.equal(403);
    expect(r.body.message).to.equal(
      'pods "ghost" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found',
    );
  });
});
