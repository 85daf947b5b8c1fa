/**
 * One listener of a local balancer: accepts TCP connections on address:port and joins each to the
 * next backend in turn (round robin), trying the following ones when a backend refuses, until
 * every backend has been tried. A side that closes its sending half (FIN) has that passed on and
 * may still read the answer, as kube-proxy's userspace proxy copies each direction on its own; a
 * side that fails ends both. Closing it closes the listener and every connection through it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';

export interface Backend {
  host: string;
  port: number;
}

const CONNECT_TIMEOUT_MS = 3_000;

export class TcpListener {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private next = 0;
  backends: Backend[] = [];

  constructor(
    readonly address: string,
    readonly port: number,
    private readonly logger: Logger,
  ) {}

  async listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.address, port: this.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) =>
      this.logger.warn({ err, address: this.address, port: this.port }, 'balancer listener error'),
    );
    this.server = server;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    client.on('error', () => client.destroy());
    this.dial(client, this.backends.length);
  }

  /** Joins the client to the next backend; `tries` backends are left to try. */
  private dial(client: Socket, tries: number): void {
    if (tries <= 0 || this.backends.length === 0 || client.destroyed) {
      client.destroy();
      return;
    }
    const backend = this.backends[this.next++ % this.backends.length]!;
    const upstream = connect({
      host: backend.host,
      port: backend.port,
      timeout: CONNECT_TIMEOUT_MS,
      allowHalfOpen: true,
    });
    this.track(upstream);
    const retry = () => {
      upstream.destroy();
      this.dial(client, tries - 1);
    };
    upstream.once('error', retry);
    upstream.once('timeout', retry);
    upstream.once('connect', () => {
      upstream.off('error', retry);
      upstream.off('timeout', retry);
      upstream.setTimeout(0);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      // An orderly end reaches the client through the pipe; only a failed backend cuts it off.
      upstream.on('close', (hadError) => hadError && client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
