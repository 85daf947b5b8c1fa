/**
 * runtime-simulated: nodes without processes, for scale tests of the scheduler and controllers.
 * Containers are Running after a configurable delay, with pod IPs from the node's pod CIDR; their
 * exits and probe results are scripted by pod annotations (sim.skiff.dev/...). A kubelet given
 * `--runtime simulated` runs its nodes on it, a thousand in one process. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { type RuntimeProvider, runtimeKey } from 'skiff/sdk/runtime';
import { Clock } from './clock.js';
import { type SimulatedRuntimeConfig, simulatedRuntimeConfig } from './config.js';
import { SimulatedRuntime } from './runtime.js';

export { SIM_ANNOTATIONS } from './script.js';
export { SimulatedRuntime };

/** A provider outside a server (tests, benchmarks): every runtime it opens shares one clock. */
export function simulatedRuntimeProvider(config: Partial<SimulatedRuntimeConfig> = {}): RuntimeProvider {
  const parsed = simulatedRuntimeConfig.parse(config);
  const clock = new Clock();
  return {
    name: 'simulated',
    async open(options) {
      const runtime = new SimulatedRuntime(parsed, clock, options);
      if (options.podCIDR) await runtime.updateRuntimeConfig({ podCIDR: options.podCIDR });
      return runtime;
    },
  };
}

export default definePlugin<SimulatedRuntimeConfig>({
  name: 'runtime-simulated',
  description: 'Simulated containers (no processes): Running after a delay, exits and probes scripted by annotations.',
  provides: [runtimeKey('simulated')],
  config: simulatedRuntimeConfig,
  setup(ctx) {
    ctx.provide.service(runtimeKey('simulated'), simulatedRuntimeProvider(ctx.config));
  },
});
