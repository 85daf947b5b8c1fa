/** The `skiff` command line. One file per command under ./commands; plugins add their own commands and flags. */
import { Command, CommanderError } from 'commander';
import { builtInManifests, explainMissingProvider, thirdPartyManifests } from '../config/manifests.js';
import { SkiffError } from '../errors.js';
import { configCommand } from './commands/config.js';
import { serveCommands } from './commands/serve.js';
import { versionCommand } from './commands/version.js';
import { configFileArgument, pluginCommands, pluginManifests } from './plugin-commands.js';

const program = new Command('skiff')
  .description('A hackable Kubernetes-compatible control plane: a thin core, every feature a plugin.')
  .showHelpAfterError()
  .exitOverride();

// Commander applies exitOverride only to the command it is called on: give every subcommand the
// same treatment so usage errors exit 2 from anywhere.
function strict(command: Command): Command {
  command.exitOverride().showHelpAfterError();
  for (const sub of command.commands) strict(sub);
  return command;
}

try {
  // The plugins' flags and commands are part of the command line, so their manifests come first:
  // every built-in one, and the third-party ones the config file (--config, else the default) names.
  const builtIn = await builtInManifests();
  const manifests = pluginManifests(builtIn, await thirdPartyManifests(configFileArgument(process.argv)));
  const thirdParty = new Set(manifests.slice(builtIn.length).map((m) => m.name));
  const core = [...serveCommands(manifests), configCommand(manifests), versionCommand()];
  for (const command of [...core, ...pluginCommands(manifests, core, thirdParty)]) program.addCommand(strict(command));
  await program.parseAsync(process.argv);
} catch (thrown) {
  // A missing service's fix names the built-in plugins that provide it.
  const err = await explainMissingProvider(thrown);
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof SkiffError) {
    process.stderr.write(`${err.describe()}\n`);
    process.exit(2);
  }
  process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
