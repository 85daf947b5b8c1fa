/**
 * Connect subresources (upstream's rest.Connecter: proxy, log, exec, attach, portforward): after
 * authentication, max-in-flight and authorization, the plugin that defined the subresource answers
 * the raw request itself — streaming, or taking the connection over for an HTTP upgrade. Node hands
 * upgrade requests to an 'upgrade' listener instead of the request handler; `serveUpgrade` runs
 * them through the same koa pipeline with a response bound to the socket, so a refused upgrade
 * gets an ordinary Status answer and the connection is then closed.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import type { ResourceRegistry } from '../api/registry.js';
import type { RequestInfo } from '../api/request-info.js';
import type { ConnectRequest, SubresourceDefinition } from '../api/types.js';
import { errors } from '../errors.js';
import type { RequestState } from './request-state.js';
import { warningsOf } from './warnings.js';

type Connect = NonNullable<SubresourceDefinition['connect']>;
const UPGRADE = Symbol('skiff.upgrade');
type UpgradeCarrier = IncomingMessage & { [UPGRADE]?: ConnectRequest['upgrade'] };

/** The subresource's connect handler when the request is for one (the /api/v1/proxy/… form is proxy's). */
export function connecterFor(registry: ResourceRegistry, info: RequestInfo): SubresourceDefinition | undefined {
  const subresource = info.verb === 'proxy' ? 'proxy' : info.subresource;
  if (!subresource || !info.name) return undefined;
  const sub = registry.find(info.apiGroup, info.apiVersion, info.resource)?.subresources?.[subresource];
  return sub?.connect ? sub : undefined;
}

/** Hands the authorized request to the plugin; koa stays out of the answer once the plugin has it. */
export async function serveConnect(ctx: Koa.Context, state: RequestState, sub: SubresourceDefinition): Promise<void> {
  const info = state.info!;
  if (info.verb !== 'proxy' && !(sub.verbs as string[]).includes(info.verb)) throw errors.methodNotAllowed();
  const warnings = warningsOf(ctx);
  const request: ConnectRequest = {
    namespace: info.namespace,
    name: info.name,
    verb: info.verb,
    rawPath: rawPathOf(ctx.req),
    query: state.query,
    user: state.user!,
    req: ctx.req,
    res: ctx.res,
    upgrade: (ctx.req as UpgradeCarrier)[UPGRADE],
    // koa sets headers on the response itself: Warnings go out with whatever the plugin writes.
    warn: (text) => {
      if (!ctx.res.headersSent) warnings.add(text);
    },
  };
  try {
    await (sub.connect as Connect)(request);
  } catch (err) {
    if (!ctx.res.headersSent) throw err;
    ctx.res.destroy();
  }
  ctx.respond = false;
}

/** The path as the client sent it, percent-encoding kept. */
function rawPathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Runs an upgrade request through the app: the response writes to the socket until a connect
 * handler takes the socket over; whatever else answers it (an error, a route without upgrades)
 * closes the connection after its answer, as nothing else may follow on it.
 */
export function serveUpgrade(
  handle: (req: IncomingMessage, res: ServerResponse) => unknown,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  (req as UpgradeCarrier)[UPGRADE] = { socket, head };
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.on('finish', () => {
    if (res.socket === socket) socket.end(() => socket.destroy());
  });
  socket.on('error', () => socket.destroy());
  handle(req, res);
}
