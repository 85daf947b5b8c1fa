/**
 * Backends and clients for the proxy's tests: small TCP and UDP servers on 127.0.0.x that answer
 * with their own name, a client that reads that answer (or the error a refused or reset
 * connection gives), and which sockets the host listens on (read from /proc, without sending).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  name: string;
  ip: string;
  port: number;
  close(): Promise<void>;
}

/** A TCP server on ip that writes its name on connect, then echoes. */
export async function tcpBackend(name: string, ip = '127.0.0.1'): Promise<Backend> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(`${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    name,
    ip,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A UDP server answering each datagram with `<name>:<datagram>`. */
export async function udpBackend(name: string, ip = '127.0.0.1'): Promise<Backend> {
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => socket.send(`${name}:${msg}`, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => socket.bind(0, ip, resolve));
  return {
    name,
    ip,
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A closed port on ip: one a server held a moment ago. */
export async function closedPort(ip = '127.0.0.1'): Promise<number> {
  const b = await tcpBackend('closed', ip);
  await b.close();
  return b.port;
}

/** Connects and resolves with the first line the server sends, or the error's code (ECONNRESET, ECONNREFUSED, TIMEOUT). */
export function ask(
  host: string,
  port: number,
  options: { localAddress?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress: options.localAddress });
    let data = '';
    const done = (answer: string) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(options.timeoutMs ?? 3_000, () => done('TIMEOUT'));
    socket.on('data', (chunk) => {
      data += chunk;
      if (data.includes('\n')) done(data.slice(0, data.indexOf('\n')));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('end', () => done(data || 'EOF'));
  });
}

/** Sends one datagram and resolves with the answer, or TIMEOUT. */
export function askUdp(host: string, port: number, text: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => done('TIMEOUT'), timeoutMs);
    const done = (answer: string) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    socket.on('message', (msg) => done(String(msg)));
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.send(text, port, host);
  });
}

function hexAddress(ip: string, port: number): string {
  const bytes = ip.split('.').map(Number).reverse();
  const hex = bytes
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** Whether some socket of this host listens on ip:port (TCP) or is bound there (UDP), read from /proc. */
export function listening(protocol: 'tcp' | 'udp', ip: string, port: number): boolean {
  const wanted = hexAddress(ip, port);
  return readFileSync(`/proc/net/${protocol}`, 'utf8')
    .split('\n')
    .slice(1)
    .some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1] === wanted && (protocol === 'udp' || fields[3] === '0A');
    });
}

/** Polls until `check` gives a truthy value, at most `ms`. */
export async function until<T>(what: string, check: () => T | Promise<T>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
