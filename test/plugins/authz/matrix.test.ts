/**
 * The upstream auth integration matrix, rebuilt as a table: each request under each authorization
 * set-up and credential, each cell an exact status code. Over HTTPS, as real clients send
 * credentials only there.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../../helpers/temp-dirs.js';

const dir = tempDir('skiff-matrix-');
const tokens = join(dir, 'tokens.csv');
writeFileSync(tokens, 'alice-token,alice,1\nbob-token,bob,2\n');
const policy = join(dir, 'policy.jsonl');
writeFileSync(
  policy,
  '{"user":"alice"}\n{"user":"bob", "resource": "pods", "readonly": true, "namespace": "default"}\n',
);

const pod = { metadata: { name: 'a' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
const svc = { metadata: { name: 'a' }, spec: { ports: [{ port: 80 }] } };
const binding = { metadata: { name: 'missing' }, target: { kind: 'Node', name: 'n1' } };

// [request, method, path, body, status when allowed]
const REQUESTS: [string, string, string, unknown, number][] = [
  ['list pods', 'GET', '/api/v1/namespaces/default/pods', undefined, 200],
  ['create pod', 'POST', '/api/v1/namespaces/default/pods', pod, 201],
  ['get pod', 'GET', '/api/v1/namespaces/default/pods/a', undefined, 200],
  ['list services', 'GET', '/api/v1/namespaces/default/services', undefined, 200],
  ['create service', 'POST', '/api/v1/namespaces/default/services', svc, 201],
  ['list replicationcontrollers', 'GET', '/api/v1/namespaces/default/replicationcontrollers', undefined, 200],
  ['list endpoints', 'GET', '/api/v1/namespaces/default/endpoints', undefined, 200],
  ['list nodes', 'GET', '/api/v1/nodes', undefined, 200],
  ['list events', 'GET', '/api/v1/namespaces/default/events', undefined, 200],
  ['bind a missing pod', 'POST', '/api/v1/namespaces/default/bindings', binding, 404],
  ['an unknown resource', 'GET', '/api/v1/namespaces/default/frobnicators', undefined, 404],
  ['/api', 'GET', '/api', undefined, 200],
  ['/apis', 'GET', '/apis', undefined, 200],
  ['/version', 'GET', '/version', undefined, 200],
  ['/healthz', 'GET', '/healthz', undefined, 200],
];

// Columns: who asks, under which server. 'ok' = the request's allowed status.
type Cell = 'ok' | 401 | 403;
// Health and version are public under every chain (the core's system:public-info-viewer rule),
// also to requests without credentials; bad credentials are still a 401 there.
const PUBLIC: Record<string, Cell> = { '/healthz': 'ok', '/version': 'ok' };
const BOB: Record<string, Cell> = { ...PUBLIC, 'list pods': 'ok', 'get pod': 'ok' };
const COLUMNS: [string, 'allow' | 'deny' | 'abac', string | undefined, (name: string) => Cell][] = [
  ['AlwaysAllow', 'allow', 'alice-token', () => 'ok'],
  ['AlwaysDeny', 'deny', 'alice-token', (name) => PUBLIC[name] ?? 403],
  ['ABAC, allowed user', 'abac', 'alice-token', () => 'ok'],
  ['ABAC, denied user', 'abac', 'bob-token', (name) => BOB[name] ?? 403],
  ['unknown token', 'abac', 'nobody-token', () => 401],
  ['no credentials', 'abac', undefined, (name) => PUBLIC[name] ?? 401],
];

function send(ts: TestServer, method: string, path: string, token: string | undefined, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const req = request(`${ts.secureUrl}${path}`, { method, ca: ts.pki!.ca.certPem, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('authorization matrix (upstream auth integration table)', function () {
  this.timeout(120_000);
  const servers: Record<string, TestServer> = {};
  before(async () => {
    const authn = { 'authn-token-file': { config: { tokenAuthFile: tokens } } };
    servers.allow = await startTestServer({ secure: true, plugins: { ...authn, 'authz-always-allow': {} } });
    servers.deny = await startTestServer({ secure: true, plugins: { ...authn, 'authz-always-deny': {} } });
    servers.abac = await startTestServer({
      secure: true,
      plugins: { ...authn, 'authz-abac': { config: { policyFile: policy } } },
    });
  });
  after(async () => {
    for (const s of Object.values(servers)) await s.close();
  });

  for (const [column, server, token, expected] of COLUMNS) {
    it(column, async () => {
      const got: Record<string, number> = {};
      const want: Record<string, number> = {};
      for (const [name, method, path, body, ok] of REQUESTS) {
        const cell = expected(name);
        want[name] = cell === 'ok' ? ok : cell;
        got[name] = await send(servers[server]!, method, path, token, body);
      }
      expect(got).to.deep.equal(want);
    });
  }
});
