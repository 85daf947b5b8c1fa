/**
 * authz-bootstrap-roles: upstream's bootstrap roles for the components, asked through the real
 * authorization chain (SubjectAccessReview as the admin), listed by SelfSubjectRulesReview, replaced
 * by a rules file, and named on the command line (--authorization-mode=BootstrapRoles).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadRoles } from '../../../plugins/authz-bootstrap-roles/load.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { spawnSkiff } from '../../helpers/skiff-process.js';
import { waitFor } from '../../helpers/wait.js';

const BIN = new URL('../../../scripts/skiff.mjs', import.meta.url).pathname;
const COMPONENTS_POLICY = new URL('../../../config/examples/abac-policy-components.jsonl', import.meta.url).pathname;
const AUTHENTICATED = ['system:authenticated'];
const CM = { user: 'system:kube-controller-manager', groups: AUTHENTICATED };
const SCHEDULER = { user: 'system:kube-scheduler', groups: AUTHENTICATED };
const NODE = { user: 'system:node:n1', groups: ['system:nodes', ...AUTHENTICATED] };
const PROXY = { user: 'system:kube-proxy', groups: AUTHENTICATED };
const JANE = { user: 'jane', groups: AUTHENTICATED };
const NS_CONTROLLER_SA = {
  user: 'system:serviceaccount:kube-system:namespace-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', ...AUTHENTICATED],
};

type Who = { user: string; groups: string[] };
/**
 * `verb group/resource[/subresource] namespace [name]` (the core group is empty: `get /pods ns x`;
 * namespace `-` is cluster scope), or `verb url /path` for a non-resource URL.
 */
type Ask = string;

function attributes(ask: Ask): Record<string, unknown> {
  const [verb, target, namespace = '', name = ''] = ask.split(' ');
  if (target === 'url') return { nonResourceAttributes: { verb, path: namespace } };
  const [group, resource, subresource = ''] = target!.split('/');
  return {
    resourceAttributes: { verb, group, resource, subresource, namespace: namespace === '-' ? '' : namespace, name },
  };
}

async function review(s: TestServer, who: Who, ask: Ask): Promise<{ allowed: boolean; reason?: string }> {
  const r = await api(s.url, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: who.user, groups: who.groups, ...attributes(ask) },
  });
  expect(r.status, JSON.stringify(r.body)).to.equal(201);
  expect(r.body.status.denied, 'the plugin only allows or abstains').to.equal(undefined);
  return r.body.status;
}

/** Asks each question and compares all answers at once, so a failure shows the whole table. */
async function expectTable(s: TestServer, who: Who, table: Record<Ask, boolean>): Promise<void> {
  const got: Record<Ask, boolean> = {};
  for (const ask of Object.keys(table)) got[ask] = (await review(s, who, ask)).allowed;
  expect(got, who.user).to.deep.equal(table);
}

