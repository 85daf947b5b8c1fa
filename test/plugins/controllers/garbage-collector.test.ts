/**
 * Cascading deletion: the API server's half (the finalizers a DELETE sets, core/api/store/cascade.ts)
 * and controller-garbage-collector's, in a real server. ConfigMaps stand for any kind: the
 * collector watches every kind the server serves.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

const cm = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name, ...extra } });
const ownedBy = (owner: { metadata: { name: string; uid: string } }, block = false) => ({
  ownerReferences: [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: owner.metadata.name,
      uid: owner.metadata.uid,
      blockOwnerDeletion: block,
    },
  ],
});

describe('cascading deletion and controller-garbage-collector', function () {
  this.timeout(60_000);

  describe('the API server half, without a collector', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({});
    });
    after(async () => s?.close());
    const base = '/api/v1/namespaces/default/configmaps';
    const get = (name: string) => api(s.url, 'GET', `${base}/${name}`);

    it('Orphan and Foreground leave the owner with its deletionTimestamp and the finalizer; Background removes it', async () => {
      for (const name of ['o', 'f', 'b']) await api(s.url, 'POST', base, cm(name));
      const orphan = await api(s.url, 'DELETE', `${base}/o`, { propagationPolicy: 'Orphan' });
      expect(orphan.status).to.equal(200);
      expect(orphan.body.metadata.finalizers).to.deep.equal(['orphan']);
      expect(orphan.body.metadata.deletionTimestamp).to.be.a('string');
      const fg = await api(s.url, 'DELETE', `${base}/f`, { propagationPolicy: 'Foreground' });
      expect(fg.body.metadata.finalizers).to.deep.equal(['foregroundDeletion']);
      expect((await api(s.url, 'DELETE', `${base}/b`, { propagationPolicy: 'Background' })).body.status).to.equal(
        'Success',
      );
      expect((await get('b')).status).to.equal(404);
    });

    it('a second DELETE with another policy rewrites the cascade finalizer; one with Background drops it', async () => {
      await api(s.url, 'POST', base, cm('switch', { finalizers: ['example.com/keep'] }));
      await api(s.url, 'DELETE', `${base}/switch`, { propagationPolicy: 'Foreground' });
      const again = await api(s.url, 'DELETE', `${base}/switch`, { propagationPolicy: 'Orphan' });
      expect(again.body.metadata.finalizers).to.deep.equal(['example.com/keep', 'orphan']);
      const background = await api(s.url, 'DELETE', `${base}/switch`, { propagationPolicy: 'Background' });
      expect(background.body.metadata.finalizers).to.deep.equal(['example.com/keep']);
      expect((await get('switch')).status).to.equal(200);
    });

    it('the legacy orphanDependents: true orphans; with a propagationPolicy too it is refused', async () => {
      await api(s.url, 'POST', base, cm('legacy'));
      const both = await api(s.url, 'DELETE', `${base}/legacy`, {
        orphanDependents: true,
        propagationPolicy: 'Orphan',
      });
      expect(both.status).to.equal(400);
      expect(both.body.message).to.contain('orphanDependents and deletionPropagation cannot be both set');
      const legacy = await api(s.url, 'DELETE', `${base}/legacy?orphanDependents=true`);
      expect(legacy.body.metadata.finalizers).to.deep.equal(['orphan']);
    });

    it('a ReplicationController deleted without a policy orphans its pods (upstream default for core/v1)', async () => {
      const rc = {
        metadata: { name: 'web' },
        spec: {
          replicas: 0,
          selector: { app: 'web' },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
        },
      };
      await api(s.url, 'POST', '/api/v1/namespaces/default/replicationcontrollers', rc);
      const r = await api(s.url, 'DELETE', '/api/v1/namespaces/default/replicationcontrollers/web');
      expect(r.body.metadata.finalizers).to.deep.equal(['orphan']);
    });

    it('a dry-run DELETE writes no finalizer', async () => {
      await api(s.url, 'POST', base, cm('dry'));
      const r = await api(s.url, 'DELETE', `${base}/dry`, { propagationPolicy: 'Foreground', dryRun: ['All'] });
      expect(r.body.metadata.finalizers).to.deep.equal(['foregroundDeletion']);
      expect((await get('dry')).body.metadata.finalizers).to.equal(undefined);
    });
  });

  describe('with the collector', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({
        role: 'up',
        plugins: { 'authz-bootstrap-roles': {}, 'controller-garbage-collector': {} },
      });
      await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'other' } });
    });
    after(async () => s?.close());
    const base = '/api/v1/namespaces/default/configmaps';
    const make = async (name: string, extra: Record<string, unknown> = {}, ns = 'default') => {
      const r = await api(s.url, 'POST', `/api/v1/namespaces/${ns}/configmaps`, cm(name, extra));
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      return r.body;
    };
    const gone = (name: string, ns = 'default') =>
      waitFor(
        `${ns}/${name} gone`,
        () => api(s.url, 'GET', `/api/v1/namespaces/${ns}/configmaps/${name}`),
        (r) => r.status === 404,
      );

    it('Background: the owner goes at once, its dependents after it', async () => {
      const owner = await make('bg-owner');
      await make('bg-child-1', ownedBy(owner));
      await make('bg-child-2', ownedBy(owner));
      await api(s.url, 'DELETE', `${base}/bg-owner`, { propagationPolicy: 'Background' });
      await gone('bg-child-1');
      await gone('bg-child-2');
    });

    it('Foreground: the owner stays until its blocking dependents are gone', async () => {
      const owner = await make('fg-owner');
      await make('fg-child', ownedBy(owner, true));
      // A finalizer of its own holds the child, so the owner must visibly wait.
      await make('fg-held', { ...ownedBy(owner, true), finalizers: ['example.com/hold'] });
      await api(s.url, 'DELETE', `${base}/fg-owner`, { propagationPolicy: 'Foreground' });
      await gone('fg-child');
      const held = await waitFor(
        'held child deleting',
        () => api(s.url, 'GET', `${base}/fg-held`),
        (r) => Boolean(r.body.metadata?.deletionTimestamp),
      );
      expect(held.status).to.equal(200);
      const waiting = await api(s.url, 'GET', `${base}/fg-owner`);
      expect(waiting.body.metadata.finalizers).to.deep.equal(['foregroundDeletion']);
      await api(
        s.url,
        'PATCH',
        `${base}/fg-held`,
        { metadata: { finalizers: null } },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      await gone('fg-held');
      await gone('fg-owner');
    });

    it('Orphan: the dependents lose their reference and stay; then the owner goes', async () => {
      const owner = await make('or-owner');
      await make('or-child', ownedBy(owner, true));
      await api(s.url, 'DELETE', `${base}/or-owner`, { propagationPolicy: 'Orphan' });
      await gone('or-owner');
      const child = await api(s.url, 'GET', `${base}/or-child`);
      expect(child.status).to.equal(200);
      expect(child.body.metadata.ownerReferences).to.equal(undefined);
    });

    it('a dependent whose owner uid does not match the object of that name is deleted (dangling)', async () => {
      await make('impostor');
      await make('dangling', {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'impostor', uid: '00000000-0000-0000-0000-000000000001' },
        ],
      });
      await gone('dangling');
      expect((await api(s.url, 'GET', `${base}/impostor`)).status).to.equal(200);
    });

    it('a dependent with one live owner loses only the reference to the missing one', async () => {
      const owner = await make('live-owner');
      const refs = [
        ...ownedBy(owner).ownerReferences,
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'never-was', uid: '00000000-0000-0000-0000-000000000002' },
      ];
      await make('two-owners', { ownerReferences: refs });
      const kept = await waitFor(
        'missing reference removed',
        () => api(s.url, 'GET', `${base}/two-owners`),
        (r) => r.body.metadata.ownerReferences?.length === 1,
      );
      expect(kept.body.metadata.ownerReferences[0].uid).to.equal(owner.metadata.uid);
    });

    it('an owner in another namespace is no owner: a warning event, and the dependent is collected', async () => {
      const owner = await make('far-owner', {}, 'other');
      await make('far-child', ownedBy(owner));
      await gone('far-child');
      const events = await waitFor(
        'OwnerRefInvalidNamespace event',
        () => api(s.url, 'GET', '/api/v1/namespaces/default/events?fieldSelector=reason%3DOwnerRefInvalidNamespace'),
        (r) => r.body.items?.length > 0,
      );
      const e = events.body.items[0];
      expect(e).to.deep.include({ type: 'Warning', source: { component: 'garbage-collector-controller' } });
      expect(e.involvedObject).to.include({ kind: 'ConfigMap', name: 'far-child', namespace: 'default' });
      expect(e.message).to.equal(
        `ownerRef [v1/ConfigMap, namespace: default, name: far-owner, uid: ${owner.metadata.uid}] does not exist in namespace "default"`,
      );
      expect((await api(s.url, 'GET', '/api/v1/namespaces/other/configmaps/far-owner')).status).to.equal(200);
    });
  });
});
