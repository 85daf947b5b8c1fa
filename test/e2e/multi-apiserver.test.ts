/**
 * Several Skiff API servers on one real etcd, on loopback: two in this process (127.0.0.1 and
 * 127.0.0.2, same port, as upstream's servers share one) and one as a child process (127.0.0.3)
 * that is killed with SIGKILL. Watches, resourceVersions and reads agree across servers; the
 * kubernetes endpoints list the live servers and drop a dead one within the lease duration;
 * concurrent creates through two servers never share a cluster IP or node port.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { loadConfigFromObject } from '../../core/config/load.js';
import { createServer, type SkiffServer } from '../../core/server/server.js';
import { API_SERVER_ENDPOINTS } from '../../plugins/api-core-v1/index.js';
import { type EtcdProcess, freePort, requireEtcd, startEtcd } from '../helpers/etcd.js';
import { api } from '../helpers/server.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';

const TTL = 2;
const CORE_V1_CONFIG = { apiServerLeaseDurationSeconds: TTL, endpointReconcileIntervalSeconds: 0.5 };

interface Member {
  url: string;
  server: SkiffServer;
  close(): Promise<void>;
}

function settings(etcdUrl: string, dataDir: string, address: string, port: number) {
  return {
    server: {
      dataDir,
      insecureBindAddress: address,
      insecurePort: port,
      securePort: 0,
      storageBackend: 'etcd',
      shutdownTimeoutSeconds: 5,
    },
    plugins: {
      'storage-etcd': { config: { servers: [etcdUrl] } },
      'api-core-v1': { config: CORE_V1_CONFIG },
      'api-coordination-v1': {},
      'api-patch-json': {},
      'api-patch-strategic-merge': {},
    },
  };
}

async function startMember(etcdUrl: string, address: string, port: number): Promise<Member> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-multi-'));
  const config = await loadConfigFromObject(settings(etcdUrl, dataDir, address, port), '(test)');
  const logger = pino({ level: process.env.SKIFF_TEST_LOG ?? 'silent' });
  const server = await createServer({ config, role: 'apiserver', logger });
  try {
    await server.listen();
  } catch (err) {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `http://${address}:${port}`,
    server,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

type WatchLine = { type: string; object: { metadata: { name: string; resourceVersion: string } } };

/** A raw HTTP watch: every JSON line, read until `count` events arrived or `ms` passed. */
async function watchLines(url: string, count: number, ms: number, onOpen: () => Promise<void>): Promise<WatchLine[]> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  expect(res.status).to.equal(200);
  const reader = res.body!.getReader();
  const events: WatchLine[] = [];
  const timer = setTimeout(() => controller.abort(), ms);
  const writes = onOpen();
  let text = '';
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
      const lines = text.split('\n');
      text = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) events.push(JSON.parse(line) as WatchLine);
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  await writes;
  return events;
}

const endpointsVia = async (m: Member) =>
  (await api(m.url, 'GET', '/api/v1/namespaces/default/endpoints/kubernetes')).body.subsets;

const subsetOf = (port: number, ...ips: string[]) => [
  { addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'https', port, protocol: 'TCP' }] },
];

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

