/**
 * createServer(config) builds one Skiff server, step by step: plugins prepared, storage opened, the
 * API started, bootstrap tasks run, the HTTP app built; listen() then opens the listeners and runs
 * the plugins' onReady (where a controller manager plugin starts the controllers). It never listens
 * by itself (tests build a fresh server per test and call listen()).
 */
import { createServer as createHttpServer } from 'node:http';
import type { Logger } from 'pino';
import { ApiService } from '../api/api-service.js';
import { PKI } from '../auth/pki.js';
import type { UserInfo } from '../auth-types.js';
import { InProcessClient } from '../client/in-process.js';
import type { ApiClient } from '../client/types.js';
import type { ResolvedConfig } from '../config/load.js';
import { explainMissingProvider } from '../config/manifests.js';
import { SkiffError } from '../errors.js';
import type { Hooks } from '../hooks.js';
import type { PluginApi } from '../plugins/plugin-api.js';
import { MissingProviderError, type ServiceKey } from '../plugins/services.js';
import type { Storage } from '../storage/types.js';
import type { HealthCheck } from './health.js';
import { HttpApp } from './http-app.js';
import { BodyBudget, InflightLimiter } from './inflight.js';
import { type ConnectionTimeouts, connectionTimeouts, Listeners } from './listeners.js';
import { type PreparedPlugins, preparePlugins } from './prepare-plugins.js';
import { createSecureServer, type IdentityProvider, servingIdentity } from './secure-serving.js';
import { tlsOffer } from './tls-options.js';

export { preparePlugins } from './prepare-plugins.js';

export interface ServerOptions {
  config: ResolvedConfig;
  /** up | apiserver | ...: each plugin's ctx.server.role (in `up`, the components run in-process). */
  role: string;
  logger?: Logger;
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
  /** An in-process client acting as `user` (default: system:apiserver in system:masters), as ctx.api.client. */
  client(user?: UserInfo, userAgent?: string): ApiClient;
}

const noGeneratedIdentity: IdentityProvider = async () => {
  throw await explainMissingProvider(
    new MissingProviderError(
      'SKIFF_TLS_NO_IDENTITY',
      'the secure port is on, but no serving certificate was configured',
      PKI,
      (provider) =>
        `give --tls-cert-file and --tls-private-key-file, or enable ${provider} under plugins in the config file (it generates one), or turn the secure port off with --secure-port 0`,
    ),
  );
};

const APISERVER_USER: UserInfo = { name: 'system:apiserver', uid: 'system:apiserver', groups: ['system:masters'] };
/** The field manager of the server's own writes (the kubernetes Service, bootstrap objects). */
const APISERVER_AGENT = 'skiff-apiserver';

/** What a built server holds, for listen() and close(). */
interface Running {
  options: ServerOptions;
  prepared: PreparedPlugins;
  storage: Storage;
  api: ApiService;
  app: HttpApp;
  inflight: InflightLimiter;
  readiness: { shuttingDown: boolean };
  listeners: Listeners;
  timeouts: ConnectionTimeouts;
}

export async function createServer(options: ServerOptions): Promise<SkiffServer> {
  const { config } = options;
  const prepared = await preparePlugins(options);
  const storage = await openStorage(config, prepared);
  const api = await startApi(prepared, storage);
  const client = (user: UserInfo = APISERVER_USER, userAgent?: string): ApiClient =>
    new InProcessClient(api, user, userAgent ?? (user === APISERVER_USER ? APISERVER_AGENT : 'skiff'));
  const inflight = new InflightLimiter({
    readOnly: config.server.maxRequestsInflight,
    mutating: config.server.maxMutatingRequestsInflight,
  });
  prepared.open({ api, storage, client, inflightWatermark: () => inflight.watermark() });
  const readiness = coreHealthChecks(prepared.healthChecks, storage);
  await runBootstraps(prepared, client);
  const app = buildHttpApp(config, prepared, api, inflight);
  const timeouts = connectionTimeouts(config.server);
  const listeners = new Listeners(timeouts);
  const running = { options, prepared, storage, api, app, inflight, readiness, listeners, timeouts };
  const { hooks, logger, api: pluginApi, plugins } = prepared;
  return {
    hooks,
    logger,
    api: pluginApi,
    use: plugins.use,
    listen: () => listen(running),
    close: () => close(running),
    client,
  };
}

