/**
 * api-proxy against fake backends on the test's own loopback range: the nodes, pods and services
 * proxy in both path forms with `name:port` and `https:name:port`, what passes (method, body,
 * query, streaming) and what does not (the client's credentials, hop-by-hop and CORS headers),
 * upstream's root redirect and Location rewriting, the kubelet reached with the API server's
 * client certificate and checked against --kubelet-certificate-authority, and WebSocket upgrades
 * through pods/proxy.
 */
import { expect } from 'chai';
import WebSocket, { WebSocketServer } from 'ws';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import {
  type Backend,
  cleanup,
  createNode,
  createPod,
  must,
  podAddress,
  selfSigned,
  startBackend,
  stopBackend,
} from './helpers.js';

const raw = (ts: TestServer, path: string, init: RequestInit = {}) =>
  fetch(ts.url + path, { redirect: 'manual', ...init });

describe('api-proxy: nodes, pods and services proxy', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let pod: Backend;
  let tlsPod: Backend;
  let kubelet: Backend;
  const dirs: string[] = [];

  before(async () => {
    ts = await startTestServer({ plugins: { 'api-proxy': {} } });
    pod = await startBackend(podAddress(5), (req, res) => {
      if (req.url === '/go') return void res.writeHead(302, { Location: '/landed/' }).end();
      if (req.url === '/away') return void res.writeHead(302, { Location: 'http://example.invalid/x' }).end();
      if (req.url === '/self')
        return void res.writeHead(302, { Location: `http://${podAddress(5)}:${pod.port}/abs` }).end();
      if (req.url === '/rel') return void res.writeHead(302, { Location: 'next/page' }).end();
      if (req.url === '/cors') {
        return void res.writeHead(200, { 'Access-Control-Allow-Origin': '*', 'X-Kept': 'yes' }).end('cors');
      }
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
    });
    const tls = selfSigned();
    dirs.push(tls.dir);
    tlsPod = await startBackend(podAddress(6), (req, res) => res.end(`tls ${req.url}`), tls);
    kubelet = await startBackend('127.0.0.1', (req, res) => res.end(`kubelet ${req.url}`), tls);
    await createNode(ts, 'n1', kubelet.port);
    await createPod(ts, 'web', podAddress(5), { node: 'n1', port: pod.port });
    await createPod(ts, 'secure', podAddress(6), { node: 'n1' });
    await must(ts, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'svc' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: pod.port }] },
    });
    const uid = (await must(ts, 'GET', '/api/v1/namespaces/default/pods/web')).metadata.uid;
    await must(ts, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'svc' },
      subsets: [
        {
          addresses: [{ ip: podAddress(5), targetRef: { kind: 'Pod', name: 'web', namespace: 'default', uid } }],
          ports: [{ name: 'http', port: pod.port }],
        },
      ],
    });
  });

  after(async () => {
    await Promise.all([stopBackend(pod), stopBackend(tlsPod), stopBackend(kubelet)]);
    await ts?.close();
    cleanup(dirs);
  });

  it('serves pods/proxy: path, query, method and body reach the pod', async () => {
    const r = await raw(ts, '/api/v1/namespaces/default/pods/web/proxy/a/b%20c/?x=1&y=2', {
      method: 'POST',
      body: 'payload',
    });
    expect(r.status).to.equal(200);
    expect(await r.text()).to.equal('POST /a/b%20c/?x=1&y=2 payload');
  });

  it('serves the deprecated /api/v1/proxy/ form with a Warning header', async () => {
    const r = await raw(ts, '/api/v1/proxy/namespaces/default/pods/web/old/path');
    expect(await r.text()).to.equal('GET /old/path ');
    expect(r.headers.get('warning')).to.match(/^299 - ".*\/api\/v1\/proxy\/ path form is deprecated.*pods\/proxy/);
    const modern = await raw(ts, '/api/v1/namespaces/default/pods/web/proxy/old/path');
    expect(modern.headers.get('warning')).to.equal(null);
  });

  it('takes name:port and https:name:port', async () => {
    const byPort = await raw(ts, `/api/v1/namespaces/default/pods/web:${pod.port}/proxy/p`);
    expect(await byPort.text()).to.equal('GET /p ');
    const https = await raw(ts, `/api/v1/namespaces/default/pods/https:secure:${tlsPod.port}/proxy/s`);
    expect(await https.text()).to.equal('tls /s');
    const bad = await raw(ts, '/api/v1/namespaces/default/pods/ftp:web:80/proxy/');
    expect(bad.status).to.equal(400);
  });

  it('redirects the bare proxy path to the path with a slash, as upstream (GET and HEAD only)', async () => {
    const r = await raw(ts, '/api/v1/namespaces/default/pods/web/proxy?q=1');
    expect(r.status).to.equal(301);
    expect(r.headers.get('location')).to.equal('/api/v1/namespaces/default/pods/web/proxy/?q=1');
    const post = await raw(ts, '/api/v1/namespaces/default/pods/web/proxy', { method: 'POST', body: 'b' });
    expect(await post.text()).to.equal('POST / b');
  });

  it('puts a redirect to the backend itself back under the proxy path; other hosts and relative ones are left alone', async () => {
    const base = '/api/v1/namespaces/default/pods/web/proxy';
    expect((await raw(ts, `${base}/go`)).headers.get('location')).to.equal(`${base}/landed/`);
    expect((await raw(ts, `${base}/self`)).headers.get('location')).to.equal(`${base}/abs`);
    expect((await raw(ts, `${base}/away`)).headers.get('location')).to.equal('http://example.invalid/x');
    expect((await raw(ts, `${base}/rel`)).headers.get('location')).to.equal('next/page');
    const legacy = '/api/v1/proxy/namespaces/default/pods/web';
    expect((await raw(ts, `${legacy}/go`)).headers.get('location')).to.equal(`${legacy}/landed/`);
  });

  it('keeps the client credentials and CORS headers out, and says who the client was', async () => {
    const before = pod.seen.length;
    const r = await raw(ts, '/api/v1/namespaces/default/pods/web/proxy/cors', {
      headers: { Authorization: 'Bearer secret', 'X-Custom': 'kept' },
    });
    expect(r.headers.get('access-control-allow-origin')).to.equal(null);
    expect(r.headers.get('x-kept')).to.equal('yes');
    const seen = pod.seen[before]!;
    expect(seen.headers.authorization).to.equal(undefined);
    expect(seen.headers['x-custom']).to.equal('kept');
    expect(seen.headers['x-forwarded-for']).to.equal('127.0.0.1');
  });

  it('serves nodes/proxy to the kubelet with the API server client certificate, in both forms', async () => {
    const r = await raw(ts, '/api/v1/nodes/n1/proxy/stats/summary?only_cpu_and_memory=true');
    expect(await r.text()).to.equal('kubelet /stats/summary?only_cpu_and_memory=true');
    expect(kubelet.seen.at(-1)!.peerCN).to.equal('kube-apiserver-kubelet-client');
    const legacy = await raw(ts, '/api/v1/proxy/nodes/n1/spec/');
    expect(await legacy.text()).to.equal('kubelet /spec/');
    expect(legacy.headers.get('warning')).to.match(/nodes\/proxy/);
    const port = await raw(ts, `/api/v1/nodes/https:n1:${kubelet.port}/proxy/pods`);
    expect(await port.text()).to.equal('kubelet /pods');
  });

  it('serves services/proxy to a ready endpoint, by port name and number, in both forms', async () => {
    // As upstream: without a port, only an unnamed endpoint port matches.
    const unnamed = await api(ts.url, 'GET', '/api/v1/namespaces/default/services/svc/proxy/s1');
    expect(unnamed.body.message).to.equal('no endpoints available for service "svc"');
    expect(await (await raw(ts, '/api/v1/namespaces/default/services/svc:http/proxy/s2')).text()).to.equal('GET /s2 ');
    expect(await (await raw(ts, '/api/v1/namespaces/default/services/svc:80/proxy/s3')).text()).to.equal('GET /s3 ');
    expect(await (await raw(ts, '/api/v1/proxy/namespaces/default/services/svc:http/s4')).text()).to.equal('GET /s4 ');
    const none = await api(ts.url, 'GET', '/api/v1/namespaces/default/services/svc:81/proxy/');
    expect(none.status).to.equal(503);
    expect(none.body.message).to.equal('no service port 81 found for service "svc"');
  });

  it('answers upstream Status errors: unknown object 404, unreachable backend 503', async () => {
    const missing = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/nope/proxy/');
    expect(missing.status).to.equal(404);
    expect(missing.body.message).to.equal('pods "nope" not found');
    const dead = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/web:1/proxy/');
    expect(dead.status).to.equal(503);
    expect(dead.body.reason).to.equal('ServiceUnavailable');
    expect(dead.body.message).to.match(/^error trying to reach service: connect ECONNREFUSED/);
  });

  it('carries a WebSocket through pods/proxy (bytes both ways after the 101)', async () => {
    const wsBackend = await startBackend(podAddress(7), (_req, res) => res.end('plain'));
    const wss = new WebSocketServer({ server: wsBackend.server });
    wss.on('connection', (socket, req) => socket.on('message', (m) => socket.send(`echo ${req.url} ${m}`)));
    try {
      await createPod(ts, 'ws', podAddress(7), { node: 'n1', port: wsBackend.port });
      const client = new WebSocket(`${ts.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/ws/proxy/sock?a=1`);
      const answer = await new Promise<string>((resolve, reject) => {
        client.on('open', () => client.send('ping'));
        client.on('message', (m) => resolve(String(m)));
        client.on('error', reject);
      });
      client.close();
      expect(answer).to.equal('echo /sock?a=1 ping');
    } finally {
      wss.close();
      await stopBackend(wsBackend);
    }
  });

  it('lists the proxy and streaming subresources in discovery', async () => {
    const list = await must(ts, 'GET', '/api/v1');
    const names = list.resources.map((r: { name: string }) => r.name);
    for (const sub of [
      'pods/proxy',
      'pods/log',
      'pods/exec',
      'pods/attach',
      'pods/portforward',
      'nodes/proxy',
      'services/proxy',
    ]) {
      expect(names).to.include(sub);
    }
  });
});

