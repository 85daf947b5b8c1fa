/**
 * cloud-local: the built-in cloud provider (--cloud-provider=local). Its load balancers are real
 * TCP balancers on this machine: each LoadBalancer Service gets an address in 127.0.0.0/8 from
 * addressRange, listening on the service's ports and forwarding round robin to the NodePorts of
 * the nodes. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { CLOUD_PROVIDER, type CloudProvider } from 'skiff/sdk/cloud';
import { z } from 'zod';
import { AddressPool, parseRange, type Range } from './address-pool.js';
import { LocalBalancers } from './local-balancers.js';

const configSchema = z
  .object({
    /** Where balancer addresses come from: a range inside 127.0.0.0/8, apart from the service range. */
    addressRange: z
      .string()
      .default('127.97.0.0/16')
      .superRefine((v, issues) => {
        const range = parseRange(v);
        if (typeof range === 'string') issues.addIssue({ code: 'custom', message: range });
      }),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

export default definePlugin<Config>({
  name: 'cloud-local',
  description: 'The local cloud provider: LoadBalancer Services get a TCP balancer on a 127.x address of this machine.',
  provides: [CLOUD_PROVIDER],
  config: configSchema,
  // Balancers live where the service controller runs.
  roles: ['up', 'controller-manager'],
  setup(ctx) {
    const balancers = new LocalBalancers(
      new AddressPool(parseRange(ctx.config.addressRange) as Range, ctx.config.addressRange),
      ctx.logger,
    );
    const cloud: CloudProvider = { providerName: () => 'local', loadBalancer: () => balancers };
    ctx.provide.service(CLOUD_PROVIDER, cloud);
    ctx.onClose(() => balancers.closeAll());
  },
});
