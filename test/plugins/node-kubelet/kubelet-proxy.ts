/**
 * A test fixture, not product code (issue 22 builds the real API-server proxy): a plain-HTTP front
 * for kubectl that forwards everything to the test API server, except pods/exec, pods/attach and
 * pods/portforward, which it maps onto the kubelet's own paths
 * (/exec/<ns>/<pod>/<container>?command=…&stdin=1…, /portForward/<ns>/<pod>) and carries to the
 * kubelet over TLS with the API server's kubelet client certificate — upgrade and all, bytes
 * copied both ways, so kubectl's WebSocket and SPDY conversations reach the kubelet unchanged.
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import type { ClientIdentity } from './server-helpers.js';

export interface KubeletProxy {
  url: string;
  /** Each upgrade carried: "<Upgrade header> <subprotocols or stream protocol versions>". */
  upgrades: string[];
  close(): Promise<void>;
}

const STREAMING = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/;

/** The kubelet path for an API streaming request, as the API server's pods/exec REST builds it. */
export function kubeletPath(apiPath: string, query: URLSearchParams, defaultContainer: string): string | undefined {
  const m = STREAMING.exec(apiPath);
  if (!m) return undefined;
  const [, ns, pod, verb] = m;
  if (verb === 'portforward') {
    const ports = query.getAll('ports');
    const out = new URLSearchParams(ports.map((p): [string, string] => ['port', p]));
    return `/portForward/${ns}/${pod}${ports.length ? `?${out}` : ''}`;
  }
  const out = new URLSearchParams();
  for (const c of query.getAll('command')) out.append('command', c);
  for (const flag of ['stdin', 'stdout', 'stderr', 'tty']) if (query.get(flag) === 'true') out.set(flag, '1');
  const container = query.get('container') || defaultContainer;
  return `/${verb}/${ns}/${pod}/${container}?${out}`;
}

export async function startKubeletProxy(
  apiServer: string,
  kubeletPort: number,
  identity: ClientIdentity,
): Promise<KubeletProxy> {
  const api = new URL(apiServer);
  const sockets = new Set<Duplex>();
  const server: Server = createServer((req, res) => {
    const upstream = request(
      {
        host: api.hostname,
        port: api.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: api.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const upgrades: string[] = [];
  const toKubelet = (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const offered = req.headers['sec-websocket-protocol'] ?? req.headers['x-stream-protocol-version'] ?? '';
    upgrades.push(`${req.headers.upgrade} ${offered}`);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const path = kubeletPath(url.pathname, url.searchParams, 'main');
    if (!path) {
      client.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const kubelet = connect({
      host: '127.0.0.1',
      port: kubeletPort,
      cert: identity.certPem,
      key: identity.keyPem,
      rejectUnauthorized: false,
    });
    sockets.add(kubelet);
    kubelet.on('close', () => sockets.delete(kubelet));
    const headers = Object.entries(req.headers)
      .filter(([k]) => !['authorization', 'host'].includes(k))
      .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]));
    kubelet.write(
      `${req.method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${kubeletPort}\r\n${headers.join('\r\n')}\r\n\r\n`,
    );
    if (head.length) kubelet.write(head);
    kubelet.pipe(client);
    client.pipe(kubelet);
    const end = () => {
      kubelet.destroy();
      client.destroy();
    };
    kubelet.on('error', end);
    client.on('error', end);
    kubelet.on('close', end);
    client.on('close', end);
  };
  server.on('upgrade', toKubelet);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
