/**
 * A component run as its own process (`skiff kubelet`, `skiff scheduler`, `skiff
 * controller-manager`) needs some of the config file's plugins (a container runtime, its own config
 * block, the controllers) without a server: this sets up the ones it selects, and what they depend
 * on. No storage is opened and nothing listens; their services are reached through `use`, the
 * controllers they register through `controllers`. Exported through skiff/sdk/client.
 */
import type { Logger } from 'pino';
import { loadConfig, type ResolvedConfig } from '../config/load.js';
import type { Port } from '../config/schema.js';
import type { ControllerRegistration } from '../hooks.js';
import { declaresProvider, type ServiceKey } from '../plugins/services.js';
import { preparePlugins } from '../server/server.js';

/** What `select` knows of a plugin of the config file, before any is set up. */
export interface SelectablePlugin {
  name: string;
  roles: readonly string[];
  /** Built into Skiff (plugins/), rather than loaded by `path:` or `package:`. */
  builtIn: boolean;
  provides(key: ServiceKey<unknown>): boolean;
}

export interface ComponentPluginsOptions {
  /** The config file (default: config/default.yaml). */
  configFile?: string;
  /** Overrides the file's server.dataDir. */
  dataDir?: string;
  /** The command being run: `ctx.server.role` of every plugin set up. */
  role: string;
  /**
   * Which of the file's plugins the process needs (their dependencies come along): by name, by the
   * roles they serve, by a service they declare they provide (`provides(PKI)`), or by where they
   * come from (a third-party plugin, loaded by `path:` or `package:`, may bring anything).
   */
  select(plugin: SelectablePlugin): boolean;
  /** Plugins a flag turns on, with the keys it sets (`--runtime simulated`). */
  enable?: Record<string, Record<string, unknown>>;
  /** Keys merged over the file's block of enabled plugins (the component's own flags). */
  configure?: Record<string, Record<string, unknown>>;
  /** Plugins a flag turns off, whatever the file says. */
  disable?: string[];
  logger: Logger;
}

export interface ComponentPlugins {
  /** The config file read (absolute), and the data directory it gives. */
  readonly configFile: string;
  readonly dataDir: string;
  /** Where the same config file has the API server listen: its secure port and bind address. */
  readonly server: { readonly bindAddress: string; readonly securePort: Port };
  /** The names of the plugins set up, in order. */
  readonly plugins: readonly string[];
  /** A plugin's validated config block, undefined when the plugin is not set up. */
  configOf<T>(plugin: string): T | undefined;
  /** A service a plugin provided (as a plugin's ctx.use). */
  use<T>(key: ServiceKey<T>): T;
  /** The controllers the plugins set up registered (ctx.provide.controller), in plugin order. */
  controllers(): Promise<ControllerRegistration[]>;
  /** Close every plugin set up, in reverse order. */
  close(): Promise<void>;
}

/** The config with only the plugins `select` picks and what they depend on, in the file's order. */
export function selectedPlugins(config: ResolvedConfig, select: ComponentPluginsOptions['select']): ResolvedConfig {
  const byName = new Map(config.plugins.map((p) => [p.name, p]));
  const keep = new Set<string>();
  const add = (name: string) => {
    const plugin = byName.get(name);
    if (!plugin || keep.has(name)) return;
    keep.add(name);
    for (const dep of plugin.manifest.dependencies ?? []) add(dep);
  };
  for (const p of config.plugins) {
    const provides = (key: ServiceKey<unknown>) => declaresProvider(p.manifest, key);
    const builtIn = p.source === 'built-in';
    if (select({ name: p.name, roles: p.manifest.roles ?? [], builtIn, provides })) add(p.name);
  }
  return { ...config, plugins: config.plugins.filter((p) => keep.has(p.name)) };
}

export async function setUpComponentPlugins(options: ComponentPluginsOptions): Promise<ComponentPlugins> {
  const full = await loadConfig(options.configFile, {
    dataDir: options.dataDir,
    plugins: options.enable,
    configure: options.configure,
    disabled: options.disable,
  });
  const config = selectedPlugins(full, options.select);
  const prepared = await preparePlugins({ config, role: options.role, logger: options.logger });
  const configs = new Map(config.plugins.map((p) => [p.name, p.config]));
  return {
    configFile: config.file,
    dataDir: config.server.dataDir,
    server: { bindAddress: config.server.bindAddress, securePort: config.server.securePort },
    plugins: config.plugins.map((p) => p.name),
    configOf: <T>(plugin: string) => configs.get(plugin) as T | undefined,
    use: prepared.plugins.use,
    controllers: () => prepared.api.controllers(),
    close: () => prepared.plugins.closeAll(),
  };
}
