/**
 * Attack catalogue: the Proxy API (api-proxy).
 *
 * The attack: the API server dials backends on a user's behalf, from inside the cluster's network
 * and, for kubelets, with its own client certificate. So a user who may proxy tries to make it
 * dial somewhere else (the API server's own loopback ports, a cloud metadata address) by writing
 * an Endpoints object or a pod status that points there (CVE-2020-8559, CVE-2022-3294); has a
 * backend answer an upgrade with a redirect the server would follow, or with an error that leaves
 * the server's authenticated backend connection open for the next request (CVE-2018-1002105);
 * ties up the server with backends that never answer or with endless streams; or simply uses the
 * proxy without the right to.
 *
 * Why it fails: a backend address is dialled only when the cluster assigned it (a pod's IP, an
 * endpoint that names a pod with that IP, a node's address; a loopback or link-local one only if
 * it is a node's or in a node's pod CIDR); an upgrade answer other than 101 ends both connections
 * and a redirect is never followed; a backend must connect and start answering in bounded time;
 * upgraded streams are counted per user and in all; proxying is authorized as upstream (the
 * proxy subresources, and the `proxy` verb for the deprecated /api/v1/proxy/ form).
 */
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import WebSocket, { WebSocketServer } from 'ws';
import { httpsRequest, type Scratch, scratchDir } from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import {
  type Backend,
  createNode,
  createPod,
  must,
  podAddress,
  startBackend,
  stopBackend,
} from '../plugins/api-proxy/helpers.js';

/** Writes `head` on a fresh connection to the API server; everything read until it closes (or 5 s). */
function rawExchange(port: number, head: string, then?: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, 5000);
    socket.on('data', (d) => {
      text += d;
      if (then && text.includes('\r\n\r\n')) {
        socket.write(then);
        then = undefined;
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(head);
  });
}

const upgradeHead = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

describe('attack catalogue: the Proxy API dials only what the cluster assigned, and lets go of what fails', function () {
  this.timeout(30_000);
  let ts: TestServer;
  const backends: Backend[] = [];
  const started = async (host: string, handler: Parameters<typeof startBackend>[1]) => {
    const b = await startBackend(host, handler);
    backends.push(b);
    return b;
  };

  before(async () => {
    ts = await startTestServer({
      plugins: { 'api-proxy': { config: { responseHeaderTimeoutSeconds: 1, maxStreamsPerUser: 2 } } },
    });
    await createNode(ts, 'n1', 1, '127.0.0.1');
  });
  after(async () => {
    for (const b of backends) await stopBackend(b);
    await ts?.close();
  });

  it('a backend that answers an upgrade with a redirect is not followed: 500 "invalid upgrade response", backend closed', async () => {
    const elsewhere = await started(podAddress(31), (_q, s) => s.end('followed'));
    const redirecting = await started(podAddress(30), (_q, s) => {
      s.writeHead(302, { Location: `http://${podAddress(31)}:${elsewhere.port}/` }).end();
    });
    await createPod(ts, 'redirector', podAddress(30), { node: 'n1', port: redirecting.port });
    const r = await rawExchange(ts.port, upgradeHead('/api/v1/namespaces/default/pods/redirector/proxy/ws'));
    expect(r.text).to.match(/^HTTP\/1\.1 500 /);
    expect(r.text).to.include('invalid upgrade response: status code 302');
    expect(r.closed).to.equal(true);
    expect(elsewhere.seen).to.have.length(0);
    await waitUntil(() => redirecting.sockets.size === 0);
  });

  it('a failed upgrade ends both connections, so nothing more rides on the backend connection (CVE-2018-1002105)', async () => {
    const refusing = await started(podAddress(32), (_q, s) => {
      s.writeHead(400, { 'Content-Type': 'text/plain', 'Content-Length': 7 }).end('refused');
    });
    await createPod(ts, 'refuser', podAddress(32), { node: 'n1', port: refusing.port });
    const smuggled = 'GET /secret HTTP/1.1\r\nHost: x\r\n\r\n';
    const r = await rawExchange(ts.port, upgradeHead('/api/v1/namespaces/default/pods/refuser/proxy/ws'), smuggled);
    expect(r.text).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(r.text).to.include('refused');
    expect(r.closed).to.equal(true);
    expect(refusing.seen.map((s) => s.url)).to.deep.equal(['/ws']);
    await waitUntil(() => refusing.sockets.size === 0);
  });

  it('an Endpoints object pointing at loopback with no pod behind it is never dialled (CVE-2020-8559, CVE-2022-3294)', async () => {
    // The attacker's target: the API server's own port on loopback.
    await must(ts, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'sneaky' },
      spec: { ports: [{ port: 80, targetPort: ts.port }] },
    });
    await must(ts, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'sneaky' },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: ts.port }] }],
    });
    const r = await api(ts.url, 'GET', '/api/v1/namespaces/default/services/sneaky/proxy/api/v1/secrets');
    expect(r.status).to.equal(503);
    expect(r.body.message).to.equal('no endpoints available for service "sneaky"');
  });

  it('a pod status claiming a loopback or link-local address that no node has is refused: 400 "address not allowed"', async () => {
    for (const [name, ip] of [
      ['loopy', '127.0.0.2'],
      ['metadata', '169.254.169.254'],
    ]) {
      await createPod(ts, name!, ip!, { node: 'n1', port: 80 });
      const r = await api(ts.url, 'GET', `/api/v1/namespaces/default/pods/${name}/proxy/`);
      expect(r.status, name).to.equal(400);
      expect(r.body.message).to.equal('address not allowed');
    }
    // The same trick through an endpoint that names that pod.
    const uid = (await must(ts, 'GET', '/api/v1/namespaces/default/pods/loopy')).metadata.uid;
    await must(ts, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'loop' },
      spec: { ports: [{ port: 80 }] },
    });
    await must(ts, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'loop' },
      subsets: [
        { addresses: [{ ip: '127.0.0.2', targetRef: { kind: 'Pod', name: 'loopy', uid } }], ports: [{ port: 80 }] },
      ],
    });
    const viaService = await api(ts.url, 'GET', '/api/v1/namespaces/default/services/loop/proxy/');
    expect(viaService.status).to.equal(400);
    expect(viaService.body.message).to.equal('address not allowed');
  });

  it("a node's other ports on a loopback node address are refused: the API server's own host is not a target (CVE-2022-3294)", async () => {
    const r = await api(ts.url, 'GET', `/api/v1/nodes/n1:${ts.port}/proxy/api/v1/secrets`);
    expect(r.status).to.equal(400);
    expect(r.body.message).to.equal('address not allowed');
  });

  it('a backend that never answers costs 503 within the bound, and other requests go on meanwhile', async () => {
    const silent = await started(podAddress(33), () => undefined);
    await createPod(ts, 'silent', podAddress(33), { node: 'n1', port: silent.port });
    const t0 = Date.now();
    const stuck = api(ts.url, 'GET', '/api/v1/namespaces/default/pods/silent/proxy/');
    const other = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods');
    expect(other.status).to.equal(200);
    expect(Date.now() - t0).to.be.below(900);
    const r = await stuck;
    expect(r.status).to.equal(503);
    expect(r.body.message).to.equal('error trying to reach service: timeout awaiting response headers');
    expect(Date.now() - t0).to.be.below(5000);
  });

  it('upgraded streams are bounded per user: one more gets 429 until one ends', async () => {
    const wsBackend = await started(podAddress(34), (_q, s) => s.end());
    const wss = new WebSocketServer({ server: wsBackend.server });
    wss.on('connection', (socket) => socket.send('hello'));
    await createPod(ts, 'streams', podAddress(34), { node: 'n1', port: wsBackend.port });
    const url = `${ts.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/streams/proxy/`;
    const open = () =>
      new Promise<{ ws: WebSocket; refused?: string }>((resolve) => {
        const ws = new WebSocket(url);
        ws.on('message', () => resolve({ ws }));
        ws.on('unexpected-response', (_req, res) => resolve({ ws, refused: String(res.statusCode) }));
        ws.on('error', () => undefined);
      });
    try {
      const first = await open();
      const second = await open();
      expect([first.refused, second.refused]).to.deep.equal([undefined, undefined]);
      expect((await open()).refused).to.equal('429');
      first.ws.close();
      await waitUntil(async () => (await open()).refused === undefined);
      second.ws.close();
    } finally {
      wss.close();
    }
  });
});

