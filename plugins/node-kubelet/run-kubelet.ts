/**
 * What `skiff kubelet` does: the config file's runtime plugin set up without a server, an HTTPS
 * client from --kubeconfig, the node name from the credentials (`system:node:<name>`) unless
 * --hostname-override gives one, then one Kubelet until a signal.
 *
 * With `--runtime simulated`, `--nodes N` nodes (multi/host.ts) share the process and its one
 * kubeconfig instead.
 *
 * SIGTERM/SIGINT stop the node: its pods stop within shutdownGracePeriod and the runtime removes
 * what it made. A kubelet killed (kill -9) leaves its pods running; started again on the same
 * root dir, it adopts them.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { SkiffError } from 'skiff/sdk';
import { stopOnSignals } from 'skiff/sdk/cli';
import {
  fromKubeconfig,
  type HttpsClient,
  readKubeconfig,
  setUpComponentPlugins,
  waitForApiServer,
} from 'skiff/sdk/client';
import { type RuntimeProvider, runtimeKey } from 'skiff/sdk/runtime';
import type { FlagAttributes } from './command.js';
import type { KubeletConfig } from './config.js';
import { Kubelet } from './kubelet.js';
import { SimulatedNodes } from './multi/host.js';
import { hostNodeName, simulatedNodeNames } from './node-names.js';
import { KUBELET_AGENT } from './node-status.js';

interface Options {
  kubeconfig?: string;
  /** Simulated nodes this process runs, and their name prefix (command.ts). */
  nodes?: number;
  namePrefix?: string;
  config?: string;
  dataDir?: string;
  logLevel: string;
  [flag: string]: unknown;
}

/** The flags given, as node-kubelet config keys. */
function flagOverlay(opts: Options, attributes: FlagAttributes): Record<string, unknown> {
  const overlay: Record<string, unknown> = {};
  for (const [attribute, spec] of attributes) {
    if (opts[attribute] !== undefined) Object.assign(overlay, spec.toConfig(opts[attribute]));
  }
  return overlay;
}

/** `--config`: the seed's manifest directory, or Skiff's config file. */
function splitConfig(path: string | undefined): { configFile?: string; manifests?: string } {
  if (!path) return {};
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ? { manifests: path } : { configFile: path };
}

export async function runKubelet(opts: Options, attributes: FlagAttributes): Promise<void> {
  const logger = pino({ name: 'skiff', level: opts.logLevel });
  if (!opts.kubeconfig) {
    throw new SkiffError(
      'SKIFF_KUBELET_NO_KUBECONFIG',
      'skiff kubelet needs --kubeconfig: the API server to register with, and the node credentials to use',
      'create one with `npx skiff kubeconfig --user system:node:<name> --group system:nodes`, then pass --kubeconfig FILE',
    );
  }
  const { configFile, manifests } = splitConfig(opts.config);
  const overlay: Record<string, unknown> = {
    ...flagOverlay(opts, attributes),
    ...(manifests ? { staticPodPath: manifests } : {}),
  };
  const runtimeName = String(overlay.runtime ?? 'process');
  const components = await setUpComponentPlugins({
    configFile,
    dataDir: opts.dataDir,
    role: 'kubelet',
    select: ({ name, roles }) => name === 'node-kubelet' || name.startsWith('runtime-') || roles.includes('kubelet'),
    enable: { 'node-kubelet': overlay, [`runtime-${runtimeName}`]: {} },
    logger,
  });
  const config = components.configOf<KubeletConfig>('node-kubelet')!;
  if ((opts.nodes ?? 1) > 1 && config.runtime !== 'simulated') {
    await components.close();
    throw new SkiffError(
      'SKIFF_KUBELET_NODES_NEED_SIMULATED',
      `--nodes ${opts.nodes} runs several nodes in one process, which only the simulated runtime can (runtime "${config.runtime}" runs real pods per node)`,
      'add --runtime simulated, or run one skiff kubelet per node',
    );
  }
  const client = fromKubeconfig(opts.kubeconfig, { userAgent: KUBELET_AGENT });
  const abort = new AbortController();
  let kubelet: Kubelet | SimulatedNodes | undefined;
  const writers: HttpsClient[] = [];
  stopOnSignals(logger, 'stopping the node: its pods stop', async () => {
    abort.abort();
    await kubelet?.stop({ stopPods: true });
    client.close();
    for (const writer of writers) writer.close();
    await components.close();
  });
  try {
    const provider = components.use<RuntimeProvider>(runtimeKey(config.runtime));
    const identity = await waitForApiServer(client, abort.signal, logger, {
      code: 'SKIFF_KUBELET_UNAUTHORIZED',
      whose: "the kubelet's",
      fix: 'give a kubeconfig whose client certificate the API server trusts (skiff kubeconfig --user system:node:<name> --group system:nodes)',
    });
    if (config.runtime === 'simulated') {
      kubelet = simulatedNodes(opts, config, { provider, identity, client, writers, logger }, components.dataDir);
      if (!abort.signal.aborted) await kubelet.start();
      return;
    }
    const nodeName = nodeNameFor(config, identity, logger);
    kubelet = new Kubelet({
      nodeName,
      client,
      runtime: provider,
      config,
      rootDir: config.rootDir ?? join(components.dataDir, 'kubelet', nodeName),
      logger: logger.child({ node: nodeName }),
      // Without --client-ca-file, the CA the kubeconfig trusts: Skiff's one cluster CA signs both.
      clientCA: config.clientCAFile ? undefined : readKubeconfig(opts.kubeconfig).ca,
    });
    if (!abort.signal.aborted) await kubelet.start();
  } catch (err) {
    client.close();
    await components.close();
    throw err;
  }
}

