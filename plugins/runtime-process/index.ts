/**
 * runtime-process: the default container runtime. Pods run as real processes, each sandbox with its
 * own network namespace and IP, each container in its own PID and mount namespaces and cgroups,
 * where the kernel allows; host networking on loopback addresses elsewhere. See README.md.
 *
 * This manifest stays thin: the CLI reads every built-in manifest on each start, and most starts
 * run no pods, so the implementation is imported only when a runtime is opened or swept.
 */
import { definePlugin } from 'skiff/sdk';
import { type ContainerRuntime, type RuntimeProvider, runtimeKey } from 'skiff/sdk/runtime';
import { type ProcessRuntimeConfig, processRuntimeConfig } from './config.js';
import type * as Runtime from './runtime.js';
import type * as Sweep from './sweep.js';

/** Open a process runtime outside a server (tests, benchmarks): runtime.ts's, loaded on first use. */
export async function openProcessRuntime(
  ...args: Parameters<typeof Runtime.openProcessRuntime>
): ReturnType<typeof Runtime.openProcessRuntime> {
  return (await import('./runtime.js')).openProcessRuntime(...args);
}

/** Remove what runtimes with this config left on the host: sweep.ts's, loaded on first use. */
export async function sweepProcessRuntime(
  ...args: Parameters<typeof Sweep.sweepProcessRuntime>
): ReturnType<typeof Sweep.sweepProcessRuntime> {
  return (await import('./sweep.js')).sweepProcessRuntime(...args);
}

export default definePlugin<ProcessRuntimeConfig>({
  name: 'runtime-process',
  description: 'Runs pods as real isolated processes (network namespaces, PID/mount namespaces, cgroups).',
  provides: [runtimeKey('process')],
  config: processRuntimeConfig,
  setup(ctx) {
    const opened = new Set<ContainerRuntime>();
    const provider: RuntimeProvider = {
      name: 'process',
      async open(options) {
        const logger = options.logger ?? ctx.logger.child({ node: options.nodeName });
        const runtime = await openProcessRuntime(ctx.config, { ...options, logger });
        opened.add(runtime);
        return runtime;
      },
      async sweep(options) {
        await sweepProcessRuntime(ctx.config, options?.rootDirs);
      },
    };
    ctx.provide.service(runtimeKey('process'), provider);
    // Containers outlive the server (a kubelet that comes back adopts them): stop reading only.
    ctx.onClose(async () => {
      await Promise.all([...opened].map((runtime) => runtime.close()));
    });
  },
});
