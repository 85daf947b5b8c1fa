/** This plugin's block in the Skiff config file, and the KubeSchedulerConfiguration it names. */
import { resolve } from 'node:path';
import { z } from 'zod';
import {
  loadSchedulerConfiguration,
  type SchedulerConfiguration,
  schedulerConfigurationFrom,
} from './config/configuration.js';

export const configSchema = z
  .object({
    /** A KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1); default: upstream's defaults. */
    configFile: z.string().min(1).optional(),
    /** The same document inline, instead of a file. */
    configuration: z.record(z.string(), z.unknown()).optional(),
    /** In `skiff up`: schedule only while holding the kube-system/kube-scheduler Lease (several servers on one store). */
    leaderElect: z.boolean().default(false),
    /** In `skiff up`: a loopback port for /metrics and /healthz (0: none; "auto": a free one). */
    port: z.union([z.number().int().min(0).max(65535), z.literal('auto')]).default(0),
    address: z.string().min(1).default('127.0.0.1'),
  })
  .strict()
  .refine((c) => !(c.configFile && c.configuration), {
    message: 'give configFile or configuration, not both',
    path: ['configuration'],
  });

export type SchedulerPluginConfig = z.infer<typeof configSchema>;

/** The KubeSchedulerConfiguration the Skiff config block names (a file or inline), else upstream's defaults. */
export function schedulerConfigurationOf(
  block: Pick<SchedulerPluginConfig, 'configFile' | 'configuration'> | undefined,
): SchedulerConfiguration {
  if (block?.configuration)
    return schedulerConfigurationFrom(block.configuration, 'plugins.scheduler-default.config.configuration');
  return loadSchedulerConfiguration(block?.configFile && resolve(block.configFile));
}

/** The scheduler's User-Agent, in-process or as `skiff scheduler`: the field manager of its writes. */
export const SCHEDULER_AGENT = 'skiff-scheduler';
