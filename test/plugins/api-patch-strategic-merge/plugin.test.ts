/**
 * api-patch-json and api-patch-strategic-merge as plugins, against real servers on loopback: with
 * them, the three non-apply patch types work through `ctx.provide.patchType`; without one, a patch
 * of its types gets upstream's answer for a patch type the server does not serve (415 listing the
 * served ones, in upstream's order), over HTTP and in-process alike; a second provider of a type,
 * or one core cannot serve, stops start-up.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { CORE_V1 } from '../../../core/client/types.js';
import { loadConfigFromObject } from '../../../core/config/load.js';
import { definePlugin, type PatchTypeProvider, SkiffError } from '../../../core/sdk/index.js';
import { preparePlugins } from '../../../core/server/server.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const JSON_PATCH = { 'Content-Type': 'application/json-patch+json' };
const MERGE = { 'Content-Type': 'application/merge-patch+json' };
const STRATEGIC = { 'Content-Type': 'application/strategic-merge-patch+json' };
const UNKNOWN_FORMAT = 'the body of the request was in an unknown format';
const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });

async function prepareWith(provider: PatchTypeProvider): Promise<unknown> {
  const config = await loadConfigFromObject(
    {
      server: { securePort: 0, storageBackend: 'memory' },
      plugins: { 'storage-memory': {}, 'api-patch-json': {}, 'api-patch-strategic-merge': {} },
    },
    '(test)',
  );
  const other = definePlugin({
    name: 'other-patch-type',
    description: 'offers a patch type',
    setup: (ctx) => ctx.provide.patchType(provider),
  });
  const loaded = { name: other.name, manifest: other, config: {}, source: '(test)', failurePolicy: 'Fail' as const };
  return preparePlugins({
    config: { ...config, plugins: [...config.plugins, { ...loaded, timeoutSeconds: 10 }] },
    role: 'check',
    logger: pino({ level: 'silent' }),
  }).catch((e: unknown) => e);
}

describe('plugins/api-patch-json and api-patch-strategic-merge', function () {
  this.timeout(20_000);

  describe('enabled', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer();
      expect((await api(s.url, 'POST', CONFIGMAPS, cm('on'))).status).to.equal(201);
    });
    after(() => s.close());

    it('serve JSON, merge and strategic merge patches', async () => {
      const ops = [{ op: 'add', path: '/data/b', value: '2' }];
      expect((await api(s.url, 'PATCH', `${CONFIGMAPS}/on`, ops, JSON_PATCH)).body.data).to.deep.equal({
        a: '1',
        b: '2',
      });
      const merged = await api(s.url, 'PATCH', `${CONFIGMAPS}/on`, { data: { b: null, c: '3' } }, MERGE);
      expect(merged.body.data).to.deep.equal({ a: '1', c: '3' });
      const strategic = await api(s.url, 'PATCH', `${CONFIGMAPS}/on`, { data: { d: '4' } }, STRATEGIC);
      expect(strategic.body.data).to.deep.equal({ a: '1', c: '3', d: '4' });
    });
  });

  describe('without the patch plugins', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({
        plugins: { 'api-patch-json': { enabled: false }, 'api-patch-strategic-merge': { enabled: false } },
      });
      expect((await api(s.url, 'POST', CONFIGMAPS, cm('off'))).status).to.equal(201);
    });
    after(() => s.close());

    it('a merge patch is 415 UnsupportedMediaType, listing the patch types that are served', async () => {
      const r = await api(s.url, 'PATCH', `${CONFIGMAPS}/off`, { data: { b: '2' } }, MERGE);
      expect(r.status).to.equal(415);
      expect(r.body.reason).to.equal('UnsupportedMediaType');
      expect(r.body.message).to.equal(
        `${UNKNOWN_FORMAT} (application/merge-patch+json) - accepted media types include: application/apply-patch+yaml`,
      );
      // Nothing changed.
      expect((await api(s.url, 'GET', `${CONFIGMAPS}/off`)).body.data).to.deep.equal({ a: '1' });
    });

    it('JSON and strategic merge patches, to a subresource too, and patches in-process are 415 as well', async () => {
      expect((await api(s.url, 'PATCH', `${CONFIGMAPS}/off`, [], JSON_PATCH)).status).to.equal(415);
      expect((await api(s.url, 'PATCH', `${CONFIGMAPS}/off`, {}, STRATEGIC)).status).to.equal(415);
      await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'patch-off' } });
      const status = await api(s.url, 'PATCH', '/api/v1/namespaces/patch-off/status', { status: {} }, MERGE);
      expect(status.status).to.equal(415);
      const inProcess = await s.server
        .client()
        .patch(CORE_V1('configmaps'), 'default', 'off', 'merge', { data: { b: '2' } })
        .catch((e: unknown) => e);
      expect(inProcess).to.have.property('code', 415);
    });

    it('server-side apply still works', async () => {
      const r = await api(s.url, 'PATCH', `${CONFIGMAPS}/applied?fieldManager=tool`, cm('applied'), {
        'Content-Type': 'application/apply-patch+yaml',
      });
      expect(r.status).to.equal(201);
    });
  });

  it('without api-patch-json only, a JSON patch is 415 listing the others in upstream order', async () => {
    const s = await startTestServer({ plugins: { 'api-patch-json': { enabled: false } } });
    try {
      const r = await api(s.url, 'PATCH', `${CONFIGMAPS}/any`, [], JSON_PATCH);
      expect(r.status).to.equal(415);
      expect(r.body.message).to.equal(
        `${UNKNOWN_FORMAT} (application/json-patch+json) - accepted media types include: ` +
          'application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
      );
    } finally {
      await s.close();
    }
  });

  it('a second plugin offering a patch type, or one core cannot serve, stops set-up with a coded error', async () => {
    const apply = () => ({});
    const twice = await prepareWith({ type: 'merge', mediaType: 'application/merge-patch+json', apply });
    expect(twice).to.be.instanceOf(SkiffError);
    expect((twice as SkiffError).code).to.equal('SKIFF_PLUGIN_PATCH_TYPE_DUPLICATE');
    expect((twice as SkiffError).message).to.contain('plugin "api-patch-strategic-merge" already offers it');
    const wrong = await prepareWith({ type: 'json', mediaType: 'application/json', apply });
    expect((wrong as SkiffError).code).to.equal('SKIFF_PLUGIN_PATCH_TYPE');
    const apply415 = await prepareWith({ type: 'apply' as 'json', mediaType: 'application/apply-patch+yaml', apply });
    expect((apply415 as SkiffError).code).to.equal('SKIFF_PLUGIN_PATCH_TYPE');
  });
});
