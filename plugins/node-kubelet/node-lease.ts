/**
 * The node's heartbeat, as upstream's kubelet sends it since 1.17: a coordination.k8s.io/v1 Lease
 * `kube-node-lease/<node>` owned by the Node, renewed every quarter of its duration (10 s of 40 s).
 * The node lifecycle controller reads renewTime to tell a live node from a dead one.
 */

import type { Logger } from 'pino';
import { isStatusError, type KubeObject } from 'skiff/sdk';
import { type ApiClient, delay, nowMicroTime } from 'skiff/sdk/client';

const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeLeaseDeps {
  client: ApiClient;
  nodeName: string;
  durationSeconds: number;
  logger: Logger;
  /** The Node, for the Lease's owner reference (undefined until registered). */
  node(): KubeObject | undefined;
}

export class NodeLease {
  private lease?: KubeObject;

  constructor(private readonly deps: NodeLeaseDeps) {}

  /** Upstream renews every 25% of the duration; on failure it retries sooner (200 ms doubling to 7 s). */
  async run(signal: AbortSignal): Promise<void> {
    const interval = (this.deps.durationSeconds * 1000) / 4;
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.renew();
        failures = 0;
        await delay(interval, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (failures++ % 10 === 0) this.deps.logger.warn({ err }, 'failed to renew the node lease; retrying');
        await delay(Math.min(7000, 200 * 2 ** failures), signal);
      }
    }
  }

  async renew(): Promise<void> {
    const { client, nodeName } = this.deps;
    const spec = {
      holderIdentity: nodeName,
      leaseDurationSeconds: this.deps.durationSeconds,
      renewTime: nowMicroTime(),
    };
    if (this.lease) {
      try {
        this.lease = await client.update(LEASES, NODE_LEASE_NAMESPACE, {
          ...this.lease,
          spec: { ...(this.lease.spec as object), ...spec },
        });
        return;
      } catch (err) {
        if (!isStatusError(err) || (err.code !== 409 && err.code !== 404)) throw err;
        this.lease = undefined;
      }
    }
    const current = await this.read();
    if (current) {
      this.lease = await client.update(LEASES, NODE_LEASE_NAMESPACE, {
        ...current,
        spec: { ...(current.spec as object), ...spec },
      });
      return;
    }
    this.lease = await client.create(LEASES, NODE_LEASE_NAMESPACE, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE, ownerReferences: this.ownerReferences() },
      spec,
    });
  }

  private async read(): Promise<KubeObject | undefined> {
    try {
      return await this.deps.client.get(LEASES, NODE_LEASE_NAMESPACE, this.deps.nodeName);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return undefined;
      throw err;
    }
  }

  private ownerReferences() {
    const node = this.deps.node();
    if (!node?.metadata.uid) return undefined;
    return [{ apiVersion: 'v1', kind: 'Node', name: this.deps.nodeName, uid: node.metadata.uid }];
  }
}
