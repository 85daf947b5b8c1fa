/**
 * Many simulated nodes in one process (`skiff kubelet --runtime simulated --nodes 1000`), each a
 * Node with its own Lease and status, sharing what would not scale if each had its own: one pod
 * informer (one list and one watch of every bound pod, dispatched by spec.nodeName), one timer
 * (a tick that renews the Leases and writes the statuses that are due, spread over the period so
 * a thousand renewals do not land at once, and relists every node's runtime), one bound on
 * concurrent API writes, one restart back-off table. Upstream's kubemark runs a hollow kubelet
 * per pod instead; a thousand of those would need a thousand processes.
 */
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import { type KubeObject, SkiffError } from 'skiff/sdk';
import { type ApiClient, CORE_V1, Informer } from 'skiff/sdk/client';
import { type ContainerStatus, KUBE_LABELS, type RuntimeProvider } from 'skiff/sdk/runtime';
import { BackOff } from '../backoff.js';
import { choosePodCIDR, DEFAULT_CLUSTER_CIDR } from '../cidr.js';
import type { KubeletConfig } from '../config.js';
import { EventRecorder } from '../events.js';
import { withFieldSelector } from '../scoped-client.js';
import { type Limit, limit } from './limit.js';
import { SimNode } from './sim-node.js';
import { type PodHost, SimPod } from './sim-pod.js';

const NODES = CORE_V1('nodes');
const PODS = CORE_V1('pods');
const TICK_MS = 200;
const NONE: ReadonlySet<string> = new Set();
/** /24s tried per node before giving up (a /10 holds 16,384). */
const MAX_NODE_RANGES = 1 << 16;
/** API writes in flight at once, for all the nodes of the process. */
const MAX_WRITES = 64;

export interface SimulatedNodesOptions {
  names: readonly string[];
  provider: RuntimeProvider;
  config: KubeletConfig;
  /** Parent of each node's root dir (the simulated runtime writes nothing there). */
  rootDir: string;
  /** The client node `name` writes with: its own system:node identity in `skiff up`, the kubeconfig's over HTTPS. */
  clientFor(name: string): ApiClient;
  /** Lists the Nodes and watches every bound pod, for all the nodes at once. */
  watcher: ApiClient;
  logger: Logger;
}

export class SimulatedNodes implements PodHost {
  readonly nodes = new Map<string, SimNode>();
  readonly config: KubeletConfig;
  readonly backoff: BackOff;
  readonly writes: Limit = limit(MAX_WRITES);
  readonly logger: Logger;
  readonly counts = { syncs: 0, statusWrites: 0, echoes: 0 };
  private readonly pods = new Map<string, SimPod>();
  private readonly stopping = new AbortController();
  private informer?: Promise<void>;
  private ticker?: NodeJS.Timeout;
  private lastRelist = 0;
  private relisting = false;

  constructor(private readonly options: SimulatedNodesOptions) {
    this.config = options.config;
    this.logger = options.logger;
    const b = options.config.crashLoopBackOff;
    this.backoff = new BackOff(b.initialSeconds * 1000, b.maxContainerRestartPeriod * 1000);
  }

  client(node: SimNode): ApiClient {
    return this.options.clientFor(node.name);
  }

  events(node: SimNode): EventRecorder {
    node.events ??= new EventRecorder(this.client(node), node.name, this.logger);
    return node.events;
  }

  forget(pod: SimPod): void {
    if (this.pods.get(pod.uid) === pod) this.pods.delete(pod.uid);
  }

  /** Registers every node (Node, Lease), then takes their pods; resolves once the pods are listed. */
  async start(): Promise<void> {
    const started = Date.now();
    if (this.config.staticPodPath || this.config.staticPodURL) {
      this.logger.warn(
        'simulated nodes take their pods from the API only: --pod-manifest-path and --manifest-url are ignored',
      );
    }
    await this.register();
    const scoped = withFieldSelector(this.options.watcher, 'spec.nodeName!=');
    const informer = new Informer(scoped, PODS, this.logger);
    this.informer = informer.run(this.stopping.signal, (type, obj) => this.onPod(type, obj));
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    await informer.hasSynced();
    this.logger.info({ nodes: this.nodes.size, ms: Date.now() - started }, 'simulated nodes registered');
  }

  private async register(): Promise<void> {
    const { names, provider, config, rootDir } = this.options;
    const existing = new Map<string, KubeObject>();
    const taken = new Set<string>();
    for (const node of (await this.options.watcher.list(NODES, '')).items) {
      existing.set(node.metadata.name ?? '', node);
      const cidr = (node.spec as { podCIDR?: string } | undefined)?.podCIDR;
      if (cidr) taken.add(cidr);
    }
    const leasePeriod = (config.nodeLeaseDurationSeconds * 1000) / 4;
    const reportPeriod = config.nodeStatusReportFrequency * 1000;
    const registrations: Promise<void>[] = [];
    for (const [index, name] of names.entries()) {
      const runtime = await provider.open({ nodeName: name, rootDir: join(rootDir, name) });
      const node = new SimNode(name, runtime, config, () => this.options.clientFor(name));
      const cidr = this.podCIDRFor(existing.get(name), taken, index, (await runtime.status()).clusterCIDR);
      taken.add(cidr);
      this.nodes.set(name, node);
      // Spread over the period: node i takes (then renews) its Lease at i/N of it, so writes come evenly.
      const spread = index / names.length;
      node.leaseDue = Date.now() + leasePeriod * spread;
      node.statusDue = Date.now() + reportPeriod * (1 + spread);
      registrations.push(this.writes(() => node.register(existing.get(name), cidr)));
    }
    await Promise.all(registrations);
  }

