/**
 * The pieces of leader election that are plain data: the options and their upstream defaults, and
 * the record a coordination.k8s.io/v1 Lease's spec carries (client-go's LeaderElectionRecord).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type KubeObject, SkiffError } from 'skiff/sdk';
import type { LeaderElectorOptions, ResourceRef } from 'skiff/sdk/client';

export const LEASES: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };

/** client-go's JitterFactor: the acquire loop waits retryPeriod × [1, 2.2) between attempts. */
export const JITTER_FACTOR = 1.2;

export interface ElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** What the lease advertises: whole seconds, rounded up so that nobody takes a lease over
   * before its holder has given it up (upstream truncates; the same for whole-second durations). */
  leaseDurationSeconds: number;
  releaseOnCancel: boolean;
}

const invalid = (message: string) =>
  new SkiffError(
    'SKIFF_LEADER_ELECTION_CONFIG',
    `leader election: ${message}`,
    'choose leaseDuration > renewDeadline > 1.2 × retryPeriod > 0 (upstream defaults: 15 s, 10 s, 2 s) and a lease name',
  );

/** Defaults and upstream's checks (client-go NewLeaderElector). */
export function electionConfig(o: LeaderElectorOptions): ElectionConfig {
  const leaseDuration = o.leaseDuration ?? 15;
  const renewDeadline = o.renewDeadline ?? 10;
  const retryPeriod = o.retryPeriod ?? 2;
  const identity = o.identity ?? `${hostname()}_${randomUUID()}`;
  for (const [key, v] of Object.entries({ leaseDuration, renewDeadline, retryPeriod })) {
    if (!Number.isFinite(v) || v <= 0) throw invalid(`${key} must be greater than zero (got ${v})`);
  }
  if (leaseDuration <= renewDeadline) throw invalid('leaseDuration must be greater than renewDeadline');
  if (renewDeadline <= JITTER_FACTOR * retryPeriod) {
    throw invalid('renewDeadline must be greater than retryPeriod × 1.2 (the jitter factor)');
  }
  if (!identity) throw invalid('the identity is empty');
  if (!o.name) throw invalid('the lease name is empty');
  return {
    namespace: o.namespace ?? 'kube-system',
    name: o.name,
    identity,
    leaseDurationMs: leaseDuration * 1000,
    renewDeadlineMs: renewDeadline * 1000,
    retryPeriodMs: retryPeriod * 1000,
    leaseDurationSeconds: Math.ceil(leaseDuration),
    releaseOnCancel: o.releaseOnCancel ?? false,
  };
}

/** The leader-election fields of a Lease's spec. */
export interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

export const NO_RECORD: LeaderElectionRecord = Object.freeze({
  holderIdentity: '',
  leaseDurationSeconds: 0,
  acquireTime: '',
  renewTime: '',
  leaseTransitions: 0,
});

/** Missing fields read as empty, as upstream's LeaseSpecToLeaderElectionRecord. */
export function recordOf(lease: KubeObject): LeaderElectionRecord {
  const s = (lease.spec ?? {}) as Partial<LeaderElectionRecord>;
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: s.acquireTime ?? '',
    renewTime: s.renewTime ?? '',
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

/** What a candidate compares to notice a change. Full precision: upstream compares a JSON form with
 * whole seconds, which would hide sub-second renewals and make short leases look expired early. */
export function rawRecord(r: LeaderElectionRecord): string {
  return JSON.stringify([r.holderIdentity, r.leaseDurationSeconds, r.acquireTime, r.renewTime, r.leaseTransitions]);
}

/** The lease to write: `base` (the last one read or written, whose resourceVersion guards the
 * write) with the record's fields; other spec fields (preferredHolder, strategy) are kept. */
export function leaseWith(base: KubeObject, record: LeaderElectionRecord): KubeObject {
  return { ...base, spec: { ...((base.spec as object | undefined) ?? {}), ...record } };
}

export function newLease(c: ElectionConfig, record: LeaderElectionRecord): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: c.name, namespace: c.namespace },
    spec: { ...record },
  };
}

/** The HTTP status of an API error from any ApiClient (StatusError in process, Status over HTTPS). */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