describe('attack catalogue: proxying without the right to (ABAC, as the seed configures it)', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let scratch: Scratch;
  let pod: Backend;

  before(async () => {
    scratch = scratchDir('proxy-abac');
    const tokens = scratch.file('tokens.csv', 'viewer-token,viewer,1\nadmin-token,admin,2\n');
    // The seed's read-only user: pods, read-only. ABAC (upstream too) does not look at
    // subresources: a read-only rule on pods allows GET of pods/proxy, but never the `proxy` verb
    // of the deprecated form, nor a write (POST) through the proxy, nor exec.
    const policy = scratch.file(
      'policy.jsonl',
      [
        { user: 'viewer', namespace: '*', resource: 'pods', readonly: true },
        { user: 'admin', namespace: '*', resource: '*' },
      ]
        .map((spec) => JSON.stringify({ apiVersion: 'abac.authorization.kubernetes.io/v1beta1', kind: 'Policy', spec }))
        .join('\n'),
    );
    ts = await startTestServer({
      secure: true,
      plugins: {
        'api-proxy': {},
        'authn-token-file': { config: { tokenAuthFile: tokens } },
        'authz-abac': { config: { policyFile: policy } },
      },
    });
    pod = await startBackend(podAddress(40), (req, res) => res.end(`pod ${req.method} ${req.url}`));
    await createNode(ts, 'n1', 1, '127.0.0.1');
    await createPod(ts, 'web', podAddress(40), { node: 'n1', port: pod.port });
  });
  after(async () => {
    await stopBackend(pod);
    await ts?.close();
    scratch?.remove();
  });

  const as = (token: string, path: string, method = 'GET') => httpsRequest(ts, path, { token, method });

  it('a read-only user cannot use the deprecated form (verb proxy): 403', async () => {
    const r = await as('viewer-token', '/api/v1/proxy/namespaces/default/pods/web/');
    expect(r.status).to.equal(403);
    expect(r.body.message).to.match(/cannot proxy resource "pods"/);
    expect((await as('admin-token', '/api/v1/proxy/namespaces/default/pods/web/')).text).to.equal('pod GET /');
  });

  it('a read-only user cannot write through the proxy, exec, or reach nodes: 403, and nothing reaches the backend', async () => {
    const before = pod.seen.length;
    expect((await as('viewer-token', '/api/v1/namespaces/default/pods/web/proxy/x', 'POST')).status).to.equal(403);
    expect((await as('viewer-token', '/api/v1/namespaces/default/pods/web/exec?command=ls', 'POST')).status).to.equal(
      403,
    );
    expect((await as('viewer-token', '/api/v1/nodes/n1/proxy/pods')).status).to.equal(403);
    expect(pod.seen.length).to.equal(before);
  });

  it('an unauthenticated request gets 401 and never reaches the backend', async () => {
    const before = pod.seen.length;
    expect((await httpsRequest(ts, '/api/v1/namespaces/default/pods/web/proxy/')).status).to.equal(401);
    expect(pod.seen.length).to.equal(before);
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
