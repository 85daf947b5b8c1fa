/**
 * controller-service: upstream's service controller (the cloud controller manager's service-lb
 * controller). Services of type LoadBalancer get a load balancer from the cloud provider plugin
 * (the CLOUD_PROVIDER service; cloud-local is the built-in one). See README.md.
 */
import { definePlugin, SkiffError } from 'skiff/sdk';
import { InvalidArgumentError } from 'skiff/sdk/cli';
import { CLOUD_PROVIDER, type CloudProvider } from 'skiff/sdk/cloud';
import { z } from 'zod';
import { ServiceController } from './service-controller.js';

const configSchema = z
  .object({
    /** Upstream's --concurrent-service-syncs. */
    concurrentServiceSyncs: z.number().int().positive().default(1),
    /** Upstream's --cluster-name: the cloud names balancers after it. */
    clusterName: z.string().min(1).default('kubernetes'),
    /** How often every balancer is pointed at the usable nodes again, in seconds (upstream's nodeSyncPeriod). */
    nodeSyncPeriodSeconds: z.number().positive().default(100),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

const waitForStop = (signal: AbortSignal) =>
  new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );

export default definePlugin<Config>({
  name: 'controller-service',
  description:
    'Load balancers for Services of type LoadBalancer, from the cloud provider plugin (upstream service controller).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    {
      flag: '--concurrent-service-syncs <n>',
      help: 'Services whose load balancers are synced at once (default 1)',
      parse: (raw: string) => {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
        return n;
      },
      toConfig: (concurrentServiceSyncs) => ({ concurrentServiceSyncs }),
    },
    {
      flag: '--cluster-name <name>',
      help: 'the cluster name cloud providers give their load balancers (default kubernetes)',
      toConfig: (clusterName) => ({ clusterName }),
    },
  ],
  setup(ctx) {
    const { concurrentServiceSyncs, clusterName, nodeSyncPeriodSeconds } = ctx.config;
    ctx.provide.controller({
      name: 'service',
      aliases: ['service-lb-controller'], // upstream's name since 1.28
      create: (c) => {
        let cloud: CloudProvider;
        try {
          cloud = ctx.use(CLOUD_PROVIDER);
        } catch (err) {
          if (!(err instanceof SkiffError) || err.code !== 'SKIFF_PLUGIN_MISSING_PROVIDER') throw err;
          // Upstream's service controller does not start without a cloud provider.
          c.logger.warn(
            'no cloud provider (enable cloud-local, or another plugin that provides cloud-provider): services of type LoadBalancer get no load balancer',
          );
          return { run: waitForStop };
        }
        const balancer = cloud.loadBalancer();
        if (!balancer) {
          c.logger.warn(`cloud provider ${cloud.providerName()} has no load balancers: the service controller is idle`);
          return { run: waitForStop };
        }
        const controller = new ServiceController(c, balancer, {
          workers: concurrentServiceSyncs,
          clusterName,
          nodeSyncPeriodMs: nodeSyncPeriodSeconds * 1000,
        });
        return { run: (signal) => controller.run(signal) };
      },
    });
  },
});
