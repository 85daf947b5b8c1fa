/**
 * One kubelet: a node (seed 3.4). It registers its Node and keeps its Lease and status fresh
 * (node management, 3.4.1), merges its pod sources — the API, the manifest directory, the
 * manifest URL — into pod workers that drive the container runtime (pod management, 3.4.2),
 * probes containers (3.4.3), and lists the runtime every second to notice containers that
 * changed (upstream's PLEG). `skiff up` runs one per local node in-process; `skiff kubelet`
 * runs one in its own process. KubeletState is what its own server (server.ts) reads.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import type { KubeObject } from 'skiff/sdk';
import { type ApiClient, CORE_V1, delay, Informer } from 'skiff/sdk/client';
import { type ContainerRuntime, KUBE_LABELS, type RuntimeProvider } from 'skiff/sdk/runtime';
import { BackOff } from './backoff.js';
import type { KubeletConfig } from './config.js';
import { type KubeletContext, podDir, podLogDir } from './context.js';
import { EventRecorder } from './events.js';
import { NodeLease } from './node-lease.js';
import { NodeStatusManager } from './node-status.js';
import { PodManager } from './pod-manager.js';
import { CONTAINER_ANNOTATIONS, type PodRuntimeState, podRuntimeState } from './pod-state.js';
import { ProbeManager } from './probes/prober.js';
import { withFieldSelector } from './scoped-client.js';
import { type KubeletServer, startKubeletServer } from './server.js';
import { FileSource, UrlSource } from './sources/manifests.js';
import { TokenCache } from './volumes.js';

export interface KubeletOptions {
  nodeName: string;
  /** Acts as system:node:<name> in system:nodes (in-process or HTTPS). */
  client: ApiClient;
  runtime: RuntimeProvider;
  config: KubeletConfig;
  /** This node's own root dir (pods/, logs/, runtime/). */
  rootDir: string;
  logger: Logger;
  /** Among `skiff up`'s local nodes: this one's index and their count (capacity is shared). */
  localIndex?: number;
  localCount?: number;
  /** PEM of the CA(s) whose client certificates its server accepts when --client-ca-file is not given (the cluster CA). */
  clientCA?: string;
}

/** What the kubelet's server (and tests) read: the node, its pods and what the runtime holds for them. */
export interface KubeletState {
  readonly nodeName: string;
  readonly config: KubeletConfig;
  readonly rootDir: string;
  /** The open runtime (exec, attach, port-forward, logs, stats go to it). */
  readonly runtime: ContainerRuntime;
  /** The node's API client (system:node:<name>): TokenReviews and SubjectAccessReviews for its server. */
  readonly client: ApiClient;
  node(): KubeObject | undefined;
  /** Every pod this node runs or must run: API pods bound here, and static pods (with their config annotations). */
  pods(): Pod[];
  /** A pod by namespace and name (a static pod by its suffixed name). */
  pod(namespace: string, name: string): Pod | undefined;
  /** A pod's sandboxes and containers (newest first), by uid. */
  runtimeState(uid: string): Promise<PodRuntimeState>;
  /** Where a pod's container logs go: <root>/logs/pods/<namespace>_<name>_<uid>/<container>/<attempt>.log. */
  logDirectory(pod: Pod): string;
  /** A pod's data directory (volumes under volumes/<plugin>/<name>). */
  podDirectory(uid: string): string;
  readonly logger: Logger;
  /** The cluster CA its server verifies client certificates with, unless --client-ca-file names others. */
  readonly clientCA?: string;
}

const PODS = CORE_V1('pods');
const SERVICES = CORE_V1('services');

export class Kubelet implements KubeletState {
  readonly nodeName: string;
  readonly config: KubeletConfig;
  readonly rootDir: string;
  readonly client: ApiClient;
  private opened?: ContainerRuntime;
  private ctx?: KubeletContext;
  private nodeStatus?: NodeStatusManager;
  private manager?: PodManager;
  private probes?: ProbeManager;
  private server?: KubeletServer;
  private readonly stopping = new AbortController();
  private readonly loops: Promise<unknown>[] = [];
  private readonly sources: { stop(): void }[] = [];
  private services?: Informer;

  constructor(private readonly options: KubeletOptions) {
    this.nodeName = options.nodeName;
    this.config = options.config;
    this.rootDir = options.rootDir;
    this.client = options.client;
  }

  get logger(): Logger {
    return this.options.logger;
  }

