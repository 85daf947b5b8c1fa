/**
 * createServer(config) builds one Skiff server: hooks, plugins (and their services), storage, API and HTTP.
 * It never listens by itself (tests build a fresh server per test and call listen()).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Logger, pino } from 'pino';
import { ApiService } from '../api/api-service.js';
import { ResourceRegistry } from '../api/registry.js';
import type { RuleResolver, UserInfo } from '../auth-types.js';
import { InProcessClient } from '../client/in-process.js';
import type { LeaderElection } from '../client/leader-election.js';
import type { ApiClient } from '../client/types.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Port } from '../config/schema.js';
import { type ControllerLeaderElection, ControllerManager, leaderElectionService } from '../controllers.js';
import { encodeStatus, errors, SkiffError } from '../errors.js';
import { createHooks, type Hooks } from '../hooks.js';
import type { ServerSettings } from '../plugins/contract.js';
import { createPluginApi, type OpenedApi, type PluginApi } from '../plugins/plugin-api.js';
import type { ServiceKey } from '../plugins/services.js';
import type { Storage } from '../storage/types.js';
import { CORE_AUTHORIZERS } from './core-authorizers.js';
import type { HealthCheck } from './health.js';
import { HttpApp, TRANSPORT } from './http-app.js';
import { BodyBudget, InflightLimiter } from './inflight.js';
import { ApiMetrics } from './metrics.js';
import { type Bootstrap, type StorageBackends, setupPlugins } from './plugin-host.js';
import { createSecureServer, type IdentityProvider, servingIdentity } from './secure-serving.js';
import { tlsOffer } from './tls-options.js';

export interface ServerOptions {
  config: ResolvedConfig;
  /** Supplies the serving certificate when no --tls-cert-file is configured (the CLI passes the PKI). */
  identityProvider?: IdentityProvider;
  /** up | apiserver | ...: `up` also runs the registered controllers. */
  role: string;
  logger?: Logger;
  /**
   * Run the controllers only while holding this lock (several servers sharing one store); a plugin
   * must provide LEADER_ELECTION (leader-election-lease), else start-up stops with a coded error.
   */
  leaderElection?: ControllerLeaderElection;
}

export interface ListenAddresses {
  secure?: { address: string; port: number };
  insecure?: { address: string; port: number };
}

export interface SkiffServer {
  readonly hooks: Hooks;
  readonly logger: Logger;
  /** The facade plugins get as ctx.api (tests read storage and the registry through it). */
  readonly api: PluginApi;
  /** A service a plugin provided (as ctx.use). */
  use<T>(key: ServiceKey<T>): T;
  listen(): Promise<ListenAddresses>;
  /** Graceful: stop accepting, end watches, finish in-flight requests, stop plugins, flush storage. */
  close(): Promise<void>;
  /** An in-process client acting as `user` (default: system:apiserver in system:masters). */
  client(user?: UserInfo): ApiClient;
}

const numericPort = (p: Port) => (p === 'auto' ? 0 : p);

const REQUEST_TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/**
 * Both listeners' connection timeouts, as kube-apiserver's Go server sets them: headers (and, on the
 * HTTPS port, the TLS handshake) within requestHeaderTimeoutSeconds (Go's ReadHeaderTimeout, 32 s),
 * idle keep-alive connections closed after idleTimeoutSeconds (IdleTimeout, 90 s, the client
 * transport's own idle timeout, so the server never closes a connection the client is about to reuse).
 */
