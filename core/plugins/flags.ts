/**
 * What a plugin declares on its manifest for the command line: the upstream flags that configure
 * it and the subcommands it adds. The CLI reads these before any plugin is set up (help, parsing),
 * so they are data on the manifest, not contributions made during setup.
 */
import type { Command } from 'commander';

/**
 * A command that runs the API server or its components; flags apply to the roles they name. Core's
 * are up and apiserver; a plugin's command names its own (`scheduler`, `kubelet`, ...).
 */
export type Role = 'up' | 'apiserver' | (string & {});

export interface FlagSpec {
  /** Commander syntax, upstream's name: '--token-auth-file <file>', '--abac-strict' (a switch). */
  flag: string;
  help: string;
  /** Turns the raw text into the value (bool, Go duration, a repeatable list: `previous` is the list so far). */
  parse?: (raw: string, previous?: unknown) => unknown;
  /**
   * This plugin's config keys the value sets, merged over its config block. Undefined: the value
   * sets nothing (e.g. --anonymous-auth=false).
   */
  toConfig(value: unknown): Record<string, unknown> | undefined;
  /** Giving the flag turns the plugin on even when the config file leaves it out (--token-auth-file). */
  enables?: boolean;
  /**
   * Giving the flag with a value this accepts turns the plugin off whatever the config file says
   * (upstream's --watch-cache=false, --anonymous-auth=false); it then sets no keys.
   */
  disables?: (value: unknown) => boolean;
  /**
   * The plugin cannot run without it when --authorization-mode names the plugin's mode (ABAC needs
   * --authorization-policy-file): start-up stops with an error naming this flag.
   */
  required?: boolean;
  /** Server-wide settings the flag implies unless given themselves (--etcd-servers picks the etcd backend). */
  serverDefaults?: (value: unknown) => { storageBackend?: string };
  /** Where the flag is offered; default: the manifest's roles, else up and apiserver. */
  roles?: readonly Role[];
}

/** What the plugins' flags given on a command line set: the config overlay of the file. */
export interface PluginFlagOverlay {
  /** Plugins turned on by a flag, with the keys their flags set. */
  plugins: Record<string, Record<string, unknown>>;
  /** Keys set on plugins the config file enables (or that a flag turned on). */
  configure: Record<string, Record<string, unknown>>;
  /** Plugins a flag turned off (a `disables` flag given the value that turns its plugin off). */
  disabled: string[];
  /** A backend a flag implies (--etcd-servers), used unless --storage-backend is given. */
  storageBackend?: string;
}

/** What the CLI hands a plugin's command while it is built. */
export interface CommandContext {
  /**
   * Adds every plugin's flags offered for `role` to `command` (grouped under their plugin in
   * --help), as core's commands do; returns what reads the parsed options back as the overlay.
   */
  pluginFlags(command: Command, role: Role): (opts: Record<string, unknown>) => PluginFlagOverlay;
}

export interface CommandSpec {
  /** The subcommand's name: `skiff <name> ...`. */
  name: string;
  /** Builds the commander command (called once, when the CLI starts). */
  build(cli: CommandContext): Command;
}
