/**
 * The first step of every request: who is asking. The authenticator chain reads the headers and
 * the client certificate; impersonation headers then swap in the user asked for (when allowed);
 * the request's RequestInfo is parsed, and the audit record learns both users.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { parseRequestInfo } from '../api/request-info.js';
import type { Authenticated, Transport } from '../auth-types.js';
import { runAuthentication } from '../chains.js';
import { errors } from '../errors.js';
import type { Hooks } from '../hooks.js';
import { auditAuthenticated, emitAudit } from './audit.js';
import { PUBLIC_INFO_PATHS } from './core-authorizers.js';
import { impersonate, wantsImpersonation } from './impersonation.js';
import { stateOf } from './request-state.js';

/** Which listener a socket came from: set by the server on each listener's connections. */
export const TRANSPORT = Symbol('skiff.transport');

const PEER = Symbol('skiff.peerCertificates');

/**
 * The client certificate of a TLS connection, read once per connection: keep-alive requests share
 * it, and authenticators may cache their verdict on the very same Buffer (WeakMap).
 */
function peerCertificatesOf(socket: TLSSocket): Buffer[] | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cached = socket as unknown as Record<symbol, Buffer[] | null>;
  if (cached[PEER] === undefined) {
    const peer = socket.getPeerCertificate(false);
    cached[PEER] = peer?.raw ? [peer.raw] : null;
  }
  return cached[PEER] ?? undefined;
}

function transportOf(req: IncomingMessage): Transport {
  return ((req.socket as unknown as Record<symbol, Transport>)[TRANSPORT] ?? 'insecure') as Transport;
}

/** Sets the request's user (impersonation resolved) and RequestInfo; 401 when nobody is recognised. */
export async function authenticateRequest(ctx: Koa.Context, hooks: Hooks, logger: Logger): Promise<void> {
  const state = stateOf(ctx);
  const outcome = await runAuthentication(hooks, {
    headers: ctx.req.headers,
    transport: transportOf(ctx.req),
    peerCertificates: peerCertificatesOf(ctx.req.socket as TLSSocket),
  });
  const authenticated = outcome.result ?? publicInfoVisitor(ctx.path, outcome.refusals.length);
  if (!authenticated) {
    logger.info({ refusals: outcome.refusals, path: ctx.path }, 'authentication failed');
    throw errors.unauthorized();
  }
  const real = authenticated.user;
  // Each repeated header apart (headersDistinct, made only when asked for): Node joins repeats with ", ".
  state.user = wantsImpersonation(ctx.req.headers) ? await impersonate(hooks, real, ctx.req.headersDistinct) : real;
  state.info = parseRequestInfo(ctx.method, ctx.path, state.query);
  if (state.audit) {
    auditAuthenticated(state.audit, real, state.user, authenticated.authenticator, state.info);
    emitAudit(hooks, logger, state.audit, 'RequestReceived');
  }
}

/**
 * A request with no credentials at all on a public-info path (health, version) proceeds as
 * system:anonymous even when anonymous auth is off, as upstream's anonymous-auth conditions allow
 * for probes; authorization still decides (the core's system:public-info-viewer rule allows GET).
 * Credentials that failed are a 401 here too.
 */
function publicInfoVisitor(path: string, refusals: number): Authenticated | undefined {
  if (refusals > 0 || !PUBLIC_INFO_PATHS.includes(path)) return undefined;
  return { user: { name: 'system:anonymous', groups: ['system:unauthenticated'] }, authenticator: 'public-info-paths' };
}
