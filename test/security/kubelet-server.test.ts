/**
 * Attack catalogue: the kubelet's server.
 *
 * The attack: a kubelet's port (10250) runs commands in every container of its node, forwards to
 * their ports and reads their logs and the node's; reach it and you own the node's workloads. So:
 * call it with no credentials, with a certificate from a CA of your own, with a made-up token;
 * call it as a real user who holds no kubelet rights, or holds only the harmless ones (stats) and
 * tries the dangerous ones (exec, run) or sneaks there through path tricks; use the read-only port,
 * which needs no credentials, for what writes or runs; use the debugging endpoints where they are
 * turned off; and, once allowed to exec, step out of the container.
 *
 * Why it fails: as upstream's kubelet (pkg/kubelet/server/auth.go with the delegating
 * authenticator and the webhook authorizer). Every request on the HTTPS port is authenticated —
 * an x509 client certificate verified against the cluster CA, or a bearer token the API server
 * confirms with a TokenReview — and anything else is 401 "Unauthorized" (anonymous is off,
 * --anonymous-auth=false, and even when on it is only system:anonymous, which nothing authorizes).
 * Then it is authorized with a SubjectAccessReview for the request's verb on the node's
 * subresource — /stats… nodes/stats, /metrics… nodes/metrics, /logs… nodes/log, /spec… nodes/spec,
 * everything else (exec, run, attach, port-forward, pods, logs of containers, healthz) nodes/proxy
 * — and a refusal is 403 "Forbidden (user=…, verb=…, resource=nodes, subresource(s)=[…])". The path
 * authorized is the path routed: dot segments are resolved first and encoded ones refused. The
 * read-only port serves only /healthz, /pods, /stats, /metrics and /spec, and answers the
 * debugging endpoints 405 "Debug endpoints are disabled.", as do both ports with
 * --enable-debugging-handlers=false. An exec runs inside the container's PID, mount, UTS and network
 * namespaces (runtime-process's nsenter). Skiff: plugins/node-kubelet/server.ts, server/auth.ts,
 * server/router.ts.
 */
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { expect } from 'chai';
import { WebSocket } from 'ws';
import type { Kubelet } from '../../plugins/node-kubelet/kubelet.js';
import { selfSignedPair } from '../../plugins/node-kubelet/server/tls.js';
import { startKubeletServer } from '../../plugins/node-kubelet/server.js';
import { HTTP_SERVER, isRoot, PODS, podSpec, rootReason, waitFor } from '../plugins/node-kubelet/helpers.js';
import {
  type ClientIdentity,
  kubeletRequest,
  type ServerHarness,
  startServerHarness,
  TOKENS,
} from '../plugins/node-kubelet/server-helpers.js';

const UPGRADE_WS = {
  Connection: 'Upgrade',
  Upgrade: 'websocket',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Protocol': 'v5.channel.k8s.io',
};

/** One path per endpoint family, with the subresource upstream's kubelet checks for it. */
const FAMILIES: { path: string; subresource: string; method?: string; headers?: Record<string, string> }[] = [
  { path: '/stats/summary', subresource: 'stats' },
  { path: '/stats/', subresource: 'stats' },
  { path: '/metrics', subresource: 'metrics' },
  { path: '/metrics/resource', subresource: 'metrics' },
  { path: '/logs/', subresource: 'log' },
  { path: '/spec/', subresource: 'spec' },
  { path: '/pods', subresource: 'proxy' },
  { path: '/healthz', subresource: 'proxy' },
  { path: '/runningpods/', subresource: 'proxy' },
  { path: '/containerLogs/default/web/main', subresource: 'proxy' },
  { path: '/run/default/web/main?cmd=id', subresource: 'proxy', method: 'POST' },
  { path: '/exec/default/web/main?command=id&stdout=1', subresource: 'proxy', headers: UPGRADE_WS },
  { path: '/attach/default/web/main?stdout=1', subresource: 'proxy', headers: UPGRADE_WS },
  { path: '/portForward/default/web?port=8080', subresource: 'proxy', headers: UPGRADE_WS },
];