  get clientCA(): string | undefined {
    return this.options.clientCA;
  }

  get runtime(): ContainerRuntime {
    if (!this.opened) throw new Error(`kubelet ${this.nodeName} has not started`);
    return this.opened;
  }

  node(): KubeObject | undefined {
    return this.nodeStatus?.node;
  }

  pods(): Pod[] {
    return this.manager?.pods() ?? [];
  }

  pod(namespace: string, name: string): Pod | undefined {
    return this.pods().find((p) => (p.metadata?.namespace ?? 'default') === namespace && p.metadata?.name === name);
  }

  runtimeState(uid: string): Promise<PodRuntimeState> {
    return podRuntimeState(this.runtime, uid);
  }

  logDirectory(pod: Pod): string {
    return podLogDir(
      this.context(),
      pod.metadata?.namespace ?? 'default',
      pod.metadata?.name ?? '',
      pod.metadata?.uid ?? '',
    );
  }

  podDirectory(uid: string): string {
    return podDir(this.context(), uid);
  }

  private context(): KubeletContext {
    if (!this.ctx) throw new Error(`kubelet ${this.nodeName} has not started`);
    return this.ctx;
  }

  /** Registers the node and starts everything; resolves once the node is registered and its pods are being synced. */
  async start(): Promise<void> {
    const { options, config } = this;
    const signal = this.stopping.signal;
    const logger = options.logger;
    mkdirSync(this.rootDir, { recursive: true });
    this.opened = await options.runtime.open({
      nodeName: this.nodeName,
      rootDir: join(this.rootDir, 'runtime'),
      containerLogMaxSize: config.containerLogMaxSize,
      containerLogMaxFiles: config.containerLogMaxFiles,
      logger: logger.child({ component: 'runtime' }),
    });
    const ctx = this.makeContext();
    this.probes = new ProbeManager(ctx, (uid) => this.manager?.kick(uid));
    this.manager = new PodManager({
      ctx,
      probes: this.probes,
      tokens: new TokenCache(),
      logger,
      resources: () => this.nodeStatus!.allocatable(),
    });
    // Node management (3.4.1): register, then heartbeats (the Lease) and status.
    this.nodeStatus = new NodeStatusManager({
      client: options.client,
      nodeName: this.nodeName,
      config,
      runtime: this.opened,
      rootDir: this.rootDir,
      logger,
      localIndex: options.localIndex ?? 0,
      localCount: options.localCount ?? 1,
      kubeletPort: () => this.server?.port ?? 0,
    });
    // The kubelet's own server (issue 19 items 6–7) listens first, so the Node registers with its port.
    this.server = await startKubeletServer(this);
    await this.nodeStatus.register(signal);
    if (signal.aborted) return;
    const lease = new NodeLease({
      client: options.client,
      nodeName: this.nodeName,
      durationSeconds: config.nodeLeaseDurationSeconds,
      logger,
      node: () => this.nodeStatus?.node,
    });
    this.loops.push(lease.run(signal), this.nodeStatus.run(signal));
    // Pod management (3.4.2): what the runtime already runs is taken back, then the three sources.
    const running = await this.opened.listPodSandboxes();
    this.manager.adopt(running.map((s) => s.labels[KUBE_LABELS.podUid] ?? s.metadata.uid));
    await this.startSources(signal);
    this.loops.push(this.relistLoop(signal), this.resyncLoop(signal));
    logger.info({ podCIDR: this.nodeStatus.podCIDR, adopted: running.length }, 'kubelet started');
  }

  private makeContext(): KubeletContext {
    const { options } = this;
    const backoff = this.config.crashLoopBackOff;
    this.ctx = {
      nodeName: this.nodeName,
      config: this.config,
      client: options.client,
      runtime: this.opened!,
      rootDir: this.rootDir,
      logger: options.logger,
      events: new EventRecorder(options.client, this.nodeName, options.logger),
      restartBackOff: new BackOff(backoff.initialSeconds * 1000, backoff.maxContainerRestartPeriod * 1000),
      pullBackOff: new BackOff(backoff.initialSeconds * 1000, backoff.maxContainerRestartPeriod * 1000),
      node: () => this.nodeStatus?.node,
      nodeIP: () =>
        ((this.nodeStatus?.node?.status as { addresses?: { type: string; address: string }[] })?.addresses ?? []).find(
          (a) => a.type === 'InternalIP',
        )?.address,
      services: (namespace) =>
        [...(this.services?.items.values() ?? [])].filter(
          (s) =>
            s.metadata.namespace === namespace ||
            (s.metadata.namespace === 'default' && s.metadata.name === 'kubernetes'),
        ),
      stopping: this.stopping.signal,
    };
    return this.ctx;
  }

