/**
 * Upstream's --authorization-mode and --authorization-config: the authorization chain, in order,
 * by mode name. Each authorizer plugin names its mode on its manifest (`authorizationMode`), so
 * the modes offered are the plugins' own; a plugin's flags marked `required` must be given when its
 * mode is named (ABAC needs --authorization-policy-file).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { ConfigOverrides } from '../config/load.js';
import type { AnyManifest } from '../config/manifests.js';
import { SkiffError } from '../errors.js';
import type { DeclaredFlag, PluginFlagOverlay } from './plugin-flags.js';

/** Upstream's mode names in upstream's order (AuthorizationModeChoices), for listing modes; others follow. */
const UPSTREAM_MODE_ORDER = ['AlwaysAllow', 'AlwaysDeny', 'ABAC', 'Webhook', 'RBAC', 'Node'];

export interface AuthorizationFlags {
  authorizationMode?: string;
  authorizationConfig?: string;
}

type Authorizers = NonNullable<ConfigOverrides['authorizers']>;

interface Context {
  modes: Map<string, string>;
  declared: readonly DeclaredFlag[];
  opts: Record<string, unknown>;
  overlay: PluginFlagOverlay;
}

/** Mode name → plugin, listed in upstream's order of modes. */
export function authorizationModes(manifests: readonly AnyManifest[]): Map<string, string> {
  const rank = (mode: string) =>
    UPSTREAM_MODE_ORDER.includes(mode) ? UPSTREAM_MODE_ORDER.indexOf(mode) : UPSTREAM_MODE_ORDER.length;
  const pairs = manifests.flatMap((m) => (m.authorizationMode ? [[m.authorizationMode, m.name] as const] : []));
  return new Map(pairs.sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b)));
}

export function authorizationOptions(command: Command, manifests: readonly AnyManifest[]): Command {
  const modes = [...authorizationModes(manifests).keys()].join(', ');
  return command
    .option('--authorization-mode <modes>', `authorizers, in order: ${modes}`)
    .option('--authorization-config <file>', "upstream's AuthorizationConfiguration: authorizers: [{type, name}]");
}

/**
 * The authorizer plugins the flags name, in chain order, or undefined when neither flag is given.
 * Their flag-given config moves from `overlay.configure` into the entries (the chain replaces the
 * config file's authorizers), so it is removed from the overlay.
 */
export function authorizers(
  flags: AuthorizationFlags,
  manifests: readonly AnyManifest[],
  declared: readonly DeclaredFlag[],
  overlay: PluginFlagOverlay,
): Authorizers | undefined {
  if (flags.authorizationMode && flags.authorizationConfig) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_MODE',
      '--authorization-mode and --authorization-config cannot be used together',
      'keep one of them, as upstream requires',
    );
  }
  const ctx: Context = {
    modes: authorizationModes(manifests),
    declared,
    opts: flags as Record<string, unknown>,
    overlay,
  };
  if (flags.authorizationConfig) return fromConfigFile(flags.authorizationConfig, ctx);
  if (!flags.authorizationMode) return undefined;
  return flags.authorizationMode.split(',').map((mode) => modeToPlugin(mode, undefined, '--authorization-mode', ctx));
}

interface AuthorizerEntry {
  type?: string;
  name?: string;
  [settings: string]: unknown;
}

/**
 * --authorization-config FILE: upstream's AuthorizationConfiguration (apiserver.config.k8s.io/v1),
 * `authorizers: [{type, name}]` in chain order. Upstream accepts no ABAC there; Skiff does: a mode's
 * settings go under its lower-cased name (`abac: {policyFile}`) and win over its flags.
 */
function fromConfigFile(file: string, ctx: Context): Authorizers {
  let doc: { kind?: unknown; authorizers?: AuthorizerEntry[] };
  try {
    doc = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_CONFIG',
      `cannot read ${file}: ${(err as Error).message}`,
      'give a YAML AuthorizationConfiguration',
    );
  }
  if (doc.kind !== 'AuthorizationConfiguration' || !Array.isArray(doc.authorizers) || doc.authorizers.length === 0) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_CONFIG',
      `${file}: expected kind AuthorizationConfiguration with a non-empty authorizers list`,
      'write apiVersion: apiserver.config.k8s.io/v1, kind: AuthorizationConfiguration, authorizers: [{type: ABAC, name: abac}, ...]',
    );
  }
  const names = new Set<string>();
  return doc.authorizers.map((a, i) => {
    if (!a.name || names.has(a.name)) {
      throw new SkiffError(
        'SKIFF_AUTHORIZATION_CONFIG',
        `${file}: authorizers[${i}].name must be set and unique`,
        'give every authorizer its own name',
      );
    }
    names.add(a.name);
    const type = a.type ?? '';
    const settings = a[type.trim().toLowerCase()];
    const given = settings && typeof settings === 'object' ? (settings as Record<string, unknown>) : undefined;
    return modeToPlugin(type, given, `${file}: authorizers[${i}].type`, ctx);
  });
}

function modeToPlugin(
  mode: string,
  settings: Record<string, unknown> | undefined,
  where: string,
  ctx: Context,
): Authorizers[number] {
  const name = ctx.modes.get(mode.trim());
  if (!name) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_MODE',
      `${where}: unknown or unsupported mode "${mode}"`,
      `use one of ${[...ctx.modes.keys()].join(', ')}`,
    );
  }
  const missing = ctx.declared.find((d) => d.plugin === name && d.spec.required && ctx.opts[d.attribute] === undefined);
  if (missing && !settings) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_MODE',
      `${where} includes ${mode.trim()}, but no ${missing.long} was given`,
      `add ${missing.spec.flag}: ${missing.spec.help}`,
    );
  }
  const fromFlags = { ...ctx.overlay.configure[name], ...ctx.overlay.plugins[name] };
  // Consumed here: the config file's settings must win over these flags, not be overwritten later.
  delete ctx.overlay.configure[name];
  const config = { ...fromFlags, ...settings };
  return Object.keys(config).length ? { name, config } : { name };
}
