/** audit-log: events per policy, decisions with reasons, the authenticator, and rotation. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../../helpers/temp-dirs.js';

const dir = tempDir('skiff-audit-');
const policyFile = join(dir, 'abac.jsonl');
writeFileSync(
  policyFile,
  '{"user":"alice"}\n{"user":"bob", "resource": "pods", "readonly": true, "namespace": "default"}\n',
);
const tokens = join(dir, 'tokens.csv');
writeFileSync(tokens, 'alice-token,alice,1\nbob-token,bob,2\n');
const auditPolicy = join(dir, 'audit-policy.yaml');
writeFileSync(
  auditPolicy,
  [
    'apiVersion: audit.k8s.io/v1',
    'kind: Policy',
    'omitStages: [RequestReceived]',
    'rules:',
    '  - level: None',
    '    nonResourceURLs: ["/healthz*", "/version"]',
    '  - level: RequestResponse',
    '    resources: [{ group: "", resources: ["configmaps"] }]',
    '  - level: Metadata',
  ].join('\n'),
);

function call(ts: TestServer, method: string, path: string, token: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${ts.secureUrl}${path}`,
      {
        method,
        ca: ts.pki!.ca.certPem,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe('plugins: audit-log', function () {
  this.timeout(60_000);
  const log = join(dir, 'audit.log');
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: tokens } },
        'authz-abac': { config: { policyFile } },
        'audit-log': { config: { path: log, policyFile: auditPolicy } },
      },
    });
  });
  after(async () => ts?.close());

  const events = () => {
    const text = readFileSync(log, 'utf8');
    // The writer may be mid-line: only whole lines count.
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  };
  /** The fields of an audit.k8s.io/v1 Event the tests below select on. */
  type AuditEvent = { verb: string; user: { username: string }; objectRef?: { resource?: string } };
  async function eventsFor(match: (e: AuditEvent) => boolean, count = 1) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = existsSync(log) ? events().filter(match) : [];
      if (found.length >= count || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('writes an allowed request with the deciding ABAC line and the authenticator', async () => {
    expect(await call(ts, 'GET', '/api/v1/namespaces/default/pods', 'bob-token')).to.equal(200);
    const [e] = await eventsFor((x) => x.user.username === 'bob' && x.verb === 'list');
    expect(e).to.include({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      stage: 'ResponseComplete',
    });
    expect(e.objectRef).to.include({ resource: 'pods', namespace: 'default', apiVersion: 'v1' });
    expect(e.responseStatus.code).to.equal(200);
    expect(e.annotations['authorization.k8s.io/decision']).to.equal('allow');
    expect(e.annotations['authorization.k8s.io/reason']).to.contain(`authz-abac: ABAC: ${policyFile} line 2`);
    expect(e.annotations['authentication.skiff.dev/authenticator']).to.equal('authn-token-file');
    expect(e).to.not.have.property('requestObject');
  });

  it('writes a forbidden request with decision forbid and the 403', async () => {
    expect(await call(ts, 'DELETE', '/api/v1/namespaces/default/pods/x', 'bob-token')).to.equal(403);
    const [e] = await eventsFor((x) => x.user.username === 'bob' && x.verb === 'delete');
    expect(e.annotations['authorization.k8s.io/decision']).to.equal('forbid');
    expect(e.responseStatus).to.include({ code: 403, reason: 'Forbidden' });
  });

  it('follows the policy: RequestResponse for configmaps, None for /healthz, RequestReceived omitted', async () => {
    const cm = { metadata: { name: 'audited' }, data: { k: 'v' } };
    expect(await call(ts, 'POST', '/api/v1/namespaces/default/configmaps', 'alice-token', cm)).to.equal(201);
    await call(ts, 'GET', '/healthz', 'alice-token');
    const [e] = await eventsFor((x) => x.objectRef?.resource === 'configmaps' && x.verb === 'create');
    expect(e.level).to.equal('RequestResponse');
    expect(e.requestObject.data).to.deep.equal({ k: 'v' });
    expect(e.responseObject.metadata.uid).to.be.a('string');
    expect(events().some((x) => x.requestURI.startsWith('/healthz'))).to.equal(false);
    expect(events().some((x) => x.stage === 'RequestReceived')).to.equal(false);
  });

  it('rotates by size and keeps the configured number of backups', async () => {
    const small = join(dir, 'small.log');
    const s = await startTestServer({
      secure: true,
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: tokens } },
        'authz-always-allow': {},
        'audit-log': { config: { path: small, maxSizeMB: 0.002, maxBackups: 2 } },
      },
    });
    try {
      for (let i = 0; i < 40; i++) await call(s, 'GET', '/api/v1/namespaces/default/pods', 'alice-token');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await s.close();
    }
    expect(existsSync(`${small}.1`), 'first backup').to.equal(true);
    expect(existsSync(`${small}.3`), 'no more than 2 backups').to.equal(false);
  });
});
