/** The REST API's semantics over real HTTP on loopback: codes, metadata, concurrency, selectors, paging, watch. */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { readWatchEvents } from '../../helpers/watch-events.js';

const POD = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' }, ...extra },
  spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] },
});

describe('core/server: the REST API over HTTP', function () {
  this.timeout(30_000);
  let ts: TestServer;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    api(ts.url, method, path, body, headers);
  before(async () => {
    // A small watch cache, so that old resourceVersions fall through to storage history.
    ts = await startTestServer({ watchCacheSize: 20 });
  });
  after(async () => ts?.close());

  describe('discovery and operations', () => {
    it('/version reports 1.32', async () => {
      const r = await call('GET', '/version');
      expect(r.body).to.include({ major: '1', minor: '32' });
    });
    it('/api, /apis and resource lists', async () => {
      expect((await call('GET', '/api')).body.versions).to.deep.equal(['v1']);
      const groups = (await call('GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
      expect(groups).to.include('coordination.k8s.io');
      const v1 = (await call('GET', '/api/v1')).body;
      const pods = v1.resources.find((r: { name: string }) => r.name === 'pods');
      expect(pods).to.include({ kind: 'Pod', namespaced: true });
      expect(pods.shortNames).to.include('po');
      expect(pods.verbs).to.include.members(['create', 'watch', 'deletecollection']);
      expect(v1.resources.map((r: { name: string }) => r.name)).to.include.members([
        'pods/status',
        'pods/binding',
        'replicationcontrollers/scale',
        'namespaces/finalize',
      ]);
      expect((await call('GET', '/apis/coordination.k8s.io/v1')).body.resources[0].name).to.equal('leases');
    });
    it('health endpoints, verbose and per check', async () => {
      expect((await call('GET', '/healthz')).body).to.equal('ok');
      const verbose = await call('GET', '/readyz?verbose');
      expect(verbose.status).to.equal(200);
      expect(verbose.body).to.contain('[+]storage ok').and.contain('readyz check passed');
      expect((await call('GET', '/livez/ping')).status).to.equal(200);
      expect((await call('GET', '/livez/nope')).status).to.equal(404);
    });
    it('/metrics has upstream request metrics', async () => {
      const text = (await call('GET', '/metrics')).body as string;
      expect(text).to.contain('apiserver_request_total{').and.contain('apiserver_request_duration_seconds_bucket{');
    });
    it('/openapi/v3 lists group versions with fieldValidation on PATCH', async () => {
      const root = (await call('GET', '/openapi/v3')).body;
      const url = root.paths['api/v1'].serverRelativeURL as string;
      const doc = (await call('GET', url)).body;
      const patch = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'].patch;
      expect(patch['x-kubernetes-group-version-kind']).to.deep.equal({ group: '', version: 'v1', kind: 'Pod' });
      expect(patch.parameters.map((p: { name: string }) => p.name)).to.include('fieldValidation');
    });
  });

  describe('bootstrap', () => {
    it('creates the default namespaces and the kubernetes service', async () => {
      const names = (await call('GET', '/api/v1/namespaces')).body.items.map(
        (n: { metadata: { name: string } }) => n.metadata.name,
      );
      expect(names).to.include.members(['default', 'kube-system', 'kube-public']);
      const svc = (await call('GET', '/api/v1/namespaces/default/services/kubernetes')).body;
      expect(svc.spec.clusterIP).to.equal('127.96.0.1');
      expect(svc.spec.ports[0]).to.include({ port: 443 });
      const ep = (await call('GET', '/api/v1/namespaces/default/endpoints/kubernetes')).body;
      expect(ep.subsets[0].addresses[0].ip).to.equal('127.0.0.1');
    });
  });

  describe('create, read, update', () => {
    it('sets uid, resourceVersion and creationTimestamp (a pod has no generation in v1.32)', async () => {
      const r = await call('POST', '/api/v1/namespaces/default/pods', POD('meta'));
      expect(r.status).to.equal(201);
      const m = r.body.metadata;
      expect(m.uid).to.match(/^[0-9a-f-]{36}$/);
      expect(m.resourceVersion).to.match(/^\d+$/);
      expect(m.creationTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(m).to.not.have.property('generation');
      expect(m.namespace).to.equal('default');
      const got = await call('GET', '/api/v1/namespaces/default/pods/meta');
      expect(got.body.metadata.resourceVersion).to.equal(m.resourceVersion);
    });
    it('answers 409 AlreadyExists with upstream message', async () => {
      const r = await call('POST', '/api/v1/namespaces/default/pods', POD('meta'));
      expect(r.status).to.equal(409);
      expect(r.body).to.include({ kind: 'Status', reason: 'AlreadyExists', message: 'pods "meta" already exists' });
    });
    it('generateName makes a unique name', async () => {
      const body = POD('');
      body.metadata = { generateName: 'gen-', labels: {} } as never;
      const a = await call('POST', '/api/v1/namespaces/default/pods', body);
      const b = await call('POST', '/api/v1/namespaces/default/pods', body);
      expect(a.status).to.equal(201);
      expect(a.body.metadata.name).to.match(/^gen-[a-z0-9]{5}$/);
      expect(a.body.metadata.name).to.not.equal(b.body.metadata.name);
    });
    it('answers 422 Invalid with field causes', async () => {
      const r = await call('POST', '/api/v1/namespaces/default/pods', {
        metadata: { name: 'Bad_Name' },
        spec: { containers: [{ name: 'c' }] },
      });
      expect(r.status).to.equal(422);
      expect(r.body.reason).to.equal('Invalid');
      const fields = r.body.details.causes.map((c: { field: string }) => c.field);
      expect(fields).to.include('metadata.name');
      expect(fields).to.include('spec.containers[0].image');
    });
    it('update with a stale resourceVersion is a 409 Conflict; a pod stays without generation', async () => {
      const cur = (await call('GET', '/api/v1/namespaces/default/pods/meta')).body;
      const labelled = structuredClone(cur);
      labelled.metadata.labels.extra = 'yes';
      const r1 = await call('PUT', '/api/v1/namespaces/default/pods/meta', labelled);
      expect(r1.status).to.equal(200);
      expect(r1.body.metadata).to.not.have.property('generation');
      const stale = await call('PUT', '/api/v1/namespaces/default/pods/meta', cur);
      expect(stale.status).to.equal(409);
      expect(stale.body.reason).to.equal('Conflict');
      expect(stale.body.message).to.contain('the object has been modified');
      const next = structuredClone(r1.body);
      next.spec.containers[0].image = 'nginx:1.26';
      const r2 = await call('PUT', '/api/v1/namespaces/default/pods/meta', next);
      expect(r2.status).to.equal(200);
      // Kinds that track generation count spec changes: generation.test.ts (a ReplicationController).
      expect(r2.body.metadata).to.not.have.property('generation');
    });
    it('a no-op update keeps the resourceVersion', async () => {
      const cur = (await call('GET', '/api/v1/namespaces/default/pods/meta')).body;
      const r = await call('PUT', '/api/v1/namespaces/default/pods/meta', cur);
      expect(r.body.metadata.resourceVersion).to.equal(cur.metadata.resourceVersion);
    });
    it('dryRun=All validates but stores nothing', async () => {
      const r = await call('POST', '/api/v1/namespaces/default/pods?dryRun=All', POD('dry'));
      expect(r.status).to.equal(201);
      expect((await call('GET', '/api/v1/namespaces/default/pods/dry')).status).to.equal(404);
      expect((await call('POST', '/api/v1/namespaces/default/pods?dryRun=Some', POD('dry'))).status).to.equal(400);
    });
  });

  describe('patch', () => {
    before(async () => {
      await call('POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'p' },
        data: { a: '1', b: '2' },
      });
    });
    it('merge patch', async () => {
      const r = await call(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/p',
        { data: { a: null, c: '3' } },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      expect(r.status).to.equal(200);
      expect(r.body.data).to.deep.equal({ b: '2', c: '3' });
    });
    it('JSON patch', async () => {
      const r = await call(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/p',
        [{ op: 'replace', path: '/data/b', value: 'x' }],
        { 'Content-Type': 'application/json-patch+json' },
      );
      expect(r.body.data.b).to.equal('x');
    });
    it('strategic merge patch merges containers by name', async () => {
      const r = await call(
        'PATCH',
        '/api/v1/namespaces/default/pods/meta',
        { spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } },
        { 'Content-Type': 'application/strategic-merge-patch+json' },
      );
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.spec.containers).to.have.length(1);
      expect(r.body.spec.containers[0]).to.include({ name: 'c', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent' });
    });
    it('unknown patch type is 415', async () => {
      const r = await call(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/p',
        { data: {} },
        { 'Content-Type': 'text/plain' },
      );
      expect(r.status).to.equal(415);
      expect(r.body.reason).to.equal('UnsupportedMediaType');
    });
    it('patch of a missing object is 404', async () => {
      const r = await call(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/none',
        { data: {} },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      expect(r.status).to.equal(404);
    });
  });

  describe('bad input never crashes or 500s', () => {
    it('unknown resource 404, bad method 405, bad content type 415, malformed JSON 400, too large 413', async () => {
      expect((await call('GET', '/api/v1/namespaces/default/widgets')).status).to.equal(404);
      expect((await call('GET', '/apis/nope.example.com/v1/things')).status).to.equal(404);
      expect((await call('POST', '/api/v1/namespaces/default/pods/meta', POD('meta'))).status).to.equal(405);
      const bindingGet = await call('GET', '/api/v1/namespaces/default/bindings');
      expect(bindingGet.status).to.equal(405);
      expect(
        (
          await call('POST', '/api/v1/namespaces/default/pods', 'name=x', {
            'Content-Type': 'application/x-www-form-urlencoded',
          })
        ).status,
      ).to.equal(415);
      const bad = await call('POST', '/api/v1/namespaces/default/pods', '{"metadata": ', {
        'Content-Type': 'application/json',
      });
      expect(bad.status).to.equal(400);
      expect(bad.body.kind).to.equal('Status');
      const big = { metadata: { name: 'big' }, data: { blob: 'x'.repeat(3 * 1024 * 1024 + 10) } };
      const tooLarge = await call('POST', '/api/v1/namespaces/default/configmaps', big);
      expect(tooLarge.status).to.equal(413);
      expect((await call('GET', '/api/v1/namespaces/default/configmaps/big')).status).to.equal(404);
      expect((await call('POST', '/api/v1/namespaces/default/pods', [1, 2])).status).to.equal(400);
      expect(
        (await call('POST', '/api/v1/namespaces/default/pods', { kind: 'Service', metadata: { name: 'x' } })).status,
      ).to.equal(400);
      expect((await call('GET', '/api/v1/pods?labelSelector=a%20in%20(')).status).to.equal(400);
      expect((await call('GET', '/api/v1/pods?fieldSelector=spec.nope%3Dx')).status).to.equal(400);
      expect((await call('GET', '/api/v1/pods?limit=abc')).status).to.equal(400);
      expect((await call('GET', '/api/v1/pods?watch=1&resourceVersion=abc')).status).to.equal(400);
      expect((await call('GET', '/api/v1/pods?continue=garbage')).status).to.equal(400);
      expect((await call('GET', '/api/v1/namespaces/default/pods/%E0%A4%A')).status).to.equal(400);
      expect((await call('GET', '/healthz')).status).to.equal(200);
    });
  });

  describe('delete', () => {
    it('finalizers keep an object until they are removed', async () => {
      await call('POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'fin', finalizers: ['example.com/keep'] },
      });
      const del = await call('DELETE', '/api/v1/namespaces/default/configmaps/fin');
      expect(del.status).to.equal(200);
      expect(del.body.metadata.deletionTimestamp).to.be.a('string');
      expect((await call('GET', '/api/v1/namespaces/default/configmaps/fin')).status).to.equal(200);
      const r = await call(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/fin',
        { metadata: { finalizers: null } },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      expect(r.status).to.equal(200);
      expect((await call('GET', '/api/v1/namespaces/default/configmaps/fin')).status).to.equal(404);
    });
    it('a namespace goes Terminating and stays until its spec.finalizers are cleared through /finalize', async () => {
      await call('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
      const del = await call('DELETE', '/api/v1/namespaces/doomed');
      expect(del.status).to.equal(200);
      expect(del.body.status.phase).to.equal('Terminating');
      expect(del.body.metadata.deletionTimestamp).to.be.a('string');
      const ns = (await call('GET', '/api/v1/namespaces/doomed')).body;
      ns.spec.finalizers = [];
      const fin = await call('PUT', '/api/v1/namespaces/doomed/finalize', ns);
      expect(fin.status, JSON.stringify(fin.body)).to.equal(200);
      expect((await call('GET', '/api/v1/namespaces/doomed')).status).to.equal(404);
    });
    it('preconditions are checked', async () => {
      await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'pre' } });
      const r = await call('DELETE', '/api/v1/namespaces/default/configmaps/pre', {
        preconditions: { uid: 'not-the-uid' },
      });
      expect(r.status).to.equal(409);
      const ok = await call('DELETE', '/api/v1/namespaces/default/configmaps/pre', { propagationPolicy: 'Background' });
      expect(ok.status).to.equal(200);
      expect(ok.body.status).to.equal('Success');
      expect((await call('DELETE', '/api/v1/namespaces/default/configmaps/pre')).status).to.equal(404);
    });
    it('deletecollection honours selectors', async () => {
      for (const n of ['dc1', 'dc2', 'dc3']) {
        await call('POST', '/api/v1/namespaces/default/configmaps', {
          metadata: { name: n, labels: { set: n === 'dc3' ? 'keep' : 'drop' } },
        });
      }
      const r = await call('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=set%3Ddrop');
      expect(r.status).to.equal(200);
      expect(r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name).sort()).to.deep.equal([
        'dc1',
        'dc2',
      ]);
      expect((await call('GET', '/api/v1/namespaces/default/configmaps/dc3')).status).to.equal(200);
    });
  });

  describe('list: selectors and paging', () => {
    before(async () => {
      await call('POST', '/api/v1/namespaces', { metadata: { name: 'paging' } });
      for (let i = 0; i < 7; i++) {
        await call('POST', '/api/v1/namespaces/paging/configmaps', {
          metadata: { name: `cm-${i}`, labels: { parity: i % 2 ? 'odd' : 'even' } },
        });
      }
    });
    it('label selectors: =, !=, in, notin, exists, !exists', async () => {
      const names = async (sel: string) =>
        (
          await call('GET', `/api/v1/namespaces/paging/configmaps?labelSelector=${encodeURIComponent(sel)}`)
        ).body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
      expect(await names('parity=odd')).to.deep.equal(['cm-1', 'cm-3', 'cm-5']);
      expect(await names('parity!=odd')).to.have.length(4);
      expect(await names('parity in (odd,even)')).to.have.length(7);
      expect(await names('parity notin (odd)')).to.have.length(4);
      expect(await names('parity')).to.have.length(7);
      expect(await names('!parity')).to.have.length(0);
    });
    it('field selectors on name and namespace, and per-kind fields', async () => {
      const r = await call('GET', '/api/v1/configmaps?fieldSelector=metadata.name%3Dcm-2');
      expect(r.body.items).to.have.length(1);
      const r2 = await call('GET', '/api/v1/configmaps?fieldSelector=metadata.namespace%3Dpaging');
      expect(r2.body.items).to.have.length(7);
      const pods = await call('GET', '/api/v1/pods?fieldSelector=status.phase%3DPending');
      expect(pods.status).to.equal(200);
      expect(pods.body.items.length).to.be.greaterThan(0);
    });
    it('limit and continue walk a consistent snapshot', async () => {
      const first = await call('GET', '/api/v1/namespaces/paging/configmaps?limit=3');
      expect(first.body.items).to.have.length(3);
      expect(first.body.metadata.remainingItemCount).to.equal(4);
      const token = first.body.metadata.continue;
      expect(token).to.be.a('string');
      // A write after the first page must not show up in later pages.
      await call('POST', '/api/v1/namespaces/paging/configmaps', { metadata: { name: 'cm-9' } });
      const second = await call('GET', `/api/v1/namespaces/paging/configmaps?limit=3&continue=${token}`);
      const third = await call(
        'GET',
        `/api/v1/namespaces/paging/configmaps?limit=3&continue=${second.body.metadata.continue}`,
      );
      const all = [...first.body.items, ...second.body.items, ...third.body.items].map(
        (i: { metadata: { name: string } }) => i.metadata.name,
      );
      expect(all).to.deep.equal(['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5', 'cm-6']);
      expect(third.body.metadata.continue ?? '').to.equal('');
    });
    it('an expired continue token is 410 Expired', async () => {
      const first = await call('GET', '/api/v1/namespaces/paging/configmaps?limit=2');
      const storage = ts.server.api.storage();
      await call('POST', '/api/v1/namespaces/paging/configmaps', { metadata: { name: 'cm-10' } });
      await storage.compact(await storage.currentRevision());
      const r = await call(
        'GET',
        `/api/v1/namespaces/paging/configmaps?limit=2&continue=${first.body.metadata.continue}`,
      );
      expect(r.status).to.equal(410);
      expect(r.body.reason).to.equal('Expired');
    });
  });

  describe('subresources', () => {
    it('status updates change only status', async () => {
      const cur = (await call('GET', '/api/v1/namespaces/default/pods/meta')).body;
      const body = structuredClone(cur);
      body.status = { ...body.status, phase: 'Running' };
      body.spec.containers[0].image = 'changed:1';
      const r = await call('PUT', '/api/v1/namespaces/default/pods/meta/status', body);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.status.phase).to.equal('Running');
      expect(r.body.spec.containers[0].image).to.equal(cur.spec.containers[0].image);
    });
    it('scale reads and writes spec.replicas of a replication controller', async () => {
      const rc = {
        metadata: { name: 'rc1' },
        spec: {
          replicas: 1,
          selector: { app: 'x' },
          template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        },
      };
      expect((await call('POST', '/api/v1/namespaces/default/replicationcontrollers', rc)).status).to.equal(201);
      const scale = await call('GET', '/api/v1/namespaces/default/replicationcontrollers/rc1/scale');
      expect(scale.body).to.deep.include({ kind: 'Scale', apiVersion: 'autoscaling/v1' });
      expect(scale.body.spec.replicas).to.equal(1);
      const r = await call(
        'PATCH',
        '/api/v1/namespaces/default/replicationcontrollers/rc1/scale',
        { spec: { replicas: 4 } },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect((await call('GET', '/api/v1/namespaces/default/replicationcontrollers/rc1')).body.spec.replicas).to.equal(
        4,
      );
    });
    it('bindings assign a node once', async () => {
      await call('POST', '/api/v1/namespaces/default/pods', POD('tobind'));
      const binding = {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'tobind' },
        target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' },
      };
      const r = await call('POST', '/api/v1/namespaces/default/pods/tobind/binding', binding);
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect((await call('GET', '/api/v1/namespaces/default/pods/tobind')).body.spec.nodeName).to.equal('node-1');
      const again = await call('POST', '/api/v1/namespaces/default/bindings', binding);
      expect(again.status).to.equal(409);
    });
  });

  describe('watch', () => {
    const readEvents = (path: string, count: number, act?: () => Promise<void>) =>
      readWatchEvents(ts.url + path, count, act);
    before(async () => {
      await call('POST', '/api/v1/namespaces', { metadata: { name: 'watching' } });
      await call('POST', '/api/v1/namespaces/watching/configmaps', { metadata: { name: 'w0' } });
    });
    it('resourceVersion=0 starts with ADDED for what exists, then live events', async () => {
      const events = await readEvents(
        '/api/v1/namespaces/watching/configmaps?watch=1&resourceVersion=0',
        2,
        async () => {
          await call('POST', '/api/v1/namespaces/watching/configmaps', { metadata: { name: 'w1' } });
        },
      );
      expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED w0', 'ADDED w1']);
    });
    it('replays every change after a resourceVersion', async () => {
      const list = (await call('GET', '/api/v1/namespaces/watching/configmaps')).body;
      await call(
        'PATCH',
        '/api/v1/namespaces/watching/configmaps/w0',
        { data: { x: '1' } },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      await call('DELETE', '/api/v1/namespaces/watching/configmaps/w1');
      const events = await readEvents(
        `/api/v1/namespaces/watching/configmaps?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
        2,
      );
      expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['MODIFIED w0', 'DELETED w1']);
    });
    it('a too-old resourceVersion gets an ERROR event with 410 Expired', async () => {
      const storage = ts.server.api.storage();
      await call('POST', '/api/v1/namespaces/watching/configmaps', { metadata: { name: 'w2' } });
      for (let i = 0; i < 25; i++)
        await call('POST', '/api/v1/namespaces/watching/configmaps', { metadata: { name: `old-${i}` } });
      await storage.compact((await storage.currentRevision()) - 1);
      const events = await readEvents('/api/v1/namespaces/watching/configmaps?watch=true&resourceVersion=1', 1);
      expect(events[0]!.type).to.equal('ERROR');
      expect(events[0]!.object).to.include({ kind: 'Status', code: 410, reason: 'Expired' });
    });
    it('timeoutSeconds ends the watch', async () => {
      const started = Date.now();
      const res = await fetch(`${ts.url}/api/v1/namespaces/watching/configmaps?watch=1&timeoutSeconds=1`);
      await res.text();
      expect(Date.now() - started).to.be.within(900, 5000);
    });
  });
});
