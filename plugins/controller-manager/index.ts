/**
 * controller-manager: upstream's kube-controller-manager. It runs the controllers other plugins
 * register with ctx.provide.controller, restarts a failed one after a back-off, and with leader
 * election runs them only while holding the kube-controller-manager Lease. It runs inside `skiff
 * up`, acting as system:kube-controller-manager, and as its own process with `skiff
 * controller-manager`. Turned off, no controller runs in `skiff up`. See README.md.
 */
import { definePlugin, type PluginContext, type UserInfo } from 'skiff/sdk';
import { type ControllerContext, servedFromRegistry } from 'skiff/sdk/client';
import { controllerManagerCommand } from './command.js';
import { CONTROLLER_MANAGER_AGENT, ControllerManager, leaderElectionService } from './manager.js';
import { type ControllerManagerConfig, configSchema, leaderElectionOf } from './settings.js';

/**
 * Controllers run in-process act as the controller manager, as they would over HTTPS, and are
 * authorized like any user: what the chain grants system:kube-controller-manager (the
 * authz-bootstrap-roles plugin binds it upstream's roles), no more.
 */
const CONTROLLER_MANAGER_USER: UserInfo = {
  name: 'system:kube-controller-manager',
  groups: ['system:authenticated'],
};

/** A controller's context in the API server's process: resources read from the registry. */
function contextIn(ctx: PluginContext<ControllerManagerConfig>, name: string): ControllerContext {
  const { registry } = ctx.api;
  return {
    client: ctx.api.client(CONTROLLER_MANAGER_USER, `${CONTROLLER_MANAGER_AGENT}/${name}`),
    logger: ctx.logger.child({ controller: name }),
    namespacedResources: async () =>
      registry
        .all()
        .filter((d) => d.namespaced && !d.virtualCreate)
        .map((d) => ({ group: d.group, version: d.version, resource: d.plural })),
    servedResources: async () => servedFromRegistry(registry.all()),
  };
}

function runInProcess(ctx: PluginContext<ControllerManagerConfig>): void {
  const leaderElection = leaderElectionOf(ctx.config);
  // Resolved during setup: without a lock, start-up stops before storage opens.
  const electors = leaderElection ? leaderElectionService(ctx.use) : undefined;
  let manager: ControllerManager | undefined;
  // Built once storage is open (the controllers' clients), so bad lease options stop start-up.
  ctx.provide.bootstrap('controller-manager', async () => {
    manager = new ControllerManager(ctx.api, ctx.logger, (name) => contextIn(ctx, name), {
      leaderElection,
      electors,
    });
  });
  // After the server listens; stopped when shutdown begins, before the plugins close.
  ctx.onReady(async () => {
    const names = (await manager?.start()) ?? [];
    if (names.length) ctx.logger.info({ controllers: names }, 'controllers started');
  });
  ctx.onShutdown(async () => {
    await manager?.stop();
  });
}

export default definePlugin<ControllerManagerConfig>({
  name: 'controller-manager',
  description:
    'The controller manager: runs, restarts and leader-elects the controllers plugins register; skiff controller-manager.',
  // `skiff controller-manager` sets it up (with the controller plugins) by this role.
  roles: ['up', 'controller-manager'],
  config: configSchema,
  commands: [{ name: 'controller-manager', build: controllerManagerCommand }],
  setup(ctx) {
    if (ctx.server.role === 'up') runInProcess(ctx);
  },
});
