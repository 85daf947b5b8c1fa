/**
 * What the proxy benchmark's targets can reach at all on this machine: the same traffic carried by
 * the plainest Node.js relays of the same shape, with nothing of Skiff in them. Each relay is a
 * process of its own, as the API server, the kubelet and kubectl are.
 * - HTTP: one bare http.createServer that forwards every request to the pod over a keep-alive
 *   agent and pipes the answer back (no TLS, authentication, authorization, audit or metrics).
 * - port-forward: three bare socket relays in a row, the two links between them TLS, as the data
 *   of `kubectl port-forward` goes pod → kubelet ⇒ API server ⇒ kubectl → user (no SPDY, no
 *   WebSocket, no authentication).
 * If the bare relays' ratio is below a target, the target is out of reach for any Node.js proxy
 * on this machine, and the table says so beside Skiff's figure.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** Forwards everything to TARGET_HOST:TARGET_PORT; prints its port. */
const HTTP_PROXY = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true });
const { TARGET_HOST: host, TARGET_PORT: port } = process.env;
const server = http.createServer((req, res) => {
  const out = http.request({ host, port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  out.on('error', () => { res.statusCode = 502; res.end(); });
  req.pipe(out);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** Pipes each connection to TARGET_HOST:TARGET_PORT; TLS on the listed sides; prints its port. */
const SOCKET_RELAY = `
const net = require('net'), tls = require('tls');
const { TARGET_HOST: host, TARGET_PORT: port, TLS_IN, TLS_OUT, CERT, KEY } = process.env;
const relay = (client) => {
  const upstream = TLS_OUT ? tls.connect({ host, port, rejectUnauthorized: false }) : net.connect(port, host);
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
};
const server = TLS_IN ? tls.createServer({ cert: CERT, key: KEY }, relay) : net.createServer(relay);
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

export interface Relay {
  port: number;
  stop(): void;
}

function startRelay(source: string, env: Record<string, string>): Promise<Relay> {
  const child: ChildProcess = spawn(process.execPath, ['-e', source], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => void child.kill('SIGKILL');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error('a bare relay did not start in 10 s'));
    }, 10_000);
    child.stdout?.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve({ port: Number(d.toString().trim()), stop });
    });
    child.once('exit', (code) => reject(new Error(`a bare relay exited ${code}`)));
  });
}

/** The bare HTTP proxy in front of host:port. */
export function bareHttpProxy(host: string, port: number): Promise<Relay> {
  return startRelay(HTTP_PROXY, { TARGET_HOST: host, TARGET_PORT: String(port) });
}

/** kubelet-like ⇒ API-server-like ⇒ kubectl-like relays in front of host:port; the last one's port. */
export async function bareRelayChain(host: string, port: number, tls: { cert: string; key: string }): Promise<Relay> {
  const started: Relay[] = [];
  const stop = () => {
    for (const r of started) r.stop();
  };
  try {
    const hops = [
      { TLS_IN: '1', TLS_OUT: '' },
      { TLS_IN: '1', TLS_OUT: '1' },
      { TLS_IN: '', TLS_OUT: '1' },
    ];
    let target = { host, port };
    for (const hop of hops) {
      const env = { ...hop, TARGET_HOST: target.host, TARGET_PORT: String(target.port), CERT: tls.cert, KEY: tls.key };
      const relay = await startRelay(SOCKET_RELAY, env);
      started.push(relay);
      target = { host: '127.0.0.1', port: relay.port };
    }
    return { port: target.port, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
