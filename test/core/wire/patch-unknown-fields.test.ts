/**
 * Unknown fields in patches, as upstream: a merge, strategic-merge or JSON patch never stores a
 * field the schema lacks: Warn (the default) drops it with a Warning, Ignore drops it silently,
 * Strict refuses (422 on "patch"). A server-side apply patch is typed: an unknown field is a 400
 * whatever fieldValidation says. Over HTTP and with kubectl.
 */
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../../helpers/skip.js';

const PATH = '/api/v1/namespaces/default/configmaps';
const patchType = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

describe('wire: unknown fields in patches', function () {
  this.timeout(60_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
    await api(ts.url, 'POST', PATH, { metadata: { name: 'cm' }, data: { a: '1' } });
  });
  after(async () => ts?.close());

  const patch = (type: keyof typeof patchType, body: unknown, query = '') =>
    fetch(`${ts.url}${PATH}/cm${query}`, {
      method: 'PATCH',
      headers: { 'Content-Type': patchType[type] },
      body: JSON.stringify(body),
    });
  const stored = async () => (await api(ts.url, 'GET', `${PATH}/cm`)).body;

  it('Warn (the default): each patch kind drops the unknown field, says so, and stores the rest', async () => {
    const bodies = {
      merge: { bogus: 1, data: { b: '2' } },
      strategic: { metadata: { bogusmeta: 1 }, data: { c: '3' } },
      json: [
        { op: 'add', path: '/bogus', value: 1 },
        { op: 'add', path: '/data/d', value: '4' },
      ],
    };
    const warnings: Record<string, string | null> = {};
    for (const [type, body] of Object.entries(bodies)) {
      const r = await patch(type as keyof typeof patchType, body);
      expect(r.status, type).to.equal(200);
      warnings[type] = r.headers.get('warning');
    }
    expect(warnings.merge).to.contain('unknown field \\"bogus\\"');
    expect(warnings.strategic).to.contain('unknown field \\"metadata.bogusmeta\\"');
    expect(warnings.json).to.contain('unknown field \\"bogus\\"');
    const cm = await stored();
    expect(cm).to.not.have.property('bogus');
    expect(cm.metadata).to.not.have.property('bogusmeta');
    expect(cm.data).to.deep.equal({ a: '1', b: '2', c: '3', d: '4' });
  });

  it('Ignore drops it without a word', async () => {
    const r = await patch('merge', { bogus: 1 }, '?fieldValidation=Ignore');
    expect(r.status).to.equal(200);
    expect(r.headers.get('warning')).to.equal(null);
    expect(await stored()).to.not.have.property('bogus');
  });

  it('Strict refuses with upstream 422 on "patch": the patched object for merge, Go map text for strategic', async () => {
    const merge = await patch('merge', { bogus: 1 }, '?fieldValidation=Strict');
    expect(merge.status).to.equal(422);
    const mergeBody = (await merge.json()) as { message: string; details: { causes: { field: string }[] } };
    expect(mergeBody.message).to.match(
      /^ "" is invalid: patch: Invalid value: "\{.*\\"bogus\\":1.*\}": strict decoding error: unknown field "bogus"$/,
    );
    expect(mergeBody.details.causes[0]!.field).to.equal('patch');
    const strategic = await patch('strategic', { bogus: { z: [1, 'a'] } }, '?fieldValidation=Strict');
    expect(strategic.status).to.equal(422);
    expect(((await strategic.json()) as { message: string }).message).to.equal(
      ' "" is invalid: patch: Invalid value: "map[bogus:map[z:[1 a]]]": strict decoding error: unknown field "bogus"',
    );
    expect(await stored()).to.not.have.property('bogus');
  });

  it('server-side apply refuses an unknown field with 400 whatever fieldValidation says; nothing changes', async () => {
    const applied = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm', namespace: 'default' },
      bogus: 1,
      spec: {},
      data: { a: 'changed' },
    };
    for (const mode of ['Strict', 'Ignore']) {
      const r = await patch('apply', applied, `?fieldManager=trainer&fieldValidation=${mode}`);
      expect(r.status, mode).to.equal(400);
      expect(((await r.json()) as { message: string }).message).to.equal(
        'failed to create typed patch object (default/cm; /v1, Kind=ConfigMap): errors:\n  .bogus: field not declared in schema\n  .spec: field not declared in schema',
      );
    }
    expect((await stored()).data.a).to.equal('1');
  });

  it('server-side apply names a keyed list item by its key, as structured-merge-diff prints paths', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'typo', namespace: 'default' },
      spec: {
        containers: [
          { name: 'web', image: 'nginx', imagee: 'x', ports: [{ containerPort: 80, hostPorrt: 1 }] },
          { name: 'side', image: 'busybox' },
        ],
        tolerations: [{ key: 'k', operator: 'Exists', bogus: true }],
      },
    };
    const r = await fetch(`${ts.url}/api/v1/namespaces/default/pods/typo?fieldManager=trainer`, {
      method: 'PATCH',
      headers: { 'Content-Type': patchType.apply },
      body: JSON.stringify(pod),
    });
    expect(r.status).to.equal(400);
    expect(((await r.json()) as { message: string }).message).to.equal(
      'failed to create typed patch object (default/typo; /v1, Kind=Pod): errors:\n' +
        '  .spec.containers[name="web"].imagee: field not declared in schema\n' +
        '  .spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].hostPorrt: field not declared in schema\n' +
        // Tolerations are an atomic list: by index.
        '  .spec.tolerations[0].bogus: field not declared in schema',
    );
    expect((await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/typo')).status).to.equal(404);
  });

  it('kubectl patch warns and stores nothing unknown; kubectl apply --server-side fails as upstream', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const p = await kubectl(ts.url, ['patch', 'configmap', 'cm', '-p', '{"bogus":1,"data":{"k":"v"}}']);
    expect(p.code, p.stderr).to.equal(0);
    expect(p.stderr).to.contain('Warning: unknown field "bogus"');
    expect((await stored()).data.k).to.equal('v');
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nbogus: 1\n';
    const a = await kubectl(ts.url, ['apply', '--server-side', '-f', '-'], yaml);
    expect(a.code).to.not.equal(0);
    expect(a.stderr).to.contain('.bogus: field not declared in schema');
  });
});
