/**
 * Security catalogue: ABAC policy files that do not say what they seem to.
 *
 * ABAC grants access line by line, and a line's `"readonly": true` is all that stops it granting
 * writes. The attack (or the honest mistake an attacker waits for) is a policy line whose fields are
 * of the wrong JSON type: `"readonly": "true"` or `"yes"` reads as "true" to a person, but is not
 * the boolean true, so a lenient reader treats the line as read-write; a `null` user or namespace
 * reads as "absent", which in an unversioned line widens it to everyone or to every namespace.
 *
 * Why it fails: as upstream's ABAC authorizer, Skiff decodes every line strictly by type and refuses
 * the whole file when any line is wrong, naming the file, the line and the fix: at start-up the
 * server does not start, and on a live reload the new file is not applied at all (the last good
 * policy stays in force, the log says so, and /healthz reports it). Every request here goes over
 * HTTPS with a bearer token, as a real user's would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SkiffError } from '../../core/errors.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const V1BETA1 = '"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy"';
// alice may do anything; bob may only read pods in default.
const GOOD = '{"user": "alice"}\n{"user": "bob", "resource": "pods", "readonly": true, "namespace": "default"}\n';
const bobLine = (readonly: string) =>
  `{"user": "bob", "resource": "pods", "readonly": ${readonly}, "namespace": "default"}`;

describe('security: ABAC policy lines of the wrong type never grant access', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-abac-security-'));
  const tokens = join(dir, 'tokens.csv');
  writeFileSync(tokens, 'alice-token,alice,1001\nbob-token,bob,1002\n');
  const policy = join(dir, 'policy.jsonl');
  writeFileSync(policy, GOOD);
  let ts: TestServer;
  let started = 0;

  // Refusals happen before anything listens, so those servers need no PKI.
  const startWith = (policyFile: string, secure = true) =>
    startTestServer({
      secure,
      dataDir: join(dir, `data-${started++}`),
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: tokens } },
        'authz-abac': { config: { policyFile, reloadIntervalMs: 50 } },
      },
    });

  /** The status of a request as `token` over HTTPS. */
  const as = (token: string, method: string, path: string) =>
    new Promise<number>((resolve, reject) => {
      const headers = { Authorization: `Bearer ${token}` };
      const req = request(`${ts.secureUrl}${path}`, { method, ca: ts.pki!.ca.certPem, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  const health = async () => (await api(ts.url, 'GET', '/healthz/authz-abac-policy')).status;
  const deleteVictim = () => as('bob-token', 'DELETE', '/api/v1/namespaces/default/pods/victim');

  before(async () => {
    ts = await startWith(policy);
    const pod = { metadata: { name: 'victim' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    expect((await api(ts.url, 'POST', '/api/v1/namespaces/default/pods', pod)).status).to.equal(201);
  });
  // Each test may leave a refused file behind: put the good one back and wait until it is in force.
  afterEach(async () => {
    writeFileSync(policy, GOOD);
    await waitFor('the good policy in force', health, (s) => s === 200);
  });
  after(async () => {
    await ts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function refusedAtStartUp(lines: string, line: number): Promise<SkiffError> {
    const file = join(dir, `start-${started}.jsonl`);
    writeFileSync(file, lines);
    let server: TestServer | undefined;
    try {
      server = await startWith(file, false);
    } catch (err) {
      expect(err).to.be.instanceOf(SkiffError);
      expect((err as SkiffError).code).to.equal('SKIFF_ABAC_POLICY_INVALID');
      expect((err as Error).message).to.contain(`${file}:${line}:`);
      return err as SkiffError;
    } finally {
      await server?.close();
    }
    return expect.fail(`a server started with ${lines}`);
  }

  it('start-up: a quoted "true", a "yes", a 1 or a null for readonly stops the server, naming file, line and fix', async () => {
    for (const readonly of ['"true"', '"yes"', '"false"', '1', 'null']) {
      const err = await refusedAtStartUp(`{"user": "alice"}\n${bobLine(readonly)}\n`, 2);
      expect(err.message).to.contain('"readonly" must be true or false (a JSON boolean)');
      expect(err.fix).to.contain('"readonly": true without quotes');
    }
    const v1beta1 = `{${V1BETA1}, "spec": {"user": "bob", "namespace": "*", "resource": "pods", "readonly": "true"}}`;
    const err = await refusedAtStartUp(`\n# a comment, then a v1beta1 line\n${v1beta1}\n`, 3);
    expect(err.message).to.contain('"spec.readonly" must be true or false');
  });

  it('start-up: a null user or namespace cannot widen an unversioned line to everyone or every namespace', async () => {
    const user = await refusedAtStartUp('{"user": null, "resource": "pods"}\n', 1);
    expect(user.message).to.contain('"user" must be a string, got null');
    const namespace = await refusedAtStartUp('{"user": "bob", "resource": "secrets", "namespace": null}\n', 1);
    expect(namespace.message).to.contain('"namespace" must be a string, got null');
  });

  it('start-up: a list of users, or a spec that is not an object, is refused rather than half-read', async () => {
    expect((await refusedAtStartUp('{"user": ["bob", "eve"], "resource": "pods"}\n', 1)).message).to.contain(
      '"user" must be a string, got an array',
    );
    expect((await refusedAtStartUp(`{${V1BETA1}, "spec": "user=bob"}\n`, 1)).message).to.contain(
      '"spec" must be an object',
    );
  });

  it("live edit: a typo'd readonly is refused whole, bob's DELETE stays 403 and the previous policy goes on", async () => {
    expect(await deleteVictim(), 'before the edit').to.equal(403);
    // The edit also gives bob secrets, to show that nothing of the refused file is applied.
    writeFileSync(policy, `{"user": "alice"}\n${bobLine('"true"')}\n{"user": "bob", "resource": "secrets"}\n`);
    await waitFor('the refused reload to be reported', health, (s) => s === 500);
    expect(await deleteVictim(), 'a quoted "true" must not make the line read-write').to.equal(403);
    expect(await as('bob-token', 'GET', '/api/v1/namespaces/default/secrets'), 'no line of the file applies').to.equal(
      403,
    );
    expect(await as('bob-token', 'GET', '/api/v1/namespaces/default/pods/victim'), 'the old policy goes on').to.equal(
      200,
    );
    expect(await as('alice-token', 'GET', '/api/v1/namespaces/default/secrets')).to.equal(200);
  });

  it('live edit: a line that is not JSON keeps the whole previous policy, not the lines around it', async () => {
    writeFileSync(policy, `{"user": "bob"}\n{"user": "bob", "readonly": true\n`);
    await waitFor('the refused reload to be reported', health, (s) => s === 500);
    expect(await deleteVictim(), 'line 1 of a refused file grants nothing').to.equal(403);
  });

  it('a refused reload shows under /healthz (not /livez or /readyz, which would restart or drain the server)', async () => {
    writeFileSync(policy, bobLine('"yes"'));
    await waitFor('the refused reload to be reported', health, (s) => s === 500);
    const verbose = await api(ts.url, 'GET', '/healthz?verbose');
    expect(verbose.status).to.equal(500);
    expect(verbose.body).to.contain('[-]authz-abac-policy failed');
    expect((await api(ts.url, 'GET', '/livez')).status).to.equal(200);
    expect((await api(ts.url, 'GET', '/readyz')).status).to.equal(200);
    writeFileSync(policy, GOOD);
    await waitFor('the fixed file to clear the check', health, (s) => s === 200);
    expect((await api(ts.url, 'GET', '/healthz')).status).to.equal(200);
  });
});
