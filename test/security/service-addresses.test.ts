/**
 * Attack catalogue: service addresses (the proxy's data plane, plugins/proxy-userspace).
 *
 * The attacks: (1) make a packet for a cluster address leave the machine: a ClusterIP that nobody
 * serves, or any ClusterIP once the proxy has stopped, would follow the host's default route to a
 * real gateway, which may answer for it (traffic meant for the cluster handed to a stranger);
 * (2) choose a service range that covers a real network, so that the proxy's route captures that
 * network's traffic on the host; (3) leave the route behind (a proxy killed, a second proxy still
 * running) so the host keeps answering for addresses nobody serves; (4) write Endpoints that point
 * at the proxy itself (a ClusterIP, the proxy's own NodePort) so each connection makes another,
 * without end, until the host runs out of sockets; (5) reach a NodePort from the outside network
 * (upstream's userspace proxy listened on every address).
 *
 * Why they fail: the whole service range is one `local` route in the kernel's local table while a
 * proxy holds it, so every address of it, served or not, is this host's own and answered here
 * (a reset); each proxy holds it with a file naming its process and start time, and the last live
 * holder removes it on stop, a dead holder's file counting for nothing. The route is refused when
 * anything this host routes or owns lies inside the range. Endpoints inside the service range, on
 * one of the proxy's own listeners, or at 0.0.0.0 are skipped. NodePorts are served on 127.0.0.1
 * and this machine's nodes' InternalIPs (the pod bridge) only, unless --nodeport-addresses names
 * more.
 *
 * As DESIGN.md asks, nothing is ever sent to a non-loopback cluster address: where it goes is read
 * with `ip route get` and /proc, never by sending. Needs root (routes); skipped otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { SkiffError } from '../../core/errors.js';
import { HOLDERS_DIR, LocalServiceRange } from '../../plugins/proxy-userspace/local-range.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { NOT_ROOT, skipBecause } from '../helpers/skip.js';
import { ask, listening, tcpBackend, until } from '../plugins/proxy-userspace/helpers.js';

const isRoot = process.getuid?.() === 0;

/** A /16 in 10.150–199 nothing on this host routes yet. */
function freeServiceRange(): string {
  const table = execFileSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) {
    const second = 150 + Math.floor(Math.random() * 50);
    if (!table.includes(`10.${second}.`)) return `10.${second}.0.0/16`;
  }
  throw new Error('no free 10.1xx.0.0/16 range');
}

/** What the kernel would do with a packet to ip: "local ..." or "... via <gateway> dev ...". */
const routeGet = (ip: string) => execFileSync('ip', ['route', 'get', ip], { encoding: 'utf8' }).trim();
const localRoutes = (range: string) =>
  execFileSync('ip', ['route', 'show', 'table', 'local', range], { encoding: 'utf8' }).trim();

/** Whatever a failed test left: the route and the holder files. */
function removeRange(range: string): void {
  if (localRoutes(range)) spawnSync('ip', ['route', 'del', 'local', range, 'dev', 'lo', 'table', 'local']);
  rmSync(join(HOLDERS_DIR, range.replace('/', '_')), { recursive: true, force: true });
}

