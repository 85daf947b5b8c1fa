/**
 * controller-endpointslice: upstream's EndpointSlice controller (slices for Services with a
 * selector, from their pods) and EndpointSlice mirroring controller (slices mirroring the
 * Endpoints of Services without one). See README.md.
 */
import { type ControllerContext, definePlugin, type FlagSpec } from 'skiff/sdk';
import { goDurationSeconds, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { EndpointSliceMirroringController } from './mirroring-controller.js';
import { EndpointSliceController } from './slice-controller.js';

const configSchema = z
  .object({
    /** Upstream's --max-endpoints-per-slice (1 to 1000). */
    maxEndpointsPerSlice: z.number().int().min(1).max(1000).default(100),
    /** Upstream's --concurrent-service-endpoint-syncs. */
    concurrentServiceEndpointSyncs: z.number().int().positive().default(5),
    /** Upstream's --endpointslice-updates-batch-period, in seconds. */
    endpointSliceUpdatesBatchPeriod: z.number().min(0).default(0),
    /** Upstream's --mirroring-max-endpoints-per-subset (1 to 1000). */
    mirroringMaxEndpointsPerSubset: z.number().int().min(1).max(1000).default(1000),
    /** Upstream's --mirroring-concurrent-service-endpoint-syncs. */
    mirroringConcurrentServiceEndpointSyncs: z.number().int().positive().default(5),
    /** Upstream's --mirroring-endpointslice-updates-batch-period, in seconds. */
    mirroringEndpointSliceUpdatesBatchPeriod: z.number().min(0).default(0),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

function wholeNumber(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

const flag = (name: string, help: string, key: keyof Config, parse: (raw: string) => number): FlagSpec => ({
  flag: `--${name} <${parse === goDurationSeconds ? 'duration' : 'n'}>`,
  help,
  parse,
  toConfig: (value) => ({ [key]: value }),
});

/** EndpointSlices are served by api-discovery-v1; without it the controllers wait idle, as upstream's would fail. */
async function slicesServed(c: ControllerContext): Promise<boolean> {
  const served = (await c.namespacedResources()).some(
    (r) => r.group === 'discovery.k8s.io' && r.resource === 'endpointslices',
  );
  if (!served)
    c.logger.warn('discovery.k8s.io/v1 endpointslices are not served (enable api-discovery-v1): nothing to do');
  return served;
}

const idle = {
  run: (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    }),
};

export default definePlugin<Config>({
  name: 'controller-endpointslice',
  description:
    'EndpointSlices for every Service: from its pods, or mirrored from its Endpoints (upstream controllers).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    flag(
      'max-endpoints-per-slice',
      'endpoints in one EndpointSlice at most (default 100)',
      'maxEndpointsPerSlice',
      wholeNumber(1, 1000),
    ),
    flag(
      'concurrent-service-endpoint-syncs',
      'Services whose EndpointSlices are synced at once (default 5)',
      'concurrentServiceEndpointSyncs',
      wholeNumber(1, 10_000),
    ),
    flag(
      'endpointslice-updates-batch-period',
      'how long pod changes are batched before EndpointSlices are written (default 0s)',
      'endpointSliceUpdatesBatchPeriod',
      goDurationSeconds,
    ),
    flag(
      'mirroring-max-endpoints-per-subset',
      'addresses of one Endpoints subset mirrored at most (default 1000)',
      'mirroringMaxEndpointsPerSubset',
      wholeNumber(1, 1000),
    ),
    flag(
      'mirroring-concurrent-service-endpoint-syncs',
      'Endpoints mirrored at once (default 5)',
      'mirroringConcurrentServiceEndpointSyncs',
      wholeNumber(1, 10_000),
    ),
    flag(
      'mirroring-endpointslice-updates-batch-period',
      'how long Endpoints changes are batched before they are mirrored (default 0s)',
      'mirroringEndpointSliceUpdatesBatchPeriod',
      goDurationSeconds,
    ),
  ],
  setup(ctx) {
    const config = ctx.config;
    ctx.provide.controller({
      name: 'endpointslice',
      create: async (c) => {
        if (!(await slicesServed(c))) return idle;
        const controller = new EndpointSliceController(c, {
          workers: config.concurrentServiceEndpointSyncs,
          batchMs: config.endpointSliceUpdatesBatchPeriod * 1000,
          maxPerSlice: config.maxEndpointsPerSlice,
        });
        return { run: (signal) => controller.run(signal) };
      },
    });
    ctx.provide.controller({
      name: 'endpointslicemirroring',
      create: async (c) => {
        if (!(await slicesServed(c))) return idle;
        const controller = new EndpointSliceMirroringController(c, {
          workers: config.mirroringConcurrentServiceEndpointSyncs,
          batchMs: config.mirroringEndpointSliceUpdatesBatchPeriod * 1000,
          maxPerSubset: config.mirroringMaxEndpointsPerSubset,
        });
        return { run: (signal) => controller.run(signal) };
      },
    });
  },
});
