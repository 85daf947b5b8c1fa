/**
 * `skiff scheduler`: the scheduler in its own process, talking to the API server over HTTPS as
 * system:kube-scheduler, with upstream kube-scheduler's flags (--config for the
 * KubeSchedulerConfiguration, --kubeconfig, --master, --leader-elect*). Leader election is on by
 * default, on the kube-system/kube-scheduler Lease, as upstream. `skiff scheduler simulate` is in
 * simulate.ts.
 */
import { resolve } from 'node:path';
import { pino } from 'pino';
import { SkiffError } from 'skiff/sdk';
import { PKI, type Pki, SCHEDULER_IDENTITY } from 'skiff/sdk/auth';
import { bool, Command, goDurationSeconds, InvalidArgumentError, stopOnSignals } from 'skiff/sdk/cli';
import {
  type ComponentPlugins,
  fromKubeconfig,
  HttpsClient,
  LEADER_ELECTION,
  serverOfDataDir,
  setUpComponentPlugins,
  waitForApiServer,
} from 'skiff/sdk/client';
import { SchedulerComponent } from './component/component.js';
import { serveHealthAndMetrics } from './component/serving.js';
import { loadSchedulerConfiguration, type SchedulerConfiguration } from './config/configuration.js';
import { externalLookup } from './external.js';
import { SCHEDULER_AGENT, type SchedulerPluginConfig, schedulerConfigurationOf } from './settings.js';
import { simulateCommand } from './simulate.js';

const USER_AGENT = SCHEDULER_AGENT;

interface Options {
  config?: string;
  kubeconfig?: string;
  master?: string;
  skiffConfig?: string;
  dataDir?: string;
  leaderElect?: boolean;
  leaderElectLeaseDuration?: number;
  leaderElectRenewDeadline?: number;
  leaderElectRetryPeriod?: number;
  leaderElectResourceLock?: string;
  leaderElectResourceName?: string;
  leaderElectResourceNamespace?: string;
  port: number | 'auto';
  address: string;
  logLevel: string;
}

function port(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new InvalidArgumentError('expected a port number (0: off) or "auto"');
  return Number(value);
}

export function schedulerCommand(): Command {
  const command = new Command('scheduler')
    .description('run the scheduler in its own process, against an API server over HTTPS (upstream kube-scheduler)')
    .option(
      '--config <file>',
      'a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) file (default: the scheduler-default block of the Skiff config, else upstream defaults)',
    )
    .option(
      '--kubeconfig <file>',
      "how to reach the API server as system:kube-scheduler (default: the file's clientConnection.kubeconfig, else a client certificate from the PKI under --data-dir)",
    )
    .option('--master <url>', "the API server's address; overrides the kubeconfig's")
    .option(
      '--skiff-config <file>',
      'the Skiff config file whose plugins the scheduler loads: third-party scheduler plugins, the leader election lock, the PKI (default: config/default.yaml)',
    )
    .option('--data-dir <dir>', 'data directory holding the PKI (default: server.dataDir of the Skiff config)')
    .option('--leader-elect <bool>', 'schedule only while holding the leader lease (default true)', bool)
    .option('--leader-elect-lease-duration <d>', 'how long a lease lasts unrenewed (default 15s)', goDurationSeconds)
    .option(
      '--leader-elect-renew-deadline <d>',
      'the leader gives up when it cannot renew for this long (default 10s)',
      goDurationSeconds,
    )
    .option('--leader-elect-retry-period <d>', 'how often to try to acquire or renew (default 2s)', goDurationSeconds)
    .option('--leader-elect-resource-lock <kind>', 'the lock kind: leases (the only one upstream 1.32 keeps)')
    .option('--leader-elect-resource-name <name>', 'the Lease (default kube-scheduler)')
    .option('--leader-elect-resource-namespace <ns>', "the Lease's namespace (default kube-system)")
    .option(
      '--port <port>',
      'plain-HTTP loopback port for /healthz and /metrics (0: none, "auto": a free one)',
      port,
      10251,
    )
    .option('--address <ip>', 'the address of --port: loopback only', '127.0.0.1')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info');
  command.addCommand(simulateCommand());
  return command.action((opts: Options, cmd: Command) => run(opts, cmd));
}

/** Upstream's ApplyLeaderElectionTo: only flags given on the command line override the file. */
function applyLeaderElectionFlags(config: SchedulerConfiguration, opts: Options, cmd: Command): void {
  const le = config.leaderElection;
  const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  if (given('leaderElect')) le.leaderElect = opts.leaderElect!;
  if (given('leaderElectLeaseDuration')) le.leaseDuration = opts.leaderElectLeaseDuration!;
  if (given('leaderElectRenewDeadline')) le.renewDeadline = opts.leaderElectRenewDeadline!;
  if (given('leaderElectRetryPeriod')) le.retryPeriod = opts.leaderElectRetryPeriod!;
  if (given('leaderElectResourceLock') && opts.leaderElectResourceLock !== 'leases') {
    throw new SkiffError(
      'SKIFF_SCHEDULER_LOCK',
      `--leader-elect-resource-lock ${opts.leaderElectResourceLock}: only leases are supported`,
      'leave the flag out, or give leases',
    );
  }
  if (given('leaderElectResourceName')) le.resourceName = opts.leaderElectResourceName!;
  if (given('leaderElectResourceNamespace')) le.resourceNamespace = opts.leaderElectResourceNamespace!;
}

