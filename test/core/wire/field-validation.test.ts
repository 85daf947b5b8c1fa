/** fieldValidation=Strict|Warn|Ignore for unknown fields, over HTTP and with kubectl. */
import { expect } from 'chai';
import { duplicateFields } from '../../../core/wire/duplicate-fields.js';
import { dropUnknownFields } from '../../../core/wire/unknown-fields.js';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../../helpers/skip.js';

const typoPod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labelz: { a: 'b' } },
  spec: {
    containers: [{ name: 'c', image: 'busybox', imagee: 'typo', ports: [{ containerPort: 80, hostPortt: 1 }] }],
    volumes: [{ name: 'v', emptyDir: {}, emptydir: {} }],
  },
});

describe('wire: fieldValidation', function () {
  this.timeout(60_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  it('finds unknown fields with upstream paths, through inlined structs and lists, and drops them', () => {
    const pod = typoPod('x');
    expect(dropUnknownFields(pod, 'k8s.io.api.core.v1.Pod')).to.deep.equal([
      'metadata.labelz',
      'spec.containers[0].imagee',
      'spec.containers[0].ports[0].hostPortt',
      'spec.volumes[0].emptydir',
    ]);
    expect(pod.spec.containers[0]).to.not.have.property('imagee');
    expect(pod.spec.volumes[0]).to.deep.equal({ name: 'v', emptyDir: {} });
  });

  it('Strict refuses with 400 and upstream wording; nothing is stored', async () => {
    const r = await api(ts.url, 'POST', '/api/v1/namespaces/default/pods?fieldValidation=Strict', typoPod('strict'));
    expect(r.status).to.equal(400);
    expect(r.body.message).to.equal(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "metadata.labelz", unknown field "spec.containers[0].imagee", unknown field "spec.containers[0].ports[0].hostPortt", unknown field "spec.volumes[0].emptydir"',
    );
    expect((await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/strict')).status).to.equal(404);
  });

  it('Warn (the default) stores without them and says so in Warning headers; Ignore is silent', async () => {
    const warned = await fetch(`${ts.url}/api/v1/namespaces/default/pods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(typoPod('warned')),
    });
    expect(warned.status).to.equal(201);
    expect(warned.headers.get('warning')).to.contain('299 - "unknown field \\"spec.containers[0].imagee\\""');
    const stored = (await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/warned')).body;
    expect(stored.spec.containers[0]).to.not.have.property('imagee');
    const ignored = await fetch(`${ts.url}/api/v1/namespaces/default/pods?fieldValidation=Ignore`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(typoPod('ignored')),
    });
    expect(ignored.status).to.equal(201);
    expect(ignored.headers.get('warning')).to.equal(null);
    const bad = await api(ts.url, 'POST', '/api/v1/namespaces/default/pods?fieldValidation=Loose', typoPod('bad'));
    expect(bad.status).to.equal(400);
  });

  it('finds duplicate fields in a JSON body: Strict refuses, Warn warns', async () => {
    expect(duplicateFields('{"a":1,"b":{"c":[{"d":1,"d":"x\\"y"}],"c":2},"a":[]}')).to.deep.equal([
      'b.c[0].d',
      'b.c',
      'a',
    ]);
    const body =
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup"},"data":{"k":"1","k":"2"}}';
    const post = (q: string) =>
      fetch(`${ts.url}/api/v1/namespaces/default/configmaps${q}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
    const strict = await post('?fieldValidation=Strict');
    expect(strict.status).to.equal(400);
    expect(((await strict.json()) as { message: string }).message).to.contain(
      'strict decoding error: duplicate field "metadata.name", duplicate field "data.k"',
    );
    const warned = await post('');
    expect(warned.status).to.equal(201);
    expect(warned.headers.get('warning')).to.contain('duplicate field \\"data.k\\"');
  });

  it('kubectl create -f with a typo fails as upstream; --validate=warn creates with a warning', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const yaml =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: typo}\nspec:\n  containers: [{name: c, image: busybox, imagee: x}]\n';
    const strict = await kubectl(ts.url, ['create', '-f', '-'], yaml);
    expect(strict.code).to.not.equal(0);
    expect(strict.stderr).to.contain('strict decoding error: unknown field "spec.containers[0].imagee"');
    const warn = await kubectl(ts.url, ['create', '-f', '-', '--validate=warn'], yaml);
    expect(warn.code, warn.stderr).to.equal(0);
    expect(warn.stderr).to.contain('Warning: unknown field "spec.containers[0].imagee"');
  });
});
