/**
 * skiff/sdk/cli: what a plugin declares for the command line, on its manifest: the upstream flags
 * that configure it (`flags`) and the subcommands it adds (`commands`), with parsers for flag
 * values in upstream's syntax. Commands are commander Commands.
 */
export { Command, InvalidArgumentError, Option } from 'commander';
export { bool, goDurationSeconds } from '../cli/flag-values.js';
/** SIGINT/SIGTERM (and, under npm, the parent's exit) stop a long-running command gracefully. */
export { stopOnSignals } from '../cli/stop-on-signals.js';
export type { CommandContext, CommandSpec, FlagSpec, PluginFlagOverlay, Role } from '../plugins/flags.js';
