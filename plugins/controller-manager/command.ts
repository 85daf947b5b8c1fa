/**
 * `skiff controller-manager`: the config file's controllers in their own process, talking to the
 * API server over HTTPS as system:kube-controller-manager (its own client certificate), as
 * upstream's kube-controller-manager does without --use-service-account-credentials: the API
 * server's chain must grant that user its controllers' roles (authz-bootstrap-roles does, in the
 * default config). The config file's controller plugins are set up as components set plugins up
 * (setUpComponentPlugins: no storage is opened, nothing listens); only their controller
 * registrations are used.
 */
import { type Logger, pino } from 'pino';
import { MissingProviderError, type ServiceKey, SkiffError } from 'skiff/sdk';
import { CONTROLLER_MANAGER_IDENTITY, PKI } from 'skiff/sdk/auth';
import {
  bool,
  Command,
  type CommandContext,
  goDurationSeconds,
  type PluginFlagOverlay,
  stopOnSignals,
} from 'skiff/sdk/cli';
import {
  type ComponentPlugins,
  cachedDiscovery,
  cachedServedResources,
  fromKubeconfig,
  HttpsClient,
  type LeaderElection,
  setUpComponentPlugins,
  waitForApiServer,
} from 'skiff/sdk/client';
import {
  CONTROLLER_MANAGER_AGENT,
  type ControllerLeaderElection,
  ControllerManager,
  type ControllerSource,
  leaderElectionService,
} from './manager.js';
import { controllerPlugins, selectControllers } from './selection.js';

interface Options {
  kubeconfig?: string;
  master?: string;
  config?: string;
  dataDir?: string;
  controllers: string;
  leaderElect: boolean;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
  leaderElectResourceName: string;
  leaderElectResourceNamespace: string;
  logLevel: string;
  /** The plugins' flags (--root-ca-file), by commander's attribute name. */
  [pluginFlag: string]: unknown;
}

const USER_AGENT = CONTROLLER_MANAGER_AGENT;

/** The command, with every plugin's flags for the controller-manager role (--root-ca-file, ...). */
export function controllerManagerCommand(cli: CommandContext): Command {
  const command = new Command('controller-manager')
    .description("run the config file's controllers in their own process, against an API server over HTTPS")
    .option('--kubeconfig <file>', 'how to reach the API server (default: <data-dir>/pki/controller-manager.crt)')
    .option('--master <url>', "the API server's address; overrides the kubeconfig's (default: from the config file)")
    .option('--config <file>', 'config file whose controller plugins run (default: config/default.yaml)')
    .option('--data-dir <dir>', 'data directory holding the PKI (default: ./data, or server.dataDir in the config)')
    .option('--controllers <list>', "controllers to run: '*' all, 'foo' also foo, '-foo' not foo", '*')
    .option('--leader-elect <bool>', 'run the controllers only while holding the leader lease', bool, true)
    .option('--leader-elect-lease-duration <d>', 'how long a lease lasts unrenewed', goDurationSeconds, 15)
    .option(
      '--leader-elect-renew-deadline <d>',
      'the leader gives up when it cannot renew for this long',
      goDurationSeconds,
      10,
    )
    .option('--leader-elect-retry-period <d>', 'how often to try to acquire or renew', goDurationSeconds, 2)
    .option('--leader-elect-resource-name <name>', 'the Lease', 'kube-controller-manager')
    .option('--leader-elect-resource-namespace <ns>', "the Lease's namespace", 'kube-system')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info');
  const overlay = cli.pluginFlags(command, 'controller-manager');
  return command.action((opts: Options) => run(opts, overlay(opts)));
}

async function run(opts: Options, overlay: PluginFlagOverlay): Promise<void> {
  const logger = pino({ name: 'skiff', level: opts.logLevel });
  const plugins = await setUpComponentPlugins({
    configFile: opts.config,
    dataDir: opts.dataDir,
    role: 'controller-manager',
    select: controllerPlugins,
    enable: overlay.plugins,
    configure: overlay.configure,
    disable: overlay.disabled,
    logger,
  });
  logger.info({ config: plugins.configFile, plugins: plugins.plugins }, 'plugins loaded');
  const { client, leaseClient } = await connectAll(opts, plugins);
  // The cluster CA pods are given, unless a plugin is configured with its own (--root-ca-file).
  const rootCA = client.options.ca;
  const release = async () => {
    await plugins.close();
    client.close();
    leaseClient?.close();
  };
  const abort = new AbortController();
  let manager: ControllerManager | undefined;
  try {
    // The lock comes from a plugin: missing, start-up stops here, before waiting.
    const electors = opts.leaderElect ? leaderElectionService(plugins.use) : undefined;
    const { source } = await selectControllers(plugins, opts.controllers);
    stopOnSignals(logger, 'stopping the controllers', async () => {
      abort.abort();
      // Closed first: a controller caught between a list and its watch when the signal came would
      // otherwise start a watch that nothing ends; with the client closed it fails at once.
      client.close();
      await manager?.stop();
      await release();
    });
    await waitForApiServer(client, abort.signal, logger, {
      code: 'SKIFF_CONTROLLER_MANAGER_UNAUTHORIZED',
      whose: "the controller manager's",
      fix: 'give a kubeconfig whose client certificate the API server trusts (skiff certs creates one under <data-dir>/pki)',
    });
    if (abort.signal.aborted) return;
    manager = controllerManager(opts, { source, logger, client, leaseClient, electors, rootCA });
    logger.info({ controllers: await manager.start(), server: client.server }, 'controllers started');
  } catch (err) {
    await release();
    throw err;
  }
}

