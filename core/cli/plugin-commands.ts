/** The plugins' subcommands (`commands` on a manifest: authz-abac's `skiff abac`), beside the core's. */
import type { Command } from 'commander';
import type { AnyManifest } from '../config/manifests.js';
import { SkiffError } from '../errors.js';
import { commandContext } from './plugin-flags.js';

/** `--config FILE` or `--config=FILE` anywhere on the command line, before commander parses it. */
export function configFileArgument(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (arg === '--config') return argv[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

/** Built-in manifests first; a third-party plugin named like one adds nothing. */
export function pluginManifests(builtIn: AnyManifest[], thirdParty: AnyManifest[]): AnyManifest[] {
  const names = new Set(builtIn.map((m) => m.name));
  return [...builtIn, ...thirdParty.filter((m) => !names.has(m.name))];
}

/**
 * Every plugin's commands. A third-party plugin's command is only known when the config file naming
 * the plugin is read first, so those commands take `--config FILE` themselves (`skiff greet
 * --config my.yaml`), unless they declare it.
 */
export function pluginCommands(
  manifests: readonly AnyManifest[],
  core: readonly Command[],
  thirdParty: ReadonlySet<string> = new Set(),
): Command[] {
  const owners = new Map(core.map((c) => [c.name(), 'Skiff itself']));
  const out: Command[] = [];
  const cli = commandContext(manifests);
  for (const manifest of manifests) {
    for (const spec of manifest.commands ?? []) {
      const owner = owners.get(spec.name);
      if (owner) {
        throw new SkiffError(
          'SKIFF_PLUGIN_COMMAND_DUPLICATE',
          `plugin "${manifest.name}" adds the command "${spec.name}", which ${owner === 'Skiff itself' ? owner : `plugin "${owner}"`} already has`,
          'rename the command in one of the plugins, or load only one of them',
        );
      }
      owners.set(spec.name, manifest.name);
      const command = spec.build(cli);
      if (thirdParty.has(manifest.name) && !command.options.some((o) => o.long === '--config')) {
        command.option('--config <file>', `the config file that loads ${manifest.name} (default: config/default.yaml)`);
      }
      out.push(command);
    }
  }
  return out;
}
