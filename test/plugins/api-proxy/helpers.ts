/**
 * Set-up for api-proxy's tests without kubelets or pods: a real API server (insecure port, as
 * system:masters) with api-proxy, a Node whose pod CIDR is a loopback range of the test's own, and
 * backends the test starts on addresses of that range — "pods" (plain HTTP) and a "kubelet" (HTTPS
 * with a self-signed certificate, asking for client certificates) — so every request the proxy
 * makes stays on 127.0.0.0/8 and can be inspected.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

/** A /16 of 127/8 per test process, so parallel runs do not meet. */
export const RANGE_SECOND = 100 + (process.pid % 100);
export const podAddress = (n: number) => `127.${RANGE_SECOND}.0.${n}`;
export const POD_CIDR = `127.${RANGE_SECOND}.0.0/16`;

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Backend {
  server: Server;
  host: string;
  port: number;
  /** Every request the backend received: method, url and headers. */
  seen: { method: string; url: string; headers: IncomingMessage['headers']; peerCN?: string }[];
  sockets: Set<Socket>;
}

export async function startBackend(
  host: string,
  handler: Handler,
  tls?: { cert: string; key: string },
): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const sockets = new Set<Socket>();
  const record: Handler = (req, res) => {
    const peer = (
      req.socket as unknown as { getPeerCertificate?: () => { subject?: { CN?: string } } }
    ).getPeerCertificate?.();
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, peerCN: peer?.subject?.CN });
    handler(req, res);
  };
  const server = tls
    ? createHttpsServer({ ...tls, requestCert: true, rejectUnauthorized: false }, record)
    : createServer(record);
  server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, host, seen, sockets, port: (server.address() as AddressInfo).port };
}

export async function stopBackend(b: Backend | undefined): Promise<void> {
  if (!b) return;
  for (const s of b.sockets) s.destroy();
  await new Promise<void>((r) => b.server.close(() => r()));
}

/** A self-signed serving certificate for 127.0.0.1 (what a kubelet makes for itself). */
export function selfSigned(): { cert: string; key: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=fake-kubelet',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(join(dir, 'tls.crt'), 'utf8'), key: readFileSync(join(dir, 'tls.key'), 'utf8'), dir };
}

export async function startProxyServer(plugins: Record<string, unknown> = {}): Promise<TestServer> {
  return startTestServer({ plugins: { 'api-proxy': {}, ...plugins } });
}

export async function must(server: TestServer, method: string, path: string, body?: unknown) {
  const r = await api(server.url, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A Node whose pod CIDR is the test's range, reporting `kubeletPort` and an InternalIP. */
export async function createNode(server: TestServer, name: string, kubeletPort: number, internalIP = '127.0.0.1') {
  const node = await must(server, 'POST', '/api/v1/nodes', {
    metadata: { name },
    spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
  });
  node.status = {
    addresses: [
      { type: 'InternalIP', address: internalIP },
      { type: 'Hostname', address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
  };
  await must(server, 'PUT', `/api/v1/nodes/${name}/status`, node);
}

/** A pod on `node` whose status says it runs at `ip` (what a kubelet would write). */
export async function createPod(
  server: TestServer,
  name: string,
  ip: string,
  options: { node?: string; port?: number; containers?: string[]; phase?: string; namespace?: string } = {},
) {
  const ns = options.namespace ?? 'default';
  const containers = (options.containers ?? ['web']).map((c, i) => ({
    name: c,
    image: 'web',
    ...(i === 0 && options.port ? { ports: [{ containerPort: options.port }] } : {}),
  }));
  const pod = await must(server, 'POST', `/api/v1/namespaces/${ns}/pods`, {
    metadata: { name },
    spec: { nodeName: options.node, containers },
  });
  pod.status = { phase: options.phase ?? 'Running', podIP: ip, podIPs: [{ ip }] };
  await must(server, 'PUT', `/api/v1/namespaces/${ns}/pods/${name}/status`, pod);
}

export function cleanup(dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
