/**
 * skiff/sdk/cli: what a plugin declares for the command line, on its manifest: the upstream flags
 * that configure it (`flags`) and the subcommands it adds (`commands`), with parsers for flag
 * values in upstream's syntax. Commands are commander Commands.
 */
export { Command, InvalidArgumentError } from 'commander';
export { bool, goDurationSeconds } from '../cli/flag-values.js';
export type { CommandSpec, FlagSpec, Role } from '../plugins/flags.js';
