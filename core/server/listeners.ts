/**
 * The server's listeners (HTTPS and the loopback-only insecure port): the connection timeouts
 * kube-apiserver's Go server sets, a Status for requests Node cannot parse, coded errors for a port
 * or address that cannot be used, and the open sockets, so shutdown can close them.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ResolvedConfig } from '../config/load.js';
import type { Port } from '../config/schema.js';
import { encodeStatus, errors, SkiffError } from '../errors.js';
import { TRANSPORT } from './authentication-step.js';

export type Listener = 'secure' | 'insecure';

export type ConnectionTimeouts = ReturnType<typeof connectionTimeouts>;

const REQUEST_TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/**
 * Both listeners' connection timeouts, as kube-apiserver's Go server sets them: headers (and, on the
 * HTTPS port, the TLS handshake) within requestHeaderTimeoutSeconds (Go's ReadHeaderTimeout, 32 s),
 * idle keep-alive connections closed after idleTimeoutSeconds (IdleTimeout, 90 s, the client
 * transport's own idle timeout, so the server never closes a connection the client is about to reuse).
 */
export function connectionTimeouts(server: ResolvedConfig['server']) {
  const headersTimeout = server.requestHeaderTimeoutSeconds * 1000;
  return {
    headersTimeout,
    // Node's default for the whole request; it may not be shorter than the header timeout.
    requestTimeout: Math.max(300_000, headersTimeout),
    keepAliveTimeout: server.idleTimeoutSeconds * 1000,
    // Node looks for timed-out connections this often (30 s by default, which would double the bound).
    connectionsCheckingInterval: Math.min(1000, headersTimeout / 4),
  };
}

/** The listening servers and their open connections. */
export class Listeners {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(private readonly timeouts: ConnectionTimeouts) {}

  /** Marks each connection with its listener (the authenticators read it) and keeps it until it closes. */
  track(transport: Listener) {
    return (s: Socket) => {
      (s as unknown as Record<symbol, string>)[TRANSPORT] = transport;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    };
  }

  async listen(server: Server, port: Port, address: string, listener: Listener) {
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(err, socket, this.timeouts.headersTimeout),
    );
    await new Promise<void>((res, rej) => {
      server.once('error', (err: NodeJS.ErrnoException) => rej(listenError(err, listener, address, port)));
      server.listen(port === 'auto' ? 0 : port, address, () => res());
    });
    this.servers.push(server);
    const addr = server.address() as AddressInfo;
    return { address: addr.address, port: addr.port };
  }

  /** Stop accepting connections. */
  stopAccepting(): void {
    for (const s of this.servers) s.close();
  }

  /** Cut every connection still open. */
  destroySockets(): void {
    for (const s of this.sockets) s.destroy();
  }
}

/**
 * Requests Node cannot parse (oversized headers, garbage) still get a Status, not a bare close.
 * Anything else (a failed or timed-out TLS handshake, a reset) has no HTTP to answer: the
 * connection is closed, since a reply queued on an unfinished TLS session would keep it open.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, headersTimeout: number): void {
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  if (!socket.writable || !(timedOut || err.code?.startsWith('HPE_'))) return void socket.destroy();
  // The parser has let go of the connection: close it even if the client never does.
  setTimeout(() => socket.destroy(), headersTimeout).unref();
  // Headers not complete within the header timeout (slowloris): Node's own short answer.
  if (timedOut) return void socket.end(REQUEST_TIMEOUT_ANSWER, () => socket.destroy());
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge
    ? errors.headersTooLarge()
    : errors.badRequest(`the request could not be parsed: ${err.code ?? err.message}`);
  const body = encodeStatus(status.toStatus());
  socket.end(
    `HTTP/1.1 ${status.code} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The flags and config keys behind each listener, named in its start-up errors. */
const LISTENER_SETTINGS: Record<Listener, { port: [string, string]; address: [string, string] }> = {
  secure: { port: ['--secure-port', 'server.securePort'], address: ['--bind-address', 'server.bindAddress'] },
  insecure: {
    port: ['--insecure-port', 'server.insecurePort'],
    address: ['--insecure-bind-address', 'server.insecureBindAddress'],
  },
};

/** A listener that cannot start says where, why, which flag sets it, and what to do. */
function listenError(err: NodeJS.ErrnoException, listener: Listener, address: string, port: Port): Error {
  const [portFlag, portKey] = LISTENER_SETTINGS[listener].port;
  const [addressFlag, addressKey] = LISTENER_SETTINGS[listener].address;
  const host = address.includes(':') ? `[${address}]` : address;
  const where = port === 'auto' ? `${host} (a free port)` : `${host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new SkiffError(
        'SKIFF_PORT_IN_USE',
        `cannot listen on ${where} (${portFlag}): another process is already listening there, perhaps another Skiff`,
        `stop that process (\`ss -ltnp 'sport = :${port}'\` names it), or give another port with ${portFlag} PORT, or ${portFlag} auto for a free one (${portKey} in the config file)`,
      );
    case 'EADDRNOTAVAIL':
      return new SkiffError(
        'SKIFF_BIND_ADDRESS_UNAVAILABLE',
        `cannot listen on ${where} (${addressFlag}): ${address} is not an address of this machine`,
        `give one of this machine's addresses with ${addressFlag} (127.0.0.1: this machine only; 0.0.0.0: every interface) (${addressKey} in the config file)`,
      );
    case 'EACCES':
      return new SkiffError(
        'SKIFF_PORT_DENIED',
        `cannot listen on ${where} (${portFlag}): ports below 1024 need privileges this process does not have`,
        `give a port from 1024 up with ${portFlag} (${portKey} in the config file)`,
      );
    default:
      return err;
  }
}
