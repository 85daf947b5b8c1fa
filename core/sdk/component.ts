/**
 * A component run as its own process (`skiff kubelet`, later `skiff scheduler`) needs some of the
 * config file's plugins (a container runtime, its own config block) without a server: this sets
 * up the ones it selects, and what they depend on, as `skiff controller-manager` does for
 * controllers. No storage is opened and nothing listens; their services are reached through `use`.
 * Exported through skiff/sdk/client.
 */
import type { Logger } from 'pino';
import { loadConfig, type ResolvedConfig } from '../config/load.js';
import { declaresProvider, type ServiceKey } from '../plugins/services.js';
import { preparePlugins } from '../server/server.js';

export interface ComponentPluginsOptions {
  /** The config file (default: config/default.yaml). */
  configFile?: string;
  /** Overrides the file's server.dataDir. */
  dataDir?: string;
  /** The command being run: `ctx.server.role` of every plugin set up. */
  role: string;
  /**
   * Which of the file's plugins the process needs (their dependencies come along): by name, by the
   * roles they serve, or by a service they declare they provide (`provides(PKI)`).
   */
  select(plugin: { name: string; roles: readonly string[]; provides(key: ServiceKey<unknown>): boolean }): boolean;
  /** Plugins a flag turns on, with the keys it sets (`--runtime simulated`). */
  enable?: Record<string, Record<string, unknown>>;
  /** Keys merged over the file's block of enabled plugins (the component's own flags). */
  configure?: Record<string, Record<string, unknown>>;
  logger: Logger;
}

export interface ComponentPlugins {
  /** The config file read (absolute), and the data directory it gives. */
  readonly configFile: string;
  readonly dataDir: string;
  /** The names of the plugins set up, in order. */
  readonly plugins: readonly string[];
  /** A plugin's validated config block, undefined when the plugin is not set up. */
  configOf<T>(plugin: string): T | undefined;
  /** A service a plugin provided (as a plugin's ctx.use). */
  use<T>(key: ServiceKey<T>): T;
  /** Close every plugin set up, in reverse order. */
  close(): Promise<void>;
}

function selected(config: ResolvedConfig, select: ComponentPluginsOptions['select']): ResolvedConfig {
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
    if (select({ name: p.name, roles: p.manifest.roles ?? [], provides })) add(p.name);
  }
  return { ...config, plugins: config.plugins.filter((p) => keep.has(p.name)) };
}

export async function setUpComponentPlugins(options: ComponentPluginsOptions): Promise<ComponentPlugins> {
  const full = await loadConfig(options.configFile, {
    dataDir: options.dataDir,
    plugins: options.enable,
    configure: options.configure,
  });
  const config = selected(full, options.select);
  const prepared = await preparePlugins({ config, role: options.role, logger: options.logger });
  const configs = new Map(config.plugins.map((p) => [p.name, p.config]));
  return {
    configFile: config.file,
    dataDir: config.server.dataDir,
    plugins: config.plugins.map((p) => p.name),
    configOf: <T>(plugin: string) => configs.get(plugin) as T | undefined,
    use: prepared.plugins.use,
    close: () => prepared.plugins.closeAll(),
  };
}
