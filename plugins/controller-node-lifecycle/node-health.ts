/**
 * The heart of upstream's node lifecycle controller (tryUpdateNodeHealth): when did this
 * controller last see a sign of life from each node, by its own clock (never the kubelet's, which
 * may be skewed)? A sign of life is a new lastHeartbeatTime on the node's Ready condition or a
 * newer renewTime on its kube-node-lease Lease. A node silent for longer than its grace period
 * (--node-monitor-grace-period, or --node-startup-grace-period while it never reported Ready) has
 * its Ready, MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown.
 */
import type { NodeCondition } from 'kubernetes-types/core/v1.js';
import type { ApiClient, KubeObject } from 'skiff/sdk';
import { nowTimestamp } from 'skiff/sdk/api';
import { conditionOf, conditionsOf, NODES } from './nodes.js';

/** Conditions a silent node's kubelet can no longer vouch for (NetworkUnavailable is the network's). */
const UNKNOWN_WHEN_SILENT = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

interface Health {
  /** When this controller last saw a sign of life (ms, its own clock). */
  probeTimestamp: number;
  /** When it last saw the Ready condition change. */
  readyTransitionTimestamp: number;
  status: unknown;
  leaseRenewTime?: string;
}

export interface HealthResult {
  /** The Ready condition as the node had it (the kubelet's word); Unknown when it never reported. */
  observed: NodeCondition;
  /** The Ready condition now, after this controller's update; undefined when there is none. */
  current?: NodeCondition;
}

export interface HealthOptions {
  client: ApiClient;
  monitorGraceMs: number;
  startupGraceMs: number;
  /** The node's Lease in kube-node-lease, from the lease informer. */
  lease(node: string): KubeObject | undefined;
}

const renewTimeOf = (lease: KubeObject | undefined) => (lease?.spec as { renewTime?: string } | undefined)?.renewTime;
const microOrder = (t: string | undefined) =>
  t ? Date.parse(t) * 1000 + Number(/\.\d{3}(\d{3})/.exec(t)?.[1] ?? 0) : 0;

export class NodeHealth {
  private readonly health = new Map<string, Health>();

  constructor(private readonly options: HealthOptions) {}

  forget(node: string): void {
    this.health.delete(node);
  }

  /** Upstream's exit from full disruption: every node starts its grace period afresh. */
  resetProbes(now = Date.now()): void {
    for (const h of this.health.values()) {
      h.probeTimestamp = now;
      h.readyTransitionTimestamp = now;
    }
  }

  /** The Ready condition this controller last saw or wrote for the node. */
  readyCondition(node: string): NodeCondition | undefined {
    const h = this.health.get(node);
    return h ? conditionOf(h.status, 'Ready') : undefined;
  }

  /** Takes the node's signs of life in; marks it Unknown when silent too long. Throws on a write conflict. */
  async update(node: KubeObject, now = Date.now()): Promise<HealthResult> {
    const name = node.metadata.name ?? '';
    const created = Date.parse(node.metadata.creationTimestamp ?? '') || now;
    const ready = conditionOf(node.status, 'Ready');
    const observed: NodeCondition = ready
      ? { ...ready }
      : {
          type: 'Ready',
          status: 'Unknown',
          lastHeartbeatTime: node.metadata.creationTimestamp,
          lastTransitionTime: node.metadata.creationTimestamp,
        };
    const graceMs = ready ? this.options.monitorGraceMs : this.options.startupGraceMs;
    let health = this.refreshed(this.health.get(name), node, ready, created, now);
    const lease = this.options.lease(name);
    const renewTime = renewTimeOf(lease);
    if (renewTime && microOrder(renewTime) > microOrder(health.leaseRenewTime)) {
      health = { ...health, leaseRenewTime: renewTime, probeTimestamp: now };
    }
    this.health.set(name, health);
    if (now <= health.probeTimestamp + graceMs) return { observed, current: ready };
    const status = silentStatus(node, now);
    const current = conditionOf(status, 'Ready');
    if (JSON.stringify(current) === JSON.stringify(ready)) return { observed, current };
    await this.options.client.update(NODES, '', { ...node, status }, { subresource: 'status' });
    this.health.set(name, { ...health, status, readyTransitionTimestamp: now });
    return { observed, current };
  }

  /** Upstream's cases: a new node, a Ready condition appearing or vanishing, a new heartbeat. */
  private refreshed(
    saved: Health | undefined,
    node: KubeObject,
    ready: NodeCondition | undefined,
    created: number,
    now: number,
  ): Health {
    const fresh = (probe: number, transition: number): Health => ({
      status: node.status,
      probeTimestamp: probe,
      readyTransitionTimestamp: transition,
      leaseRenewTime: saved?.leaseRenewTime,
    });
    // A node that never reported Ready keeps the clock it had (from its creation, if new).
    if (!ready) return saved ? { ...saved, status: node.status } : fresh(created, created);
    const savedReady = saved ? conditionOf(saved.status, 'Ready') : undefined;
    if (!saved || !savedReady) return fresh(now, now);
    if (savedReady.lastHeartbeatTime === ready.lastHeartbeatTime) return saved;
    const transitioned = savedReady.lastTransitionTime !== ready.lastTransitionTime;
    return fresh(now, transitioned ? now : saved.readyTransitionTimestamp);
  }
}

/** The node's status with the kubelet's conditions set to Unknown (added when it never posted them). */
function silentStatus(node: KubeObject, now: number): Record<string, unknown> {
  const at = nowTimestamp(new Date(now));
  const conditions = conditionsOf(node.status).map((c) => ({ ...c }));
  for (const type of UNKNOWN_WHEN_SILENT) {
    const condition = conditions.find((c) => c.type === type);
    if (!condition) {
      conditions.push({
        type,
        status: 'Unknown',
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
        lastHeartbeatTime: node.metadata.creationTimestamp,
        lastTransitionTime: at,
      });
    } else if (condition.status !== 'Unknown') {
      Object.assign(condition, {
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastTransitionTime: at,
      });
    }
  }
  return { ...(node.status as Record<string, unknown>), conditions };
}