interface ManagerParts {
  source: ControllerSource;
  logger: Logger;
  client: HttpsClient;
  leaseClient: HttpsClient | undefined;
  electors: LeaderElection | undefined;
  rootCA: string | undefined;
}

/** The selected controllers, each with a client of its own User-Agent, resources read from discovery. */
function controllerManager(opts: Options, parts: ManagerParts): ControllerManager {
  const { source, logger, client, leaseClient, electors, rootCA } = parts;
  const resources = cachedDiscovery(client);
  const servedResources = cachedServedResources(client);
  return new ControllerManager(
    source,
    logger,
    (name) => ({
      client: client.withUserAgent(`${USER_AGENT}/${name}`),
      logger: logger.child({ controller: name }),
      namespacedResources: resources,
      servedResources,
      rootCA,
    }),
    { leaderElection: leaseClient && leaderElection(opts, leaseClient), electors },
  );
}

function leaderElection(opts: Options, client: HttpsClient): ControllerLeaderElection {
  return {
    client: client.withUserAgent(`${USER_AGENT}/leader-election`),
    name: opts.leaderElectResourceName,
    namespace: opts.leaderElectResourceNamespace,
    leaseDuration: opts.leaderElectLeaseDuration,
    renewDeadline: opts.leaderElectRenewDeadline,
    retryPeriod: opts.leaderElectRetryPeriod,
  };
}

type Use = <T>(key: ServiceKey<T>) => T;

/**
 * The controllers' client and the lease's: the lease has a client of its own, since at shutdown
 * the controllers' client is closed first (see run) and the lease must still be released after
 * they stop, so a successor starts at once.
 */
async function connectAll(opts: Options, plugins: ComponentPlugins) {
  try {
    const client = connect(opts, plugins.server, plugins.use);
    return { client, leaseClient: opts.leaderElect ? connect(opts, plugins.server, plugins.use) : undefined };
  } catch (err) {
    await plugins.close();
    throw err;
  }
}

type ServerAddress = ComponentPlugins['server'];

function connect(opts: Options, server: ServerAddress, use: Use): HttpsClient {
  if (opts.kubeconfig) return fromKubeconfig(opts.kubeconfig, { server: opts.master, userAgent: USER_AGENT });
  const { caPem, certPem, keyPem } = pki(use).clientCredentials(CONTROLLER_MANAGER_IDENTITY);
  return new HttpsClient({
    server: opts.master ?? defaultMaster(server),
    ca: caPem,
    cert: certPem,
    key: keyPem,
    userAgent: USER_AGENT,
  });
}

/** Without --kubeconfig, the client certificate comes from the config file's PKI plugin. */
function pki(use: Use) {
  try {
    return use(PKI);
  } catch (err) {
    if (!(err instanceof SkiffError) || err.code !== 'SKIFF_PLUGIN_MISSING_PROVIDER') throw err;
    throw new MissingProviderError(
      'SKIFF_CONTROLLER_MANAGER_NO_CREDENTIALS',
      "no --kubeconfig was given, and the config file enables no plugin that keeps the controller manager's client certificate",
      PKI,
      (provider) =>
        `give --kubeconfig FILE, or enable ${provider} in the config file (it finds the certificate in the data directory)`,
    );
  }
}

/** Without --master or a kubeconfig: the secure port the same config file gives the API server. */
export function defaultMaster(server: ServerAddress): string {
  if (typeof server.securePort !== 'number' || server.securePort === 0) {
    throw new SkiffError(
      'SKIFF_CONTROLLER_MANAGER_NO_MASTER',
      `the config file's server.securePort is ${JSON.stringify(server.securePort)}, so the API server's address is not known`,
      'give --master https://host:port, or --kubeconfig FILE',
    );
  }
  const any = server.bindAddress === '0.0.0.0' || server.bindAddress === '::';
  const host = any ? '127.0.0.1' : server.bindAddress;
  return `https://${host.includes(':') ? `[${host}]` : host}:${server.securePort}`;
}
