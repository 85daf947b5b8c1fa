/**
 * One request to the kubelet's server, plain or an upgrade (WebSocket, SPDY): the decoded path
 * (what authorization and routing both read, so they never disagree), the query, the caller, and
 * a way to answer it either way. Errors are plain text, as upstream's kubelet writes them
 * (http.Error: text/plain, nosniff).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KubeletUser } from './auth.js';

export interface Exchange {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  user?: KubeletUser;
  /** Plain requests. */
  readonly res?: ServerResponse;
  /** Upgrade requests: the connection, and the bytes read past the headers. */
  readonly upgrade?: { socket: Duplex; head: Buffer };
}

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' };

/** Answers with a status and a text body, on a response or (for an upgrade) the raw connection. */
export function reply(ex: Exchange, code: number, text: string, headers: Record<string, string> = {}): void {
  if (ex.res) {
    if (ex.res.headersSent) {
      ex.res.destroy();
      return;
    }
    ex.res.writeHead(code, { ...TEXT, ...headers, 'Content-Length': Buffer.byteLength(text) });
    ex.res.end(ex.method === 'HEAD' ? undefined : text);
    return;
  }
  if (ex.upgrade) rawReply(ex.upgrade.socket, code, text, headers);
}

/** An HTTP/1.1 answer written straight to a connection, which then closes (no upgrade happened). */
export function rawReply(socket: Duplex, code: number, text: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const all: Record<string, string | number> = {
    ...TEXT,
    ...headers,
    'Content-Length': Buffer.byteLength(text),
    Connection: 'close',
  };
  const head = [`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

export function sendJson(ex: Exchange, body: unknown): void {
  const text = JSON.stringify(body);
  ex.res!.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  ex.res!.end(ex.method === 'HEAD' ? undefined : text);
}

/** Go's http.Error for the 404 of an unknown path. */
export const notFound = (ex: Exchange) => reply(ex, 404, '404 page not found\n');

/** What upstream's GETOnlyRestfulFilter answers to other methods. */
export function getOnly(ex: Exchange): boolean {
  if (ex.method === 'GET' || ex.method === 'HEAD') return true;
  reply(ex, 405, 'Method Not Allowed', { Allow: 'GET' });
  return false;
}