describe('api-proxy: --kubelet-certificate-authority', function () {
  this.timeout(30_000);
  let kubelet: Backend;
  const dirs: string[] = [];
  const servers: TestServer[] = [];

  before(async () => {
    const tls = selfSigned();
    dirs.push(tls.dir);
    kubelet = await startBackend('127.0.0.1', (req, res) => res.end(`kubelet ${req.url}`), tls);
  });
  after(async () => {
    await stopBackend(kubelet);
    for (const s of servers) await s.close();
    cleanup(dirs);
  });

  const serverTrusting = async (caFile: string) => {
    const ts = await startTestServer({ plugins: { 'api-proxy': { config: { kubeletCertificateAuthority: caFile } } } });
    servers.push(ts);
    await createNode(ts, 'n1', kubelet.port);
    return ts;
  };

  it("verifies the kubelet's serving certificate against the given CA", async () => {
    const ts = await serverTrusting(`${dirs[0]}/tls.crt`);
    expect(await (await raw(ts, '/api/v1/nodes/n1/proxy/pods')).text()).to.equal('kubelet /pods');
  });

  it('refuses a kubelet whose certificate the CA did not sign (503, nothing sent)', async () => {
    const other = selfSigned();
    dirs.push(other.dir);
    const ts = await serverTrusting(`${other.dir}/tls.crt`);
    const before = kubelet.seen.length;
    const r = await api(ts.url, 'GET', '/api/v1/nodes/n1/proxy/pods');
    expect(r.status).to.equal(503);
    expect(r.body.message).to.match(/^error trying to reach service: .*(self-signed|signature|verify)/i);
    expect(kubelet.seen.length).to.equal(before);
  });
});
