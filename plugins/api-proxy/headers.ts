/**
 * Headers across the proxy. The client's credentials stop at the API server (upstream's
 * authentication filter deletes Authorization once it has authenticated, impersonation its
 * Impersonate-* headers), hop-by-hop headers stop at each hop, and a backend's CORS headers are
 * dropped (upstream's corsRemovingTransport). A backend redirect's Location is put back under the
 * proxy path when it points at the backend itself (upstream's proxy Transport.rewriteURL).
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const CORS = new Set([
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-allow-origin',
]);

const isCredential = (name: string) => name === 'authorization' || name.startsWith('impersonate-');

/** The client's headers as the backend gets them; `upgrade` keeps Connection and Upgrade. */
export function requestHeaders(req: IncomingMessage, upgrade: boolean): [string, string][] {
  const out: [string, string][] = [];
  const dropped = connectionTokens(req.headers);
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (isCredential(lower) || lower === 'x-forwarded-for') continue;
    const keep = upgrade && (lower === 'connection' || lower === 'upgrade');
    if (!keep && (HOP_BY_HOP.has(lower) || dropped.has(lower))) continue;
    out.push([name, req.rawHeaders[i + 1]!]);
  }
  const client = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  out.push(['X-Forwarded-For', prior ? `${prior}, ${client}` : client]);
  return out;
}

/** The backend's answer headers as the client gets them. */
export function responseHeaders(
  headers: IncomingHttpHeaders,
  rewrite: (location: string) => string,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const dropped = connectionTokens(headers);
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || CORS.has(name) || dropped.has(name)) continue;
    out[name] = name === 'location' && typeof value === 'string' ? rewrite(value) : value;
  }
  return out;
}

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  return new Set(
    (typeof value === 'string' ? value : '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

export interface RewriteContext {
  /** The backend's host:port. */
  backendHost: string;
  /** The Host the client asked (kubectl proxy's localhost:8001). */
  requestHost: string;
  /** The proxy path the client used, without the proxied part. */
  prefix: string;
}

/**
 * A same-host, absolute-path Location gets the proxy prefix (host dropped, as upstream's server
 * side request URL has none); another host's or a relative one is left alone.
 */
export function rewriteLocation(location: string, ctx: RewriteContext): string {
  let url: URL;
  try {
    url = new URL(location, 'http://relative.invalid');
  } catch {
    return location;
  }
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('//');
  const host = absolute ? url.host : '';
  if (host && host !== ctx.backendHost && host !== ctx.requestHost) return location;
  const path = absolute ? url.pathname : location.split(/[?#]/)[0]!;
  if (!path.startsWith('/')) return location;
  const keepHost = host !== '' && host === ctx.requestHost;
  const prefixed = path.startsWith(ctx.prefix) ? path : joinPath(ctx.prefix, path);
  return `${keepHost ? `${url.protocol}//${host}` : ''}${prefixed}${url.search}${url.hash}`;
}

function joinPath(prefix: string, path: string): string {
  const trailing = path.endsWith('/') && path !== '/' ? '/' : '';
  const joined = `${prefix.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`.replace(/\/+$/, '');
  return `${joined || '/'}${trailing || (path === '/' ? '/' : '')}`;
}
