/**
 * api-watch-cache as a plugin: on, reads come from memory; off (upstream's --watch-cache=false),
 * every GET, LIST and WATCH is served from storage with the same answers; a second provider of
 * watch caches stops set-up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { definePlugin, SkiffError } from '../../../core/sdk/index.js';
import { setUpFailure } from '../../helpers/prepare.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { spawnSkiff } from '../../helpers/skiff-process.js';
import { tempDir } from '../../helpers/temp-dirs.js';
import { readWatchEvents } from '../../helpers/watch-events.js';

const NS = 'cacheless';
const cm = (name: string, data = 'a') => ({ metadata: { name }, data: { k: data } });

describe('api-watch-cache: the plugin', function () {
  this.timeout(30_000);

  describe('turned off (enabled: false)', () => {
    let ts: TestServer;
    const cms = `/api/v1/namespaces/${NS}/configmaps`;

    before(async () => {
      ts = await startTestServer({ storage: 'sqlite', plugins: { 'api-watch-cache': { enabled: false } } });
      await api(ts.url, 'POST', '/api/v1/namespaces', { metadata: { name: NS } });
    });
    after(() => ts?.close());

    it('no resource has a cache, and GET and LIST read their own writes from storage', async () => {
      expect((await api(ts.url, 'POST', cms, cm('one'))).status).to.equal(201);
      expect(ts.server.api.cached.peek('', 'v1', 'configmaps', NS, 'one')).to.equal(undefined);
      expect(ts.server.api.cached.peek('', 'v1', 'namespaces', '', NS)).to.equal(undefined);
      const put = await api(ts.url, 'PUT', `${cms}/one`, { ...cm('one', 'b') });
      expect(put.status).to.equal(200);
      expect((await api(ts.url, 'GET', `${cms}/one`)).body.data.k).to.equal('b');
      const list = await api(ts.url, 'GET', cms);
      expect(list.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).to.deep.equal(['one']);
      expect(Number(list.body.metadata.resourceVersion)).to.be.at.least(Number(put.body.metadata.resourceVersion));
    });

    it('a watch lists, then follows; one resumed from a resourceVersion replays what came after it', async () => {
      const from = (await api(ts.url, 'GET', cms)).body.metadata.resourceVersion;
      const live = await readWatchEvents(`${ts.url}${cms}?watch=1`, 2, async () => {
        await api(ts.url, 'POST', cms, cm('two'));
      });
      expect(live.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED one', 'ADDED two']);
      const resumed = await readWatchEvents(`${ts.url}${cms}?watch=1&resourceVersion=${from}`, 1);
      expect(resumed.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED two']);
    });
  });

  it('on: objects are served from memory (the cache holds what was written)', async () => {
    const ts = await startTestServer();
    try {
      await api(ts.url, 'POST', '/api/v1/namespaces', { metadata: { name: NS } });
      await api(ts.url, 'POST', `/api/v1/namespaces/${NS}/configmaps`, cm('held'));
      expect(ts.server.api.cached.peek('', 'v1', 'configmaps', NS, 'held')?.metadata.name).to.equal('held');
    } finally {
      await ts.close();
    }
  });

  it("skiff up's --default-watch-cache-size 0 and --watch-cache-sizes reach the plugin: only what is sized is cached", async () => {
    const up = spawnSkiff([
      'up',
      '--config',
      'config/examples/minimal-memory.yaml',
      '--insecure-port',
      'auto',
      '--data-dir',
      tempDir('skiff-watch-cache-'),
      '--default-watch-cache-size',
      '0',
      '--watch-cache-sizes',
      'namespaces#5,leases.coordination.k8s.io#5',
    ]);
    try {
      const filled = await up.waitForLine('the watch cache summary', (l) => l.msg === 'watch caches filled');
      expect(filled.cached).to.equal(2);
      expect(filled.fromStorage).to.include.members(['pods', 'configmaps', 'events']);
      expect(filled.fromStorage).not.to.include.members(['namespaces']);
    } finally {
      up.child.kill('SIGTERM');
      expect(await up.exited()).to.equal(0);
    }
  });

  it('skiff up --watch-cache=false turns the plugin off whatever the file says; --watch-cache turns it on', async () => {
    const plugins = async (flag: string, config = 'config/examples/minimal-memory.yaml') => {
      const up = spawnSkiff([
        'up',
        '--config',
        config,
        '--insecure-port',
        'auto',
        '--data-dir',
        tempDir('skiff-watch-cache-'),
        flag,
      ]);
      try {
        const loaded = await up.waitForLine('the plugins loaded', (l) => l.msg === 'plugins loaded');
        await up.waitForLine('ready', (l) => l.msg === 'ready');
        return loaded.plugins as string[];
      } finally {
        up.child.kill('SIGTERM');
        expect(await up.exited()).to.equal(0);
      }
    };
    const off = await plugins('--watch-cache=false');
    expect(off).to.not.include('api-watch-cache');
    expect(off).to.include('api-core-v1');
    // A file that leaves the plugin out: the flag alone turns it on.
    const without = join(tempDir('skiff-watch-cache-'), 'no-cache.yaml');
    const file = readFileSync('config/examples/minimal-memory.yaml', 'utf8');
    writeFileSync(without, file.replace(/^\s*api-watch-cache:.*$/m, ''));
    expect(await plugins('--watch-cache=true', without)).to.include('api-watch-cache');
    expect(await plugins('--watch-cache=false', without)).to.not.include('api-watch-cache');
  });

  it('a second plugin offering watch caches stops set-up with a coded error', async () => {
    const other = definePlugin({
      name: 'other-watch-cache',
      description: 'offers watch caches too',
      setup: (ctx) => ctx.provide.resourceCache(() => undefined),
    });
    const err = await setUpFailure({ 'api-watch-cache': {} }, other);
    expect(err).to.be.instanceOf(SkiffError);
    expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_RESOURCE_CACHE_DUPLICATE');
    expect((err as SkiffError).message).to.contain('plugin "api-watch-cache" already offers them');
  });
});
