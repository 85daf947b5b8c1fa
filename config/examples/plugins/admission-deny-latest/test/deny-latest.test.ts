/**
 * The example admission plugin in a real server, loaded by path as an operator would: a pod whose
 * image is `:latest` or has no tag is refused with upstream's 403 Status; a pinned one is created; an
 * update may keep an image the pod already had.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../../../../test/helpers/server.js';
import { floatingTag } from '../index.js';

const PLUGIN = new URL('..', import.meta.url).pathname;
const PODS = '/api/v1/namespaces/default/pods';
const pod = (name: string, image: string, initImage?: string) => ({
  metadata: { name },
  spec: {
    containers: [{ name: 'app', image }],
    ...(initImage ? { initContainers: [{ name: 'init', image: initImage }] } : {}),
  },
});

describe('example plugin admission-deny-latest', () => {
  it('tells floating tags from pinned ones, as image references are written', () => {
    for (const image of ['nginx', 'nginx:latest', 'registry.local:5000/nginx', 'ghcr.io/org/app:latest'])
      expect(floatingTag(image), image).to.equal(true);
    for (const image of ['nginx:1.27', 'registry.local:5000/nginx:1.2', 'nginx@sha256:abc', 'nginx:latest@sha256:abc'])
      expect(floatingTag(image), image).to.equal(false);
  });

  describe('in a real server', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ plugins: { 'admission-deny-latest': { path: PLUGIN } } });
    });
    after(() => s?.close());

    it('refuses a :latest image with a 403 Status naming the container and the image', async () => {
      const refused = await api(s.url, 'POST', PODS, pod('web', 'nginx:latest'));
      expect(refused.status).to.equal(403);
      expect(refused.body).to.deep.include({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 });
      expect(refused.body.details).to.deep.equal({ name: 'web', kind: 'pods' });
      expect(refused.body.message).to.equal(
        'pods "web" is forbidden: container "app" image "nginx:latest" has no tag or the :latest tag; pin a version',
      );
      expect((await api(s.url, 'GET', `${PODS}/web`)).status).to.equal(404);
    });

    it('refuses an image without a tag, in an init container too', async () => {
      const refused = await api(s.url, 'POST', PODS, pod('web', 'nginx:1.27', 'busybox'));
      expect(refused.status).to.equal(403);
      expect(refused.body.message).to.contain('container "init" image "busybox" has no tag');
    });

    it('creates a pod whose images are pinned, and refuses changing one to :latest', async () => {
      const created = await api(s.url, 'POST', PODS, pod('pinned', 'nginx:1.27', 'busybox@sha256:0123'));
      expect(created.status).to.equal(201);
      const patch = { spec: { containers: [{ name: 'app', image: 'nginx:latest' }] } };
      const changed = await api(s.url, 'PATCH', `${PODS}/pinned`, patch, {
        'Content-Type': 'application/strategic-merge-patch+json',
      });
      expect(changed.status).to.equal(403);
      expect(changed.body.message).to.contain('image "nginx:latest" has no tag or the :latest tag');
    });
  });

  it('lets an update keep an image the pod had before the plugin was on', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'skiff-deny-latest-'));
    try {
      const before = await startTestServer({ storage: 'sqlite', dataDir });
      try {
        expect((await api(before.url, 'POST', PODS, pod('old', 'nginx'))).status).to.equal(201);
      } finally {
        await before.close();
      }
      const after = await startTestServer({
        storage: 'sqlite',
        dataDir,
        plugins: { 'admission-deny-latest': { path: PLUGIN } },
      });
      try {
        const labelled = await api(
          after.url,
          'PATCH',
          `${PODS}/old`,
          { metadata: { labels: { team: 'a' } } },
          {
            'Content-Type': 'application/merge-patch+json',
          },
        );
        expect(labelled.status).to.equal(200);
        expect(labelled.body.metadata.labels).to.deep.equal({ team: 'a' });
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
