/**
 * Plugins' own flags on the command line: each manifest's `flags` are offered on the commands of
 * the roles they name (grouped under the plugin in --help), and the values given become the config
 * overlay: a flag that `enables` its plugin turns it on with those keys, any other only configures
 * the plugin when the config file enables it; a flag that `disables` its plugin for a value
 * (--watch-cache=false) turns it off. The CLI itself names no plugin.
 */
import { type Command, Option } from 'commander';
import type { AnyManifest } from '../config/manifests.js';
import { SkiffError } from '../errors.js';
import type { CommandContext, FlagSpec, PluginFlagOverlay } from '../plugins/flags.js';

const DEFAULT_ROLES: readonly string[] = ['up', 'apiserver'];

/** A plugin flag added to a command, and the property commander stores its value under. */
export interface DeclaredFlag {
  plugin: string;
  spec: FlagSpec;
  attribute: string;
  long: string;
}

export type { PluginFlagOverlay };

const rolesOf = (manifest: AnyManifest, spec: FlagSpec) => spec.roles ?? manifest.roles ?? DEFAULT_ROLES;

/** Adds the plugins' flags for `role` to `command`; returns what to read back after parsing. */
export function addPluginFlags(command: Command, manifests: readonly AnyManifest[], role: string): DeclaredFlag[] {
  const owners = new Map<string, string>(command.options.map((o) => [o.long ?? o.flags, 'Skiff itself']));
  const declared: DeclaredFlag[] = [];
  for (const manifest of manifests) {
    for (const spec of manifest.flags ?? []) {
      if (!rolesOf(manifest, spec).includes(role)) continue;
      const option = new Option(spec.flag, spec.help).helpGroup(`Options of plugin ${manifest.name}:`);
      if (spec.parse) option.argParser(spec.parse);
      const long = option.long ?? spec.flag;
      const owner = owners.get(long);
      if (owner) {
        throw new SkiffError(
          'SKIFF_PLUGIN_FLAG_DUPLICATE',
          `plugin "${manifest.name}" declares ${long}, which ${owner === 'Skiff itself' ? owner : `plugin "${owner}"`} already declares`,
          'rename the flag in one of the plugins, or load only one of them',
        );
      }
      owners.set(long, manifest.name);
      command.addOption(option);
      declared.push({ plugin: manifest.name, spec, attribute: option.attributeName(), long });
    }
  }
  return declared;
}

const merge = (target: Record<string, Record<string, unknown>>, plugin: string, keys: Record<string, unknown>) => {
  target[plugin] = { ...target[plugin], ...keys };
};

/** The config overlay of the plugin flags given on the command line. */
export function pluginFlagOverlay(declared: readonly DeclaredFlag[], opts: Record<string, unknown>): PluginFlagOverlay {
  const overlay: PluginFlagOverlay = { plugins: {}, configure: {}, disabled: [] };
  for (const { plugin, spec, attribute } of declared) {
    const value = opts[attribute];
    if (value === undefined) continue;
    if (spec.disables?.(value)) {
      overlay.disabled.push(plugin);
      continue;
    }
    const keys = spec.toConfig(value);
    if (keys) merge(spec.enables ? overlay.plugins : overlay.configure, plugin, keys);
    overlay.storageBackend ??= spec.serverDefaults?.(value).storageBackend;
  }
  return overlay;
}

/** The context a plugin's command is built with: the manifests' flags for a role, as core's commands get them. */
export function commandContext(manifests: readonly AnyManifest[]): CommandContext {
  return {
    pluginFlags(command, role) {
      const declared = addPluginFlags(command, manifests, role);
      return (opts) => pluginFlagOverlay(declared, opts);
    },
  };
}
