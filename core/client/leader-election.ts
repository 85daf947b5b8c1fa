/**
 * Leader election as components use it (the controller manager now, the scheduler later): one
 * candidate per process campaigns for a lock and runs the guarded work only while it leads. The
 * lock itself is a plugin's (leader-election-lease: a coordination.k8s.io/v1 Lease, client-go's
 * semantics), offered as the LEADER_ELECTION service.
 */
import type { Logger } from 'pino';
import { serviceKey } from '../plugins/services.js';
import type { ApiClient } from './types.js';

/** Upstream's LeaderElectionConfiguration (the --leader-elect-* flags) and who writes the lock. */
export interface LeaderElectorOptions {
  client: ApiClient;
  logger: Logger;
  /** The lock's name (upstream --leader-elect-resource-name), e.g. kube-controller-manager. */
  name: string;
  /** The lock's namespace (upstream --leader-elect-resource-namespace). Default kube-system. */
  namespace?: string;
  /** Who this candidate is. Default: hostname + "_" + a random UUID, as kube-controller-manager. */
  identity?: string;
  /** Seconds a candidate waits, after it last saw the lock change, before taking it over. Default 15. */
  leaseDuration?: number;
  /** Seconds the leader keeps trying to renew before it gives leadership up. Default 10. */
  renewDeadline?: number;
  /** Seconds between attempts to acquire or renew. Default 2. */
  retryPeriod?: number;
  /** On stop, hand the lock over at once instead of letting it expire. Default false, as upstream. */
  releaseOnCancel?: boolean;
}

export interface LeaderCallbacks {
  /**
   * This candidate leads until `leaderSignal` aborts (leadership lost, or run's signal aborted).
   * The promise it returns is the work the lock guards: it is awaited before the lock is released
   * and before run() resolves, so no guarded work outlives leadership.
   */
  onStartedLeading(leaderSignal: AbortSignal): void | Promise<void>;
  /** After leading ended, the guarded work settled and the lock was released (if asked). */
  onStoppedLeading?(): void;
  /** The holder changed, as this candidate observed it ('' when the lock was released). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElector {
  readonly identity: string;
  /** Whether the lock, as last observed, names this candidate. */
  isLeader(): boolean;
  /** The holder as last observed ('' when none). */
  leader(): string;
  /**
   * Campaign until leading, lead until leadership is lost or `signal` aborts, then resolve. Like
   * upstream's Run it is one term: call it again to campaign again.
   */
  run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void>;
}

/** What the LEADER_ELECTION service offers. */
export interface LeaderElection {
  /** A candidate; bad options are refused at once (SKIFF_LEADER_ELECTION_CONFIG). */
  elector(options: LeaderElectorOptions): LeaderElector;
}

export const LEADER_ELECTION = serviceKey<LeaderElection>('leader-election', 'the lock that leader election takes');
