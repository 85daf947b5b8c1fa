/**
 * controller-deployment: upstream's Deployment controller. A Deployment owns one ReplicaSet per
 * template it has had (named by the pod-template-hash), rolls from the old ones to the new one with
 * the RollingUpdate (maxSurge, maxUnavailable) or Recreate strategy, keeps revisionHistoryLimit old
 * ones for `kubectl rollout undo`, honours paused, and reports progress in its conditions. The pods
 * are the ReplicaSets' (controller-replication). See README.md.
 */
import { type ControllerContext, definePlugin } from 'skiff/sdk';
import { InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { DeploymentController } from './controller.js';

const configSchema = z
  .object({
    /** Upstream's --concurrent-deployment-syncs. */
    concurrentDeploymentSyncs: z.number().int().positive().default(5),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

async function deploymentsServed(c: ControllerContext): Promise<boolean> {
  const resources = await c.namespacedResources();
  return resources.some((r) => r.group === 'apps' && r.resource === 'deployments');
}

export default definePlugin<Config>({
  name: 'controller-deployment',
  description: 'Rolls Deployments out through their ReplicaSets (upstream deployment controller).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    {
      flag: '--concurrent-deployment-syncs <n>',
      help: 'Deployments synced at once (default 5)',
      parse: positiveInt,
      toConfig: (concurrentDeploymentSyncs) => ({ concurrentDeploymentSyncs }),
    },
  ],
  setup(ctx) {
    ctx.provide.controller({
      name: 'deployment',
      async create(c) {
        if (!(await deploymentsServed(c))) {
          return {
            run: (signal) =>
              new Promise<void>((resolve) => {
                c.logger.info('deployments.apps is not served: the controller has nothing to do');
                signal.addEventListener('abort', () => resolve(), { once: true });
              }),
          };
        }
        const controller = new DeploymentController(c, ctx.config.concurrentDeploymentSyncs);
        return { run: (signal) => controller.run(signal) };
      },
    });
  },
});
