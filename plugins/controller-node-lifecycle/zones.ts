/**
 * Zones and their eviction rates (upstream's handleDisruption): each zone's NoExecute tainting is
 * let through at --node-eviction-rate while it is healthy; when at least --unhealthy-zone-threshold
 * of its nodes (and more than 2) are not Ready it slows to --secondary-node-eviction-rate, or stops
 * in a zone of at most --large-cluster-size-threshold nodes; a zone with no Ready node is tainted
 * at the normal rate, unless every zone is like that: then the problem is taken to be the control
 * plane's, not the nodes', and all tainting stops and the controller's taints are removed.
 */
import type { NodeCondition } from 'kubernetes-types/core/v1.js';
import { RateLimitedTimedQueue, TokenBucket } from './rate-limited-queue.js';

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

export interface EvictionRates {
  nodeEvictionRate: number;
  secondaryNodeEvictionRate: number;
  largeClusterSizeThreshold: number;
  unhealthyZoneThreshold: number;
}

/** Upstream's ComputeZoneState: how many nodes are not Ready, and what that makes the zone. */
export function computeZoneState(
  conditions: readonly (NodeCondition | undefined)[],
  unhealthyZoneThreshold: number,
): [number, ZoneState] {
  const ready = conditions.filter((c) => c?.status === 'True').length;
  const notReady = conditions.length - ready;
  if (ready === 0 && notReady > 0) return [notReady, 'FullDisruption'];
  if (notReady > 2 && notReady / conditions.length >= unhealthyZoneThreshold) return [notReady, 'PartialDisruption'];
  return [notReady, 'Normal'];
}

export class Zones {
  readonly states = new Map<string, ZoneState>();
  readonly tainters = new Map<string, RateLimitedTimedQueue>();

  constructor(private readonly rates: EvictionRates) {}

  /** Upstream's addPodEvictorForNewZone. */
  add(zone: string): void {
    if (this.states.has(zone)) return;
    this.states.set(zone, 'Initial');
    this.tainters.set(zone, new RateLimitedTimedQueue(new TokenBucket(this.rates.nodeEvictionRate)));
  }

  tainter(zone: string): RateLimitedTimedQueue {
    this.add(zone);
    return this.tainters.get(zone)!;
  }

  /** Upstream's setLimiterInZone. */
  setLimiter(zone: string, size: number, state: ZoneState): void {
    const { nodeEvictionRate, secondaryNodeEvictionRate, largeClusterSizeThreshold } = this.rates;
    if (state === 'PartialDisruption') {
      this.tainter(zone).swapLimiter(size > largeClusterSizeThreshold ? secondaryNodeEvictionRate : 0);
    } else if (state === 'Normal' || state === 'FullDisruption') {
      this.tainter(zone).swapLimiter(nodeEvictionRate);
    }
  }
}

export interface DisruptionActions {
  /** Every zone fully disrupted: stop tainting and remove the controller's NoExecute taints. */
  enterMasterDisruption(): Promise<void>;
  /** Some node is Ready again after that: every node's grace period starts afresh. */
  exitMasterDisruption(): void;
}

/** Upstream's handleDisruption, given each zone's Ready conditions from this monitoring pass. */
export async function handleDisruption(
  zones: Zones,
  byZone: Map<string, (NodeCondition | undefined)[]>,
  threshold: number,
  actions: DisruptionActions,
): Promise<void> {
  const next = new Map<string, ZoneState>();
  let allAreFull = true;
  for (const [zone, conditions] of byZone) {
    const [, state] = computeZoneState(conditions, threshold);
    if (state !== 'FullDisruption') allAreFull = false;
    next.set(zone, state);
    if (!zones.states.has(zone)) zones.add(zone);
  }
  let allWereFull = true;
  for (const [zone, state] of zones.states) {
    if (!byZone.has(zone)) {
      zones.states.delete(zone);
      continue;
    }
    if (state !== 'FullDisruption') {
      allWereFull = false;
      break;
    }
  }
  if (allAreFull && allWereFull) return;
  if (allAreFull) {
    await actions.enterMasterDisruption();
    for (const zone of zones.states.keys()) {
      zones.tainter(zone).swapLimiter(0);
      zones.states.set(zone, 'FullDisruption');
    }
    return;
  }
  if (allWereFull) actions.exitMasterDisruption();
  for (const [zone, state] of zones.states) {
    const newState = next.get(zone) ?? state;
    if (!allWereFull && state === newState) continue;
    zones.setLimiter(zone, byZone.get(zone)?.length ?? 0, newState);
    zones.states.set(zone, newState);
  }
}