function connectionTimeouts(server: ResolvedConfig['server']) {
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

const noGeneratedIdentity: IdentityProvider = async () => {
  throw new SkiffError(
    'SKIFF_TLS_NO_IDENTITY',
    'the secure port is on, but no serving certificate was configured',
    'give --tls-cert-file and --tls-private-key-file, start with `skiff up` (which generates a PKI), or turn the secure port off with --secure-port 0',
  );
};

const APISERVER_USER: UserInfo = { name: 'system:apiserver', uid: 'system:apiserver', groups: ['system:masters'] };
/**
 * Controllers run in-process act as the controller manager, as they would over HTTPS, and are
 * authorized like any user: what the chain grants system:kube-controller-manager (the
 * authz-bootstrap-roles plugin binds it upstream's roles), no more.
 */
const CONTROLLER_MANAGER_USER: UserInfo = {
  name: 'system:kube-controller-manager',
  groups: ['system:authenticated'],
};
/** Upstream's insecure port identity: an unrestricted admin. */
const INSECURE_USER: UserInfo = { name: 'system:unsecured', groups: ['system:masters', 'system:authenticated'] };

function coreTaps(hooks: Hooks): void {
  hooks.authenticate.tap('insecure-port', (req) =>
    req.transport === 'insecure' ? { user: INSECURE_USER } : undefined,
  );
  hooks.authenticate.tap('in-process', (req) =>
    req.transport === 'in-process' && req.inProcessUser ? { user: req.inProcessUser } : undefined,
  );
  for (const core of CORE_AUTHORIZERS) hooks.authorize.tap(core.name, core.authorize);
}

/** Everything plugins set up, before storage opens: shared by the server, `skiff controller-manager`
 * and `skiff config check` (which prints the chains this produces). */
export async function preparePlugins(options: Pick<ServerOptions, 'config' | 'role' | 'logger'>) {
  const { config } = options;
  const logger = options.logger ?? pino({ name: 'skiff' });
  const hooks = createHooks();
  coreTaps(hooks);
  const registry = new ResourceRegistry();
  const settings: ServerSettings = {
    dataDir: config.server.dataDir,
    configFile: config.file,
    role: options.role,
    // The address the kubernetes service's endpoints point at: the secure port when it is on.
    advertiseAddress: config.server.securePort !== 0 ? config.server.bindAddress : config.server.insecureBindAddress,
    advertisePort: numericPort(config.server.securePort !== 0 ? config.server.securePort : config.server.insecurePort),
  };

  const healthChecks: HealthCheck[] = [];
  const backends: StorageBackends = new Map();
  const bootstraps: Bootstrap[] = [];
  const ruleResolvers = new Map<string, RuleResolver | undefined>(CORE_AUTHORIZERS.map((a) => [a.name, a.rules]));
  // Filled by createServer once storage is open: until then ctx.api's storage-backed parts refuse.
  let opened: OpenedApi | undefined;
  const plugins = await setupPlugins({
    config,
    hooks,
    registry,
    logger,
    settings,
    healthChecks,
    backends,
    bootstraps,
    ruleResolvers,
    opened: () => opened,
  });
  const api = createPluginApi({ hooks, registry, ruleResolvers, opened: () => opened });
  const open = (o: OpenedApi) => {
    opened = o;
  };
  return { logger, hooks, registry, settings, healthChecks, backends, bootstraps, plugins, api, open };
}

/** The lock for leader election, resolved before storage opens: a missing provider stops start-up. */
async function electorsFor(
  options: ServerOptions,
  plugins: Awaited<ReturnType<typeof preparePlugins>>['plugins'],
): Promise<LeaderElection | undefined> {
  if (!options.leaderElection) return undefined;
  try {
    return leaderElectionService(plugins.use);
  } catch (err) {
    await plugins.closeAll();
    throw err;
  }
}

type Listener = 'secure' | 'insecure';

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

export async function createServer(options: ServerOptions): Promise<SkiffServer> {
  const { config } = options;
  const {
    logger,
    hooks,
    registry,
    settings,
    healthChecks,
    backends,
    bootstraps,
    plugins,
    api: pluginApi,
    open: opened,
  } = await preparePlugins(options);
  const electors = await electorsFor(options, plugins);

  const open = backends.get(config.server.storageBackend);
  if (!open) {
    await plugins.closeAll();
    throw new SkiffError(
      'SKIFF_STORAGE_BACKEND',
      `${config.file}: server.storageBackend is "${config.server.storageBackend}", but no enabled plugin offers it (offered: ${[...backends.keys()].join(', ') || 'none'})`,
      `enable the plugin that provides it (storage-${config.server.storageBackend}) or pick one of the offered backends with --storage-backend`,
    );
  }
  const storage: Storage = await open();
  const api = new ApiService(
    registry,
    storage,
    hooks,
    plugins.use,
    config.server.watchCacheSize,
    plugins.fieldManager(),
  );
  await api.start();
  const client = (user: UserInfo = APISERVER_USER): ApiClient => new InProcessClient(api, user);
  opened({ api, storage, client });

  let shuttingDown = false;
  healthChecks.unshift(
    { name: 'ping', kinds: ['livez', 'readyz'], check: () => {} },
    { name: 'storage', kinds: ['livez', 'readyz'], check: async () => void (await storage.currentRevision()) },
  );
  healthChecks.push({
    name: 'shutdown',
    kinds: ['readyz'],
    check: () => {
      if (shuttingDown) throw new Error('shutting down');
    },
  });

  for (const b of bootstraps) {
    try {
      await b.run(client());
    } catch (err) {
      logger.error({ err, plugin: b.plugin, task: b.name }, 'bootstrap task failed');
      throw err;
    }
  }

  const metrics = new ApiMetrics();
  const inflight = new InflightLimiter({
    readOnly: config.server.maxRequestsInflight,
    mutating: config.server.maxMutatingRequestsInflight,
  });
  metrics.trackInflight(() => inflight.watermark());
  const app = new HttpApp({
    api,
    registry,
    hooks,
    metrics,
    healthChecks,
    logger,
    maxRequestBodyBytes: config.server.maxRequestBodyBytes,
    inflight,
    bodyBudget: new BodyBudget(config.server.maxInflightBodyBytes),
    advertise: `${settings.advertiseAddress}:${settings.advertisePort}`,
    authChallenges: plugins.authChallenges,
    serializers: plugins.serializers,
  });
  const controllers = new ControllerManager(
    hooks,
    logger,
    (name) => ({
      client: client(CONTROLLER_MANAGER_USER),
      logger: logger.child({ controller: name }),
      namespacedResources: async () =>
        registry
          .all()
          .filter((d) => d.namespaced && !d.virtualCreate)
          .map((d) => ({ group: d.group, version: d.version, resource: d.plural })),
    }),
    { leaderElection: options.leaderElection, electors },
  );
  const servers: Server[] = [];
  const sockets = new Set<Socket>();

  const track = (transport: string) => (s: Socket) => {
    (s as unknown as Record<symbol, string>)[TRANSPORT] = transport;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };

  const timeouts = connectionTimeouts(config.server);

  // Requests Node cannot parse (oversized headers, garbage) still get a Status, not a bare close.
  // Anything else (a failed or timed-out TLS handshake, a reset) has no HTTP to answer: the
  // connection is closed, since a reply queued on an unfinished TLS session would keep it open.
  const onClientError = (err: NodeJS.ErrnoException, socket: Duplex) => {
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (!socket.writable || !(timedOut || err.code?.startsWith('HPE_'))) return socket.destroy();
    // The parser has let go of the connection: close it even if the client never does.
    setTimeout(() => socket.destroy(), timeouts.headersTimeout).unref();
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
  };

  async function start(
    server: Server,
    port: Port,
    address: string,
    listener: Listener,
  ): Promise<{ address: string; port: number }> {
    server.on('clientError', onClientError);
    await new Promise<void>((res, rej) => {
      server.once('error', (err: NodeJS.ErrnoException) => rej(listenError(err, listener, address, port)));
      server.listen(port === 'auto' ? 0 : port, address, () => res());
    });
    servers.push(server);
    const addr = server.address() as AddressInfo;
    return { address: addr.address, port: addr.port };
  }

  async function listen(): Promise<ListenAddresses> {
    const out: ListenAddresses = {};
    const { bindAddress, securePort, insecureBindAddress, insecurePort } = config.server;
    if (securePort !== 0) {
      const identity = await servingIdentity(config.server, options.identityProvider ?? noGeneratedIdentity);
      const clientCAs = plugins.clientCA();
      const offer = tlsOffer(config.server.tlsMinVersion, config.server.tlsCipherSuites);
      const https = createSecureServer(identity, clientCAs, app.callback(), timeouts, offer);
      https.on('secureConnection', track('secure'));
      out.secure = await start(https, securePort, bindAddress, 'secure');
      settings.advertisePort = out.secure.port;
    }
    if (insecurePort !== 0) {
      const http = createHttpServer(timeouts, app.callback());
      http.on('connection', track('insecure'));
      out.insecure = await start(http, insecurePort, insecureBindAddress, 'insecure');
      if (!out.secure) settings.advertisePort = out.insecure.port;
    }
    await hooks.ready.promise();
    if (options.role === 'up' || options.role === 'controller-manager') {
      const names = await controllers.start();
      if (names.length) logger.info({ controllers: names }, 'controllers started');
    }
    return out;
  }

  async function close(): Promise<void> {
    shuttingDown = true;
    for (const s of servers) s.close();
    app.closeWatches();
    const timeout = config.server.shutdownTimeoutSeconds * 1000;
    await Promise.race([app.idle(), new Promise((r) => setTimeout(r, timeout).unref())]);
    for (const s of sockets) s.destroy();
    inflight.stop();
    await controllers.stop();
    await hooks.shutdown.promise();
    api.stop();
    await plugins.closeAll();
    await storage.close();
  }

  return { hooks, logger, api: pluginApi, use: plugins.use, listen, close, client };
}