  /** The Node's podCIDR if it has one, else --pod-cidr for a single node, else a free /24 of the runtime's range. */
  private podCIDRFor(node: KubeObject | undefined, taken: Set<string>, index: number, cluster?: string): string {
    const own = (node?.spec as { podCIDR?: string } | undefined)?.podCIDR;
    if (own) return own;
    if (this.options.names.length === 1 && this.config.podCIDR) return this.config.podCIDR;
    // The index-th /24 first, then the next ones: one candidate at a time, as choosePodCIDR with
    // an empty set is O(1) where the whole taken set would be parsed for each of a thousand nodes.
    const range = cluster ?? DEFAULT_CLUSTER_CIDR;
    for (let k = 0; k < MAX_NODE_RANGES; k++) {
      const cidr = choosePodCIDR(range, NONE, index + k);
      if (cidr && !taken.has(cidr)) return cidr;
    }
    throw new SkiffError(
      'SKIFF_SIMULATED_NO_POD_CIDR',
      `no free /24 left in ${range} for node ${this.options.names[index]}`,
      'give runtime-simulated a larger clusterCIDR, or run fewer nodes',
    );
  }

  private onPod(type: string, obj: KubeObject): void {
    const pod = obj as unknown as Pod;
    const node = this.nodes.get(pod.spec?.nodeName ?? '');
    const uid = pod.metadata?.uid ?? '';
    if (!node || !uid) return;
    const known = this.pods.get(uid);
    if (type === 'DELETED') {
      known?.gone();
      return;
    }
    if (known) known.update(pod);
    else {
      const created = new SimPod(node, pod, this);
      this.pods.set(uid, created);
      created.requestSync();
    }
  }

  /** The one timer: Leases and statuses that are due, and every relistPeriod, the runtimes. */
  private tick(): void {
    const now = Date.now();
    const leasePeriod = (this.config.nodeLeaseDurationSeconds * 1000) / 4;
    const reportPeriod = this.config.nodeStatusReportFrequency * 1000;
    for (const node of this.nodes.values()) {
      if (node.leaseDue <= now) {
        node.leaseDue = Number.POSITIVE_INFINITY;
        this.writes(() => node.renewLease()).then(
          () => {
            node.leaseFailures = 0;
            node.leaseDue = Date.now() + leasePeriod;
          },
          (err: unknown) => {
            // Upstream retries a failed renewal sooner: 200 ms doubling to 7 s.
            if (node.leaseFailures++ % 10 === 0) this.logger.warn({ err, node: node.name }, 'lease renewal failed');
            node.leaseDue = Date.now() + Math.min(7000, 200 * 2 ** node.leaseFailures);
          },
        );
      }
      if (node.statusDue <= now) {
        node.statusDue = now + reportPeriod;
        this.writes(() => node.reportStatus()).catch((err: unknown) =>
          this.logger.warn({ err, node: node.name }, 'node status write failed'),
        );
      }
    }
    if (now - this.lastRelist >= this.config.relistPeriod * 1000 && !this.relisting) {
      this.lastRelist = now;
      this.relisting = true;
      this.relist()
        .catch((err: unknown) => this.logger.debug({ err }, 'relist failed'))
        .finally(() => {
          this.relisting = false;
        });
    }
  }

  /** Upstream's PLEG, for all nodes: each runtime listed once, its containers handed to their pods. */
  private async relist(): Promise<void> {
    const byPod = new Map<string, ContainerStatus[]>();
    for (const node of this.nodes.values()) {
      for (const c of await node.runtime.listContainers()) {
        const uid = c.labels[KUBE_LABELS.podUid] ?? '';
        const list = byPod.get(uid);
        if (list) list.push(c);
        else byPod.set(uid, [c]);
      }
    }
    for (const pod of [...this.pods.values()]) await pod.relist(byPod.get(pod.uid) ?? []);
  }

  /** Stops the timer and the watch; `stopPods` also stops every simulated container (the nodes go away). */
  async stop(options: { stopPods: boolean }): Promise<void> {
    this.stopping.abort();
    if (this.ticker) clearInterval(this.ticker);
    await this.informer;
    await Promise.all([...this.nodes.values()].map((n) => n.runtime.close({ stopAll: options.stopPods })));
    this.logger.info({ nodes: this.nodes.size, ...this.counts }, 'simulated nodes stopped');
  }
}