/** The configured storage backend, opened; a backend no enabled plugin offers stops start-up. */
async function openStorage(config: ResolvedConfig, { backends, plugins }: PreparedPlugins): Promise<Storage> {
  const open = backends.get(config.server.storageBackend);
  if (!open) {
    await plugins.closeAll();
    throw new SkiffError(
      'SKIFF_STORAGE_BACKEND',
      `${config.file}: server.storageBackend is "${config.server.storageBackend}", but no enabled plugin offers it (offered: ${[...backends.keys()].join(', ') || 'none'})`,
      `enable the plugin that provides it (storage-${config.server.storageBackend}) or pick one of the offered backends with --storage-backend`,
    );
  }
  return open();
}

/** A store for every registered resource, and its filled watch cache when a plugin provides them. */
async function startApi(prepared: PreparedPlugins, storage: Storage): Promise<ApiService> {
  const { registry, hooks, plugins } = prepared;
  const api = new ApiService(
    registry,
    storage,
    hooks,
    plugins.resourceCache(),
    plugins.fieldManager(),
    plugins.patchTypes(),
  );
  await api.start();
  return api;
}

/** Core's own checks around the plugins': ping and storage first, the shutdown readiness check last. */
function coreHealthChecks(healthChecks: HealthCheck[], storage: Storage): { shuttingDown: boolean } {
  const readiness = { shuttingDown: false };
  healthChecks.unshift(
    { name: 'ping', kinds: ['livez', 'readyz'], check: () => {} },
    { name: 'storage', kinds: ['livez', 'readyz'], check: async () => void (await storage.currentRevision()) },
  );
  healthChecks.push({
    name: 'shutdown',
    kinds: ['readyz'],
    check: () => {
      if (readiness.shuttingDown) throw new Error('shutting down');
    },
  });
  return readiness;
}

async function runBootstraps({ bootstraps, logger }: PreparedPlugins, client: () => ApiClient): Promise<void> {
  for (const b of bootstraps) {
    try {
      await b.run(client());
    } catch (err) {
      logger.error({ err, plugin: b.plugin, task: b.name }, 'bootstrap task failed');
      throw err;
    }
  }
}

function buildHttpApp(
  config: ResolvedConfig,
  prepared: PreparedPlugins,
  api: ApiService,
  inflight: InflightLimiter,
): HttpApp {
  const { registry, hooks, healthChecks, logger, settings, plugins } = prepared;
  return new HttpApp({
    api,
    registry,
    hooks,
    healthChecks,
    logger,
    maxRequestBodyBytes: config.server.maxRequestBodyBytes,
    inflight,
    bodyBudget: new BodyBudget(config.server.maxInflightBodyBytes),
    advertise: `${settings.advertiseAddress}:${settings.advertisePort}`,
    authChallenges: plugins.authChallenges,
    serializers: plugins.serializers,
    requestObservers: plugins.requestObservers,
  });
}

async function listen(r: Running): Promise<ListenAddresses> {
  const out: ListenAddresses = {};
  const { config } = r.options;
  const { settings, hooks } = r.prepared;
  const { bindAddress, securePort, insecureBindAddress, insecurePort } = config.server;
  if (securePort !== 0) {
    out.secure = await r.listeners.listen(await secureServer(r), securePort, bindAddress, 'secure');
    settings.advertisePort = out.secure.port;
  }
  if (insecurePort !== 0) {
    const http = createHttpServer(r.timeouts, r.app.callback());
    http.on('connection', r.listeners.track('insecure'));
    http.on('upgrade', r.app.upgradeListener());
    out.insecure = await r.listeners.listen(http, insecurePort, insecureBindAddress, 'insecure');
    if (!out.secure) settings.advertisePort = out.insecure.port;
  }
  await hooks.ready.promise();
  return out;
}

async function secureServer(r: Running) {
  const { config } = r.options;
  const { plugins } = r.prepared;
  const identity = await servingIdentity(config.server, plugins.servingIdentity() ?? noGeneratedIdentity);
  const clientCAs = plugins.clientCA();
  const offer = tlsOffer(config.server.tlsMinVersion, config.server.tlsCipherSuites);
  const https = createSecureServer(identity, clientCAs, r.app.callback(), r.timeouts, offer);
  https.on('secureConnection', r.listeners.track('secure'));
  https.on('upgrade', r.app.upgradeListener());
  return https;
}

async function close(r: Running): Promise<void> {
  r.readiness.shuttingDown = true;
  r.listeners.stopAccepting();
  r.app.closeWatches();
  const timeout = r.options.config.server.shutdownTimeoutSeconds * 1000;
  await Promise.race([r.app.idle(), new Promise((res) => setTimeout(res, timeout).unref())]);
  r.listeners.destroySockets();
  r.inflight.stop();
  await r.prepared.hooks.shutdown.promise();
  r.api.stop();
  await r.prepared.plugins.closeAll();
  await r.storage.close();
}