/** The client: a kubeconfig, or the scheduler's certificate from the PKI and the admin kubeconfig's server. */
function connect(opts: Options, config: SchedulerConfiguration, plugins: ComponentPlugins): HttpsClient {
  const kubeconfig = opts.kubeconfig ?? config.clientConnection.kubeconfig;
  if (kubeconfig) return fromKubeconfig(resolve(kubeconfig), { server: opts.master, userAgent: USER_AGENT });
  let pki: Pki;
  try {
    pki = plugins.use(PKI);
  } catch {
    throw new SkiffError(
      'SKIFF_SCHEDULER_NO_CREDENTIALS',
      "no --kubeconfig was given, and the Skiff config enables no plugin that keeps the scheduler's client certificate",
      `give --kubeconfig FILE (\`skiff kubeconfig --user system:kube-scheduler --out FILE\` writes one), or enable pki-local (or another plugin that provides ${PKI.id})`,
    );
  }
  const { caPem, certPem, keyPem } = pki.clientCredentials(SCHEDULER_IDENTITY);
  const server = opts.master ?? serverOfDataDir(plugins.dataDir, 'SKIFF_SCHEDULER_NO_MASTER');
  return new HttpsClient({ server, ca: caPem, cert: certPem, key: keyPem, userAgent: USER_AGENT });
}

async function run(opts: Options, cmd: Command): Promise<void> {
  const logger = pino({ name: 'skiff', level: opts.logLevel });
  const plugins = await setUpComponentPlugins({
    configFile: opts.skiffConfig,
    dataDir: opts.dataDir,
    role: 'scheduler',
    select: (p) => p.roles.includes('scheduler') || p.provides(LEADER_ELECTION) || p.provides(PKI),
    logger,
  });
  const abort = new AbortController();
  let component: SchedulerComponent | undefined;
  let client: HttpsClient | undefined;
  let leaseClient: HttpsClient | undefined;
  const release = async () => {
    await component?.stop();
    client?.close();
    leaseClient?.close();
    await plugins.close();
  };
  try {
    const block = plugins.configOf<SchedulerPluginConfig>('scheduler-default');
    const config = opts.config ? loadSchedulerConfiguration(resolve(opts.config)) : schedulerConfigurationOf(block);
    applyLeaderElectionFlags(config, opts, cmd);
    client = connect(opts, config, plugins);
    // A client of its own for the lease: released after the scheduling client has stopped.
    leaseClient = config.leaderElection.leaderElect ? connect(opts, config, plugins) : undefined;
    const le = config.leaderElection;
    component = new SchedulerComponent({
      client,
      logger,
      config,
      external: externalLookup(plugins.use),
      leaderElection: leaseClient
        ? {
            electors: leaderElection(plugins),
            client: leaseClient,
            options: {
              name: le.resourceName,
              namespace: le.resourceNamespace,
              leaseDuration: le.leaseDuration,
              renewDeadline: le.renewDeadline,
              retryPeriod: le.retryPeriod,
              releaseOnCancel: true,
            },
          }
        : undefined,
    });
    stopOnSignals(logger, 'stopping the scheduler', async () => {
      abort.abort();
      await release();
    });
    await waitForApiServer(client, abort.signal, logger, {
      code: 'SKIFF_SCHEDULER_UNAUTHORIZED',
      whose: "the scheduler's",
      fix: 'give a kubeconfig whose client certificate the API server trusts (skiff kubeconfig --user system:kube-scheduler writes one)',
    });
    if (abort.signal.aborted) return;
    component.start();
    if (opts.port !== 0) {
      const served = await serveHealthAndMetrics(component, opts.address, opts.port === 'auto' ? 0 : opts.port);
      logger.info(`serving /healthz and /metrics on http://${opts.address}:${served.port}`);
    }
    logger.info(
      {
        profiles: [...component.frameworks.keys()],
        config: config.source,
        leaderElect: le.leaderElect,
        server: client.server,
      },
      'scheduler started',
    );
  } catch (err) {
    await release();
    throw err;
  }
}

function leaderElection(plugins: ComponentPlugins) {
  try {
    return plugins.use(LEADER_ELECTION);
  } catch {
    throw new SkiffError(
      'SKIFF_PLUGIN_MISSING_PROVIDER',
      `--leader-elect is on, but the Skiff config enables no plugin that provides ${LEADER_ELECTION.id}`,
      `enable leader-election-lease (or another plugin that provides ${LEADER_ELECTION.id}) in the Skiff config (--skiff-config), or pass --leader-elect=false`,
    );
  }
}
