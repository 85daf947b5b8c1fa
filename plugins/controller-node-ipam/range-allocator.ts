/**
 * Upstream's range allocator (pkg/controller/nodeipam/ipam/range_allocator.go): every node gets a
 * spec.podCIDR (and podCIDRs) of --node-cidr-mask-size from --cluster-cidr; a node that already
 * has one (a kubelet may pick it: see the kubelet's README) keeps it and its range is marked used;
 * a deleted node's range is released. When the cluster range is full, the node gets a
 * CIDRNotAvailable event and waits.
 */
import { CORE_V1, type ControllerContext, Informer, isStatusError, type KubeObject } from 'skiff/sdk';
import { ControllerQueue, type EventRecorder, eventRecorder, waitForCacheSync } from 'skiff/sdk/controller';
import type { CidrSet } from './cidr-set.js';

const NODES = CORE_V1('nodes');
/** Upstream's cidrUpdateRetries. */
const UPDATE_RETRIES = 3;

type Spec = { podCIDR?: string; podCIDRs?: string[] };
const podCIDRsOf = (node: KubeObject): string[] => {
  const spec = (node.spec ?? {}) as Spec;
  return spec.podCIDRs?.length ? spec.podCIDRs : spec.podCIDR ? [spec.podCIDR] : [];
};

export class RangeAllocator {
  private readonly nodes: Informer;
  private readonly queue = new ControllerQueue();
  private readonly recorder: EventRecorder;
  /** Node ranges outside --cluster-cidr already logged. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly c: ControllerContext,
    private readonly set: CidrSet,
  ) {
    this.nodes = new Informer(c.client, NODES, c.logger);
    this.recorder = eventRecorder(c.client, 'cidrAllocator', c.logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    let synced = false;
    const informer = this.nodes.run(signal, (type, node) => {
      if (type === 'DELETED') for (const cidr of podCIDRsOf(node)) this.set.release(cidr);
      else if (synced) this.nodeChanged(node);
    });
    if (!(await waitForCacheSync([this.nodes], signal))) return informer;
    // Every range already handed out is marked before any is handed out (upstream's NewCIDRRangeAllocator).
    for (const node of this.nodes.items.values()) this.occupy(node);
    synced = true;
    for (const node of this.nodes.items.values()) this.nodeChanged(node);
    await Promise.all([informer, this.queue.run(signal, 1, (name) => this.allocate(name), this.c.logger)]);
  }

  private occupy(node: KubeObject): void {
    for (const cidr of podCIDRsOf(node)) {
      const key = `${node.metadata.name}/${cidr}`;
      // Nodes change every few seconds (status, heartbeats): say it once per node and range.
      if (!this.set.occupy(cidr) && !this.warned.has(key)) {
        this.warned.add(key);
        this.c.logger.warn(
          { node: node.metadata.name, cidr },
          'node pod CIDR is not a range of --cluster-cidr; left alone',
        );
      }
    }
  }

  private nodeChanged(node: KubeObject): void {
    if (podCIDRsOf(node).length) this.occupy(node);
    else if (!node.metadata.deletionTimestamp) this.queue.add(node.metadata.name ?? '');
  }

  private async allocate(name: string): Promise<void> {
    const node = this.nodes.items.get(`/${name}`);
    if (!node || podCIDRsOf(node).length) return;
    const cidr = this.set.allocateNext();
    if (!cidr) {
      this.recorder.event(
        node,
        'Normal',
        'CIDRNotAvailable',
        `Node ${name} status is now: CIDRNotAvailable`,
        NODE_KIND,
      );
      throw new Error(`failed to allocate a pod CIDR for node ${name}: there are no remaining CIDRs left to allocate`);
    }
    try {
      if (await this.write(name, cidr)) this.c.logger.info({ node: name, podCIDR: cidr }, 'pod CIDR allocated');
    } catch (err) {
      this.set.release(cidr);
      this.recorder.event(
        node,
        'Normal',
        'CIDRAssignmentFailed',
        `Node ${name} status is now: CIDRAssignmentFailed`,
        NODE_KIND,
      );
      throw err;
    }
  }

  /**
   * Upstream's updateCIDRsAllocation: a patch of podCIDR and podCIDRs, unless the node got one
   * meanwhile or is gone (then the range goes back); whether the node got this range.
   */
  private async write(name: string, cidr: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        const current = await this.c.client.get(NODES, '', name);
        const has = podCIDRsOf(current);
        if (has.length) {
          // Someone (a kubelet) was first: keep theirs, give ours back.
          this.set.release(cidr);
          this.occupy(current);
          return false;
        }
        const patch = {
          metadata: { resourceVersion: current.metadata.resourceVersion },
          spec: { podCIDR: cidr, podCIDRs: [cidr] },
        };
        await this.c.client.patch(NODES, '', name, 'merge', patch);
        return true;
      } catch (err) {
        if (isStatusError(err) && err.code === 404) {
          this.set.release(cidr);
          return false;
        }
        if (attempt >= UPDATE_RETRIES - 1) throw err;
      }
    }
  }
}

const NODE_KIND = { apiVersion: 'v1', kind: 'Node' };
