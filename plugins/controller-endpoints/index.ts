/**
 * controller-endpoints: upstream's endpoints controller (the seed's 3.2.5). For every Service with
 * a selector, an Endpoints object listing the ready and not-ready addresses of the pods it selects,
 * on every port they offer. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { goDurationSeconds, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { EndpointsController } from './controller.js';

const configSchema = z
  .object({
    /** Upstream's --concurrent-endpoint-syncs: Services synced at once. */
    concurrentEndpointSyncs: z.number().int().positive().default(5),
    /** Upstream's --endpoint-updates-batch-period, in seconds: pod changes are batched this long. */
    endpointUpdatesBatchPeriod: z.number().min(0).default(0),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

export default definePlugin<Config>({
  name: 'controller-endpoints',
  description: 'Keeps an Endpoints object for every Service with a selector (upstream endpoints controller).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    {
      flag: '--concurrent-endpoint-syncs <n>',
      help: 'Services whose Endpoints are synced at once (default 5)',
      parse: positiveInt,
      toConfig: (concurrentEndpointSyncs) => ({ concurrentEndpointSyncs }),
    },
    {
      flag: '--endpoint-updates-batch-period <duration>',
      help: 'how long pod changes are batched before the Endpoints are written (default 0s)',
      parse: goDurationSeconds,
      toConfig: (endpointUpdatesBatchPeriod) => ({ endpointUpdatesBatchPeriod }),
    },
  ],
  setup(ctx) {
    const { concurrentEndpointSyncs, endpointUpdatesBatchPeriod } = ctx.config;
    ctx.provide.controller({
      name: 'endpoint',
      aliases: ['endpoints-controller'], // upstream's name since 1.28
      create: (c) => {
        const controller = new EndpointsController(c, {
          workers: concurrentEndpointSyncs,
          batchMs: endpointUpdatesBatchPeriod * 1000,
        });
        return { run: (signal) => controller.run(signal) };
      },
    });
  },
});