describe('security: service addresses never leave the machine', function () {
  this.timeout(20_000);
  let range: string;

  before(function () {
    if (!isRoot) skipBecause(this, NOT_ROOT);
    range = freeServiceRange();
  });
  afterEach(() => range && removeRange(range));

  it('while a proxy runs, every address of the service range (served or not) is local to this host; after stop the route is gone', async () => {
    const ts = await startTestServer({
      role: 'up',
      plugins: {
        'api-core-v1': { config: { serviceClusterIPRange: range } },
        'authz-bootstrap-roles': {},
        'proxy-userspace': {},
      },
    });
    try {
      const unused = range.replace('0.0/16', '200.9');
      await until('the service range to be local', () => routeGet(unused).startsWith('local'));
      expect(localRoutes(range)).to.contain(`local ${range} dev lo`);
      const svc = await api(ts.url, 'POST', '/api/v1/namespaces/default/services', {
        metadata: { name: 'web' },
        spec: { ports: [{ port: 80 }] },
      });
      await until('the ClusterIP to be listened on', () => listening('tcp', svc.body.spec.clusterIP, 80));
    } finally {
      await ts.close();
    }
    expect(localRoutes(range)).to.equal('');
    expect(existsSync(join(HOLDERS_DIR, range.replace('/', '_')))).to.equal(false);
  });

  it('refuses a service range that covers a network this host routes (it would capture that traffic)', async function () {
    const routes = JSON.parse(execFileSync('ip', ['-j', 'route', 'show'], { encoding: 'utf8' })) as { dst: string }[];
    const network = routes.find((r) => r.dst !== 'default' && /^\d+\.\d+\.\d+\.\d+\/(\d+)$/.test(r.dst));
    if (!network) skipBecause(this, 'this host routes no network besides its default route');
    const taken = new LocalServiceRange(network!.dst);
    const err = await taken.acquire().then(
      () => undefined,
      (e: unknown) => e,
    );
    await taken.release();
    expect(err).to.be.instanceOf(SkiffError);
    expect((err as SkiffError).code).to.equal('SKIFF_PROXY_RANGE_IN_USE');
    expect(localRoutes(network!.dst)).to.not.contain('dev lo');
  });

  it('keeps the route while another proxy still holds it, and a holder killed with -9 does not keep it', async () => {
    const first = new LocalServiceRange(range);
    const second = new LocalServiceRange(range);
    await first.acquire();
    await second.acquire();
    await first.release();
    expect(localRoutes(range), 'the second proxy still serves the range').to.contain('dev lo');
    // A proxy that died without releasing: its PID is gone, so its file counts for nothing.
    const dead = spawnSync('true').pid;
    const dir = join(HOLDERS_DIR, range.replace('/', '_'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${dead}-1`), '12345');
    await second.release();
    expect(localRoutes(range)).to.equal('');
  });
});

describe('security: where the proxy listens, and what it dials', function () {
  this.timeout(20_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ role: 'up', plugins: { 'authz-bootstrap-roles': {}, 'proxy-userspace': {} } });
  });
  after(async () => ts?.close());

  it("serves a NodePort on loopback and this machine's nodes only, never on every address (0.0.0.0) where the outside network could reach it", async () => {
    const svc = await api(ts.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'exposed' },
      spec: { type: 'NodePort', ports: [{ port: 80 }] },
    });
    const nodePort = svc.body.spec.ports[0].nodePort as number;
    await until('the NodePort on 127.0.0.1', () => listening('tcp', '127.0.0.1', nodePort));
    expect(listening('tcp', '0.0.0.0', nodePort)).to.equal(false);
  });

  it('skips an endpoint on the ClusterIP itself: the client is reset instead of the proxy dialling itself without end', async () => {
    const real = await tcpBackend('real', '127.0.0.13');
    try {
      const svc = await api(ts.url, 'POST', '/api/v1/namespaces/default/services', {
        metadata: { name: 'loop' },
        spec: { type: 'NodePort', ports: [{ port: 80 }] },
      });
      const { clusterIP, ports } = svc.body.spec;
      await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
        metadata: { name: 'loop' },
        subsets: [
          { addresses: [{ ip: clusterIP }], ports: [{ port: 80 }] },
          { addresses: [{ ip: '127.0.0.1' }], ports: [{ port: ports[0].nodePort }] },
        ],
      });
      await until('the ClusterIP to be listened on', () => listening('tcp', clusterIP, 80));
      expect(await ask(clusterIP, 80, { timeoutMs: 2_000 })).to.equal('ECONNRESET');
      // The same service with a real endpoint beside the loops: only the real one is used.
      await api(
        ts.url,
        'PATCH',
        '/api/v1/namespaces/default/endpoints/loop',
        {
          subsets: [
            { addresses: [{ ip: clusterIP }], ports: [{ port: 80 }] },
            { addresses: [{ ip: real.ip }], ports: [{ port: real.port }] },
          ],
        },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      await until('the real endpoint to answer', async () => (await ask(clusterIP, 80)) === 'real');
      for (let i = 0; i < 4; i++) expect(await ask(clusterIP, 80)).to.equal('real');
    } finally {
      await real.close();
    }
  });
});
