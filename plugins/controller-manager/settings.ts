/** This plugin's block in the Skiff config file: leader election of the controllers run in `skiff up`. */
import { z } from 'skiff/sdk';
import type { ControllerLeaderElection } from './manager.js';

const seconds = z.number().positive();

export const configSchema = z
  .object({
    /**
     * In `skiff up`: run the controllers only while holding the kube-system/kube-controller-manager
     * Lease (several servers on one store). Needs a plugin that provides leader-election.
     */
    leaderElect: z.boolean().default(false),
    /** Seconds a lease lasts unrenewed (upstream --leader-elect-lease-duration). Default 15. */
    leaseDuration: seconds.optional(),
    /** Seconds the leader tries to renew before it gives up (--leader-elect-renew-deadline). Default 10. */
    renewDeadline: seconds.optional(),
    /** Seconds between attempts to acquire or renew (--leader-elect-retry-period). Default 2. */
    retryPeriod: seconds.optional(),
    /** The Lease (--leader-elect-resource-name). */
    resourceName: z.string().min(1).default('kube-controller-manager'),
    /** The Lease's namespace (--leader-elect-resource-namespace). */
    resourceNamespace: z.string().min(1).default('kube-system'),
    /** Who this manager campaigns as. Default: hostname and a random UUID, as upstream. */
    identity: z.string().min(1).optional(),
  })
  .strict();

export type ControllerManagerConfig = z.infer<typeof configSchema>;

/** The lease options of the config block; undefined when leaderElect is off. */
export function leaderElectionOf(config: ControllerManagerConfig): ControllerLeaderElection | undefined {
  if (!config.leaderElect) return undefined;
  const { leaseDuration, renewDeadline, retryPeriod, identity } = config;
  return {
    name: config.resourceName,
    namespace: config.resourceNamespace,
    ...(leaseDuration === undefined ? {} : { leaseDuration }),
    ...(renewDeadline === undefined ? {} : { renewDeadline }),
    ...(retryPeriod === undefined ? {} : { retryPeriod }),
    ...(identity === undefined ? {} : { identity }),
  };
}
