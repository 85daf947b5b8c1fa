/**
 * controller-node-lifecycle: upstream's node lifecycle controller (nodes' heartbeats, Unknown
 * conditions, the unreachable/not-ready taints, rate-limited per zone) and the taint eviction
 * controller (pods that do not tolerate a NoExecute taint are deleted). The seed's figure 3.4.
 * See README.md.
 */
import { definePlugin, type FlagSpec } from 'skiff/sdk';
import { goDurationSeconds, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { NodeLifecycleController } from './lifecycle-controller.js';
import { TaintEvictionController } from './taint-eviction.js';

const seconds = z.number().positive();
const configSchema = z
  .object({
    /** Upstream's --node-monitor-period: how often node health is checked. */
    nodeMonitorPeriod: seconds.default(5),
    /** Upstream's --node-monitor-grace-period (50 s since 1.32): silence before a node is Unknown. */
    nodeMonitorGracePeriod: seconds.default(50),
    /** Upstream's --node-startup-grace-period: the same for a node that never reported Ready. */
    nodeStartupGracePeriod: seconds.default(60),
    /** Upstream's --node-eviction-rate: nodes tainted per second in a healthy zone. */
    nodeEvictionRate: z.number().min(0).default(0.1),
    /** Upstream's --secondary-node-eviction-rate: the same in an unhealthy zone larger than the threshold below. */
    secondaryNodeEvictionRate: z.number().min(0).default(0.01),
    /** Upstream's --large-cluster-size-threshold: smaller unhealthy zones are not tainted at all. */
    largeClusterSizeThreshold: z.number().int().min(0).default(50),
    /** Upstream's --unhealthy-zone-threshold: the share of not-Ready nodes (and more than 2) that makes a zone unhealthy. */
    unhealthyZoneThreshold: z.number().min(0).max(1).default(0.55),
  })
  .strict()
  .refine((c) => c.nodeMonitorPeriod < c.nodeMonitorGracePeriod, {
    message: 'nodeMonitorPeriod must be shorter than nodeMonitorGracePeriod',
    path: ['nodeMonitorPeriod'],
  });

type Config = z.infer<typeof configSchema>;

function number(min: number, max = Number.POSITIVE_INFINITY) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number from ${min}${Number.isFinite(max) ? ` to ${max}` : ''}`);
    }
    return n;
  };
}

const flag = (name: string, key: keyof Config, help: string, parse: (raw: string) => number): FlagSpec => ({
  flag: `--${name} <${parse === goDurationSeconds ? 'duration' : 'n'}>`,
  help,
  parse,
  toConfig: (value) => ({ [key]: value }),
});

export default definePlugin<Config>({
  name: 'controller-node-lifecycle',
  description:
    'Marks silent nodes Unknown, taints them and evicts their pods (upstream node lifecycle and taint eviction controllers).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    flag(
      'node-monitor-period',
      'nodeMonitorPeriod',
      'how often node health is checked (default 5s)',
      goDurationSeconds,
    ),
    flag(
      'node-monitor-grace-period',
      'nodeMonitorGracePeriod',
      'silence before a node is Unknown (default 50s)',
      goDurationSeconds,
    ),
    flag(
      'node-startup-grace-period',
      'nodeStartupGracePeriod',
      'the same for a node never Ready (default 1m0s)',
      goDurationSeconds,
    ),
    flag(
      'node-eviction-rate',
      'nodeEvictionRate',
      'nodes tainted per second per healthy zone (default 0.1)',
      number(0),
    ),
    flag(
      'secondary-node-eviction-rate',
      'secondaryNodeEvictionRate',
      'nodes tainted per second per unhealthy zone (default 0.01)',
      number(0),
    ),
    flag(
      'large-cluster-size-threshold',
      'largeClusterSizeThreshold',
      'unhealthy zones of at most this many nodes are not tainted (default 50)',
      number(0),
    ),
    flag(
      'unhealthy-zone-threshold',
      'unhealthyZoneThreshold',
      'share of not-Ready nodes that makes a zone unhealthy (default 0.55)',
      number(0, 1),
    ),
  ],
  setup(ctx) {
    const c = ctx.config;
    ctx.provide.controller({
      name: 'nodelifecycle',
      create: (context) => {
        const controller = new NodeLifecycleController(context, {
          monitorPeriodMs: c.nodeMonitorPeriod * 1000,
          monitorGraceMs: c.nodeMonitorGracePeriod * 1000,
          startupGraceMs: c.nodeStartupGracePeriod * 1000,
          nodeEvictionRate: c.nodeEvictionRate,
          secondaryNodeEvictionRate: c.secondaryNodeEvictionRate,
          largeClusterSizeThreshold: c.largeClusterSizeThreshold,
          unhealthyZoneThreshold: c.unhealthyZoneThreshold,
        });
        return { run: (signal) => controller.run(signal) };
      },
    });
    ctx.provide.controller({
      name: 'taint-eviction-controller',
      create: (context) => {
        const controller = new TaintEvictionController(context);
        return { run: (signal) => controller.run(signal) };
      },
    });
  },
});
