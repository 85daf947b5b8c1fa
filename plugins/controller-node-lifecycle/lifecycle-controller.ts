/**
 * Upstream's node lifecycle controller (pkg/controller/nodelifecycle; the seed's figure 3.4):
 * every --node-monitor-period it checks each node's signs of life (node-health.ts), marks a silent
 * node's conditions Unknown and its pods not Ready, and queues it, per zone and rate-limited
 * (zones.ts), for the NoExecute taint node.kubernetes.io/unreachable (not-ready when its kubelet
 * says NotReady); the taint eviction controller then evicts what does not tolerate it. A node
 * that is Ready again loses those taints. On every node change it also keeps the NoSchedule taints
 * that mirror the node's conditions and spec.unschedulable (TaintNodesByCondition).
 */
import type { NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import { CORE_V1, type ControllerContext, delay, Informer, type KubeObject, objectKey } from 'skiff/sdk';
import { ControllerQueue, type EventRecorder, eventRecorder, waitForCacheSync } from 'skiff/sdk/controller';
import { NodeHealth } from './node-health.js';
import {
  NODES,
  NOT_READY_NO_EXECUTE,
  readyOf,
  swapTaints,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  taintExists,
  taintsOf,
  UNREACHABLE_NO_EXECUTE,
  zoneKey,
} from './nodes.js';
import { markPodsNotReady } from './pod-status.js';
import { nodeNameOf, PodsByNode } from './pods-by-node.js';
import type { TryResult } from './rate-limited-queue.js';
import { type EvictionRates, handleDisruption, Zones } from './zones.js';

/** Upstream's NodeEvictionPeriod: how often the zones' tainting queues are tried. */
const EVICTION_PERIOD_MS = 100;
const NODE_WORKERS = 8;
const POD_WORKERS = 4;
const HEALTH_RETRIES = 5;
const EXCLUDE_DISRUPTION = 'node.kubernetes.io/exclude-disruption';

/** Conditions that, with these statuses, mean a NoSchedule taint (upstream's nodeConditionToTaintKeyStatusMap). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
};
const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const CONDITION_TAINT_KEYS = new Set([
  ...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)),
  UNSCHEDULABLE,
]);
/** Upstream's labelReconcileInfo: the beta OS and arch labels follow the GA ones. */
const LABEL_PAIRS = [
  ['kubernetes.io/os', 'beta.kubernetes.io/os'],
  ['kubernetes.io/arch', 'beta.kubernetes.io/arch'],
] as const;

export interface LifecycleOptions extends EvictionRates {
  monitorPeriodMs: number;
  monitorGraceMs: number;
  startupGraceMs: number;
}

/** Runs `work` at once, then every `ms` after it finishes, until `signal` aborts. */
async function every(ms: number, signal: AbortSignal, work: () => Promise<void>, onError: (err: unknown) => void) {
  while (!signal.aborted) {
    try {
      await work();
    } catch (err) {
      if (!signal.aborted) onError(err);
    }
    await delay(ms, signal);
  }
}

/** Runs `work` for every item, `limit` at a time. */
async function parallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class NodeLifecycleController {
  private readonly nodes: Informer;
  private readonly leases: Informer;
  private readonly pods: Informer;
  private readonly podsByNode = new PodsByNode();
  private readonly health: NodeHealth;
  private readonly zones: Zones;
  private readonly known = new Map<string, KubeObject>();
  private readonly retry = new Set<string>();
  private readonly nodeQueue = new ControllerQueue();
  private readonly podQueue = new ControllerQueue();
  private readonly recorder: EventRecorder;

  constructor(
    private readonly c: ControllerContext,
    private readonly options: LifecycleOptions,
  ) {
    this.nodes = new Informer(c.client, NODES, c.logger);
    this.leases = new Informer(
      c.client,
      { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
      c.logger,
      'kube-node-lease',
    );
    this.pods = new Informer(c.client, CORE_V1('pods'), c.logger);
    this.recorder = eventRecorder(c.client, 'node-controller', c.logger);
    this.zones = new Zones(options);
    this.health = new NodeHealth({
      client: c.client,
      monitorGraceMs: options.monitorGraceMs,
      startupGraceMs: options.startupGraceMs,
      lease: (node) => this.leases.items.get(`kube-node-lease/${node}`),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const log = (what: string) => (err: unknown) => this.c.logger.error({ err }, what);
    const informers = [
      this.nodes.run(signal, (type, node) => {
        if (type === 'DELETED') this.retry.delete(node.metadata.name ?? '');
        else this.nodeQueue.add(node.metadata.name ?? '');
      }),
      this.leases.run(signal, () => {}),
      this.pods.run(signal, (type, pod) => {
        const before = this.podsByNode.changed(type, pod);
        if (type !== 'DELETED' && nodeNameOf(pod) && nodeNameOf(pod) !== before) this.podQueue.add(objectKey(pod));
      }),
    ];
    if (await waitForCacheSync([this.nodes, this.leases, this.pods], signal)) {
      const { logger } = this.c;
      informers.push(
        this.nodeQueue.run(signal, NODE_WORKERS, (name) => this.nodeChanged(name), logger),
        this.podQueue.run(signal, POD_WORKERS, (key) => this.processPod(key), logger),
        every(EVICTION_PERIOD_MS, signal, () => this.noExecuteTaintingPass(), log('tainting pass failed')),
        every(this.options.monitorPeriodMs, signal, () => this.monitorNodeHealth(), log('node health pass failed')),
      );
    }
    await Promise.all(informers);
  }

  /** Upstream's doNoScheduleTaintingPass and reconcileNodeLabels. */
  private async nodeChanged(name: string): Promise<void> {
    const node = this.nodes.items.get(`/${name}`);
    if (!node) return;
    const wanted: Taint[] = [];
    for (const condition of (node.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? []) {
      const key = CONDITION_TAINTS[condition.type]?.[condition.status];
      if (key) wanted.push({ key, effect: 'NoSchedule' });
    }
    if ((node.spec as { unschedulable?: boolean } | undefined)?.unschedulable) {
      wanted.push({ key: UNSCHEDULABLE, effect: 'NoSchedule' });
    }
    const present = taintsOf(node).filter((t) => t.effect === 'NoSchedule' && CONDITION_TAINT_KEYS.has(t.key));
    const add = wanted.filter((t) => !taintExists(present, t));
    const remove = present.filter((t) => !taintExists(wanted, t));
    if (add.length || remove.length) await swapTaints(this.c.client, node, add, remove);
    await this.reconcileLabels(name);
  }

  private async reconcileLabels(name: string): Promise<void> {
    const node = this.nodes.items.get(`/${name}`);
    const labels = node?.metadata.labels;
    if (!labels) return;
    const patch: Record<string, string> = {};
    for (const [ga, beta] of LABEL_PAIRS)
      if (labels[ga] !== undefined && labels[beta] !== labels[ga]) patch[beta] = labels[ga];
    if (!Object.keys(patch).length) return;
    await this.c.client.patch(NODES, '', name, 'strategic', { metadata: { labels: patch } });
  }

  /** Upstream's processPod: a pod newly bound to a node that is not Ready is marked not Ready. */
  private async processPod(key: string): Promise<void> {
    const pod = this.pods.items.get(key);
    if (!pod) return;
    const node = nodeNameOf(pod);
    const ready = this.health.readyCondition(node);
    if (!ready || !this.nodes.items.has(`/${node}`)) return;
    if (ready.status !== 'True') await markPodsNotReady(this.c.client, this.recorder, [pod], node);
  }

  /** Upstream's doNoExecuteTaintingPass: each zone lets through as many taintings as its rate allows. */
  private async noExecuteTaintingPass(): Promise<void> {
    for (const queue of [...this.zones.tainters.values()]) {
      await queue.tryEach(async ({ value }): Promise<TryResult> => {
        const node = this.nodes.items.get(`/${value}`);
        if (!node) return { done: true };
        const status = readyOf(node)?.status;
        if (!status) return { done: false, retryMs: 50 };
        if (status === 'True') return { done: true };
        const [add, remove] =
          status === 'False'
            ? [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE]
            : [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE];
        await swapTaints(this.c.client, node, [add], [remove]);
        return { done: true };
      });
    }
  }

  /**
   * Upstream's monitorNodeHealth. One change of order: the zones' states (and rates) are decided
   * from this pass's conditions before any node of the pass is queued for tainting, so a node is
   * never let through at the rate its zone had before the pass showed it disrupted.
   */
  private async monitorNodeHealth(): Promise<void> {
    const nodes = [...this.nodes.items.values()];
    await this.classify(nodes);
    const results: NonNullable<Awaited<ReturnType<NodeLifecycleController['updateHealth']>>>[] = [];
    await parallel(nodes, NODE_WORKERS, async (node) => {
      const result = await this.updateHealth(node);
      if (result) results.push(result);
    });
    const byZone = new Map<string, (NodeCondition | undefined)[]>();
    for (const { fresh, current } of results) {
      if (fresh.metadata.labels?.[EXCLUDE_DISRUPTION] !== undefined) continue;
      const zone = zoneKey(fresh);
      byZone.set(zone, [...(byZone.get(zone) ?? []), current]);
    }
    await handleDisruption(this.zones, byZone, this.options.unhealthyZoneThreshold, {
      enterMasterDisruption: async () => {
        this.c.logger.info('every node is not Ready: entering master disruption mode (no evictions)');
        for (const node of nodes) await this.markReachable(node).catch(() => {});
      },
      exitMasterDisruption: () => {
        this.c.logger.info('some nodes are Ready: leaving master disruption mode');
        this.health.resetProbes();
      },
    });
    await parallel(results, NODE_WORKERS, async ({ fresh, observed, current }) => {
      if (current) await this.afterHealth(fresh, observed, current);
      else this.retry.delete(fresh.metadata.name ?? '');
    });
  }

  /** Upstream's classifyNodes: nodes seen for the first time, and those gone. */
  private async classify(nodes: readonly KubeObject[]): Promise<void> {
    const names = new Set(nodes.map((n) => n.metadata.name ?? ''));
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      if (this.known.has(name)) {
        this.zones.add(zoneKey(node));
        continue;
      }
      this.recorder.event(node, 'Normal', 'RegisteredNode', `Registered Node ${name} in Controller`, NODE_KIND);
      this.known.set(name, node);
      this.zones.add(zoneKey(node));
      await this.markReachable(node).catch((err) => this.c.logger.warn({ err, node: name }, 'could not untaint node'));
    }
    for (const [name, node] of this.known) {
      if (names.has(name)) continue;
      this.recorder.event(node, 'Normal', 'RemovingNode', `Removing Node ${name} from Controller`, NODE_KIND);
      this.known.delete(name);
      this.health.forget(name);
    }
  }

  /** tryUpdateNodeHealth with upstream's retries (a conflict: read the node again). */
  private async updateHealth(node: KubeObject) {
    let fresh = node;
    for (let attempt = 0; attempt < HEALTH_RETRIES; attempt++) {
      try {
        return { fresh, ...(await this.health.update(fresh)) };
      } catch (err) {
        this.c.logger.debug({ err, node: node.metadata.name }, 'updating node health failed; reading it again');
        await delay(20);
        try {
          fresh = await this.c.client.get(NODES, '', node.metadata.name ?? '');
        } catch {
          return undefined;
        }
      }
    }
    this.c.logger.warn({ node: node.metadata.name }, 'could not update node health: no pods will be evicted this pass');
    return undefined;
  }

  private async afterHealth(node: KubeObject, observed: NodeCondition, current: NodeCondition): Promise<void> {
    const name = node.metadata.name ?? '';
    await this.taintBasedEviction(node, observed);
    const becameNotReady = current.status !== 'True' && observed.status === 'True';
    if (becameNotReady) {
      this.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`, NODE_KIND);
    }
    if (becameNotReady || (this.retry.has(name) && observed.status !== 'True')) {
      try {
        await markPodsNotReady(this.c.client, this.recorder, this.podsByNode.on(name), name);
      } catch (err) {
        this.c.logger.warn({ err, node: name }, 'could not mark all pods not ready; retrying next pass');
        this.retry.add(name);
        return;
      }
    }
    this.retry.delete(name);
  }

  /** Upstream's processTaintBaseEviction. */
  private async taintBasedEviction(node: KubeObject, observed: NodeCondition): Promise<void> {
    const taints = taintsOf(node);
    if (observed.status === 'False') {
      if (taintExists(taints, UNREACHABLE_NO_EXECUTE)) {
        await swapTaints(this.c.client, node, [NOT_READY_NO_EXECUTE], [UNREACHABLE_NO_EXECUTE]);
      } else this.markForTainting(node, NOT_READY_NO_EXECUTE);
    } else if (observed.status === 'Unknown') {
      if (taintExists(taints, NOT_READY_NO_EXECUTE)) {
        await swapTaints(this.c.client, node, [UNREACHABLE_NO_EXECUTE], [NOT_READY_NO_EXECUTE]);
      } else this.markForTainting(node, UNREACHABLE_NO_EXECUTE);
    } else if (observed.status === 'True') {
      await this.markReachable(node);
    }
  }

  /** Upstream's markNodeForTainting. */
  private markForTainting(node: KubeObject, taint: Taint): void {
    const queue = this.zones.tainter(zoneKey(node));
    const name = node.metadata.name ?? '';
    if (!taintExists(taintsOf(node), taint)) queue.remove(name);
    queue.add(name, node.metadata.uid ?? '');
  }

  /** Upstream's markNodeAsReachable: the NoExecute taints go, and the node leaves its zone's queue. */
  private async markReachable(node: KubeObject): Promise<void> {
    await swapTaints(this.c.client, node, [], [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE]);
    this.zones.tainter(zoneKey(node)).remove(node.metadata.name ?? '');
  }
}

const NODE_KIND = { apiVersion: 'v1', kind: 'Node' };