/** The node name: --hostname-override, else the kubeconfig's system:node:<name>, else the host name. */
function nodeNameFor(config: KubeletConfig, user: string | undefined, logger: Logger): string {
  const fromIdentity = user?.startsWith('system:node:') ? user.slice('system:node:'.length) : undefined;
  const name = config.hostnameOverride ?? fromIdentity ?? hostNodeName();
  if (fromIdentity && fromIdentity !== name) {
    logger.warn(
      { node: name, user },
      "the node name differs from the credentials' system:node:<name>: NodeRestriction will refuse its writes",
    );
  }
  if (!fromIdentity)
    logger.warn({ user }, "the kubeconfig's user is not system:node:<name>: the Node authorizer grants it nothing");
  return name;
}

/** `--runtime simulated`: the process's N nodes, named by --name-prefix, sharing its kubeconfig. */
function simulatedNodes(
  opts: Options,
  config: KubeletConfig,
  deps: { provider: RuntimeProvider; identity?: string; client: HttpsClient; writers: HttpsClient[]; logger: Logger },
  dataDir: string,
): SimulatedNodes {
  const { identity, logger } = deps;
  const count = opts.nodes ?? 1;
  const base = count > 1 ? (config.hostnameOverride ?? hostNodeName()) : nodeNameFor(config, identity, logger);
  const names = simulatedNodeNames(count, opts.namePrefix, base);
  if (count > 1) warnSharedIdentity(identity, logger);
  return new SimulatedNodes({
    names,
    provider: deps.provider,
    config,
    rootDir: config.rootDir ?? join(dataDir, 'kubelet'),
    clientFor: writerFor(names, opts.kubeconfig!, deps.writers),
    watcher: deps.client,
    logger,
  });
}

/** Nodes per HTTPS client of their own: each client keeps at most 16 connections, too few for a thousand nodes' writes. */
const NODES_PER_WRITER = 250;

/** The client each simulated node writes with: the nodes split over a few HTTPS clients of the same kubeconfig. */
function writerFor(
  names: readonly string[],
  kubeconfig: string,
  writers: HttpsClient[],
): (name: string) => HttpsClient {
  const count = Math.ceil(names.length / NODES_PER_WRITER);
  for (let i = 0; i < count; i++) writers.push(fromKubeconfig(kubeconfig, { userAgent: KUBELET_AGENT }));
  const index = new Map(names.map((name, i) => [name, writers[i % count]!]));
  return (name) => index.get(name)!;
}

/** Several nodes share the kubeconfig's identity: a single node's credentials cannot write the others. */
function warnSharedIdentity(user: string | undefined, logger: Logger): void {
  if (!user?.startsWith('system:node:')) return;
  logger.warn(
    { user },
    'the simulated nodes share one kubeconfig, whose user is a single node: the Node authorizer refuses the others; use a kubeconfig in system:masters (skiff kubeconfig --user sim-kubelet --group system:masters)',
  );
}
