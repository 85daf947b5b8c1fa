/**
 * Bad input, in bulk: every write verb on many resources with malformed bodies and every content
 * type. Nothing may answer 5xx, every answer must be a Status, and the server must stay healthy.
 */
import { expect } from 'chai';
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