  private async startSources(signal: AbortSignal): Promise<void> {
    const { options, config } = this;
    const logger = options.logger;
    const manager = this.manager!;
    // The API: pods bound to this node (list + watch with a field selector), and services for env.
    const scoped = withFieldSelector(options.client, `spec.nodeName=${this.nodeName}`);
    const pods = new Informer(scoped, PODS, logger);
    this.services = new Informer(options.client, SERVICES, logger);
    this.loops.push(
      pods.run(signal, (type, obj) => manager.onApiPod(type, obj)),
      this.services.run(signal, () => {}),
    );
    if (config.staticPodPath) {
      const file = new FileSource(
        config.staticPodPath,
        this.nodeName,
        config.fileCheckFrequency,
        (p) => manager.setStatic('file', p),
        logger,
      );
      this.sources.push(file);
      await file.start();
    }
    if (config.staticPodURL) {
      const url = new UrlSource(
        config.staticPodURL,
        this.nodeName,
        config.httpCheckFrequency,
        (p) => manager.setStatic('http', p),
        logger,
      );
      this.sources.push(url);
      await url.start();
    }
    await Promise.race([Promise.all([pods.hasSynced(), this.services.hasSynced()]), delay(30_000, signal)]);
  }

  /** Upstream's PLEG: every relistPeriod, the pods whose containers changed are synced; orphans stopped. */
  private async relistLoop(signal: AbortSignal): Promise<void> {
    const last = new Map<string, string>();
    while (!signal.aborted) {
      await delay(this.config.relistPeriod * 1000, signal);
      if (signal.aborted) return;
      try {
        await this.relist(last);
      } catch (err) {
        this.options.logger.debug({ err }, 'relist failed');
      }
    }
  }

  private async relist(last: Map<string, string>): Promise<void> {
    const runtime = this.runtime;
    const [sandboxes, containers] = await Promise.all([runtime.listPodSandboxes(), runtime.listContainers()]);
    const now = new Map<string, string>();
    const note = (uid: string | undefined, text: string) => uid && now.set(uid, `${now.get(uid) ?? ''}${text};`);
    for (const s of sandboxes) note(s.labels[KUBE_LABELS.podUid], `${s.id}:${s.state}`);
    for (const c of containers) note(c.labels[KUBE_LABELS.podUid], `${c.id}:${c.state}`);
    for (const uid of new Set([...now.keys(), ...last.keys()])) {
      if (now.get(uid) !== last.get(uid)) this.manager!.kick(uid);
    }
    last.clear();
    for (const [k, v] of now) last.set(k, v);
    await this.manager!.deleteOrphanedMirrors();
    for (const s of sandboxes) {
      const uid = s.labels[KUBE_LABELS.podUid] ?? s.metadata.uid;
      if (this.manager!.knows(uid)) continue;
      const grace = containers.find((c) => c.podSandboxId === s.id)?.annotations[CONTAINER_ANNOTATIONS.gracePeriod];
      this.manager!.removeOrphan({
        metadata: { name: s.metadata.name, namespace: s.metadata.namespace, uid },
        spec: { containers: [], terminationGracePeriodSeconds: grace ? Number(grace) : 30 },
      });
    }
  }

  private async resyncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await delay(this.config.syncFrequency * 1000, signal);
      if (!signal.aborted) this.manager!.kickAll();
    }
  }

  /**
   * Stops the kubelet. `stopPods`: the node goes away (skiff up stopping, skiff kubelet exiting):
   * every pod is stopped within shutdownGracePeriod and the runtime removes all it made. Without
   * it the containers keep running, and a kubelet started later on the same root dir adopts them.
   */
  async stop(options: { stopPods: boolean }): Promise<void> {
    this.stopping.abort();
    for (const s of this.sources) s.stop();
    await this.server?.close();
    this.probes?.stopAll();
    if (options.stopPods) await this.manager?.shutdown(this.config.shutdownGracePeriod);
    else await this.manager?.idle();
    await Promise.allSettled(this.loops);
    await this.opened?.close({ stopAll: options.stopPods });
  }
}
