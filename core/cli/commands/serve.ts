/**
 * `skiff up` and `skiff apiserver`: load the config, build the server, listen, stop gracefully on a
 * signal. Server-wide flags are declared here; every plugin's own flags come from its manifest.
 */
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { parseWatchCacheSizes } from '../../api/watch-cache-sizes.js';
import { describeChains } from '../../chains.js';
import { loadConfig, type ServerOverrides } from '../../config/load.js';
import type { AnyManifest } from '../../config/manifests.js';
import type { Port } from '../../config/schema.js';
import type { SkiffError } from '../../errors.js';
import { createServer } from '../../server/server.js';
import { type AuthorizationFlags, authorizationOptions, authorizers } from '../authorization-flags.js';
import { addPluginFlags, type DeclaredFlag, pluginFlagOverlay } from '../plugin-flags.js';
import { stopOnSignals } from '../stop-on-signals.js';
import { type AdmissionFlags, admissionOptions, admissionOverrides } from './admission-flags.js';

interface ServeOptions extends AdmissionFlags, AuthorizationFlags, ServerOverrides {
  config?: string;
  defaultWatchCacheSize?: number;
  logLevel: string;
  /** The plugins' flags, by commander's attribute name. */
  [pluginFlag: string]: unknown;
}

function port(value: string): Port {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError('expected a port number from 0 (off) to 65535, or "auto" for a free port');
  }
  return n;
}

function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, 0 for no limit');
  return Number(value);
}

function cacheSize(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, 0 for no watch caches');
  return Number(value);
}

function cacheSizes(value: string): Record<string, number> {
  try {
    return parseWatchCacheSizes(value);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}: ${(err as SkiffError).fix}`);
  }
}

interface Cli {
  manifests: readonly AnyManifest[];
  declared: readonly DeclaredFlag[];
}

/** Every flag given, as config overrides: server settings, plugin flags, admission and authorization. */
async function configFrom(opts: ServeOptions, cli: Cli) {
  const overlay = pluginFlagOverlay(cli.declared, opts);
  const chain = authorizers(opts, cli.manifests, cli.declared, overlay);
  const admission = admissionOverrides(opts, cli.manifests);
  return loadConfig(opts.config, {
    dataDir: opts.dataDir,
    bindAddress: opts.bindAddress,
    securePort: opts.securePort,
    tlsCertFile: opts.tlsCertFile,
    tlsPrivateKeyFile: opts.tlsPrivateKeyFile,
    tlsMinVersion: opts.tlsMinVersion,
    tlsCipherSuites: opts.tlsCipherSuites,
    insecureBindAddress: opts.insecureBindAddress,
    insecurePort: opts.insecurePort,
    // As upstream, naming etcd servers means storing in etcd (unless --storage-backend says otherwise).
    storageBackend: opts.storageBackend ?? overlay.storageBackend,
    maxRequestsInflight: opts.maxRequestsInflight,
    maxMutatingRequestsInflight: opts.maxMutatingRequestsInflight,
    watchCacheSize: opts.defaultWatchCacheSize,
    watchCacheSizes: opts.watchCacheSizes,
    plugins: { ...overlay.plugins, ...admission.plugins },
    configure: { ...overlay.configure, ...admission.configure },
    disabled: admission.disabled,
    authorizers: chain,
  });
}

async function serve(role: string, opts: ServeOptions, cli: Cli): Promise<void> {
  const logger = pino({ name: 'skiff', level: opts.logLevel });
  const config = await configFrom(opts, cli);
  const started = Date.now();
  const server = await createServer({ config, role, logger });
  logger.info(
    { config: config.file, plugins: config.plugins.map((p) => p.name), chains: describeChains(server.hooks) },
    'plugins loaded',
  );
  const addresses = await server.listen();
  if (addresses.secure) {
    const { address, port } = addresses.secure;
    logger.info(`serving HTTPS on https://${hostPort(address, port)}`);
  }
  if (addresses.insecure) {
    const { address, port } = addresses.insecure;
    logger.warn(
      `serving the insecure port on http://${hostPort(address, port)}: every request acts as an unrestricted admin`,
    );
  }
  logger.info({ role, dataDir: config.server.dataDir, ms: Date.now() - started }, 'ready');
  stopOnSignals(logger, 'shutting down', () => server.close());
}

const hostPort = (address: string, port: number) =>
  address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;

function serveCommand(role: string, description: string, manifests: readonly AnyManifest[]): Command {
  const command = new Command(role)
    .description(description)
    .option('--config <file>', 'config file (default: config/default.yaml)')
    .option('--data-dir <dir>', 'where data is kept (default: ./data, or server.dataDir in the config)')
    .option('--bind-address <ip>', 'address of the HTTPS port (default: 127.0.0.1)')
    .option('--secure-port <port>', 'HTTPS port; 0 turns it off, "auto" picks a free port (default: 6443)', port)
    .option('--tls-cert-file <file>', 'serving certificate (default: generated by the PKI plugin under <data-dir>/pki)')
    .option('--tls-private-key-file <file>', 'key of the serving certificate')
    .option(
      '--tls-min-version <version>',
      'lowest TLS version served: VersionTLS10, VersionTLS11, VersionTLS12 (default), VersionTLS13',
    )
    .option(
      '--tls-cipher-suites <list>',
      "comma-separated TLS 1.2 cipher suites by IANA name (default: Go's, ECDHE with AES-GCM, ChaCha20, AES-CBC)",
      (v: string) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
    )
    .option('--insecure-bind-address <ip>', 'address of the insecure port (default: 127.0.0.1)')
    .option('--insecure-port <port>', 'plain-HTTP admin port; 0 (default) turns it off, "auto" picks a free port', port)
    .option(
      '--max-requests-inflight <n>',
      'read-only requests served at once, watches and other long-running requests apart; more get 429 (default: 400, 0: no limit)',
      count,
    )
    .option(
      '--max-mutating-requests-inflight <n>',
      'mutating requests served at once; more get 429 (default: 200, 0: no limit)',
      count,
    )
    .option(
      '--default-watch-cache-size <n>',
      'changes each watch cache keeps for watches that resume from a resourceVersion (default: 1000); 0: no watch cache unless --watch-cache-sizes sizes one, everything served from storage',
      cacheSize,
    )
    .option(
      '--watch-cache-sizes <list>',
      'per-resource watch cache sizes, resource[.group]#size,... ; 0 serves that resource from storage (default: events#0)',
      cacheSizes,
    )
    .option('--storage-backend <name>', 'storage backend: sqlite, etcd, memory, ... (default: sqlite)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info');
  authorizationOptions(admissionOptions(command), manifests);
  const declared = addPluginFlags(command, manifests, role);
  return command.action((opts: ServeOptions) => serve(role, opts, { manifests, declared }));
}

export function serveCommands(manifests: readonly AnyManifest[]): Command[] {
  return [
    serveCommand(
      'up',
      'run everything in one process: API server, controllers and (as they arrive) scheduler and nodes',
      manifests,
    ),
    serveCommand('apiserver', 'run the API server alone', manifests),
  ];
}
