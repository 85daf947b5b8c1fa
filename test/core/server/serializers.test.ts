/**
 * The HTTP layer speaks every media type a plugin contributes with `ctx.provide.serializer`, the
 * same way wire-protobuf's protobuf is spoken: request bodies decoded by it, answers (errors
 * included) and watch streams encoded by it for clients that accept it and not JSON, and 415/406
 * answers that list it. What its decoder gets wrong is still a clean 400.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { TEST_MEDIA_TYPE } from './test-serializer.fixture.js';

const FIXTURE = fileURLToPath(new URL('./test-serializer.fixture.ts', import.meta.url));
const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';

describe('core/server: serializers contributed by plugins', function () {
  this.timeout(30_000);
  let ts: TestServer;
  const send = (method: string, path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(ts.url + path, { method, body, headers: { 'Content-Type': TEST_MEDIA_TYPE, ...headers } });
  before(async () => {
    // wire-protobuf off: the fixture's is the only contributed media type.
    ts = await startTestServer({
      plugins: { 'wire-protobuf': { enabled: false }, 'test-serializer': { path: FIXTURE } },
    });
  });
  after(async () => ts?.close());

  it("reads a request body in the plugin's media type; the answer is JSON for a client that takes JSON", async () => {
    const res = await send(
      'POST',
      CONFIGMAPS,
      `T:${JSON.stringify({ metadata: { name: 'from-test' }, data: { a: '1' } })}`,
    );
    expect(res.status).to.equal(201);
    expect(res.headers.get('content-type')).to.equal('application/json');
    expect(((await res.json()) as { data: object }).data).to.deep.equal({ a: '1' });
  });

  it('answers a client that accepts only that media type in it, errors included; JSON wins when listed', async () => {
    const only = { Accept: TEST_MEDIA_TYPE };
    const got = await fetch(`${ts.url}${CONFIGMAPS}/from-test`, { headers: only });
    expect(got.headers.get('content-type')).to.equal(TEST_MEDIA_TYPE);
    expect(JSON.parse((await got.text()).slice(2))).to.deep.include({ kind: 'ConfigMap' });
    const missing = await fetch(`${ts.url}${CONFIGMAPS}/nothing`, { headers: only });
    expect(missing.status).to.equal(404);
    expect(missing.headers.get('content-type')).to.equal(TEST_MEDIA_TYPE);
    expect(JSON.parse((await missing.text()).slice(2))).to.include({ kind: 'Status', reason: 'NotFound' });
    const both = await fetch(`${ts.url}${CONFIGMAPS}/from-test`, { headers: { Accept: `${TEST_MEDIA_TYPE}, */*` } });
    expect(both.headers.get('content-type')).to.equal('application/json');
  });

  it('streams a watch in its frames as "<type>;stream=watch", as upstream names non-JSON streams', async () => {
    const aborted = new AbortController();
    const res = await fetch(`${ts.url}${CONFIGMAPS}?watch=1&fieldSelector=metadata.name=from-test&timeoutSeconds=10`, {
      headers: { Accept: TEST_MEDIA_TYPE },
      signal: aborted.signal,
    });
    expect(res.headers.get('content-type')).to.equal(`${TEST_MEDIA_TYPE};stream=watch`);
    const first = await res.body!.getReader().read();
    aborted.abort();
    expect(Buffer.from(first.value!).toString()).to.equal('E:ADDED:from-test\n');
  });

  it('lists it among the accepted types of a 415 and a 406; a kind it cannot encode is a 406', async () => {
    const form = await send('POST', CONFIGMAPS, 'a=b', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(form.status).to.equal(415);
    expect(((await form.json()) as { message: string }).message).to.equal(
      `the body of the request was in an unknown format (application/x-www-form-urlencoded) - accepted media types include: application/json, application/yaml, ${TEST_MEDIA_TYPE}`,
    );
    const html = await api(ts.url, 'GET', CONFIGMAPS, undefined, { Accept: 'text/html' });
    expect(html.status).to.equal(406);
    expect(html.body.message).to.equal(
      `only the following media types are accepted: application/json, ${TEST_MEDIA_TYPE}`,
    );
    await api(ts.url, 'POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 's' } });
    const secret = await fetch(`${ts.url}/api/v1/namespaces/default/secrets/s`, {
      headers: { Accept: TEST_MEDIA_TYPE },
    });
    expect(secret.status).to.equal(406);
    expect(secret.headers.get('content-type')).to.equal(TEST_MEDIA_TYPE);
  });

  it('a plain Error from its decoder and a result nested past the limit are 400s; nothing is stored', async () => {
    const thrown = await send('POST', CONFIGMAPS, 'THROW');
    expect(thrown.status).to.equal(400);
    expect(((await thrown.json()) as { message: string }).message).to.equal(
      `the request body could not be decoded as ${TEST_MEDIA_TYPE}: not a test body`,
    );
    const deep = await send('POST', CONFIGMAPS, 'DEEP');
    expect(deep.status).to.equal(400);
    expect(((await deep.json()) as { message: string }).message).to.equal(
      `the request body could not be decoded as ${TEST_MEDIA_TYPE}: exceeded max depth of 1000`,
    );
    const list = await api(ts.url, 'GET', CONFIGMAPS);
    expect(list.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).to.deep.equal(['from-test']);
    expect((await api(ts.url, 'GET', '/readyz')).status).to.equal(200);
  });

  it('an encoder that throws, even on the error it caused, leaves a JSON 500 Status; the server goes on', async () => {
    await api(ts.url, 'POST', CONFIGMAPS, { metadata: { name: 'explode' } });
    const res = await fetch(`${ts.url}${CONFIGMAPS}/explode`, { headers: { Accept: TEST_MEDIA_TYPE } });
    expect(res.status).to.equal(500);
    expect(res.headers.get('content-type')).to.equal('application/json');
    expect(await res.json()).to.include({
      kind: 'Status',
      reason: 'InternalError',
      message: 'Internal error occurred: cannot encode explode',
    });
    expect((await api(ts.url, 'GET', `${CONFIGMAPS}/explode`)).status).to.equal(200);
  });
});