describe('authz-bootstrap-roles', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bootstrap-roles-'));
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ plugins: { 'authz-bootstrap-roles': {} } });
  });
  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the role table (upstream 1.32 bootstrap policy)', () => {
    it('the controller manager: every list and watch, its own roles and its controllers’, nothing else', async () => {
      await expectTable(s, CM, {
        // system:kube-controller-manager: the shared informers list and watch every kind.
        'list /secrets -': true,
        'watch /pods default': true,
        'list apps/deployments team': true,
        // ... and upstream's role also grants get on secrets (for the token controller).
        'get /secrets default token': true,
        'get /configmaps default x': true,
        'create /serviceaccounts/token default builder': true,
        // Its lease, by name; any lease in kube-system (system::leader-locking-kube-controller-manager).
        'update coordination.k8s.io/leases kube-system kube-controller-manager': true,
        'update coordination.k8s.io/leases kube-system other-lease': true,
        // Outside kube-system only the garbage collector's role (update on every kind) allows it.
        'update coordination.k8s.io/leases default other-lease': true,
        // The four controllers Skiff runs: namespace, service-account, resourcequota, root-ca-cert-publisher.
        'delete /pods default web': true,
        'deletecollection apps/deployments team': true,
        'update /namespaces/finalize - team': true,
        'create /serviceaccounts team': true,
        'update /resourcequotas/status team q': true,
        'create /configmaps team': true,
        'update /configmaps team kube-root-ca.crt': true,
        // The replication controllers create pods, the deployment controller and the garbage
        // collector update them, the garbage collector patches any kind (upstream's roles).
        'create /pods default': true,
        'update /pods default web': true,
        'patch /configmaps team x': true,
        // What no role it holds grants.
        'create /secrets/exec default x': false,
        'create /namespaces -': false,
        'create /pods/exec default web': false,
        'impersonate /users - admin': false,
        'get url /metrics': false,
        // Discovery, as every authenticated user.
        'get url /apis/apps/v1': true,
      });
    });

    it('names the role that allowed a request', async () => {
      const deleting = await review(s, CM, 'delete /pods default web');
      expect(deleting.reason).to.equal(
        'BootstrapRoles: role "system:controller:namespace-controller" bound to user "system:kube-controller-manager"',
      );
      const lease = await review(s, CM, 'update coordination.k8s.io/leases kube-system elsewhere');
      expect(lease.reason).to.contain('system::leader-locking-kube-controller-manager').and.contain('"kube-system"');
    });

    it('the scheduler: binds pods and writes their status, reads what placing them needs', async () => {
      await expectTable(s, SCHEDULER, {
        'create /pods/binding default web': true,
        'create /bindings default': true,
        'update /pods/status default web': true,
        'delete /pods default web': true,
        'list /nodes -': true,
        'watch /persistentvolumeclaims -': true,
        'patch /persistentvolumes - pv1': true,
        'list storage.k8s.io/storageclasses -': true,
        'update coordination.k8s.io/leases kube-system kube-scheduler': true,
        'create /pods default': false,
        'update /pods default web': false,
        'update /nodes - n1': false,
        'get /secrets default token': false,
        'list /configmaps default': false,
      });
    });

    it('nodes: register, run pods, report status; no secret, configmap or volume without a Node authorizer', async () => {
      await expectTable(s, NODE, {
        'create /nodes -': true,
        'patch /nodes/status - n1': true,
        'update /nodes - n1': true,
        'create /pods default': true,
        'delete /pods default web': true,
        'patch /pods/status default web': true,
        'create /pods/eviction default web': true,
        'list /services -': true,
        'get /endpoints default kubernetes': true,
        'create /events default': true,
        'create certificates.k8s.io/certificatesigningrequests -': true,
        'get /secrets default token': false,
        'get /configmaps default settings': false,
        'get /persistentvolumeclaims default data': false,
        'create /serviceaccounts/token default builder': false,
        'update coordination.k8s.io/leases kube-node-lease n1': false,
        'create /services default': false,
        'delete /nodes - n2': false,
      });
      // The group decides, as upstream's Node authorizer requires it: the name alone is nothing.
      await expectTable(s, { user: 'system:node:n1', groups: AUTHENTICATED }, { 'create /nodes -': false });
    });

    it('kube-proxy: lists and watches services, endpoints and endpoint slices (and reads nodes); nothing else', async () => {
      await expectTable(s, PROXY, {
        'list /services -': true,
        'watch /services -': true,
        'list /endpoints -': true,
        'watch /endpoints default': true,
        'list discovery.k8s.io/endpointslices -': true,
        'watch discovery.k8s.io/endpointslices -': true,
        // upstream's system:node-proxier also reads nodes and writes events
        'get /nodes - n1': true,
        'create events.k8s.io/events default': true,
        'get /services default kubernetes': false,
        'create /services default': false,
        'list /pods -': false,
        'list /secrets -': false,
        'list /configmaps -': false,
      });
    });

    it("controller service accounts hold only their own controller's role", async () => {
      await expectTable(s, NS_CONTROLLER_SA, {
        'delete /pods default web': true,
        'update /namespaces/finalize - team': true,
        'create /serviceaccounts team': false,
        'create /configmaps team': false,
      });
    });

    it('an ordinary user gets discovery only (upstream’s system:discovery), the anonymous user nothing', async () => {
      await expectTable(s, JANE, {
        'get url /api': true,
        'get url /apis/coordination.k8s.io': true,
        'get url /openapi/v3': true,
        'get url /version': true,
        'post url /api': false,
        'list /pods default': false,
        'get /secrets default token': false,
      });
      await expectTable(s, { user: 'system:anonymous', groups: ['system:unauthenticated'] }, { 'get url /api': false });
    });
  });

  describe('SelfSubjectRulesReview', () => {
    const rules = async (who: Who, namespace: string) => {
      const r = await api(
        s.url,
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
        { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
        { 'Impersonate-User': who.user },
      );
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      return r.body.status;
    };

    it("lists kube-proxy's rules and discovery, and says the list is complete", async () => {
      const status = await rules(PROXY, 'default');
      expect(status.incomplete).to.equal(false);
      expect(status.resourceRules).to.deep.include.members([
        { verbs: ['list', 'watch'], apiGroups: [''], resources: ['endpoints', 'services'] },
        { verbs: ['list', 'watch'], apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
        { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['nodes'] },
      ]);
      expect(status.nonResourceRules).to.deep.include({
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      });
      expect(JSON.stringify(status.resourceRules)).to.not.contain('secrets');
    });

    it('adds namespaced grants only for their namespace', async () => {
      const lease = { verbs: ['create', 'get', 'list', 'update', 'watch'], apiGroups: ['coordination.k8s.io'] };
      expect((await rules(CM, 'kube-system')).resourceRules).to.deep.include({
        ...lease,
        resources: ['leases', 'leasecandidates'],
      });
      expect((await rules(CM, 'default')).resourceRules).to.not.deep.include({
        ...lease,
        resources: ['leases', 'leasecandidates'],
      });
      expect((await rules(CM, 'default')).resourceRules).to.deep.include({
        verbs: ['get', 'update'],
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['kube-controller-manager'],
      });
    });
  });

  describe('rulesFile', () => {
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };

    it('replaces the built-in roles: namespaced bindings, resource names, */scale, URL prefixes', async () => {
      const file = write(
        'team.yaml',
        [
          'roles:',
          '  team-reader:',
          "    - {verbs: [get, list], apiGroups: [''], resources: [pods, pods/log]}",
          "    - {verbs: [get], apiGroups: ['*'], resources: ['*/scale']}",
          "    - {verbs: [update], apiGroups: [''], resources: [configmaps], resourceNames: [settings]}",
          '  prober:',
          '    - {verbs: [get], nonResourceURLs: [/readyz/*]}',
          'bindings:',
          '  - {role: team-reader, namespace: team-a, users: [jane]}',
          '  - {role: prober, groups: [probes], serviceAccounts: [ops/prober]}',
          '',
        ].join('\n'),
      );
      const custom = await startTestServer({ plugins: { 'authz-bootstrap-roles': { config: { rulesFile: file } } } });
      try {
        await expectTable(custom, JANE, {
          'list /pods team-a': true,
          'get /pods/log team-a web': true,
          'get /pods/exec team-a web': false,
          'list /pods team-b': false,
          'list /pods -': false,
          'get apps/deployments/scale team-a web': true,
          'update apps/deployments/scale team-a web': false,
          'update /configmaps team-a settings': true,
          'update /configmaps team-a other': false,
          'get url /api': false,
        });
        await expectTable(
          custom,
          { user: 'system:serviceaccount:ops:prober', groups: AUTHENTICATED },
          {
            'get url /readyz/ping': true,
            'get url /livez/ping': false,
          },
        );
        await expectTable(custom, { user: 'x', groups: ['probes'] }, { 'get url /readyz/etcd': true });
        // The built-in roles are gone with the built-in file.
        await expectTable(custom, CM, { 'list /secrets -': false, 'delete /pods default web': false });
      } finally {
        await custom.close();
      }
    });

    it('a mistake in the file stops start-up with a coded error naming the file and the key', async () => {
      const cases: [string, string, string][] = [
        ['missing role', 'roles: {}\nbindings: [{role: nobody, users: [jane]}]\n', 'bindings.0.role: no role "nobody"'],
        [
          'a typo that would change a rule',
          "roles:\n  r: [{verbs: [get], apiGroups: [''], resource: [pods]}]\nbindings: []\n",
          'roles.r.0',
        ],
        [
          'resources mixed with URLs',
          "roles:\n  r: [{verbs: [get], apiGroups: [''], resources: [pods], nonResourceURLs: [/x]}]\nbindings: []\n",
          'either apiGroups and resources, or nonResourceURLs',
        ],
        [
          'a binding without subjects',
          'roles:\n  r: [{verbs: [get], nonResourceURLs: [/x]}]\nbindings: [{role: r}]\n',
          'bindings.0',
        ],
        [
          'URLs through a namespaced binding',
          'roles:\n  r: [{verbs: [get], nonResourceURLs: [/x]}]\nbindings: [{role: r, namespace: a, users: [u]}]\n',
          'namespaced binding',
        ],
        ['not YAML', 'roles: [\n', 'not YAML'],
      ];
      for (const [what, text, message] of cases) {
        const path = write('bad.yaml', text);
        expect(() => loadRoles(path), what)
          .to.throw()
          .that.includes({ code: 'SKIFF_BOOTSTRAP_ROLES_INVALID' })
          .and.satisfies((e: Error) => e.message.includes(path) && e.message.includes(message));
      }
      const missing = join(dir, 'missing.yaml');
      expect(() => loadRoles(missing)).to.throw(missing);
      let failure: unknown;
      await startTestServer({
        dataDir: join(dir, 'data'),
        plugins: { 'authz-bootstrap-roles': { config: { rulesFile: missing } } },
      }).then(
        (unexpected) => unexpected.close(),
        (err) => {
          failure = err;
        },
      );
      expect(failure).to.have.property('code', 'SKIFF_BOOTSTRAP_ROLES_INVALID');
    });
  });

  describe('under ABAC instead (config/examples/abac-policy-components.jsonl)', () => {
    it('the example lines load strictly and let the in-process controllers do their work', async () => {
      const abac = await startTestServer({
        role: 'up',
        plugins: {
          'authz-abac': { config: { policyFile: COMPONENTS_POLICY, strict: true } },
          'admission-namespace-lifecycle': {},
          'controller-namespace': { config: { retrySeconds: 0.2 } },
          'controller-service-account': {},
        },
      });
      try {
        expect((await api(abac.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'lines' } })).status).to.equal(
          201,
        );
        await waitFor(
          'the default account (created by the controller manager)',
          () => api(abac.url, 'GET', '/api/v1/namespaces/lines/serviceaccounts/default'),
          (r) => r.status === 200,
        );
        await api(abac.url, 'POST', '/api/v1/namespaces/lines/configmaps', { metadata: { name: 'c' } });
        await api(abac.url, 'DELETE', '/api/v1/namespaces/lines');
        await waitFor(
          'the namespace emptied and removed',
          () => api(abac.url, 'GET', '/api/v1/namespaces/lines'),
          (r) => r.status === 404,
        );
      } finally {
        await abac.close();
      }
    });
  });

  describe('on the command line', () => {
    it('skiff config check shows it in the default authorization chain', () => {
      const r = spawnSync(process.execPath, [BIN, 'config', 'check', '--data-dir', join(dir, 'check')], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/authorization: system:masters, self-reviews, .*authz-bootstrap-roles/);
    });

    it('--authorization-mode=BootstrapRoles,AlwaysDeny puts it in the chain, in that order', async () => {
      const p = spawnSkiff([
        'up',
        '--authorization-mode=BootstrapRoles,AlwaysDeny',
        '--secure-port',
        '0',
        '--insecure-port',
        'auto',
        '--storage-backend',
        'memory',
        '--data-dir',
        join(dir, 'mode'),
      ]);
      try {
        const line = await p.waitForLine('the chains', (l) => l.chains !== undefined);
        const chain = (line.chains as { authorization: string[] }).authorization;
        expect(chain.slice(-2)).to.deep.equal(['authz-bootstrap-roles', 'authz-always-deny']);
        expect(chain).to.not.include('system:kube-controller-manager');
      } finally {
        p.child.kill('SIGTERM');
        await p.exited();
      }
    });
  });
});
