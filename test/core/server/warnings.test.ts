/**
 * Warning headers as kube-apiserver sends them (`Warning: 299 - "text"`, which kubectl prints as
 * "Warning: text"): for every request to a deprecated API version, for what a kind's strategy
 * warns about (deprecated pod fields), quoted, each text once, and within upstream's size budget.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type Koa from 'koa';
import { WarningRecorder, warningHeader } from '../../../core/server/warnings.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const FIXTURE = fileURLToPath(new URL('./deprecated-kind.fixture.ts', import.meta.url));
const DEPRECATED =
  '299 - "widgets.example.com/v1beta1 Widget is deprecated in v1.16+, unavailable in v1.40+; use widgets.example.com/v1 Widget"';

/** A koa context that only keeps what `set` puts in it. */
function fakeContext() {
  const headers: Record<string, string[]> = {};
  const ctx = { set: (name: string, value: string[]) => (headers[name] = value) } as unknown as Koa.Context;
  return { ctx, headers };
}

describe('core/server: Warning headers', function () {
  this.timeout(30_000);
  let ts: TestServer;
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(ts.url + path, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.arrayBuffer();
    return { status: res.status, warning: res.headers.get('warning') };
  };
  before(async () => {
    ts = await startTestServer({ plugins: { 'test-deprecated-kind': { path: FIXTURE } } });
  });
  after(async () => ts?.close());

  it('every verb on a deprecated version carries upstream deprecation text, errors included', async () => {
    const base = '/apis/widgets.example.com/v1beta1/namespaces/default/widgets';
    const answers = [
      await send('POST', base, { metadata: { name: 'w' } }),
      await send('GET', `${base}/w`),
      await send('GET', base),
      await send('PUT', `${base}/w/status`, { metadata: { name: 'w' }, status: { ready: true } }),
      await send('GET', `${base}/missing`),
      await send('DELETE', `${base}/w`),
    ];
    expect(answers.map((a) => a.status)).to.deep.equal([201, 200, 200, 200, 404, 200]);
    for (const a of answers) expect(a.warning).to.equal(DEPRECATED);
  });

  it('a watch on a deprecated version warns in its response headers', async () => {
    const controller = new AbortController();
    const res = await fetch(`${ts.url}/apis/widgets.example.com/v1beta1/widgets?watch=true&timeoutSeconds=1`, {
      signal: controller.signal,
    });
    expect(res.headers.get('warning')).to.equal(DEPRECATED);
    controller.abort();
  });

  it('a deprecation that starts in a later release does not warn yet; current kinds never do', async () => {
    const gadget = await send('POST', '/apis/widgets.example.com/v1beta1/namespaces/default/gadgets', {
      metadata: { name: 'g' },
    });
    expect(gadget).to.deep.equal({ status: 201, warning: null });
    expect((await send('GET', '/api/v1/namespaces/default/configmaps')).warning).to.equal(null);
  });

  it("a pod's deprecated fields warn, one header per warning, in upstream's order", async () => {
    const res = await fetch(`${ts.url}/api/v1/namespaces/default/pods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        metadata: { name: 'old-book' },
        spec: {
          nodeSelector: { 'beta.kubernetes.io/os': 'linux' },
          containers: [{ name: 'c', image: 'nginx:1.25' }],
          volumes: [{ name: 'src', gitRepo: { repository: 'https://example.com/x.git' } }],
        },
      }),
    });
    expect(res.status).to.equal(201);
    expect(res.headers.get('warning')).to.equal(
      [
        '299 - "spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use \\"kubernetes.io/os\\" instead"',
        '299 - "spec.volumes[0].gitRepo: deprecated in v1.11"',
      ].join(', '),
    );
  });

  it('quotes as Go does: " and \\ escaped, control characters as spaces, UTF-8 bytes as they are', () => {
    expect(warningHeader('a "b" c\\d')).to.equal('299 - "a \\"b\\" c\\\\d"');
    expect(warningHeader('line\nbreak')).to.equal('299 - "line break"');
    expect(Buffer.from(warningHeader('Äpfel'), 'latin1').toString('utf8')).to.equal('299 - "Äpfel"');
  });

  it('says each text once, and past 4096 characters cuts every warning to 256', () => {
    const { ctx, headers } = fakeContext();
    const recorder = new WarningRecorder(ctx);
    recorder.add('same');
    recorder.add('same');
    expect(headers.Warning).to.deep.equal(['299 - "same"']);
    for (let i = 0; i < 20; i++) recorder.add(`${i}`.padEnd(300, 'x'));
    expect(headers.Warning).to.have.length(17);
    expect(headers.Warning!.every((h) => h.length <= 256 + '299 - ""'.length)).to.equal(true);
    expect(headers.Warning![0]).to.equal('299 - "same"');
  });
});