describe('e2e: several API servers on one etcd', function () {
  this.timeout(90_000);
  let etcd: EtcdProcess | undefined;
  let dir: string;
  let port: number;
  let a: Member;
  let b: Member;
  const members: Member[] = [];
  const processes: SkiffProcess[] = [];

  before(async function () {
    requireEtcd(this);
    dir = mkdtempSync(join(tmpdir(), 'skiff-multi-e2e-'));
    etcd = await startEtcd();
    // One port on several loopback addresses; a port taken meanwhile on one of them: pick another.
    for (let attempt = 1; members.length < 2; attempt++) {
      port = await freePort();
      try {
        a = await startMember(etcd.url, '127.0.0.1', port);
        members.push(a);
        b = await startMember(etcd.url, '127.0.0.2', port);
        members.push(b);
      } catch (err) {
        for (const m of members.splice(0)) await m.close();
        if (attempt >= 3) throw err;
      }
    }
  });

  after(async () => {
    killAll(processes);
    for (const m of members.splice(0).reverse()) await m.close();
    await etcd?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a watch through A sees the writes made through B, in order, with the resourceVersions B returned', async () => {
    const list = await api(a.url, 'GET', '/api/v1/namespaces/default/configmaps');
    const path = '/api/v1/namespaces/default/configmaps';
    const returned: string[] = [];
    const events = await watchLines(
      `${a.url}${path}?watch=1&resourceVersion=${list.body.metadata.resourceVersion}`,
      4,
      10_000,
      async () => {
        const one = await api(b.url, 'POST', path, { metadata: { name: 'one' }, data: { v: '1' } });
        returned.push(one.body.metadata.resourceVersion);
        const two = await api(b.url, 'POST', path, { metadata: { name: 'two' }, data: { v: '1' } });
        returned.push(two.body.metadata.resourceVersion);
        const patched = await api(
          b.url,
          'PATCH',
          `${path}/one`,
          { data: { v: '2' } },
          {
            'Content-Type': 'application/merge-patch+json',
          },
        );
        returned.push(patched.body.metadata.resourceVersion);
        expect((await api(b.url, 'DELETE', `${path}/two`)).status).to.equal(200);
      },
    );
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal([
      'ADDED one',
      'ADDED two',
      'MODIFIED one',
      'DELETED two',
    ]);
    expect(events.slice(0, 3).map((e) => e.object.metadata.resourceVersion)).to.deep.equal(returned);
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    expect([...rvs].sort((x, y) => x - y)).to.deep.equal(rvs);
    // A read through A right after B's write is consistent: it already has B's resourceVersion.
    const got = await api(a.url, 'GET', `${path}/one`);
    expect(got.body.metadata.resourceVersion).to.equal(returned[2]);
    expect(got.body.data).to.deep.equal({ v: '2' });
  });

  it('concurrent service creates through two servers never get the same cluster IP or node port', async () => {
    const create = (m: Member, name: string) =>
      api(m.url, 'POST', '/api/v1/namespaces/default/services', {
        metadata: { name },
        spec: { type: 'NodePort', ports: [{ port: 80 }] },
      });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => create(i % 2 ? a : b, `svc-${i}`)));
    expect(results.map((r) => r.status)).to.deep.equal(results.map(() => 201));
    const ips = results.map((r) => r.body.spec.clusterIP as string);
    const ports = results.map((r) => r.body.spec.ports[0].nodePort as number);
    expect(new Set(ips).size).to.equal(40);
    expect(new Set(ports).size).to.equal(40);
    expect(ips).to.not.include('127.96.0.1');
    // A requested address already held through A is refused through B with upstream's message.
    const taken = await api(b.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'copycat' },
      spec: { clusterIP: ips[1], ports: [{ port: 80 }] },
    });
    expect(taken.status).to.equal(422);
    expect(taken.body.message).to.contain('provided IP is already allocated');
  });

  it('the kubernetes endpoints list every live server, the same through each', async () => {
    const both = subsetOf(port, '127.0.0.1', '127.0.0.2');
    await waitFor(
      'both servers',
      () => endpointsVia(a),
      (s) => same(s, both),
      5000,
    );
    expect(await endpointsVia(b)).to.deep.equal(both);
    const leases = await api(
      a.url,
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?labelSelector=apiserver.kubernetes.io/identity%3Dkube-apiserver',
    );
    expect(leases.body.items).to.have.length(2);
  });

  it('a server killed with SIGKILL drops out within the lease duration', async () => {
    const config = join(dir, 'child.json');
    writeFileSync(config, JSON.stringify(settings(etcd!.url, join(dir, 'child-data'), '127.0.0.3', port)));
    const child = spawnSkiff(['apiserver', '--config', config, '--log-level', 'info']);
    processes.push(child);
    await child.waitForLine('the child to be ready', (l) => l.msg === 'ready', 30_000);
    const three = subsetOf(port, '127.0.0.1', '127.0.0.2', '127.0.0.3');
    await waitFor(
      'the child in the endpoints',
      () => endpointsVia(a),
      (s) => same(s, three),
      5000,
    );
    const killed = Date.now();
    child.child.kill('SIGKILL');
    await child.exited();
    await waitFor(
      'the dead child to drop out',
      () => endpointsVia(a),
      (s) => same(s, subsetOf(port, '127.0.0.1', '127.0.0.2')),
      (TTL + 2) * 1000,
    );
    const ms = Date.now() - killed;
    expect(ms).to.be.below((TTL + 0.5) * 1000);
    expect(await endpointsVia(b)).to.deep.equal(subsetOf(port, '127.0.0.1', '127.0.0.2'));
  });

  it('a server closed gracefully drops out at once, and its lease is gone', async () => {
    const identityOfB = b.server.use(API_SERVER_ENDPOINTS).identity;
    await b.close();
    members.splice(members.indexOf(b), 1);
    expect(await endpointsVia(a)).to.deep.equal(subsetOf(port, '127.0.0.1'));
    const lease = await api(a.url, 'GET', `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${identityOfB}`);
    expect(lease.status).to.equal(404);
  });
});
