/**
 * runtime-process: the default container runtime. Pods run as real processes, each sandbox with its
 * own network namespace and IP, each container in its own PID and mount namespaces and cgroups,
 * where the kernel allows; host networking on loopback addresses elsewhere. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { type ContainerRuntime, type RuntimeProvider, runtimeKey } from 'skiff/sdk/runtime';
import { type ProcessRuntimeConfig, processRuntimeConfig } from './config.js';
import { openProcessRuntime } from './runtime.js';
import { sweepProcessRuntime } from './sweep.js';

export default definePlugin<ProcessRuntimeConfig>({
  name: 'runtime-process',
  description: 'Runs pods as real isolated processes (network namespaces, PID/mount namespaces, cgroups).',
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

export { openProcessRuntime, sweepProcessRuntime };
