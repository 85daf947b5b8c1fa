/** The `skiff` command line. One file per command under ./commands. */
import { Command, CommanderError } from 'commander';
import { SkiffError } from '../errors.js';
import { abacCommand } from './commands/abac.js';
import { certsCommand, kubeconfigCommand } from './commands/certs.js';
import { configCommand } from './commands/config.js';
import { controllerManagerCommand } from './commands/controller-manager.js';
import { serveCommands } from './commands/serve.js';
import { versionCommand } from './commands/version.js';

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

for (const command of [
  ...serveCommands(),
  controllerManagerCommand(),
  certsCommand(),
  kubeconfigCommand(),
  abacCommand(),
  configCommand(),
  versionCommand(),
]) {
  program.addCommand(strict(command));
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
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
