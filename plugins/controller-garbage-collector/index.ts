/**
 * controller-garbage-collector: upstream's garbage collector. Deletes objects whose owners are gone
 * (a background cascade), deletes the dependents of owners deleting in the foreground and then
 * lets the owner go, orphans the dependents of owners deleted with propagationPolicy Orphan. The
 * API server's half (the finalizers a DELETE sets) is the core's: core/api/store/cascade.ts.
 * See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { bool, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { GarbageCollector } from './collector.js';

const configSchema = z
  .object({
    /** Upstream's --concurrent-gc-syncs: workers on each of the two queues. */
    concurrentGCSyncs: z.number().int().positive().default(20),
    /** Upstream's --enable-garbage-collector: false registers no controller. */
    enabled: z.boolean().default(true),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

export default definePlugin<Config>({
  name: 'controller-garbage-collector',
  description:
    'Deletes dependents whose owners are gone, orphans or waits for them as the DELETE asked (upstream garbage collector).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    {
      flag: '--concurrent-gc-syncs <n>',
      help: 'garbage collector workers (default 20)',
      parse: positiveInt,
      toConfig: (concurrentGCSyncs) => ({ concurrentGCSyncs }),
    },
    {
      flag: '--enable-garbage-collector <bool>',
      help: 'run the garbage collector (default true)',
      parse: bool,
      toConfig: (enabled) => ({ enabled }),
    },
  ],
  setup(ctx) {
    if (!ctx.config.enabled) {
      ctx.logger.info('--enable-garbage-collector=false: dependents of deleted owners are left alone');
      return;
    }
    ctx.provide.controller({
      name: 'garbagecollector',
      create: (c) => {
        const collector = new GarbageCollector(c, ctx.config.concurrentGCSyncs);
        return { run: (signal) => collector.run(signal) };
      },
    });
  },
});
