/**
 * api-server-side-apply as a plugin, against real servers on loopback: with it, apply patches and
 * managedFields work through `ctx.provide.fieldManager`; without it, an apply patch gets upstream's
 * answer for a patch type the route does not serve (415 listing the served ones), other patches
 * and writes work as before and record no managedFields; a second field manager stops start-up.
 */
import { expect } from 'chai';
import { definePlugin, type FieldManager, SkiffError } from '../../../core/sdk/index.js';
import { setUpFailure } from '../../helpers/prepare.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };
const MERGE = { 'Content-Type': 'application/merge-patch+json' };
const cm = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

describe('plugins/api-server-side-apply', function () {
  this.timeout(20_000);

  describe('enabled', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer();
    });
    after(() => s.close());

    it('an apply creates the object with an Apply entry; a merge patch adds an Update entry', async () => {
      const created = await api(s.url, 'PATCH', `${CONFIGMAPS}/on?fieldManager=tool`, cm('on', { a: '1' }), APPLY);
      expect(created.status).to.equal(201);
      expect(created.body.metadata.managedFields.map((e: { operation: string }) => e.operation)).to.deep.equal([
        'Apply',
      ]);
      const patched = await api(s.url, 'PATCH', `${CONFIGMAPS}/on?fieldManager=editor`, { data: { b: '2' } }, MERGE);
      expect(patched.status).to.equal(200);
      const entries = patched.body.metadata.managedFields as { manager: string; operation: string }[];
      expect(entries.map((e) => `${e.manager}/${e.operation}`)).to.deep.equal(['tool/Apply', 'editor/Update']);
    });

    it('a status write is recorded apart: its manager owns only .status, under subresource status', async () => {
      const NODES = '/api/v1/nodes';
      const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { a: 'b' } }, spec: {} };
      expect((await api(s.url, 'POST', `${NODES}?fieldManager=admin`, node)).status).to.equal(201);
      const status = { status: { capacity: { pods: '10' }, conditions: [{ type: 'Ready', status: 'True' }] } };
      const patched = await api(s.url, 'PATCH', `${NODES}/n1/status?fieldManager=kubelet`, status, MERGE);
      expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
      const entries = patched.body.metadata.managedFields as Record<string, unknown>[];
      const kubelet = entries.find((e) => e.manager === 'kubelet')!;
      expect(kubelet).to.include({ operation: 'Update', subresource: 'status', apiVersion: 'v1' });
      expect(Object.keys(kubelet.fieldsV1 as object)).to.deep.equal(['f:status']);
      expect(Object.keys((kubelet.fieldsV1 as Record<string, object>)['f:status']!)).to.include.members([
        'f:capacity',
        'f:conditions',
      ]);
      const admin = entries.find((e) => e.manager === 'admin')!;
      expect(admin).to.not.have.property('subresource');
      expect(admin.fieldsV1).to.not.have.property('f:status');
      // A main-resource write of status changes nothing there, and so records nothing for it.
      const label = await api(
        s.url,
        'PATCH',
        `${NODES}/n1?fieldManager=editor`,
        { metadata: { labels: { c: 'd' } } },
        MERGE,
      );
      const after = label.body.metadata.managedFields as Record<string, unknown>[];
      expect(after.find((e) => e.manager === 'kubelet')).to.deep.equal(kubelet);
    });
  });

  describe('disabled', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ plugins: { 'api-server-side-apply': { enabled: false } } });
    });
    after(() => s.close());

    it('an apply patch is 415 UnsupportedMediaType, listing the patch types that are served', async () => {
      const r = await api(s.url, 'PATCH', `${CONFIGMAPS}/off?fieldManager=tool`, cm('off', { a: '1' }), APPLY);
      expect(r.status).to.equal(415);
      expect(r.body.reason).to.equal('UnsupportedMediaType');
      expect(r.body.message).to.equal(
        'the body of the request was in an unknown format (application/apply-patch+yaml) - accepted media types include: ' +
          'application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json',
      );
      // Nothing was created.
      expect((await api(s.url, 'GET', `${CONFIGMAPS}/off`)).status).to.equal(404);
    });

    it('an apply patch to a subresource is 415 too', async () => {
      await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'ssa-off' } });
      const r = await api(
        s.url,
        'PATCH',
        '/api/v1/namespaces/ssa-off/status?fieldManager=tool',
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ssa-off' }, status: { phase: 'Active' } },
        APPLY,
      );
      expect(r.status).to.equal(415);
    });

    it('writes record no managedFields; the other patch types work', async () => {
      const created = await api(s.url, 'POST', `${CONFIGMAPS}?fieldManager=tool`, cm('plain', { a: '1' }));
      expect(created.status).to.equal(201);
      expect(created.body.metadata).to.not.have.property('managedFields');
      const patched = await api(s.url, 'PATCH', `${CONFIGMAPS}/plain`, { data: { b: '2' } }, MERGE);
      expect(patched.status).to.equal(200);
      expect(patched.body.data).to.deep.equal({ a: '1', b: '2' });
      expect(patched.body.metadata).to.not.have.property('managedFields');
      // Patch options are still checked as upstream's: force is for apply patches only.
      const forced = await api(s.url, 'PATCH', `${CONFIGMAPS}/plain?force=true`, { data: { c: '3' } }, MERGE);
      expect(forced.status).to.equal(422);
    });
  });

  it('a second plugin offering a field manager stops set-up with a coded error', async () => {
    const other = definePlugin({
      name: 'other-field-manager',
      description: 'offers a second field manager',
      setup: (ctx) => ctx.provide.fieldManager({} as FieldManager),
    });
    const err = await setUpFailure({ 'api-server-side-apply': {} }, other);
    expect(err).to.be.instanceOf(SkiffError);
    expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_FIELD_MANAGER_DUPLICATE');
    expect((err as SkiffError).message).to.contain('plugin "api-server-side-apply" already offers one');
  });
});
