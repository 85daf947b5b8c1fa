/**
 * The kubelet's own server (issue 19 items 6–7), as upstream's pkg/kubelet/server:
 *
 * - HTTPS on --address:--port (10250; `auto` picks a free port; 0 serves nothing), with the serving
 *   certificate of server/tls.ts. Every request is authenticated (x509 client certificates against
 *   --client-ca-file or the cluster CA, bearer tokens through TokenReview) and authorized
 *   (SubjectAccessReview on nodes/{proxy,stats,log,metrics,spec}), server/auth.ts.
 * - Plain HTTP on --read-only-port (0 = off), unauthenticated: /healthz, /pods, /stats, /metrics,
 *   /spec only.
 * - Endpoints in server/router.ts; exec, attach and port-forward in server/streaming/; resource
 *   stats from one sampler per kubelet (stats/).
 *
 * The kubelet starts it before registering its Node (status.daemonEndpoints.kubeletEndpoint.Port
 * is the port served) and closes it first on stop: every connection, streams included, ends then.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { SkiffError } from 'skiff/sdk';
import type { KubeletState } from './kubelet.js';
import { KubeletAuth } from './server/auth.js';
import { type Exchange, rawReply, reply } from './server/exchange.js';
import { KubeletMetrics } from './server/metrics.js';
import { isStreamingPath, type RouteContext, route } from './server/router.js';
import { ConnectionLimit } from './server/streaming/endpoints.js';
import { WebSocketUpgrader } from './server/streaming/upgrade.js';
import { clientCABundle, servingPair, servingPairOptions } from './server/tls.js';
import { StatsProvider } from './stats/provider.js';

export interface KubeletServer {
  /** The port the HTTPS server listens on (the node's daemonEndpoints); 0 when none. */
  readonly port: number;
  /** The read-only HTTP port; 0 when off. */
  readonly readOnlyPort: number;
  close(): Promise<void>;
}

/** The largest WebSocket message taken from a client (stdin and port-forward data come in pieces). */
const MAX_MESSAGE = 16 * 1024 * 1024;

export async function startKubeletServer(state: KubeletState): Promise<KubeletServer> {
  const config = state.config;
  const logger = state.logger.child({ component: 'kubelet-server' });
  if (config.port === 0 && config.readOnlyPort === 0) return { port: 0, readOnlyPort: 0, close: async () => {} };
  const clientCA = clientCABundle(config.clientCAFile, state.clientCA);
  const stats = new StatsProvider(state, config.housekeepingInterval, logger);
  const metrics = new KubeletMetrics(state);
  const upgrader = new WebSocketUpgrader(MAX_MESSAGE);
  const context: RouteContext = {
    state,
    stats,
    metrics,
    nodeLogDir: config.nodeLogDir ?? join(state.rootDir, 'logs'),
    debuggingHandlers: config.enableDebuggingHandlers,
    streaming: {
      state,
      upgrader,
      limits: new ConnectionLimit(config.streamingMaxConnections),
      idleTimeoutMs: config.streamingConnectionIdleTimeout * 1000,
      maxStreamsPerConnection: config.streamingMaxStreamsPerConnection,
      logger,
    },
  };
  const auth = new KubeletAuth({
    nodeName: state.nodeName,
    client: state.client,
    x509: clientCA !== undefined,
    anonymousAuth: config.anonymousAuth,
    tokenWebhook: config.authenticationTokenWebhook,
    tokenCacheTTL: config.authenticationTokenWebhookCacheTTL,
    authorizationMode: config.authorizationMode,
    authorizedTTL: config.authorizationWebhookCacheAuthorizedTTL,
    unauthorizedTTL: config.authorizationWebhookCacheUnauthorizedTTL,
  });
  const servers: Server[] = [];
  const sockets = new Set<Duplex>();
  const close = async () => {
    stats.stop();
    upgrader.close();
    for (const s of servers) s.close();
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => (s.listening ? s.once('close', r) : r(undefined)))));
  };
  try {
    let port = 0;
    if (config.port !== 0) {
      const pair = await servingPair(servingPairOptions(config, state.nodeName, state.rootDir));
      const secure = createHttpsServer({
        cert: pair.certPem,
        key: pair.keyPem,
        minVersion: 'TLSv1.2',
        ...(clientCA ? { ca: clientCA, requestCert: true, rejectUnauthorized: false } : {}),
      });
      serve(secure, context, auth, false, sockets);
      servers.push(secure);
      port = await listen(secure, config.address, config.port, '--port');
      logger.info(
        {
          port,
          address: config.address,
          certificate: pair.source,
          x509: !!clientCA,
          authorization: config.authorizationMode,
        },
        'kubelet server listening',
      );
    }
    let readOnlyPort = 0;
    if (config.readOnlyPort !== 0) {
      const plain = createHttpServer();
      serve(plain, context, auth, true, sockets);
      servers.push(plain);
      readOnlyPort = await listen(plain, config.address, config.readOnlyPort, '--read-only-port');
      logger.warn(
        { port: readOnlyPort },
        'kubelet read-only port serves pods, stats and metrics without authentication',
      );
    }
    return { port, readOnlyPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function serve(server: Server, ctx: RouteContext, auth: KubeletAuth, readOnly: boolean, sockets: Set<Duplex>): void {
  // Upstream's kubelet http.Server: 90 s keep-alive idle; requests themselves are not timed (logs follow).
  server.keepAliveTimeout = 90_000;
  server.headersTimeout = 60_000;
  server.requestTimeout = 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const ex = exchange(req, res);
    if (ex) void handle(ex, ctx, auth, readOnly);
    else
      reply({ req, res, method: req.method ?? 'GET', path: '', query: new URLSearchParams() }, 400, 'invalid URL path');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const ex = exchange(req, undefined, { socket, head });
    if (!ex) return rawReply(socket, 400, 'invalid URL path');
    if (!isStreamingPath(ex.path)) {
      // Not a streaming endpoint: answered as the plain request it also is, then the connection closes.
      const res = new ServerResponse(req);
      res.assignSocket(socket as Socket);
      res.shouldKeepAlive = false;
      res.on('finish', () => socket.end());
      return void handle({ ...ex, res, upgrade: undefined }, ctx, auth, readOnly);
    }
    void handle(ex, ctx, auth, readOnly);
  });
  server.on('clientError', (_err, socket: Duplex) => rawReply(socket, 400, 'Bad Request'));
}

