/** Third-party scheduler plugins: what Skiff plugins offer under `schedulerPlugin(name)`. */
import { type ServiceKey, SkiffError } from 'skiff/sdk';
import { type SchedulerPluginRegistration, schedulerPlugin } from 'skiff/sdk/scheduler';
import type { ExternalLookup } from './config/profiles.js';

export function externalLookup(use: <T>(key: ServiceKey<T>) => T): ExternalLookup {
  return (name) => {
    try {
      return use<SchedulerPluginRegistration>(schedulerPlugin(name));
    } catch (err) {
      if (err instanceof SkiffError && err.code === 'SKIFF_PLUGIN_MISSING_PROVIDER') return undefined;
      throw err;
    }
  };
}
