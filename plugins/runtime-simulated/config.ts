/** runtime-simulated's config block (`plugins.runtime-simulated.config`). */
import { z } from 'zod';

export const simulatedRuntimeConfig = z
  .object({
    /** How long a started container takes to be Running (image pull and start, simulated); per pod: sim.skiff.dev/start-delay. */
    startDelaySeconds: z.number().min(0).default(0.5),
    /** The range every simulated node's pod CIDR lies in (a /24 each): room for 16,384 nodes. */
    clusterCIDR: z
      .string()
      .regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'an IPv4 CIDR such as 10.64.0.0/10')
      .default('10.64.0.0/10'),
  })
  .strict();

export type SimulatedRuntimeConfig = z.infer<typeof simulatedRuntimeConfig>;
