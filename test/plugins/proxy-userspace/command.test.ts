/**
 * `skiff proxy` as a real process against a test server over HTTPS: it authenticates as
 * system:kube-proxy with the client certificate the PKI keeps for it (authorized by the bootstrap
 * roles' system:node-proxier, nothing more), serves a ClusterIP, answers /healthz and /metrics,
 * and on SIGTERM exits with nothing left listening. Bad flags are refused with upstream's names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../../helpers/skiff-process.js';
import { ask, type Backend, listening, tcpBackend, until } from './helpers.js';

describe('skiff proxy (its own process)', function () {
  this.timeout(60_000);
  let ts: TestServer;
  let dir: string;
  let web: Backend;
  const processes: SkiffProcess[] = [];

  before(async () => {
    ts = await startTestServer({
      secure: true,
      plugins: { 'authn-x509': {}, 'authz-bootstrap-roles': {} },
    });
    dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-cmd-'));
    writeFileSync(
      join(dir, 'config.yaml'),
      stringify({
        server: { dataDir: ts.dataDir },
        plugins: { 'api-core-v1': {}, 'pki-local': {}, 'proxy-userspace': {} },
      }),
    );
    web = await tcpBackend('web', '127.0.0.14');
  });

  after(async () => {
    killAll(processes);
    await web?.close();
    await ts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves ClusterIPs as system:kube-proxy, answers /healthz and /metrics, and stops cleanly', async () => {
    const svc = await api(ts.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'web' },
      spec: { ports: [{ port: 80 }] },
    });
    const clusterIP = svc.body.spec.clusterIP as string;
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'web' },
      subsets: [{ addresses: [{ ip: web.ip }], ports: [{ port: web.port }] }],
    });
    const proxy = spawnSkiff([
      'proxy',
      '--config',
      join(dir, 'config.yaml'),
      '--master',
      ts.secureUrl!,
      '--proxy-mode',
      'userspace',
      '--healthz-bind-address',
      '127.0.0.1:0',
      '--metrics-bind-address',
      '127.0.0.1:0',
    ]);
    processes.push(proxy);
    const running = await proxy.waitForLine('the proxy to run', (l) => l.msg === 'proxy running');
    const ports = running.ports as { healthz: number; metrics: number };
    await until('the ClusterIP to answer', async () => (await ask(clusterIP, 80)) === 'web', 10_000);
    const health = await fetch(`http://127.0.0.1:${ports.healthz}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.have.keys('lastUpdated', 'currentTime');
    const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    expect(metrics).to.match(/^kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/m);
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited(15_000)).to.equal(0);
    expect(listening('tcp', clusterIP, 80)).to.equal(false);
  });

  it('refuses a proxy mode it does not offer, naming the one it has', async () => {
    const proxy = spawnSkiff(['proxy', '--proxy-mode', 'iptables']);
    processes.push(proxy);
    expect(await proxy.exited(15_000)).to.not.equal(0);
    expect(proxy.output()).to.contain("Skiff's proxy is userspace");
  });
});
