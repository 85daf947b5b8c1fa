/**
 * --watch-cache-sizes: a resource sized 0 has no watch cache and is read and watched straight from
 * storage (upstream's default for events), with the same answers a cached resource gives.
 */
import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { SkiffError } from '../../../core/errors.js';
import {
  checkWatchCacheSizes,
  parseWatchCacheSizes,
  watchCacheSizeOf,
} from '../../../plugins/api-watch-cache/sizes.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';
import { readWatchEvents } from '../../helpers/watch-events.js';

const NS = 'uncached';
const event = (name: string, pod: string, reason = 'Scheduled') => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name },
  involvedObject: { kind: 'Pod', namespace: NS, name: pod },
  reason,
  message: `about ${pod}`,
  type: 'Normal',
});

describe('api-watch-cache: watch cache sizes', function () {
  this.timeout(30_000);

  for (const storage of ['memory', 'sqlite'] as const)
    describe(`events (no watch cache by default, as upstream), ${storage} storage`, () => {
      let ts: TestServer;
      const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
        api(ts.url, method, path, body, headers);
      const events = `/api/v1/namespaces/${NS}/events`;

      before(async () => {
        ts = await startTestServer({ storage });
        await call('POST', '/api/v1/namespaces', { metadata: { name: NS } });
        for (const [name, pod] of [
          ['e1', 'a'],
          ['e2', 'b'],
          ['e3', 'a'],
        ])
          expect((await call('POST', events, event(name!, pod!))).status).to.equal(201);
      });
      after(() => ts?.close());

      it('keeps no copy in memory: the in-process peek finds nothing, GET and LIST read storage', async () => {
        expect(ts.server.api.cached.peek('', 'v1', 'events', NS, 'e1')).to.equal(undefined);
        const got = await call('GET', `${events}/e1`);
        expect(got.status).to.equal(200);
        expect(got.body.metadata.resourceVersion).to.match(/^\d+$/);
        const list = await call('GET', events);
        expect(list.body.items.map((e: { metadata: { name: string } }) => e.metadata.name)).to.deep.equal([
          'e1',
          'e2',
          'e3',
        ]);
        expect(Number(list.body.metadata.resourceVersion)).to.be.at.least(Number(got.body.metadata.resourceVersion));
        expect((await call('GET', `${events}/nope`)).status).to.equal(404);
      });

      it('pages with limit and continue, and filters by field selector, as kubectl describe asks', async () => {
        const first = await call('GET', `${events}?limit=2`);
        expect(first.body.items).to.have.length(2);
        expect(first.body.metadata.remainingItemCount).to.equal(1);
        const rest = await call('GET', `${events}?limit=2&continue=${first.body.metadata.continue}`);
        expect(rest.body.items.map((e: { metadata: { name: string } }) => e.metadata.name)).to.deep.equal(['e3']);
        expect(rest.body.metadata.resourceVersion).to.equal(first.body.metadata.resourceVersion);
        const aboutA = await call('GET', `${events}?fieldSelector=involvedObject.name%3Da`);
        expect(aboutA.body.items.map((e: { metadata: { name: string } }) => e.metadata.name)).to.deep.equal([
          'e1',
          'e3',
        ]);
      });

      it('a resourceVersion storage has not reached is the 504 a cached read gives', async () => {
        const res = await call('GET', `${events}?resourceVersion=99999999`);
        expect(res.status).to.equal(504);
        expect(res.body.details.causes[0].reason).to.equal('ResourceVersionTooLarge');
      });

      it('a watch without resourceVersion lists what exists, then streams changes in its namespace', async () => {
        const seen = await readWatchEvents(`${ts.url}${events}?watch=1`, 5, async () => {
          await call('POST', '/api/v1/namespaces', { metadata: { name: 'elsewhere' } });
          await call('POST', '/api/v1/namespaces/elsewhere/events', event('other', 'x'));
          await call('POST', events, event('e4', 'c'));
          await call('DELETE', `${events}/e4`);
        });
        expect(seen.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal([
          'ADDED e1',
          'ADDED e2',
          'ADDED e3',
          'ADDED e4',
          'DELETED e4',
        ]);
      });

      it('a watch from a resourceVersion replays what came after it, through its field selector', async () => {
        const from = (await call('GET', events)).body.metadata.resourceVersion;
        await call('PATCH', `${events}/e2`, { message: 'changed' }, { 'Content-Type': 'application/merge-patch+json' });
        await call('PATCH', `${events}/e3`, { message: 'changed' }, { 'Content-Type': 'application/merge-patch+json' });
        const seen = await readWatchEvents(
          `${ts.url}${events}?watch=1&resourceVersion=${from}&fieldSelector=involvedObject.name%3Da`,
          1,
        );
        expect(seen.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.message}`)).to.deep.equal([
          'MODIFIED e3 changed',
        ]);
      });
    });

  describe('sizes from the config file', () => {
    it('events#100 turns their cache on; pods#0 serves pods from storage, watches included', async () => {
      const ts = await startTestServer({ watchCacheSizes: { events: 100, pods: 0 } });
      try {
        await api(ts.url, 'POST', '/api/v1/namespaces', { metadata: { name: NS } });
        await api(ts.url, 'POST', `/api/v1/namespaces/${NS}/events`, event('cached', 'a'));
        expect(ts.server.api.cached.peek('', 'v1', 'events', NS, 'cached')?.metadata.name).to.equal('cached');
        const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
        expect((await api(ts.url, 'POST', `/api/v1/namespaces/${NS}/pods`, pod)).status).to.equal(201);
        expect(ts.server.api.cached.peek('', 'v1', 'pods', NS, 'p')).to.equal(undefined);
        const seen = await readWatchEvents(`${ts.url}/api/v1/pods?watch=1&resourceVersion=0`, 2, async () => {
          await api(ts.url, 'DELETE', `/api/v1/namespaces/${NS}/pods/p`);
        });
        expect(seen.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED p', 'DELETED p']);
        // Leaving a watch's selection is a DELETED for that watch, as from the cache.
        const pods = `/api/v1/namespaces/${NS}/pods`;
        await api(ts.url, 'POST', pods, { ...pod, metadata: { name: 'q', labels: { app: 'x' } } });
        const from = (await api(ts.url, 'GET', pods)).body.metadata.resourceVersion;
        const merge = { 'Content-Type': 'application/merge-patch+json' };
        await api(ts.url, 'PATCH', `${pods}/q`, { metadata: { labels: { app: 'y' } } }, merge);
        const left = await readWatchEvents(`${ts.url}${pods}?watch=1&resourceVersion=${from}&labelSelector=app%3Dx`, 1);
        expect(left.map((e) => `${e.type} ${e.object.metadata.labels?.app}`)).to.deep.equal(['DELETED x']);
      } finally {
        await ts.close();
      }
    });

    it('watchCacheSize 0 (--default-watch-cache-size 0): only resources sized of their own have a cache; controllers run on storage watches', async () => {
      const ts = await startTestServer({
        watchCacheSize: 0,
        watchCacheSizes: { namespaces: 10 },
        role: 'up',
        plugins: { 'authz-bootstrap-roles': {}, 'controller-replication': {} },
      });
      try {
        await api(ts.url, 'POST', '/api/v1/namespaces', { metadata: { name: NS } });
        expect(ts.server.api.cached.peek('', 'v1', 'namespaces', '', NS)?.metadata.name).to.equal(NS);
        const rcs = `/api/v1/namespaces/${NS}/replicationcontrollers`;
        const labels = { app: 'from-storage' };
        const template = { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
        const rc = { metadata: { name: 'rc' }, spec: { replicas: 2, selector: labels, template } };
        expect((await api(ts.url, 'POST', rcs, rc)).status).to.equal(201);
        // The controller's informers list and watch pods and RCs straight from storage.
        const pods = await waitFor(
          'the controller to create 2 pods',
          async () => (await api(ts.url, 'GET', `/api/v1/namespaces/${NS}/pods`)).body.items as KubeObject[],
          (items) => items.length === 2,
        );
        for (const pod of pods)
          expect(ts.server.api.cached.peek('', 'v1', 'pods', NS, pod.metadata.name!)).to.equal(undefined);
        expect(ts.server.api.cached.peek('', 'v1', 'replicationcontrollers', NS, 'rc')).to.equal(undefined);
        const status = await waitFor(
          'the RC status',
          async () => (await api(ts.url, 'GET', `${rcs}/rc`)).body.status,
          (st) => st?.replicas === 2,
        );
        expect(status.replicas).to.equal(2);
      } finally {
        await ts.close();
      }
    });

    it('a size for a resource the server does not serve stops start-up with a coded error', async () => {
      let failure: unknown;
      await startTestServer({ watchCacheSizes: { event: 0 } }).then(
        (ts) => ts.close(),
        (err: unknown) => {
          failure = err;
        },
      );
      expect(failure).to.be.instanceOf(SkiffError);
      expect((failure as SkiffError).code).to.equal('SKIFF_WATCH_CACHE_SIZES_UNKNOWN_RESOURCE');
      expect((failure as SkiffError).message).to.include('event');
    });
  });

  describe('the flag and the lookup', () => {
    it('parses upstream syntax, resource[.group]#size, and refuses anything else', () => {
      expect(parseWatchCacheSizes('events#0, pods#5000,deployments.apps#10')).to.deep.equal({
        events: 0,
        pods: 5000,
        'deployments.apps': 10,
      });
      for (const bad of ['events', 'events#', 'events#-1', 'Pods#1', '#3', 'pods=1'])
        expect(() => parseWatchCacheSizes(bad), bad).to.throw(SkiffError, 'invalid watch cache size');
    });

    it('the operator wins over the built-in events#0; other resources take the default', () => {
      const sizes = { default: 1000, byResource: {} };
      expect(watchCacheSizeOf({ plural: 'events', group: '' }, sizes)).to.equal(0);
      expect(watchCacheSizeOf({ plural: 'events', group: 'events.k8s.io' }, sizes)).to.equal(0);
      expect(watchCacheSizeOf({ plural: 'pods', group: '' }, sizes)).to.equal(1000);
      const sized = { default: 1000, byResource: { events: 50, 'deployments.apps': 0 } };
      expect(watchCacheSizeOf({ plural: 'events', group: '' }, sized)).to.equal(50);
      expect(watchCacheSizeOf({ plural: 'deployments', group: 'apps' }, sized)).to.equal(0);
      expect(() => checkWatchCacheSizes(sized, [])).to.throw(SkiffError, 'events, deployments.apps');
    });
  });
});