const DEBUG_PATHS = [
  '/run/default/web/main?cmd=id',
  '/exec/default/web/main?command=id&stdout=1',
  '/attach/default/web/main?stdout=1',
  '/portForward/default/web?port=8080',
  '/containerLogs/default/web/main',
  '/logs/',
  '/runningpods/',
];

const verbOf = (method = 'GET') => (method === 'POST' ? 'create' : 'get');

describe('attack catalogue: the kubelet server lets in only whom the API server vouches for, only to what it allows', function () {
  this.timeout(120_000);
  let h: ServerHarness;
  let kubelet: Kubelet;
  let port: number;
  const as = (who: ClientIdentity, f: (typeof FAMILIES)[number]) =>
    kubeletRequest(port, f.path, who, { method: f.method, headers: f.headers });

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    h = await startServerHarness();
    kubelet = await h.serving('guarded');
    port = await h.portOf('guarded');
    await h.admin.create(PODS, 'default', podSpec('web', 'guarded', HTTP_SERVER));
    await waitFor(
      'pod web running',
      () => h.admin.get(PODS, 'default', 'web'),
      (p) => (p.status as { phase?: string })?.phase === 'Running',
    );
  });

  after(async () => {
    await h?.close();
  });

  it('no credentials: 401 "Unauthorized" for every endpoint family, upgrades included', async () => {
    for (const f of FAMILIES) {
      const res = await as({}, f);
      expect(res.status, f.path).to.equal(401);
      expect(res.body, f.path).to.equal('Unauthorized');
    }
  });

  it("a client certificate from a CA of the attacker's own (CN kube-apiserver-kubelet-client): 401, never anonymous", async () => {
    const forged = await selfSignedPair('kube-apiserver-kubelet-client', []);
    const res = await kubeletRequest(port, '/pods', { certPem: forged.certPem, keyPem: forged.keyPem });
    expect(res.status).to.equal(401);
  });

  it("a made-up bearer token: 401 (the API server's TokenReview does not know it)", async () => {
    expect((await kubeletRequest(port, '/pods', { token: 'made-up' })).status).to.equal(401);
  });

  it("a real user holding no kubelet rights: 403 with upstream's message, per family", async () => {
    for (const f of FAMILIES) {
      const res = await as({ token: TOKENS.nobody }, f);
      expect(res.status, f.path).to.equal(403);
      expect(res.body, f.path).to.equal(
        `Forbidden (user=nobody-user, verb=${verbOf(f.method)}, resource=nodes, subresource(s)=[${f.subresource}])\n`,
      );
    }
  });

  it('a trusted certificate for a user holding nothing (CN stranger): authenticated, then 403', async () => {
    const res = await kubeletRequest(port, '/stats/summary', h.strangerClient);
    expect(res.status).to.equal(403);
    expect(res.body).to.include('user=stranger');
  });

  it('each right opens its own family and no other: stats, metrics, log, spec, proxy', async () => {
    const holders: Record<string, ClientIdentity> = {
      stats: { token: TOKENS.stats },
      metrics: { token: TOKENS.metrics },
      log: { token: TOKENS.log },
      spec: { token: TOKENS.spec },
      proxy: { token: TOKENS.proxy },
    };
    const plain = FAMILIES.filter((f) => !f.headers && f.method !== 'POST');
    for (const [right, who] of Object.entries(holders)) {
      for (const f of plain) {
        const res = await as(who, f);
        if (f.subresource === right) expect(res.status, `${right} → ${f.path}`).to.equal(200);
        else expect(res.status, `${right} → ${f.path}`).to.equal(403);
      }
    }
  });

  it("the API server's kubelet client certificate (system:kubelet-api-admin) may do everything", async () => {
    for (const f of FAMILIES.filter((x) => !x.headers)) {
      expect((await as(h.apiserverClient, f)).status, f.path).to.equal(200);
    }
  });

  it('path tricks: a stats-only user cannot reach /run through dot segments, encoded or not', async () => {
    const stats = { token: TOKENS.stats };
    // Resolved before authorization: the path authorized is /run/..., nodes/proxy, which stats lacks.
    const dotted = await kubeletRequest(port, '/stats/../run/default/web/main?cmd=id', stats, { method: 'POST' });
    expect(dotted.status).to.equal(403);
    expect(dotted.body).to.include('subresource(s)=[proxy]');
    // Encoded separators would decode into dot segments after the URL was resolved: refused outright.
    const encoded = await kubeletRequest(port, '/stats%2F..%2Frun/default/web/main?cmd=id', stats, { method: 'POST' });
    expect(encoded.status).to.equal(400);
    const logs = await kubeletRequest(port, '/logs/..%2F..%2F..%2Fetc%2Fpasswd', { token: TOKENS.log });
    expect(logs.status).to.equal(400);
  });

  it('the read-only port serves /healthz, /pods, /stats, /metrics and /spec without credentials, nothing that runs or reads logs', async () => {
    const readOnly = await startKubeletServer(
      Object.create(kubelet, { config: { value: { ...kubelet.config, port: 0, readOnlyPort: 'auto' } } }),
    );
    try {
      const get = (path: string, method = 'GET') =>
        kubeletRequest(readOnly.readOnlyPort, path, {}, { plain: true, method });
      for (const path of ['/healthz', '/pods', '/stats/summary', '/metrics', '/metrics/resource', '/spec/']) {
        expect((await get(path)).status, path).to.equal(200);
      }
      for (const path of DEBUG_PATHS) {
        const res = await get(path, path.startsWith('/run') ? 'POST' : 'GET');
        expect(res.status, path).to.equal(405);
        expect(res.body, path).to.equal('Debug endpoints are disabled.\n');
      }
      expect((await get('/configz')).status).to.equal(404);
    } finally {
      await readOnly.close();
    }
  });

  it('with --enable-debugging-handlers=false, exec, run, attach, port-forward and logs are 405 even for the API server', async () => {
    const locked = await startKubeletServer(
      Object.create(kubelet, {
        config: { value: { ...kubelet.config, port: 'auto', enableDebuggingHandlers: false, certDir: undefined } },
      }),
    );
    try {
      for (const path of DEBUG_PATHS) {
        const res = await kubeletRequest(locked.port, path, h.apiserverClient, {
          method: path.startsWith('/run') ? 'POST' : 'GET',
        });
        expect(res.status, path).to.equal(405);
        expect(res.body, path).to.equal('Debug endpoints are disabled.\n');
      }
      expect((await kubeletRequest(locked.port, '/pods', h.apiserverClient)).status).to.equal(200);
    } finally {
      await locked.close();
    }
  });

  it('with --anonymous-auth=true a caller without credentials is system:anonymous, which nothing authorizes: 403', async () => {
    const open = await startKubeletServer(
      Object.create(kubelet, { config: { value: { ...kubelet.config, port: 'auto', anonymousAuth: true } } }),
    );
    try {
      const res = await kubeletRequest(open.port, '/pods', {});
      expect(res.status).to.equal(403);
      expect(res.body).to.include('user=system:anonymous');
    } finally {
      await open.close();
    }
  });

  it("an exec runs inside the container: its own PID namespace, hostname and network namespace, not the host's", async () => {
    const run = (cmd: string) =>
      new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(
          `wss://127.0.0.1:${port}/exec/default/web/main?command=sh&command=-c&command=${encodeURIComponent(cmd)}&stdout=1`,
          ['v5.channel.k8s.io'],
          { cert: h.apiserverClient.certPem, key: h.apiserverClient.keyPem, rejectUnauthorized: false },
        );
        const out: Buffer[] = [];
        ws.on('message', (d: Buffer) => d[0] === 1 && out.push(d.subarray(1)));
        ws.on('close', () => resolve(Buffer.concat(out).toString().trim()));
        ws.on('error', reject);
      });
    expect(await run('readlink /proc/self/ns/pid')).to.not.equal(readlinkSync('/proc/self/ns/pid'));
    expect(await run('readlink /proc/self/ns/net')).to.not.equal(readlinkSync('/proc/self/ns/net'));
    expect(await run('readlink /proc/self/ns/mnt')).to.not.equal(readlinkSync('/proc/self/ns/mnt'));
    expect(await run('hostname'))
      .to.equal('web')
      .and.not.equal(hostname());
  });
});
