/** `skiff up` and `skiff apiserver`: load the config, build the server, listen, stop gracefully on a signal. */
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { describeChains } from '../../chains.js';
import { loadConfig } from '../../config/load.js';
import { createServer } from '../../server/server.js';

interface ServeOptions {
  config?: string;
  dataDir?: string;
  insecureBindAddress?: string;
  insecurePort?: number;
  storageBackend?: string;
  logLevel: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

async function serve(role: string, opts: ServeOptions): Promise<void> {
  const logger = pino({ name: 'skiff', level: opts.logLevel });
  const config = await loadConfig(opts.config, {
    dataDir: opts.dataDir,
    insecureBindAddress: opts.insecureBindAddress,
    insecurePort: opts.insecurePort,
    storageBackend: opts.storageBackend,
  });
  const started = Date.now();
  const server = await createServer({ config, role, logger });
  logger.info(
    { config: config.file, plugins: config.plugins.map((p) => p.name), chains: describeChains(server.hooks) },
    'plugins loaded',
  );
  const addresses = await server.listen();
  if (addresses.insecure) {
    const { address, port } = addresses.insecure;
    logger.warn(`serving the insecure port on http://${address}:${port}: every request acts as an unrestricted admin`);
  }
  logger.info({ role, dataDir: config.server.dataDir, ms: Date.now() - started }, 'ready');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn(`second ${signal}: exiting at once`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal} received: shutting down`);
    server.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function serveCommand(role: string, description: string): Command {
  return new Command(role)
    .description(description)
    .option('--config <file>', 'config file (default: config/default.yaml)')
    .option('--data-dir <dir>', 'where data is kept (default: ./data, or server.dataDir in the config)')
    .option('--insecure-bind-address <ip>', 'address of the insecure port (default: 127.0.0.1)')
    .option('--insecure-port <port>', 'insecure port; 0 picks a free port (default: 8080)', port)
    .option('--storage-backend <name>', 'storage backend: sqlite, memory, ... (default: sqlite)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info')
    .action((opts: ServeOptions) => serve(role, opts));
}

export function serveCommands(): Command[] {
  return [
    serveCommand(
      'up',
      'run everything in one process: API server, controllers and (as they arrive) scheduler and nodes',
    ),
    serveCommand('apiserver', 'run the API server alone'),
  ];
}
