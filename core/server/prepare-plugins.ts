/**
 * Everything plugins set up, before storage opens: the hooks with core's own taps, the registry,
 * the settings plugins see, and each plugin's contributions. Shared by the server, `skiff
 * controller-manager` and `skiff config check` (which prints the chains this produces).
 */
import { type Logger, pino } from 'pino';
import { ResourceRegistry } from '../api/registry.js';
import type { RuleResolver, UserInfo } from '../auth-types.js';
import type { ResolvedConfig } from '../config/load.js';
import { explainMissingProvider } from '../config/manifests.js';
import type { Port } from '../config/schema.js';
import { createHooks, type Hooks } from '../hooks.js';
import type { ServerSettings } from '../plugins/contract.js';
import { createPluginApi, type OpenedApi } from '../plugins/plugin-api.js';
import { CORE_AUTHORIZERS } from './core-authorizers.js';
import type { HealthCheck } from './health.js';
import { type Bootstrap, type StorageBackends, setupPlugins } from './plugin-host.js';

export interface PrepareOptions {
  config: ResolvedConfig;
  /** up | apiserver | controller-manager | ... */
  role: string;
  logger?: Logger;
}

export type PreparedPlugins = Awaited<ReturnType<typeof preparePlugins>>;

/** Upstream's insecure port identity: an unrestricted admin. */
const INSECURE_USER: UserInfo = { name: 'system:unsecured', groups: ['system:masters', 'system:authenticated'] };

const numericPort = (p: Port) => (p === 'auto' ? 0 : p);

function coreTaps(hooks: Hooks): void {
  hooks.authenticate.tap('insecure-port', (req) =>
    req.transport === 'insecure' ? { user: INSECURE_USER } : undefined,
  );
  hooks.authenticate.tap('in-process', (req) =>
    req.transport === 'in-process' && req.inProcessUser ? { user: req.inProcessUser } : undefined,
  );
  for (const core of CORE_AUTHORIZERS) hooks.authorize.tap(core.name, core.authorize);
}

function serverSettings({ config, role }: PrepareOptions): ServerSettings {
  const { server } = config;
  return {
    dataDir: server.dataDir,
    configFile: config.file,
    role,
    // The address the kubernetes service's endpoints point at: the secure port when it is on.
    advertiseAddress: server.securePort !== 0 ? server.bindAddress : server.insecureBindAddress,
    advertisePort: numericPort(server.securePort !== 0 ? server.securePort : server.insecurePort),
    servingCertificate: server.securePort === 0 ? 'none' : server.tlsCertFile ? 'file' : 'provided',
  };
}

export async function preparePlugins(options: PrepareOptions) {
  const { config } = options;
  const logger = options.logger ?? pino({ name: 'skiff' });
  const hooks = createHooks();
  coreTaps(hooks);
  const registry = new ResourceRegistry();
  const settings = serverSettings(options);
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
  }).catch(async (err: unknown) => {
    throw await explainMissingProvider(err);
  });
  const api = createPluginApi({ hooks, registry, ruleResolvers, opened: () => opened });
  const open = (o: OpenedApi) => {
    opened = o;
  };
  return { logger, hooks, registry, settings, healthChecks, backends, bootstraps, plugins, api, open };
}
