/**
 * controller-replication: upstream's ReplicationController and ReplicaSet controllers (seed 3.2.1),
 * one code for both kinds: exactly N pods per controller, with expectations, slow-start creation,
 * upstream's deletion ranking, adoption and release, status and Events. It also brings
 * `skiff rolling-update`, the seed's `kubectl rolling-update` (removed from kubectl in 1.18).
 * See README.md.
 */
import { type ControllerContext, definePlugin } from 'skiff/sdk';
import { InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { REPLICA_SETS, REPLICATION_CONTROLLERS, type ReplicaKind } from './kinds.js';
import { ReplicaManager } from './replica-manager.js';
import { rollingUpdateCommand } from './rolling-update/command.js';

const configSchema = z
  .object({
    /** Upstream's --concurrent-rc-syncs: ReplicationControllers synced at once. */
    concurrentRCSyncs: z.number().int().positive().default(5),
    /** Upstream's --concurrent-replicaset-syncs: ReplicaSets synced at once. */
    concurrentReplicaSetSyncs: z.number().int().positive().default(5),
    /** Upstream's BurstReplicas: at most this many pods created or deleted per sync. */
    burstReplicas: z.number().int().positive().default(500),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** Waits for the stop signal: a kind the server does not serve has nothing to control. */
function idle(c: ControllerContext, what: string) {
  return {
    run: (signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        c.logger.info(`${what} is not served: the controller has nothing to do`);
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
}

async function served(c: ControllerContext, kind: ReplicaKind): Promise<boolean> {
  const resources = await c.namespacedResources();
  return resources.some((r) => r.group === kind.ref.group && r.resource === kind.ref.resource);
}

function register(kind: ReplicaKind, workers: number, config: Config) {
  return {
    name: kind.controller,
    async create(c: ControllerContext) {
      if (!(await served(c, kind))) return idle(c, `${kind.ref.resource}.${kind.ref.group || 'core'}`);
      const manager = new ReplicaManager(c, kind, { workers, burstReplicas: config.burstReplicas });
      return { run: (signal: AbortSignal) => manager.run(signal) };
    },
  };
}

export default definePlugin<Config>({
  name: 'controller-replication',
  description: 'Keeps N pods per ReplicationController and ReplicaSet (upstream replication controllers).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    {
      flag: '--concurrent-rc-syncs <n>',
      help: 'ReplicationControllers synced at once (default 5)',
      parse: positiveInt,
      toConfig: (concurrentRCSyncs) => ({ concurrentRCSyncs }),
    },
    {
      flag: '--concurrent-replicaset-syncs <n>',
      help: 'ReplicaSets synced at once (default 5)',
      parse: positiveInt,
      toConfig: (concurrentReplicaSetSyncs) => ({ concurrentReplicaSetSyncs }),
    },
  ],
  commands: [{ name: 'rolling-update', build: rollingUpdateCommand }],
  setup(ctx) {
    ctx.provide.controller(register(REPLICATION_CONTROLLERS, ctx.config.concurrentRCSyncs, ctx.config));
    ctx.provide.controller(register(REPLICA_SETS, ctx.config.concurrentReplicaSetSyncs, ctx.config));
  },
});
