/**
 * What `skiff proxy` does: the config file's proxy-userspace block (and api-core-v1's, for the
 * service range) with the flags over it, an HTTPS client as system:kube-proxy, then the proxy role
 * until a signal, which removes every listener and the service route.
 */
import { resolve } from 'node:path';
import { type Logger, pino } from 'pino';
import { delay, isStatusError, SkiffError } from 'skiff/sdk';
import { type ClientCredentials, type ClientIdentity, PKI } from 'skiff/sdk/auth';
import { stopOnSignals } from 'skiff/sdk/cli';
import {
  CORE_V1,
  type ComponentPlugins,
  fromKubeconfig,
  HttpsClient,
  serverOfDataDir,
  setUpComponentPlugins,
} from 'skiff/sdk/client';
import { SERVICE_NETWORK } from 'skiff/sdk/network';
import type { FlagAttributes } from './command.js';
import { KUBE_PROXY_AGENT, type ProxyConfig } from './config.js';
import type { ProxyRole } from './proxy-role.js';

const USER_AGENT = KUBE_PROXY_AGENT;

/** kube-proxy's client certificate, kept in the PKI as kube-proxy.crt. */
export const KUBE_PROXY_IDENTITY: ClientIdentity = { user: 'system:kube-proxy', name: 'kube-proxy' };

interface Options {
  kubeconfig?: string;
  master?: string;
  config?: string;
  dataDir?: string;
  logLevel: string;
  [flag: string]: unknown;
}

/** Upstream's defaults for the two servers of its own process (inside skiff up they are off). */
const PROCESS_DEFAULTS = { healthzBindAddress: '0.0.0.0:10256', metricsBindAddress: '127.0.0.1:10249' };

function flagOverlay(opts: Options, attributes: FlagAttributes): Record<string, unknown> {
  const overlay: Record<string, unknown> = {};
  for (const [attribute, spec] of attributes) {
    if (opts[attribute] !== undefined) Object.assign(overlay, spec.toConfig(opts[attribute]));
  }
  return overlay;
}

function connect(opts: Options, plugins: ComponentPlugins): HttpsClient {
  if (opts.kubeconfig) return fromKubeconfig(resolve(opts.kubeconfig), { server: opts.master, userAgent: USER_AGENT });
  let credentials: ClientCredentials;
  try {
    credentials = plugins.use(PKI).clientCredentials(KUBE_PROXY_IDENTITY);
  } catch (err) {
    if (err instanceof SkiffError && err.code !== 'SKIFF_PLUGIN_MISSING_PROVIDER') throw err;
    throw new SkiffError(
      'SKIFF_PROXY_NO_CREDENTIALS',
      "no --kubeconfig was given, and the Skiff config enables no plugin that keeps kube-proxy's client certificate",
      `give --kubeconfig FILE (\`skiff kubeconfig --user system:kube-proxy --out FILE\` writes one), or enable pki-local (or another plugin that provides ${PKI.id})`,
    );
  }
  const server = opts.master ?? serverOfDataDir(plugins.dataDir, 'SKIFF_PROXY_NO_MASTER');
  return new HttpsClient({
    server,
    ca: credentials.caPem,
    cert: credentials.certPem,
    key: credentials.keyPem,
    userAgent: USER_AGENT,
  });
}

/** Until the API server answers a list of services; refused credentials or permissions stop start-up. */
async function waitForApiServer(client: HttpsClient, signal: AbortSignal, logger: Logger): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      await client.list(CORE_V1('services'), '', { limit: 1 });
      logger.info({ server: client.server }, 'connected to the API server');
      return;
    } catch (err) {
      if (isStatusError(err) && (err.code === 401 || err.code === 403)) {
        throw new SkiffError(
          'SKIFF_PROXY_REFUSED',
          `${client.server} refused to list services for the proxy (${err.code}: ${err.message})`,
          'give a kubeconfig for system:kube-proxy (bound to system:node-proxier), e.g. `skiff kubeconfig --user system:kube-proxy`',
        );
      }
      if (attempt % 10 === 0) logger.warn({ err: (err as Error).message }, 'waiting for the API server');
      await delay(1_000, signal);
    }
  }
}

function serviceRange(config: ProxyConfig, plugins: ComponentPlugins): string {
  if (config.serviceClusterIPRange) return config.serviceClusterIPRange;
  try {
    return plugins.use(SERVICE_NETWORK).serviceClusterIPRange;
  } catch {
    throw new SkiffError(
      'SKIFF_PROXY_NO_SERVICE_RANGE',
      'the proxy does not know the service range: the Skiff config enables no plugin serving Services',
      "give --service-cluster-ip-range (the API server's), or a config file enabling api-core-v1",
    );
  }
}

export async function runProxy(opts: Options, attributes: FlagAttributes): Promise<void> {
  const logger = pino({ name: 'skiff', level: opts.logLevel });
  const overlay = flagOverlay(opts, attributes);
  const plugins = await setUpComponentPlugins({
    configFile: opts.config,
    dataDir: opts.dataDir,
    role: 'proxy',
    select: ({ roles, provides }) => roles.includes('proxy') || provides(PKI),
    enable: { 'proxy-userspace': overlay },
    logger,
  });
  const abort = new AbortController();
  let role: ProxyRole | undefined;
  let client: HttpsClient | undefined;
  const release = async () => {
    await role?.stop();
    client?.close();
    await plugins.close();
  };
  stopOnSignals(logger, 'stopping the proxy: its listeners and the service route go', async () => {
    abort.abort();
    await release();
  });
  try {
    const block = plugins.configOf<ProxyConfig>('proxy-userspace')!;
    const config = { ...block, ...pickDefaults(block, overlay), serviceClusterIPRange: serviceRange(block, plugins) };
    client = connect(opts, plugins);
    await waitForApiServer(client, abort.signal, logger);
    if (abort.signal.aborted) return;
    const { startProxyRole } = await import('./proxy-role.js');
    role = await startProxyRole(client, config, logger);
    logger.info(
      { server: client.server, ports: role.ports, serviceClusterIPRange: config.serviceClusterIPRange },
      'proxy running',
    );
  } catch (err) {
    await release();
    throw err;
  }
}

/** Upstream's process defaults for /healthz and /metrics, where neither the flags nor the file chose. */
function pickDefaults(block: ProxyConfig, overlay: Record<string, unknown>): Partial<ProxyConfig> {
  const out: Partial<ProxyConfig> = {};
  for (const key of ['healthzBindAddress', 'metricsBindAddress'] as const) {
    if (overlay[key] === undefined && block[key] === '') out[key] = PROCESS_DEFAULTS[key];
  }
  return out;
}
