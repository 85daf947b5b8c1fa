/**
 * A JSON body with a key given twice ({"a": 1, "a": 2}: JSON.parse keeps the last) gets upstream's
 * treatment wherever upstream decodes strictly: a `duplicate field "path"` warning by default
 * (fieldValidation=Warn), a refusal with Strict, silence with Ignore. That is create and update of
 * every kind (with a schema or not) and subresource, and every JSON patch type. YAML bodies (create,
 * update, server-side apply) get the same per line, in upstream's YAML decoder's words. Delete
 * options are decoded leniently upstream, and here.
 */
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../../helpers/server.js';

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a Status or an object, read by field in the assertions
  body: any;
  warnings: string[];
}

/** Upstream's Warning header, `299 - "text"`, back to its text. */
const warningTexts = (header: string | null): string[] =>
  header ? [...header.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1')) : [];

describe('server: duplicate keys in JSON bodies', function () {
  this.timeout(60_000);
  let ts: TestServer;

  /** Sends `text` as it is (a JSON library could not write a duplicate key). */
  const send = async (method: string, path: string, text: string, contentType = 'application/json') => {
    const res = await fetch(ts.url + path, {
      method,
      headers: { 'Content-Type': contentType },
      body: method === 'GET' ? undefined : text,
    });
    const raw = await res.text();
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // not JSON
    }
    return { status: res.status, body, warnings: warningTexts(res.headers.get('warning')) } as Answer;
  };
  const pod = (name: string) =>
    `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`;

  before(async () => {
    ts = await startTestServer();
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5', 'bound', 'gone']) {
      expect((await send('POST', '/api/v1/namespaces/default/pods', pod(name))).status).to.equal(201);
    }
    const rc =
      '{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"rc"},"spec":{"replicas":1,"selector":{"app":"a"},"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}';
    expect((await send('POST', '/api/v1/namespaces/default/replicationcontrollers', rc)).status).to.equal(201);
  });
  after(async () => ts?.close());

  describe('patches', () => {
    const labels = '{"metadata":{"labels":{"a":"1","a":"2"}}}';

    it('a merge patch warns `duplicate field "metadata.labels.a"` and applies the last value', async () => {
      const r = await send('PATCH', '/api/v1/namespaces/default/pods/p1', labels, 'application/merge-patch+json');
      expect(r.status).to.equal(200);
      expect(r.warnings).to.deep.equal(['duplicate field "metadata.labels.a"']);
      expect(r.body.metadata.labels).to.deep.equal({ a: '2' });
    });

    it('a strategic merge patch warns the same', async () => {
      const r = await send(
        'PATCH',
        '/api/v1/namespaces/default/pods/p2',
        labels,
        'application/strategic-merge-patch+json',
      );
      expect(r.status).to.equal(200);
      expect(r.warnings).to.deep.equal(['duplicate field "metadata.labels.a"']);
    });

    it('a JSON patch warns with upstream\'s "json patch" prefix and the operation\'s index', async () => {
      const ops = '[{"op":"add","op":"add","path":"/metadata/labels","value":{"b":"1"}}]';
      const r = await send('PATCH', '/api/v1/namespaces/default/pods/p3', ops, 'application/json-patch+json');
      expect(r.status).to.equal(200);
      expect(r.warnings).to.deep.equal(['json patch duplicate field "[0].op"']);
    });

    it('Strict refuses the patch with a 422 on the field "patch", and changes nothing', async () => {
      const r = await send(
        'PATCH',
        '/api/v1/namespaces/default/pods/p4?fieldValidation=Strict',
        labels,
        'application/merge-patch+json',
      );
      expect(r.status).to.equal(422);
      expect(r.body.reason).to.equal('Invalid');
      expect(r.body.message).to.equal(
        ` "" is invalid: patch: Invalid value: ${JSON.stringify(labels)}: strict decoding error: duplicate field "metadata.labels.a"`,
      );
      expect(r.body.details.causes).to.deep.equal([
        {
          reason: 'FieldValueInvalid',
          field: 'patch',
          message: `Invalid value: ${JSON.stringify(labels)}: strict decoding error: duplicate field "metadata.labels.a"`,
        },
      ]);
      const after = await send('GET', '/api/v1/namespaces/default/pods/p4', '');
      expect(after.body.metadata.labels).to.equal(undefined);
    });

    it('Ignore is silent; an unknown fieldValidation is a 400, as for create', async () => {
      const quiet = await send(
        'PATCH',
        '/api/v1/namespaces/default/pods/p5?fieldValidation=Ignore',
        labels,
        'application/merge-patch+json',
      );
      expect(quiet.status).to.equal(200);
      expect(quiet.warnings).to.deep.equal([]);
      const bad = await send(
        'PATCH',
        '/api/v1/namespaces/default/pods/p5?fieldValidation=Loose',
        '{}',
        'application/merge-patch+json',
      );
      expect(bad.status).to.equal(400);
    });
  });

  describe('subresources', () => {
    it('pods/binding: Warn warns, Strict refuses naming the Binding kind', async () => {
      const binding = (node: string) =>
        `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"bound"},"target":{"kind":"Node","name":"${node}","name":"${node}"}}`;
      const strict = await send(
        'POST',
        '/api/v1/namespaces/default/pods/bound/binding?fieldValidation=Strict',
        binding('n1'),
      );
      expect(strict.status).to.equal(400);
      expect(strict.body.message).to.equal(
        'Binding in version "v1" cannot be handled as a Binding: strict decoding error: duplicate field "target.name"',
      );
      const warned = await send('POST', '/api/v1/namespaces/default/pods/bound/binding', binding('n1'));
      expect(warned.status).to.equal(201);
      expect(warned.warnings).to.deep.equal(['duplicate field "target.name"']);
    });

    it('replicationcontrollers/scale: an update with a duplicate key warns', async () => {
      const scale = await send('GET', '/api/v1/namespaces/default/replicationcontrollers/rc/scale', '');
      const text = JSON.stringify(scale.body).replace('"spec":{"replicas":1}', '"spec":{"replicas":1,"replicas":2}');
      const r = await send('PUT', '/api/v1/namespaces/default/replicationcontrollers/rc/scale', text);
      expect(r.status).to.equal(200);
      expect(r.warnings).to.deep.equal(['duplicate field "spec.replicas"']);
      expect(r.body.spec.replicas).to.equal(2);
    });
  });

  it('a kind without a schema (SelfSubjectReview v1beta1) still gets the warning', async () => {
    const review =
      '{"apiVersion":"authentication.k8s.io/v1beta1","kind":"SelfSubjectReview","kind":"SelfSubjectReview"}';
    const r = await send('POST', '/apis/authentication.k8s.io/v1beta1/selfsubjectreviews', review);
    expect(r.status).to.equal(201);
    expect(r.warnings).to.deep.equal(['duplicate field "kind"']);
  });

  describe("YAML bodies: keys given twice, by line, as upstream's YAML decoder reports them", () => {
    const CMS = '/api/v1/namespaces/default/configmaps';
    const yamlCm = (name: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n  a: "2"\n  b: x\n`;

    it('create: Warn (the default) warns `line 7: key "a" already set in map` and keeps the last value', async () => {
      const r = await send('POST', CMS, yamlCm('y-warn'), 'application/yaml');
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.warnings).to.deep.equal(['line 7: key "a" already set in map']);
      expect(r.body.data).to.deep.equal({ a: '2', b: 'x' });
    });

    it("create: Strict refuses with upstream's strict decoding error, unknown fields after the YAML ones", async () => {
      const body = `${yamlCm('y-strict')}bogus: 1\n`;
      const r = await send('POST', `${CMS}?fieldValidation=Strict`, body, 'application/yaml');
      expect(r.status).to.equal(400);
      expect(r.body.message).to.equal(
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: yaml: unmarshal errors:\n  line 7: key "a" already set in map, unknown field "bogus"',
      );
      expect((await send('GET', `${CMS}/y-strict`, '')).status).to.equal(404);
    });

    it('create: Ignore is silent; update (PUT) is treated as create', async () => {
      const quiet = await send('POST', `${CMS}?fieldValidation=Ignore`, yamlCm('y-quiet'), 'application/yaml');
      expect(quiet.status).to.equal(201);
      expect(quiet.warnings).to.deep.equal([]);
      const put = await send('PUT', `${CMS}/y-quiet`, yamlCm('y-quiet'), 'application/yaml');
      expect(put.status).to.equal(200);
      expect(put.warnings).to.deep.equal(['line 7: key "a" already set in map']);
    });

    it('server-side apply: Warn warns by line; Strict is upstream\'s 400 "error strict decoding YAML"', async () => {
      const path = (mode: string) => `${CMS}/y-apply?fieldManager=test${mode ? `&fieldValidation=${mode}` : ''}`;
      const apply = yamlCm('y-apply');
      const strict = await send('PATCH', path('Strict'), apply, 'application/apply-patch+yaml');
      expect(strict.status).to.equal(400);
      expect(strict.body.message).to.equal(
        'error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key "a" already set in map',
      );
      const warned = await send('PATCH', path(''), apply, 'application/apply-patch+yaml');
      expect(warned.status, JSON.stringify(warned.body)).to.equal(201);
      expect(warned.warnings).to.deep.equal(['line 7: key "a" already set in map']);
      expect(warned.body.data).to.deep.equal({ a: '2', b: 'x' });
      const quiet = await send('PATCH', path('Ignore'), apply, 'application/apply-patch+yaml');
      expect(quiet.status).to.equal(200);
      expect(quiet.warnings).to.deep.equal([]);
    });

    it('apply sent as JSON (what kubectl sends) with a key twice: reported by line too', async () => {
      const json = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"y-json"},"data":{"k":"a","k":"b"}}';
      const r = await send('PATCH', `${CMS}/y-json?fieldManager=test`, json, 'application/apply-patch+yaml');
      expect(r.status).to.equal(201);
      expect(r.warnings).to.deep.equal(['line 1: key "k" already set in map']);
    });
  });

  it('delete options are decoded leniently, as upstream: no warning, the last value counts', async () => {
    const { uid } = (await send('GET', '/api/v1/namespaces/default/pods/gone', '')).body.metadata;
    const options = `{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"not-it"},"preconditions":{"uid":"${uid}"}}`;
    const r = await send('DELETE', '/api/v1/namespaces/default/pods/gone', options);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.warnings).to.deep.equal([]);
  });
});
