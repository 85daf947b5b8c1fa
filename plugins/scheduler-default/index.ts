/**
 * scheduler-default: the scheduler (seed 3.3), as upstream's kube-scheduler and its scheduling
 * framework: a queue, profiles of in-tree plugins named as upstream's (and third-party ones from
 * Skiff plugins), a cache with assumed pods, binding through pods/binding. It runs inside
 * `skiff up`, acting as system:kube-scheduler, and as its own process with `skiff scheduler`,
 * which also offers `skiff scheduler simulate`. See README.md.
 */
import { definePlugin, type PluginContext } from 'skiff/sdk';
import { LEADER_ELECTION } from 'skiff/sdk/client';
import { schedulerCommand } from './command.js';
import { SchedulerComponent } from './component/component.js';
import { serveHealthAndMetrics } from './component/serving.js';
import { externalLookup } from './external.js';
import { configSchema, SCHEDULER_AGENT, type SchedulerPluginConfig, schedulerConfigurationOf } from './settings.js';

/** The identity the scheduler acts as in-process: upstream's bootstrap roles are bound to it. */
const SCHEDULER_USER = { name: 'system:kube-scheduler', groups: ['system:authenticated'] };

function runInProcess(ctx: PluginContext<SchedulerPluginConfig>): void {
  // Read now: a broken file stops start-up before anything runs.
  const config = schedulerConfigurationOf(ctx.config);
  let component: SchedulerComponent | undefined;
  // Built once every plugin is set up (third-party scheduler plugins) and before the server listens.
  ctx.provide.bootstrap('scheduler-profiles', async () => {
    component = new SchedulerComponent({
      client: ctx.api.client(SCHEDULER_USER, SCHEDULER_AGENT),
      logger: ctx.logger,
      config,
      external: externalLookup(ctx.use),
      leaderElection: ctx.config.leaderElect
        ? {
            electors: ctx.use(LEADER_ELECTION),
            options: {
              name: config.leaderElection.resourceName,
              namespace: config.leaderElection.resourceNamespace,
              releaseOnCancel: true,
            },
          }
        : undefined,
    });
  });
  let stopServing: (() => void) | undefined;
  ctx.onReady(async () => {
    if (!component) return;
    component.start();
    ctx.logger.info({ profiles: [...component.frameworks.keys()] }, 'scheduler started');
    const { port, address } = ctx.config;
    if (port === 0) return;
    const served = await serveHealthAndMetrics(component, address, port === 'auto' ? 0 : port);
    stopServing = () => served.server.close();
    ctx.logger.info(`scheduler metrics and health on http://${address}:${served.port}/metrics`);
  });
  ctx.onShutdown(async () => {
    stopServing?.();
    await component?.stop();
  });
}

export default definePlugin<SchedulerPluginConfig>({
  name: 'scheduler-default',
  description:
    "The scheduler: upstream's scheduling framework and in-tree plugins, KubeSchedulerConfiguration profiles; skiff scheduler.",
  // `skiff scheduler` sets it up (with the plugins it needs) to read this block.
  roles: ['up', 'scheduler'],
  config: configSchema,
  commands: [{ name: 'scheduler', build: schedulerCommand }],
  setup(ctx) {
    if (ctx.server.role === 'up') runInProcess(ctx);
    // `skiff config check`: a broken KubeSchedulerConfiguration is reported there too.
    else if (ctx.server.role === 'check') schedulerConfigurationOf(ctx.config);
  },
});
