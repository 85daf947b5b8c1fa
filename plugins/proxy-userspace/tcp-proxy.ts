/**
 * TCP: one listening socket per virtual address and port; each accepted connection is spliced to an
 * endpoint, trying the next one when an endpoint refuses or does not answer within the dial
 * timeout (upstream's userspace proxy tried up to four, with growing timeouts). With no endpoint,
 * or none answering, the client gets a reset at once, as upstream's REJECT rule gives.
 */
import { connect, createServer, type Socket } from 'node:net';
import { type Endpoint, endpointText } from './balancer.js';

const DIAL_TIMEOUT_MS = 1_000;

export interface Route {
  /** The endpoints to try in order for this client; empty: refuse. */
  order(clientIP: string): Endpoint[];
  answered(clientIP: string, endpoint: Endpoint): void;
}

export interface ConnectionLog {
  debug(obj: object, msg: string): void;
}

/** A listening socket: `close` stops accepting; `closeAll` also cuts the connections it carries. */
export interface Listener {
  close(): void;
  closeAll(): void;
}

/** Listens on host:port; rejects with the listen error (EADDRINUSE, EADDRNOTAVAIL). */
export function listenTcp(
  host: string,
  port: number,
  route: () => Route | undefined,
  log: ConnectionLog,
): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    void splice(client, route(), log);
  });
  const listener: Listener = {
    close: () => server.close(),
    closeAll() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve(listener);
    });
  });
}

function dial(endpoint: Endpoint): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const upstream = connect({ host: endpoint.ip, port: endpoint.port, allowHalfOpen: true, noDelay: true });
    const fail = () => {
      upstream.destroy();
      resolve(undefined);
    };
    upstream.setTimeout(DIAL_TIMEOUT_MS, fail);
    upstream.once('error', fail);
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      upstream.off('error', fail);
      resolve(upstream);
    });
  });
}

async function splice(client: Socket, route: Route | undefined, log: ConnectionLog): Promise<void> {
  client.on('error', () => undefined);
  const clientIP = normalise(client.remoteAddress ?? '');
  for (const endpoint of route?.order(clientIP) ?? []) {
    if (client.destroyed) return;
    const upstream = await dial(endpoint);
    if (!upstream) {
      log.debug({ endpoint: endpointText(endpoint) }, 'endpoint did not answer; trying the next');
      continue;
    }
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    route!.answered(clientIP, endpoint);
    join(client, upstream);
    return;
  }
  client.resetAndDestroy();
}

/** Both directions, half-closes passed on; an error on one side resets the other. */
function join(client: Socket, upstream: Socket): void {
  upstream.on('error', () => client.resetAndDestroy());
  client.on('error', () => upstream.resetAndDestroy());
  client.on('close', () => upstream.destroySoon());
  upstream.on('close', () => client.destroySoon());
  relay(client, upstream);
  relay(upstream, client);
  client.resume();
}

/**
 * `from`'s bytes to `to`, pausing while `to` is full, and its end as `to`'s: what pipe() does for
 * one destination, without the stream machinery it runs per chunk (every request through a
 * ClusterIP is a chunk each way).
 */
function relay(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}

/** ::ffff:10.0.0.1 → 10.0.0.1, so affinity sees one client whichever way it arrives. */
export function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
