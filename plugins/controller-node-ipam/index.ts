/**
 * controller-node-ipam: upstream's node IPAM controller with its range allocator. Each node gets
 * spec.podCIDR from --cluster-cidr, released when the node goes. See README.md for how its
 * --cluster-cidr and runtime-process's clusterCIDR meet.
 */
import { definePlugin } from 'skiff/sdk';
import { bool, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { CidrSet, parseCidr } from './cidr-set.js';
import { RangeAllocator } from './range-allocator.js';

const configSchema = z
  .object({
    /** Upstream's --allocate-node-cidrs: off by default, as upstream; config/default.yaml turns it on. */
    allocateNodeCIDRs: z.boolean().default(false),
    /** Upstream's --cluster-cidr; runtime-process's clusterCIDR (default 10.244.0.0/16) must hold it. */
    clusterCIDR: z
      .string()
      .default('10.244.0.0/16')
      .refine((v) => parseCidr(v) !== undefined, 'must be an IPv4 CIDR such as 10.244.0.0/16'),
    /** Upstream's --node-cidr-mask-size (IPv4 default 24). */
    nodeCIDRMaskSize: z.number().int().min(1).max(30).default(24),
  })
  .strict()
  .refine(
    (c) => {
      const prefix = parseCidr(c.clusterCIDR)?.prefix ?? 0;
      return c.nodeCIDRMaskSize >= prefix && c.nodeCIDRMaskSize - prefix <= 16;
    },
    {
      message: 'nodeCIDRMaskSize must be at least the clusterCIDR prefix and at most 16 bits longer',
      path: ['nodeCIDRMaskSize'],
    },
  );

type Config = z.infer<typeof configSchema>;

export default definePlugin<Config>({
  name: 'controller-node-ipam',
  description: 'Gives every node a pod CIDR from the cluster CIDR (upstream node IPAM range allocator).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    {
      flag: '--allocate-node-cidrs <bool>',
      help: 'allocate pod CIDRs to nodes from --cluster-cidr',
      parse: bool,
      toConfig: (allocateNodeCIDRs) => ({ allocateNodeCIDRs }),
    },
    {
      flag: '--cluster-cidr <cidr>',
      help: 'the range node pod CIDRs are cut from (default 10.244.0.0/16, runtime-process clusterCIDR)',
      toConfig: (clusterCIDR) => ({ clusterCIDR }),
    },
    {
      flag: '--node-cidr-mask-size <n>',
      help: 'the mask size of each node pod CIDR (default 24)',
      parse: (raw: string) => {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1 || n > 30)
          throw new InvalidArgumentError('expected a mask size from 1 to 30');
        return n;
      },
      toConfig: (nodeCIDRMaskSize) => ({ nodeCIDRMaskSize }),
    },
  ],
  setup(ctx) {
    const { allocateNodeCIDRs, clusterCIDR, nodeCIDRMaskSize } = ctx.config;
    ctx.provide.controller({
      name: 'nodeipam',
      create: (c) => {
        if (!allocateNodeCIDRs) {
          c.logger.info('--allocate-node-cidrs is false: node IPAM hands out no pod CIDRs');
          return {
            run: (signal) =>
              new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r()))),
          };
        }
        const allocator = new RangeAllocator(c, new CidrSet(parseCidr(clusterCIDR)!, nodeCIDRMaskSize));
        return { run: (signal) => allocator.run(signal) };
      },
    });
  },
});
