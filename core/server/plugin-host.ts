/**
 * Runs every enabled plugin's setup with its own context, in load order, and turns each
 * `ctx.provide.*` call into a named tap or registry entry. The contract is core/plugins/contract.ts.
 */
import type { AwilixContainer } from 'awilix';
import type { Logger } from 'pino';
import type { ResourceRegistry } from '../api/registry.js';
import type { RuleResolver } from '../auth-types.js';
import type { ApiClient } from '../client/types.js';
import type { ResolvedConfig } from '../config/load.js';
import { SkiffError } from '../errors.js';
import type { Hooks } from '../hooks.js';
import type { Contributions, PluginContext, ServerSettings } from '../plugins/contract.js';
import type { Storage } from '../storage/types.js';
import { type AdmissionPolicy, guardAdmission } from './admission-guard.js';
import type { HealthCheck } from './health.js';

export type StorageBackends = Map<string, () => Promise<Storage>>;

export interface Bootstrap {
  plugin: string;
  name: string;
  run: (client: ApiClient) => Promise<void>;
}

interface HostDeps {
  config: ResolvedConfig;
  container: AwilixContainer;
  hooks: Hooks;
  registry: ResourceRegistry;
  logger: Logger;
  settings: ServerSettings;
  healthChecks: HealthCheck[];
  backends: StorageBackends;
  bootstraps: Bootstrap[];
  /** Per authorizer (tap name), its rule lister, if it has one. */
  ruleResolvers: Map<string, RuleResolver | undefined>;
}

export interface PluginHost {
  /** Close every plugin that was set up, in reverse order; errors are logged, not thrown. */
  closeAll(): Promise<void>;
}

function contributions(name: string, policy: AdmissionPolicy, deps: HostDeps): Contributions {
  const { hooks } = deps;
  return {
    resource: (def) => deps.registry.add(def, name),
    subresource: (target, subName, def) => deps.registry.addSubresource(target, subName, def, name),
    storageBackend: (backend, open) => {
      if (deps.backends.has(backend)) {
        throw new SkiffError(
          'SKIFF_STORAGE_BACKEND',
          `plugin "${name}" offers storage backend "${backend}", which another plugin already offers`,
          'enable only one plugin per backend',
        );
      }
      deps.backends.set(backend, open);
    },
    admission: (plugin) => {
      const admit = guardAdmission(plugin, 'admit', policy, deps.logger.child({ plugin: name }));
      const validate = guardAdmission(plugin, 'validate', policy, deps.logger.child({ plugin: name }));
      // Plain taps: a guarded step answers synchronously when its plugin does (see admission-guard.ts).
      if (admit) hooks.admitMutating.tap(plugin.name, admit);
      if (validate) hooks.admitValidating.tap(plugin.name, validate);
    },
    authenticator: (fn) => hooks.authenticate.tapPromise(name, async (req) => fn(req)),
    authorizer: (fn, rules) => {
      hooks.authorize.tapPromise(name, async (a) => fn(a));
      deps.ruleResolvers.set(name, rules);
    },
    controller: (registration) => hooks.registerControllers.tap(name, (registry) => registry.register(registration)),
    healthCheck: (check, kinds, fn) => deps.healthChecks.push({ name: check, kinds, check: fn }),
    bootstrap: (task, run) => deps.bootstraps.push({ plugin: name, name: task, run }),
  };
}

export async function setupPlugins(deps: HostDeps): Promise<PluginHost> {
  const done: { name: string; close?: () => void | Promise<void> }[] = [];
  const host: PluginHost = {
    async closeAll() {
      for (const p of done.reverse()) {
        try {
          await p.close?.();
        } catch (err) {
          deps.logger.error({ err, plugin: p.name }, 'plugin failed to close');
        }
      }
      done.length = 0;
    },
  };
  for (const plugin of deps.config.plugins) {
    const ctx: PluginContext<unknown> = {
      name: plugin.name,
      config: plugin.config,
      logger: deps.logger.child({ plugin: plugin.name }),
      container: deps.container,
      hooks: deps.hooks,
      server: deps.settings,
      provide: contributions(plugin.name, plugin, deps),
      onClose: (release) => done.push({ name: plugin.name, close: release }),
    };
    try {
      await plugin.manifest.setup(ctx);
    } catch (err) {
      await host.closeAll();
      if (err instanceof SkiffError) throw err;
      throw new SkiffError(
        'SKIFF_PLUGIN_SETUP',
        `plugin "${plugin.name}" (${plugin.source}) failed during setup: ${(err as Error).message}`,
        `check the plugins.${plugin.name} section of ${deps.config.file}, or disable the plugin with enabled: false`,
      );
    }
    done.push({ name: plugin.name, close: plugin.manifest.close?.bind(plugin.manifest) });
  }
  return host;
}
