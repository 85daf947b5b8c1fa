/** @kubernetes/client-node 1.4 against a real server on loopback: CRUD, watch, and an informer across a restart. */
import { rmSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';

function kubeConfig(url: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'skiff', server: url, skipTLSVerify: true }],
    users: [{ name: 'anyone' }],
    contexts: [{ name: 'skiff', cluster: 'skiff', user: 'anyone' }],
    currentContext: 'skiff',
  });
  return kc;
}

async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('e2e: @kubernetes/client-node', function () {
  this.timeout(60_000);

  describe('CRUD and watch', () => {
    let ts: TestServer;
    let core: k8s.CoreV1Api;
    before(async () => {
      ts = await startTestServer({ storage: 'sqlite' });
      core = kubeConfig(ts.url).makeApiClient(k8s.CoreV1Api);
    });
    after(async () => ts?.close());

    it('creates, reads, replaces, patches and deletes', async () => {
      const created = await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'settings', labels: { app: 'demo' } }, data: { mode: 'fast' } },
      });
      expect(created.metadata?.uid).to.be.a('string');
      const read = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'default' });
      expect(read.data).to.deep.equal({ mode: 'fast' });
      read.data = { mode: 'slow' };
      const replaced = await core.replaceNamespacedConfigMap({ name: 'settings', namespace: 'default', body: read });
      expect(Number(replaced.metadata?.resourceVersion)).to.be.greaterThan(Number(read.metadata?.resourceVersion));
      const stale = await core.replaceNamespacedConfigMap({ name: 'settings', namespace: 'default', body: read }).then(
        () => undefined,
        (e: { code?: number }) => e.code,
      );
      expect(stale).to.equal(409);
      const patched = await core.patchNamespacedConfigMap(
        { name: 'settings', namespace: 'default', body: { data: { extra: 'yes' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      expect(patched.data).to.deep.equal({ mode: 'slow', extra: 'yes' });
      const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=demo' });
      expect(list.items.map((i) => i.metadata?.name)).to.deep.equal(['settings']);
      await core.deleteNamespacedConfigMap({ name: 'settings', namespace: 'default' });
      const gone = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'default' }).then(
        () => 200,
        (e: { code?: number }) => e.code,
      );
      expect(gone).to.equal(404);
    });

    it('watches ADDED, MODIFIED and DELETED in order', async () => {
      const events: string[] = [];
      const watch = new k8s.Watch(kubeConfig(ts.url));
      const req = await watch.watch(
        '/api/v1/namespaces/default/configmaps',
        { resourceVersion: (await core.listNamespacedConfigMap({ namespace: 'default' })).metadata?.resourceVersion },
        (phase, obj) => events.push(`${phase} ${obj.metadata.name}`),
        () => {},
      );
      try {
        await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w1' } } });
        await core.patchNamespacedConfigMap(
          { name: 'w1', namespace: 'default', body: { data: { a: 'b' } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        await core.deleteNamespacedConfigMap({ name: 'w1', namespace: 'default' });
        await until(() => events.length >= 3);
        expect(events).to.deep.equal(['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
      } finally {
        req.abort();
      }
    });
  });

  describe('informer across a server restart', () => {
    let ts: TestServer | undefined;
    let dataDir = '';
    after(async () => {
      await ts?.close({ keepData: true });
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('ends with the same objects as the server and misses no event', async () => {
      ts = await startTestServer({ storage: 'sqlite' });
      dataDir = ts.dataDir;
      const port = ts.port;
      const kc = kubeConfig(ts.url);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
        core.listNamespacedConfigMap({ namespace: 'default' }),
      );
      const seen: string[] = [];
      informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
      informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.data?.v ?? ''}`));
      informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
      let restarts = 0;
      informer.on('error', () => {
        restarts++;
        setTimeout(() => void informer.start(), 200);
      });
      await informer.start();
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'a' }, data: { v: '1' } },
      });
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'b' }, data: { v: '1' } },
      });
      await until(() => seen.length === 2);

      await ts.close({ keepData: true });
      ts = await startTestServer({ storage: 'sqlite', dataDir, port });
      const core2 = kubeConfig(ts.url).makeApiClient(k8s.CoreV1Api);
      await core2.replaceNamespacedConfigMap({
        name: 'a',
        namespace: 'default',
        body: { metadata: { name: 'a' }, data: { v: '2' } },
      });
      await core2.deleteNamespacedConfigMap({ name: 'b', namespace: 'default' });
      await core2.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'c' }, data: { v: '1' } },
      });
      await until(() => seen.length >= 5, 20_000);
      await informer.stop();

      expect(restarts).to.be.greaterThan(0);
      expect(seen).to.deep.equal(['add a', 'add b', 'update a 2', 'delete b', 'add c']);
      const server = await core2.listNamespacedConfigMap({ namespace: 'default' });
      const names = (objs: readonly { metadata?: { name?: string; resourceVersion?: string } }[]) =>
        objs.map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`).sort();
      expect(names(informer.list('default'))).to.deep.equal(names(server.items));
    });
  });
});
