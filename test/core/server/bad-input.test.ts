/**
 * Bad input, in bulk: every write verb on many resources with malformed bodies and every content
 * type. Nothing may answer 5xx, every answer must be a Status, and the server must stay healthy.
 */
import { expect } from 'chai';
import { decodeBody } from '../../../core/server/body.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const PATHS = [
  '/api/v1/namespaces/default/pods',
  '/api/v1/namespaces/default/pods/x',
  '/api/v1/namespaces/default/pods/x/status',
  '/api/v1/namespaces/default/pods/x/binding',
  '/api/v1/namespaces/default/replicationcontrollers/x/scale',
  '/api/v1/namespaces/x/finalize',
  '/api/v1/nodes/n',
  '/api/v1/namespaces/default/services',
  '/api/v1/namespaces/default/bindings',
  '/api/v1/namespaces/default/secrets',
  '/api/v1/namespaces/default/endpoints/e',
  '/apis/coordination.k8s.io/v1/namespaces/default/leases',
];
const BODIES = [
  '{',
  '[]',
  'null',
  '1',
  '"s"',
  '{"metadata":null}',
  '{"metadata":{"name":5}}',
  '{"metadata":{"name":"x","labels":{"a":5}}}',
  '{"metadata":{"name":"x","finalizers":"x"}}',
  '{"metadata":{"name":"x","annotations":[]}}',
  '{"metadata":{"name":"x"},"spec":"str"}',
  '{"metadata":{"name":"x"},"spec":{"containers":"no"}}',
  '{"metadata":{"name":"x"},"spec":{"containers":[null]}}',
  '{"metadata":{"name":"x"},"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":"a"}]}]}}',
  '{"metadata":{"name":"x"},"spec":{"ports":[{"port":"x"}]}}',
  '{"metadata":{"name":"x"},"data":{"a":5}}',
  '{"metadata":{"name":"x"},"target":null}',
  '{"apiVersion":5}',
];
const TYPES = [
  'application/json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/yaml',
  'text/plain',
];

describe('core/server: bad input in bulk', function () {
  this.timeout(60_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  it('answers every malformed request with a 4xx Status and stays healthy', async () => {
    const failures: string[] = [];
    let total = 0;
    for (const path of PATHS) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        for (const body of BODIES) {
          for (const type of TYPES) {
            const res = await fetch(ts.url + path, { method, body, headers: { 'content-type': type } });
            const text = await res.text();
            total++;
            const isStatusOrObject = text.startsWith('{');
            if (res.status >= 500 || !isStatusOrObject)
              failures.push(`${res.status} ${method} ${path} ${type} ${body}: ${text.slice(0, 120)}`);
          }
        }
      }
    }
    expect(total).to.be.greaterThan(5000);
    expect(failures, failures.slice(0, 10).join('\n')).to.deep.equal([]);
    expect((await fetch(`${ts.url}/readyz`)).status).to.equal(200);
  });
});

describe('core/server: decoding deeply nested bodies', () => {
  const APPLY = 'application/apply-patch+yaml';
  const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const statusOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err as { code: number; message: string };
    }
    return undefined;
  };

  it('an apply body sent as JSON (what kubectl apply --server-side sends) may nest as deep as JSON: 1000 levels', () => {
    const { body } = decodeBody(Buffer.from(nested(1000)), APPLY, 'patch');
    expect(JSON.stringify(body)).to.equal(nested(1000));
    expect(statusOf(() => decodeBody(Buffer.from(nested(1001)), APPLY, 'patch'))).to.include({
      code: 400,
      message: 'the request body is not valid YAML: exceeded max depth of 1000',
    });
  });

  // Far past any stack: at 900 levels the parser sometimes got through (frame sizes vary with how its code is compiled).
  it('YAML nested deeper than the YAML parser follows is the depth 400, saying how deep JSON may go', () => {
    const flow = Buffer.from(`a: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
    expect(statusOf(() => decodeBody(flow, APPLY, 'patch'))).to.include({
      code: 400,
      message:
        'the request body is not valid YAML: exceeded max depth of 1000 (nested deeper than the YAML parser follows; as JSON, a body may nest 1000 levels)',
    });
  });

  it("JSON sent as YAML with a key twice is reported by line, as upstream's YAML decoder does; the last value counts", () => {
    const twice = Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","data":{"k":"a","k":"b"}}');
    const decoded = decodeBody(twice, APPLY, 'patch');
    expect(decoded.body).to.deep.equal({ apiVersion: 'v1', kind: 'ConfigMap', data: { k: 'b' } });
    expect(decoded.duplicateKeys).to.deep.equal(['line 1: key "k" already set in map']);
  });

  it('YAML keys given twice: each on the line of its repeated value, inner maps first, in one pass', () => {
    const yaml = Buffer.from('a:\n  x: 1\n  x: 2\nb: 1\nb:\n  c: 3\n');
    const decoded = decodeBody(yaml, 'application/yaml', 'create');
    expect(decoded.body).to.deep.equal({ a: { x: 2 }, b: { c: 3 } });
    expect(decoded.duplicateKeys).to.deep.equal([
      'line 3: key "x" already set in map',
      'line 6: key "b" already set in map',
    ]);
  });
});
