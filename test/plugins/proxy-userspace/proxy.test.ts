/**
 * proxy-userspace inside a real server (role up, acting as system:kube-proxy under the bootstrap
 * roles): Services without selectors and hand-written Endpoints (upstream behaviour too), backends
 * are small servers on 127.0.0.x, the service range is the test server's loopback one (nothing to
 * route). ClusterIP and NodePort traffic, round robin, refusing endpoints skipped, a reset with no
 * endpoint, ClientIP affinity, changes followed, UDP, and nothing listening after stop.
 */
import { type AddressInfo, connect, createServer } from 'node:net';
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { ask, askUdp, type Backend, closedPort, listening, tcpBackend, udpBackend, until } from './helpers.js';

type Port = { name?: string; port: number; protocol?: string; nodePort?: number };

describe('proxy-userspace: ClusterIP and NodePort traffic', function () {
  this.timeout(20_000);
  let ts: TestServer;
  const backends: Backend[] = [];

  const backend = async (name: string, ip: string, udp = false) => {
    const b = udp ? await udpBackend(name, ip) : await tcpBackend(name, ip);
    backends.push(b);
    return b;
  };

  async function service(name: string, spec: Record<string, unknown>) {
    const r = await api(ts.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name },
      spec: { ports: [{ port: 80 }], ...spec },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body.spec as { clusterIP: string; ports: Port[] };
  }

  async function endpoints(name: string, addresses: { ip: string }[], ports: Port[], method = 'POST') {
    const path = `/api/v1/namespaces/default/endpoints${method === 'PUT' ? `/${name}` : ''}`;
    const current = method === 'PUT' ? (await api(ts.url, 'GET', `${path}`)).body : undefined;
    const r = await api(ts.url, method, path, {
      metadata: { name, resourceVersion: current?.metadata.resourceVersion },
      subsets: addresses.length ? [{ addresses, ports }] : [],
    });
    expect(r.status, JSON.stringify(r.body)).to.be.oneOf([200, 201]);
  }

  before(async () => {
    ts = await startTestServer({
      role: 'up',
      plugins: { 'authz-bootstrap-roles': {}, 'proxy-userspace': {} },
    });
  });

  after(async () => {
    await ts?.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('serves a ClusterIP round robin over its ready endpoints: both replicas answer', async () => {
    const [a, b] = [await backend('a', '127.0.0.2'), await backend('b', '127.0.0.3')];
    expect(a.port).to.not.equal(0);
    const spec = await service('web', { ports: [{ port: 80, targetPort: 8080 }] });
    // One port each: hand-written Endpoints may name any port per address set.
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'web' },
      subsets: [
        { addresses: [{ ip: a.ip }], ports: [{ port: a.port }] },
        { addresses: [{ ip: b.ip }], ports: [{ port: b.port }] },
      ],
    });
    await until('the ClusterIP to answer', async () => (await ask(spec.clusterIP, 80)).length === 1);
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await ask(spec.clusterIP, 80));
    expect(seen.sort()).to.deep.equal(['a', 'a', 'b', 'b']);
  });

  it('skips an endpoint that refuses: every connection reaches the live one', async () => {
    const live = await backend('live', '127.0.0.4');
    const dead = await closedPort('127.0.0.5');
    const spec = await service('half-dead', {});
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'half-dead' },
      subsets: [
        { addresses: [{ ip: '127.0.0.5' }], ports: [{ port: dead }] },
        { addresses: [{ ip: live.ip }], ports: [{ port: live.port }] },
      ],
    });
    await until('the ClusterIP to answer', async () => (await ask(spec.clusterIP, 80)) === 'live');
    for (let i = 0; i < 4; i++) expect(await ask(spec.clusterIP, 80)).to.equal('live');
  });

  it('resets a connection at once when the service has no ready endpoint (not a hang)', async () => {
    const spec = await service('empty', {});
    await until('the ClusterIP to be listened on', () => listening('tcp', spec.clusterIP, 80));
    // Only notReadyAddresses: nothing to send to.
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'empty' },
      subsets: [{ notReadyAddresses: [{ ip: '127.0.0.6' }], ports: [{ port: 9 }] }],
    });
    expect(await ask(spec.clusterIP, 80, { timeoutMs: 2_000 })).to.equal('ECONNRESET');
  });

  it('keeps a client on one endpoint with sessionAffinity ClientIP', async () => {
    const [a, b] = [await backend('sticky-a', '127.0.0.7'), await backend('sticky-b', '127.0.0.8')];
    const spec = await service('sticky', { sessionAffinity: 'ClientIP' });
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'sticky' },
      subsets: [
        { addresses: [{ ip: a.ip }], ports: [{ port: a.port }] },
        { addresses: [{ ip: b.ip }], ports: [{ port: b.port }] },
      ],
    });
    await until('the ClusterIP to answer', async () => (await ask(spec.clusterIP, 80)).startsWith('sticky'));
    for (const client of ['127.0.0.20', '127.0.0.21']) {
      const first = await ask(spec.clusterIP, 80, { localAddress: client });
      for (let i = 0; i < 4; i++) expect(await ask(spec.clusterIP, 80, { localAddress: client })).to.equal(first);
    }
  });

  it('follows an Endpoints change, and an established connection survives it', async () => {
    const [old, fresh] = [await backend('old', '127.0.0.9'), await backend('new', '127.0.0.10')];
    const spec = await service('moving', { ports: [{ name: 'http', port: 80 }] });
    await endpoints('moving', [{ ip: old.ip }], [{ name: 'http', port: old.port }]);
    await until('the ClusterIP to answer', async () => (await ask(spec.clusterIP, 80)) === 'old');
    const { connect } = await import('node:net');
    const kept = connect({ host: spec.clusterIP, port: 80 });
    const lines: string[] = [];
    kept.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)));
    await until('the kept connection to greet', () => lines.includes('old'));
    await endpoints('moving', [{ ip: fresh.ip }], [{ name: 'http', port: fresh.port }], 'PUT');
    await until('new connections to reach the new endpoint', async () => (await ask(spec.clusterIP, 80)) === 'new');
    kept.write('still here\n');
    await until('the kept connection to echo', () => lines.includes('still here'));
    kept.destroy();
  });

  it('serves a NodePort on 127.0.0.1, and stops when the service goes', async () => {
    const web = await backend('nodeport', '127.0.0.11');
    const spec = await service('np', { type: 'NodePort' });
    const nodePort = spec.ports[0]!.nodePort!;
    await endpoints('np', [{ ip: web.ip }], [{ port: web.port }]);
    await until('the NodePort to answer', async () => (await ask('127.0.0.1', nodePort)) === 'nodeport');
    expect(await ask(spec.clusterIP, 80)).to.equal('nodeport');
    expect((await api(ts.url, 'DELETE', '/api/v1/namespaces/default/services/np')).status).to.equal(200);
    await until('the NodePort to close', () => !listening('tcp', '127.0.0.1', nodePort));
    await until('the ClusterIP port to close', () => !listening('tcp', spec.clusterIP, 80));
  });

  it("sends internalTrafficPolicy Local traffic only to endpoints on this machine's nodes", async () => {
    const node = { metadata: { name: 'here' }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } };
    const created = await api(ts.url, 'POST', '/api/v1/nodes', node);
    expect(created.status).to.equal(201);
    await api(ts.url, 'PUT', '/api/v1/nodes/here/status', { ...created.body, status: node.status });
    const [far, near] = [await backend('far', '127.0.0.15'), await backend('near', '127.0.0.16')];
    const spec = await service('local-only', { internalTrafficPolicy: 'Local' });
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'local-only' },
      subsets: [
        { addresses: [{ ip: far.ip, nodeName: 'elsewhere' }], ports: [{ port: far.port }] },
        { addresses: [{ ip: near.ip, nodeName: 'here' }], ports: [{ port: near.port }] },
      ],
    });
    await until('the ClusterIP to answer', async () => (await ask(spec.clusterIP, 80)) === 'near');
    for (let i = 0; i < 4; i++) expect(await ask(spec.clusterIP, 80)).to.equal('near');
  });

  it('sends externalTrafficPolicy Local NodePort traffic only to local endpoints, ClusterIP traffic to all', async () => {
    const node = {
      metadata: { name: 'here-too' },
      status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] },
    };
    const created = await api(ts.url, 'POST', '/api/v1/nodes', node);
    await api(ts.url, 'PUT', '/api/v1/nodes/here-too/status', { ...created.body, status: node.status });
    const [far, near] = [await backend('x-far', '127.0.0.18'), await backend('x-near', '127.0.0.19')];
    const spec = await service('ext-local', { type: 'NodePort', externalTrafficPolicy: 'Local' });
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'ext-local' },
      subsets: [
        { addresses: [{ ip: far.ip, nodeName: 'elsewhere' }], ports: [{ port: far.port }] },
        { addresses: [{ ip: near.ip, nodeName: 'here-too' }], ports: [{ port: near.port }] },
      ],
    });
    const nodePort = spec.ports[0]!.nodePort!;
    await until('the NodePort to answer', async () => (await ask('127.0.0.1', nodePort)) === 'x-near');
    for (let i = 0; i < 4; i++) expect(await ask('127.0.0.1', nodePort)).to.equal('x-near');
    const viaClusterIP = new Set<string>();
    for (let i = 0; i < 4; i++) viaClusterIP.add(await ask(spec.clusterIP, 80));
    expect([...viaClusterIP].sort()).to.deep.equal(['x-far', 'x-near']);
  });

  it('takes an address:port another program held once that program lets go of it', async () => {
    const blocker = await tcpBackend('blocker', '127.96.5.5');
    const web = await backend('late', '127.0.0.17');
    const spec = await service('late', { clusterIP: '127.96.5.5', ports: [{ port: blocker.port }] });
    await endpoints('late', [{ ip: web.ip }], [{ port: web.port }]);
    expect(await ask(spec.clusterIP, blocker.port)).to.equal('blocker');
    await blocker.close();
    await until('the proxy to listen there', async () => (await ask(spec.clusterIP, blocker.port)) === 'late');
  });

  it('carries a half-close and 8 MB each way: the answer after the client ends, nothing lost to back-pressure', async () => {
    // Echoes everything, and after the client's end a line with the byte count: an HTTP/1.0-style
    // exchange, where the server answers once the request is over.
    const echo = createServer({ allowHalfOpen: true }, (s) => {
      let bytes = 0;
      s.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!s.write(chunk)) s.pause();
      });
      s.on('drain', () => s.resume());
      s.on('end', () => s.end(`\nreceived ${bytes}\n`));
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.6', r));
    const port = (echo.address() as AddressInfo).port;
    try {
      const spec = await service('echo', {});
      await endpoints('echo', [{ ip: '127.0.0.6' }], [{ port }]);
      await until(
        'the echo ClusterIP to answer',
        async () => (await ask(spec.clusterIP, 80, { timeoutMs: 300 })) !== 'ECONNRESET',
      );
      const size = 8 * 1024 * 1024;
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const socket = connect({ host: spec.clusterIP, port: 80, allowHalfOpen: true });
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => resolve(Buffer.concat(chunks)));
        socket.on('error', reject);
        socket.end(Buffer.alloc(size, 120));
      });
      expect(answer.length).to.equal(size + `\nreceived ${size}\n`.length);
      expect(answer.subarray(size).toString()).to.equal(`\nreceived ${size}\n`);
    } finally {
      echo.close();
    }
  });

  it('forwards UDP datagrams and their answers', async () => {
    const dns = await backend('udp', '127.0.0.12', true);
    const spec = await service('udp', { ports: [{ port: 53, protocol: 'UDP' }] });
    await endpoints('udp', [{ ip: dns.ip }], [{ port: dns.port, protocol: 'UDP' }]);
    await until('the UDP ClusterIP to be bound', () => listening('udp', spec.clusterIP, 53));
    expect(await askUdp(spec.clusterIP, 53, 'ping')).to.equal('udp:ping');
  });

  it('listens on nothing once the server stops', async () => {
    const spec = await service('last', {});
    await until('the ClusterIP to be listened on', () => listening('tcp', spec.clusterIP, 80));
    await ts.close();
    expect(listening('tcp', spec.clusterIP, 80)).to.equal(false);
    ts = undefined as never;
  });
});
