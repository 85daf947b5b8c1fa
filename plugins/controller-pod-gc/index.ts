/**
 * controller-pod-gc: upstream's pod garbage collector. Deletes pods whose node is gone, pods being
 * deleted that were never scheduled, and finished pods beyond --terminated-pod-gc-threshold.
 * See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { PodGC } from './pod-gc.js';

const configSchema = z
  .object({
    /** Upstream's --terminated-pod-gc-threshold: finished pods kept at most (0: none are collected). */
    terminatedPodGCThreshold: z.number().int().min(0).default(12500),
    /** How often the collector runs, in seconds (upstream's gcCheckPeriod, 20 s). */
    gcCheckPeriodSeconds: z.number().positive().default(20),
    /** How long a node must be missing before its pods go, in seconds (upstream's quarantineTime, 40 s). */
    quarantineSeconds: z.number().min(0).default(40),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

export default definePlugin<Config>({
  name: 'controller-pod-gc',
  description: 'Deletes orphaned, unscheduled terminating and excess finished pods (upstream pod GC).',
  config: configSchema,
  roles: ['up', 'controller-manager'],
  flags: [
    {
      flag: '--terminated-pod-gc-threshold <n>',
      help: 'finished pods kept before the oldest are deleted; 0 disables it (default 12500)',
      parse: (raw: string) => {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of at least 0');
        return n;
      },
      toConfig: (terminatedPodGCThreshold) => ({ terminatedPodGCThreshold }),
    },
  ],
  setup(ctx) {
    const { terminatedPodGCThreshold, gcCheckPeriodSeconds, quarantineSeconds } = ctx.config;
    ctx.provide.controller({
      name: 'podgc',
      aliases: ['pod-garbage-collector-controller'], // upstream's name since 1.28
      create: (c) => {
        const gc = new PodGC(c, {
          terminatedPodThreshold: terminatedPodGCThreshold,
          gcCheckPeriodMs: gcCheckPeriodSeconds * 1000,
          quarantineMs: quarantineSeconds * 1000,
        });
        return { run: (signal) => gc.run(signal) };
      },
    });
  },
});
