/**
 * The HTTPS listener's identity: the serving certificate and key from --tls-cert-file /
 * --tls-private-key-file, or else the ones a plugin generates (pki-local: under <dataDir>/pki).
 * TLS 1.2+ with Go's forward-secret suites unless --tls-min-version / --tls-cipher-suites say
 * otherwise (tls-options.ts); a client certificate is asked for but not required, so certificates,
 * tokens and passwords all work on one port (authn-x509 verifies the certificate, not the TLS layer).
 * Plain HTTP sent to this port gets Go's 400, and the handshake is bounded by the header timeout.
 */
import { readFileSync } from 'node:fs';
import type { RequestListener, ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config/load.js';
import { SkiffError } from '../errors.js';
import type { ServingIdentity } from '../plugins/contract.js';
import { type TlsOffer, tlsOffer } from './tls-options.js';

export type { ServingIdentity };

/** Supplies a generated identity when no files are configured (a plugin's servingIdentity). */
export type IdentityProvider = (config: ServerConfig) => Promise<ServingIdentity>;

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_TLS_FILE_UNREADABLE',
      `cannot read ${path}: ${(err as Error).message}`,
      `check the path given to ${flag}`,
    );
  }
}

export async function servingIdentity(config: ServerConfig, generate: IdentityProvider): Promise<ServingIdentity> {
  const { tlsCertFile, tlsPrivateKeyFile } = config;
  if (Boolean(tlsCertFile) !== Boolean(tlsPrivateKeyFile)) {
    throw new SkiffError(
      'SKIFF_TLS_INCOMPLETE',
      'only one of --tls-cert-file and --tls-private-key-file was given',
      'give both (a certificate and its key), or neither to use the generated PKI under the data directory',
    );
  }
  if (tlsCertFile && tlsPrivateKeyFile) {
    return {
      cert: readPem(tlsCertFile, '--tls-cert-file'),
      key: readPem(tlsPrivateKeyFile, '--tls-private-key-file'),
      source: tlsCertFile,
    };
  }
  return generate(config);
}

/**
 * The HTTPS listener. `timeouts` are the connection timeouts both listeners share; the TLS handshake
 * gets the header timeout, as Go bounds a handshake by its ReadHeaderTimeout.
 */
export function createSecureServer(
  identity: ServingIdentity,
  clientCAs: string | undefined,
  app: RequestListener,
  timeouts: ServerOptions & { headersTimeout: number },
  offer: TlsOffer = tlsOffer(),
): Server {
  const server = createHttpsServer(
    {
      cert: identity.cert,
      key: identity.key,
      minVersion: offer.minVersion,
      ciphers: offer.ciphers,
      // The server's order decides, as Go's server does (it ignores the client's order).
      honorCipherOrder: true,
      requestCert: true,
      rejectUnauthorized: false,
      // Advertised in the CertificateRequest, so clients with several certificates pick the right one.
      ...(clientCAs ? { ca: clientCAs } : {}),
      ...timeouts,
      handshakeTimeout: timeouts.headersTimeout,
    },
    app,
  );
  answerPlainHttp(server, timeouts.headersTimeout);
  return server;
}

// Go's answer (net/http) to plain HTTP on a TLS port; an HTTP/1.0 reply, so no headers are needed.
const PLAIN_HTTP_ANSWER = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
/** Whether a connection's first bytes are an HTTP request line (a TLS record starts with byte 22). */
function looksLikeHttp(first: Buffer): boolean {
  return /^[A-Z]{3,7} [^ ]/.test(first.subarray(0, 10).toString('latin1'));
}

/**
 * Plain HTTP sent to the HTTPS port gets a 400 that says so, as kube-apiserver answers, instead of
 * a closed connection. The TLS server's own connection listener is taken off and called once the
 * connection's first bytes are in: anything but an HTTP request line goes on to TLS (a TLSSocket
 * first reads what is buffered on the socket it wraps, so the bytes put back are not lost); an HTTP
 * request line gets the answer. A connection that sends nothing is closed after the handshake
 * timeout, as one that stalls in the handshake is by TLS itself.
 */
function answerPlainHttp(server: Server, handshakeTimeoutMs: number): void {
  const startTls = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const silent = setTimeout(() => socket.destroy(), handshakeTimeoutMs);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => clearTimeout(silent));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (looksLikeHttp(first)) {
        // Answer, drain, and let the timer close a client that never hangs up.
        socket.end(PLAIN_HTTP_ANSWER);
        socket.resume();
        return;
      }
      clearTimeout(silent);
      socket.unshift(first);
      for (const listener of startTls) listener.call(server, socket);
    });
  });
}
