/**
 * Chapter: making the server read what it will refuse anyway.
 *
 * The attack: a user who may write nothing (or nothing there) sends large or malicious bodies (3 MB
 * of JSON, bodies over the size limit, bodies that do not even parse) to a write endpoint, so that
 * the server spends memory and CPU reading and decoding each one before it decides to say no. With
 * a decoder that is slow on some input (see yaml-bombs), that is a stall any authenticated user
 * could cause; the parser's 400 also tells the attacker that the body was looked at.
 *
 * The upstream defence: kube-apiserver's filter chain authorizes the request (after authentication,
 * impersonation and the max-in-flight slot) before the handler reads the body: a refused request
 * gets its 403 without a byte of the body decoded, or even read.
 *
 * Where Skiff implements it: core/server/http-app.ts (the middleware authorizes every request
 * after authentication and the in-flight slot; serveResource reads and decodes the body only
 * then, and ApiService.handleAuthorized does not authorize again).
 */
import { expect } from 'chai';
import { type HttpsAnswer, httpsRequest, type Scratch, scratchDir, tokenLine } from '../helpers/security.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const MB = 1024 * 1024;
/** 3 MB that are not JSON at all: decoding them could only end in a 400. */
const GARBAGE = `{"metadata": {"name": "x"}, "data": {"k": "${'x'.repeat(3 * MB - 100)}"`;

const refusal = (verb: string, name = '') =>
  `configmaps${name ? ` "${name}"` : ''} is forbidden: User "reader" cannot ${verb} resource "configmaps" in API group "" in the namespace "default"`;

function expectForbidden(r: HttpsAnswer, message: string): void {
  expect(r.status, r.text.slice(0, 300)).to.equal(403);
  expect(r.body).to.include({ kind: 'Status', reason: 'Forbidden', code: 403, message });
}

describe('security: a refused request never gets its body read', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let files: Scratch;

  before(async () => {
    files = scratchDir('unauthorized-bodies');
    const tokens = tokenLine('root-token', 'root', '1', ['system:masters']) + tokenLine('reader-token', 'reader', '2');
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: files.file('tokens.csv', tokens) } },
        'authz-abac': {
          config: {
            policyFile: files.file('policy.jsonl', '{"user": "reader", "resource": "configmaps", "readonly": true}\n'),
          },
        },
      },
    });
  });
  after(async () => {
    await ts?.close();
    files?.remove();
  });

  // Node's client sends a DELETE body without framing unless told its length.
  const send = (token: string, method: string, path: string, body: string, contentType = 'application/json') =>
    httpsRequest(ts, path, {
      token,
      method,
      body,
      contentType,
      headers: { 'Content-Length': String(Buffer.byteLength(body)) },
      timeoutMs: 20_000,
    });

  it('control: from the admin, the same 3 MB of broken JSON is read and decoded → 400', async () => {
    const r = await send('root-token', 'POST', CONFIGMAPS, GARBAGE);
    expect(r.status).to.equal(400);
    expect(r.body.message).to.contain('the request body is not valid JSON');
  });

  it('3 MB of broken JSON from a user who may only read → 403, not the parser’s 400', async () => {
    expectForbidden(await send('reader-token', 'POST', CONFIGMAPS, GARBAGE), refusal('create'));
  });

  it('a body over the 3 MiB limit from that user → 403, not 413: it was not even read', async () => {
    const huge = `{"data": {"k": "${'x'.repeat(4 * MB)}"}}`;
    expectForbidden(await send('reader-token', 'POST', CONFIGMAPS, huge), refusal('create'));
    const chunked = await httpsRequest(ts, CONFIGMAPS, {
      token: 'reader-token',
      method: 'POST',
      body: huge,
      contentType: 'application/json',
      headers: { 'Transfer-Encoding': 'chunked' },
    });
    expectForbidden(chunked, refusal('create'));
  });

  it('the same for update, every patch type and delete: 403 whatever the body', async () => {
    const path = `${CONFIGMAPS}/x`;
    expectForbidden(await send('reader-token', 'PUT', path, GARBAGE), refusal('update', 'x'));
    for (const type of ['merge-patch+json', 'json-patch+json', 'strategic-merge-patch+json', 'apply-patch+yaml']) {
      const r = await send('reader-token', 'PATCH', path, GARBAGE, `application/${type}`);
      expectForbidden(r, refusal('patch', 'x'));
    }
    expectForbidden(await send('reader-token', 'DELETE', path, GARBAGE), refusal('delete', 'x'));
    expectForbidden(await send('reader-token', 'DELETE', CONFIGMAPS, GARBAGE), refusal('deletecollection'));
  });

  it('a media type the server does not take → still 403 for that user (415 only for one who may write)', async () => {
    const r = await send('reader-token', 'POST', CONFIGMAPS, 'x', 'text/plain');
    expectForbidden(r, refusal('create'));
    expect((await send('root-token', 'POST', CONFIGMAPS, 'x', 'text/plain')).status).to.equal(415);
  });

  it('after all that, the server serves at once', async () => {
    const r = await httpsRequest(ts, CONFIGMAPS, { token: 'reader-token' });
    expect(r.status, r.text).to.equal(200);
  });
});