function exchange(req: IncomingMessage, res?: ServerResponse, upgrade?: Exchange['upgrade']): Exchange | undefined {
  try {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const path = decodeURIComponent(url.pathname);
    // Dot segments are resolved by URL; any left after decoding (%2F..%2F) or an empty one is refused,
    // so authorization and routing read one canonical path.
    if (/\/\.{1,2}(\/|$)|\/\//.test(path)) return undefined;
    return { req, res, upgrade, method: req.method ?? 'GET', path, query: url.searchParams };
  } catch {
    return undefined;
  }
}

async function handle(ex: Exchange, ctx: RouteContext, auth: KubeletAuth, readOnly: boolean): Promise<void> {
  const done = ctx.metrics.request(ex.method, ex.path, readOnly ? 'readonly' : 'readwrite');
  try {
    if (!readOnly && !(await admit(ex, ctx, auth))) return;
    await route(ex, ctx, readOnly);
  } catch (err) {
    ctx.streaming.logger.warn({ err, path: ex.path }, 'kubelet server request failed');
    reply(ex, 500, `${(err as Error).message}\n`);
  } finally {
    done();
  }
}

/** Authentication, then authorization; false once it has answered 401, 403 or 500. */
async function admit(ex: Exchange, ctx: RouteContext, auth: KubeletAuth): Promise<boolean> {
  const result = await auth.authenticate(ex.req);
  if ('refused' in result) {
    ctx.streaming.logger.debug({ path: ex.path, reason: result.refused }, 'unauthenticated kubelet request');
    reply(ex, 401, 'Unauthorized');
    return false;
  }
  ex.user = result.user;
  let refusal: string | undefined;
  try {
    refusal = await auth.authorize(result.user, ex.method, ex.path);
  } catch (err) {
    ctx.streaming.logger.warn({ err, user: result.user.name }, 'kubelet authorization failed');
    reply(ex, 500, `Authorization error (user=${result.user.name}, verb=${ex.method}, resource=nodes)`);
    return false;
  }
  if (refusal) {
    reply(ex, 403, refusal);
    return false;
  }
  return true;
}

function listen(server: Server, address: string, port: number | 'auto', flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new SkiffError(
          'SKIFF_KUBELET_LISTEN',
          `the kubelet cannot listen on ${address}:${port} (${flag}): ${err.code ?? err.message}`,
          `free the port, or give another with ${flag} (auto picks a free one)`,
        ),
      ),
    );
    server.listen(port === 'auto' ? 0 : port, address, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}
