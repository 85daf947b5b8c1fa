/**
 * Upstream's pod garbage collector (pkg/controller/podgc), every gcCheckPeriod: finished pods over
 * --terminated-pod-gc-threshold are deleted, oldest (evicted ones first) first; pods bound to a
 * node that no longer exists (checked again after a quarantine, since the node informer may lag)
 * are marked Failed with a DisruptionTarget condition and force-deleted; so are pods being
 * deleted that were never scheduled, and terminating pods on a node that is not Ready and carries
 * the node.kubernetes.io/out-of-service taint.
 */
import type { PodCondition } from 'kubernetes-types/core/v1.js';
import { CORE_V1, type ControllerContext, delay, Informer, isStatusError, type KubeObject } from 'skiff/sdk';
import { nowTimestamp } from 'skiff/sdk/api';
import { waitForCacheSync } from 'skiff/sdk/controller';

const PODS = CORE_V1('pods');
const NODES = CORE_V1('nodes');
const OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export interface PodGCOptions {
  terminatedPodThreshold: number;
  gcCheckPeriodMs: number;
  quarantineMs: number;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const phaseOf = (pod: KubeObject) => String(obj(pod.status).phase ?? '');
const nodeNameOf = (pod: KubeObject) => String(obj(pod.spec).nodeName ?? '');
const isTerminated = (pod: KubeObject) => !['Pending', 'Running', 'Unknown'].includes(phaseOf(pod));
const isEvicted = (pod: KubeObject) => isTerminated(pod) && obj(pod.status).reason === 'Evicted';

/** Upstream's byEvictionAndCreationTimestamp. */
function evictedThenOldest(a: KubeObject, b: KubeObject): number {
  if (isEvicted(a) !== isEvicted(b)) return isEvicted(a) ? -1 : 1;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

function nodeReady(node: KubeObject): boolean {
  const conditions = obj(node.status).conditions;
  return Array.isArray(conditions) && conditions.some((c) => obj(c).type === 'Ready' && obj(c).status === 'True');
}

function withCondition(pod: KubeObject, condition: PodCondition): PodCondition[] {
  const conditions = (Array.isArray(obj(pod.status).conditions) ? obj(pod.status).conditions : []) as PodCondition[];
  const next = { ...condition, lastTransitionTime: nowTimestamp() };
  return [...conditions.filter((c) => c.type !== condition.type), next];
}

export class PodGC {
  private readonly pods: Informer;
  private readonly nodes: Informer;
  /** Missing node → when it was first found missing (upstream's quarantine queue). */
  private readonly missingSince = new Map<string, number>();

  constructor(
    private readonly c: ControllerContext,
    private readonly options: PodGCOptions,
  ) {
    this.pods = new Informer(c.client, PODS, c.logger);
    this.nodes = new Informer(c.client, NODES, c.logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    const informers = [this.pods.run(signal, () => {}), this.nodes.run(signal, () => {})];
    if (await waitForCacheSync([this.pods, this.nodes], signal)) {
      while (!signal.aborted) {
        await this.gc().catch((err) => this.c.logger.error({ err }, 'pod garbage collection failed'));
        await delay(this.options.gcCheckPeriodMs, signal);
      }
    }
    await Promise.all(informers);
  }

  async gc(): Promise<void> {
    const pods = [...this.pods.items.values()];
    if (this.options.terminatedPodThreshold > 0) await this.gcTerminated(pods);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: KubeObject[]): Promise<void> {
    const terminated = pods.filter(isTerminated);
    const excess = terminated.length - this.options.terminatedPodThreshold;
    if (excess <= 0) return;
    this.c.logger.info({ pods: excess }, 'garbage collecting terminated pods');
    await Promise.all(
      terminated
        .sort(evictedThenOldest)
        .slice(0, excess)
        .map((p) => this.forceDelete(p)),
    );
  }

  private async gcTerminating(pods: KubeObject[]): Promise<void> {
    const doomed = pods.filter((pod) => {
      if (!pod.metadata.deletionTimestamp) return false;
      const node = this.nodes.items.get(`/${nodeNameOf(pod)}`);
      const taints = (obj(node?.spec).taints ?? []) as { key?: string }[];
      return node !== undefined && !nodeReady(node) && taints.some((t) => t.key === OUT_OF_SERVICE);
    });
    await Promise.all(doomed.sort(evictedThenOldest).map((p) => this.forceDelete(p)));
  }

  /** Pods on nodes that are gone: a node missing from the informer is asked for once its quarantine ends. */
  private async gcOrphaned(pods: KubeObject[]): Promise<void> {
    const now = Date.now();
    const missing = new Set<string>();
    for (const pod of pods) {
      const node = nodeNameOf(pod);
      if (!node || this.nodes.items.has(`/${node}`)) continue;
      missing.add(node);
      if (!this.missingSince.has(node)) this.missingSince.set(node, now);
    }
    const deleted = new Set<string>();
    for (const [node, since] of this.missingSince) {
      if (!missing.has(node)) this.missingSince.delete(node);
      else if (now - since >= this.options.quarantineMs && !(await this.nodeExists(node))) deleted.add(node);
    }
    const condition = {
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'DeletionByPodGC',
      message: 'PodGC: node no longer exists',
    };
    for (const pod of pods) {
      if (!deleted.has(nodeNameOf(pod))) continue;
      this.c.logger.info(
        { pod: pod.metadata.name, node: nodeNameOf(pod) },
        'deleting orphaned pod: its node no longer exists',
      );
      await this.forceDelete(pod, condition);
    }
  }

  private async gcUnscheduledTerminating(pods: KubeObject[]): Promise<void> {
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp && !nodeNameOf(pod)) await this.forceDelete(pod);
    }
  }

  private async nodeExists(name: string): Promise<boolean> {
    try {
      await this.c.client.get(NODES, '', name);
      return true;
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return false;
      this.c.logger.warn({ err, node: name }, 'could not read node');
      return true;
    }
  }

  /** Upstream's markFailedAndDeletePodWithCondition: phase Failed (and the condition), then a delete with grace 0. */
  private async forceDelete(pod: KubeObject, condition?: PodCondition): Promise<void> {
    const { namespace = '', name = '', uid } = pod.metadata;
    try {
      const phase = phaseOf(pod);
      if (phase !== 'Succeeded' && phase !== 'Failed') {
        const status: Obj = { phase: 'Failed' };
        if (condition) status.conditions = withCondition(pod, condition);
        await this.c.client.patch(
          PODS,
          namespace,
          name,
          'merge',
          { metadata: { uid }, status },
          { subresource: 'status' },
        );
      }
      await this.c.client.delete(PODS, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      if (!isStatusError(err) || err.code !== 404)
        this.c.logger.warn({ err, pod: `${namespace}/${name}` }, 'could not delete pod');
    }
  }
}
